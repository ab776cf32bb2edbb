/**
 * gpu.js's WebGPU mode gives every result as a promise (a buffer is read with mapAsync), so an op that runs
 * on the CPU between two device ops cannot read its input when it is called. In that mode every op gets a
 * kernel here: device kernels run as they are; an op without one (or a call its kernel declined) whose
 * inputs are still on their way runs its CPU kernel once they have arrived, and hands back a tensor whose
 * values are promised (a later device kernel, or `await tensor.data()`, waits for them). Its output shapes
 * come from the same CPU kernel run on zeros of the inputs' shapes, at once, since a tensor's shape must be
 * known when it is made. Ops that ran on the CPU are listed by the backend's info() as `cpuOps`.
 */
import { cpuBackend, Tensor } from '@gradlens/tensor';
import type { DType, TypedArray } from '@gradlens/tensor';
import { GpujsStorage, PendingHostStorage, readHandle, release, retain, toDType } from './storage';
import type { BackendKernel } from '@gradlens/tensor';
import type { BackendKernelTable, KernelResult, KernelTable, OpAttrs, OpName } from './types';

/** Zeros of a dtype (a tensor made directly, not by an op, so nothing is recorded on a tape). */
function zerosOf(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'bool':
      return new Uint8Array(n);
  }
}

/** Whether a tensor's values are still arriving from the device. */
function pending(t: Tensor): boolean {
  const s = t.deviceStorage();
  return (s instanceof GpujsStorage && s.value instanceof Promise) || s instanceof PendingHostStorage;
}

/** A tensor's values once they have arrived; the reference to a device buffer is taken now (see `retain`). */
function valuesLater(t: Tensor): Promise<TypedArray> {
  const s = t.deviceStorage();
  if (s instanceof PendingHostStorage) return s.value;
  if (s instanceof GpujsStorage) {
    const held = retain(s.handle);
    return Promise.resolve(held).then(async (h) => {
      try {
        return toDType(await readHandle(h, s.size), s.dtype);
      } finally {
        if (held instanceof Promise) release(h);
      }
    });
  }
  return Promise.resolve(t.values() as TypedArray);
}

/** Every tensor of a kernel's result, each once (a kernel may hand an input back). */
const resultTensors = (r: KernelResult, but: readonly Tensor[] = []): Tensor[] =>
  [...new Set([r.out, ...(r.extras ?? [])])].filter((t) => !but.includes(t));

/** Runs CPU kernel `op` once `inputs` have arrived; returns tensors of the right shapes whose values are promised. */
function cpuAfterInputs<K extends OpName>(op: K, inputs: readonly Tensor[], attrs: OpAttrs[K]): KernelResult {
  const cpu = (cpuBackend.kernels as KernelTable)[op] as (i: readonly Tensor[], a: OpAttrs[K]) => KernelResult;
  const probe = inputs.map((t) => new Tensor(zerosOf(t.dtype, t.size), t.shape, t.dtype));
  const shaped = cpu(probe, attrs);
  const specs = [shaped.out, ...(shaped.extras ?? [])].map((t) => ({ shape: [...t.shape], dtype: t.dtype, size: t.size }));
  for (const t of resultTensors(shaped, probe)) t.dispose();
  for (const t of probe) t.dispose();
  const results = Promise.all(inputs.map(valuesLater)).then((vals) => {
    const hosts = vals.map((v, i) => new Tensor(v, inputs[i]!.shape, inputs[i]!.dtype));
    const r = cpu(hosts, attrs);
    const out = [r.out, ...(r.extras ?? [])].map((t) => t.dataSync());
    for (const t of resultTensors(r, hosts)) t.dispose();
    for (const t of hosts) t.dispose();
    return out;
  });
  const [first, ...rest] = specs.map(
    (s, i) =>
      new Tensor(
        new PendingHostStorage(
          results.then((rs) => rs[i]!),
          s.size,
          s.dtype,
        ),
        s.shape,
        s.dtype,
      ),
  );
  return rest.length ? { out: first!, extras: rest } : { out: first! };
}

/**
 * The kernel table of WebGPU mode: `device` for what runs there, and for every other op (and every call a
 * device kernel declines while an input is still arriving) its CPU kernel, run at once when the inputs are
 * on the host and after they arrive otherwise. `ranOnCpu` collects the names of the ops that ran there.
 */
export function withAsyncContract(device: BackendKernelTable, ranOnCpu: Set<string>): BackendKernelTable {
  const table: Record<string, unknown> = {};
  for (const op of Object.keys(cpuBackend.kernels) as OpName[]) {
    const own = device[op] as BackendKernel<typeof op> | undefined;
    const cpu = (cpuBackend.kernels as KernelTable)[op] as (i: readonly Tensor[], a: OpAttrs[typeof op]) => KernelResult;
    table[op] = (inputs: readonly Tensor[], attrs: OpAttrs[typeof op]) => {
      if (own) {
        const r = own(inputs, attrs);
        // a declined call on host inputs goes back to the registry, which runs the CPU kernel and lists why
        if (!('declined' in r) || !inputs.some(pending)) return r;
        ranOnCpu.add(`${op} (${r.declined})`);
      } else ranOnCpu.add(op);
      return inputs.some(pending) ? cpuAfterInputs(op, inputs, attrs) : cpu(inputs, attrs);
    };
  }
  return table as BackendKernelTable;
}
