/**
 * Running one conformance case, platform-free (no gpu.js import, no environment): the inputs, the
 * comparison, and an asynchronous runner that reads results with `await data()`, as gpu.js's WebGPU
 * mode needs (it runs in Chromium; helpers.ts has the synchronous Node one).
 */
import { Generator, getBackendInfo, record, setBackend, tensor, type RuleOverrides, type Tensor } from '@gradlens/tensor';

export interface InputSpec {
  shape: number[];
  /** values other than standard normal (e.g. distinct values for max pooling) */
  values?: Float32Array;
  /** whether the case takes its gradient */
  grad?: boolean;
}

export interface CaseResult {
  out: Float32Array;
  grads: Float32Array[];
  /** whether the output and the first gradient were made by a gpujs kernel (no silent CPU run) */
  outOnDevice: boolean;
  gradOnDevice: boolean;
  /** getBackendInfo() right after the case (the asynchronous runner): which ops ran on the CPU */
  info?: Record<string, string>;
}

/** Deterministic inputs for a case: standard normals from a seeded generator. */
export function makeInputs(specs: readonly InputSpec[], seed: number): Float32Array[] {
  const g = new Generator(seed);
  return specs.map((s) => s.values ?? Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, () => g.normal()));
}

/** max |a − b| / (max |b| + 1): float32 kernels with different summation orders stay well under 1e-4. */
export function relError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= diff)) diff = d; // NaN propagates
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / (scale + 1);
}

/**
 * Runs `fn` on backend `name` (options such as { mode: 'webgl2' }): the output's values, and the
 * gradients of ⟨output, seed⟩ with respect to the inputs marked `grad`, read asynchronously; `isDevice`
 * says whether a tensor's storage is the backend's device storage. Frees everything it made.
 */
export async function runCaseAsync(
  name: string,
  options: Record<string, string>,
  specs: readonly InputSpec[],
  values: readonly Float32Array[],
  seed: number,
  fn: (...xs: Tensor[]) => Tensor,
  rules: RuleOverrides | undefined,
  isDevice: (t: Tensor | undefined) => boolean,
): Promise<CaseResult> {
  setBackend(name, options);
  const made: Tensor[] = [];
  try {
    const xs = specs.map((s, i) => tensor(values[i]!, s.shape, 'float32'));
    made.push(...xs);
    const { output, tape } = record(() => fn(...xs));
    made.push(output);
    try {
      const g = new Generator(seed + 1);
      const r = tensor(
        Float32Array.from({ length: output.size }, () => g.normal()),
        [...output.shape],
        'float32',
      );
      made.push(r);
      const wrt = xs.filter((_, i) => specs[i]!.grad !== false);
      const grads = wrt.length ? tape.grad(output, wrt, { gradOutputs: [r], rules }) : [];
      made.push(...grads);
      return {
        out: Float32Array.from(await output.data()),
        grads: await Promise.all(grads.map(async (t) => Float32Array.from(await t.data()))),
        outOnDevice: isDevice(output),
        gradOnDevice: isDevice(grads[0]),
        info: getBackendInfo(),
      };
    } finally {
      tape.dispose();
    }
  } finally {
    for (const t of made) if (!t.isDisposed) t.dispose();
    setBackend('cpu');
  }
}
