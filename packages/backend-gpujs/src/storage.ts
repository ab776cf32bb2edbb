import type { DeviceStorage, DType, TypedArray } from '@gradlens/tensor';
import { nextStorageSerial, readPending } from './replay';

/**
 * What a gpu.js kernel hands back: a typed array (webasm and cpu modes, where "device" memory is the
 * JS heap), a GL texture (pipeline mode), or a promise of a WebGPU buffer handle.
 */
export interface TextureLike {
  toArray(): unknown;
  delete(): void;
  /** A second reference to the same buffer (gpu.js's WebGPU results are reference-counted). */
  clone?(): TextureLike;
}
export type Handle = Float32Array | TextureLike;
export type DeviceValue = Handle | Promise<Handle>;

let live = 0;

/** How many gpu.js buffers (textures, result arrays) are alive: the leak tests watch this. */
export function liveDeviceBuffers(): number {
  return live;
}

/** Copies gpu.js's nested result arrays into one row-major Float32Array (no copy when already flat). */
export function flatten(result: unknown, size: number): Float32Array {
  if (result instanceof Float32Array && result.length === size) return result;
  let leaf: unknown = result;
  while (Array.isArray(leaf)) leaf = leaf[0];
  if (leaf instanceof Float32Array && leaf.byteOffset === 0 && leaf.buffer.byteLength === size * 4) {
    // gpu.js erects nested views over one fresh buffer: reuse it.
    return new Float32Array(leaf.buffer, 0, size);
  }
  const out = new Float32Array(size);
  let o = 0;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const e of v) walk(e);
    else if (ArrayBuffer.isView(v)) {
      out.set(v as Float32Array, o);
      o += (v as Float32Array).length;
    } else out[o++] = v as number;
  };
  walk(result);
  return out;
}

/**
 * A pending (WebGPU) value held for a later reader: the reference is taken when the value arrives, in a
 * reaction registered now, so it runs before any `delete` a `dispose()` registers later. Without it a
 * kernel still waiting for its input would find that input's buffer deleted by a tidy that has ended.
 */
export function retain(value: DeviceValue): DeviceValue {
  if (!(value instanceof Promise)) return value;
  return value.then((h) => (h instanceof Float32Array || !h.clone ? h : h.clone()));
}

/** Drops a reference `retain` took. */
export function release(h: Handle): void {
  if (!(h instanceof Float32Array) && h.clone) h.delete();
}

/** Reads a handle back as row-major floats (a WebGPU read is asynchronous). */
export async function readHandle(h: Handle, size: number): Promise<Float32Array> {
  if (h instanceof Float32Array) return h;
  return flatten(await Promise.resolve(h.toArray()), size);
}

/** Converts device floats to the tensor's dtype (masks and indices travel as floats). */
export function toDType(values: Float32Array, dtype: DType): TypedArray {
  switch (dtype) {
    case 'float32':
      return values;
    case 'float64':
      return Float64Array.from(values);
    case 'int32':
      return Int32Array.from(values);
    case 'bool':
      return Uint8Array.from(values);
  }
}

/** The device copy of a tensor made by the gpujs backend; freed by the tensor's dispose/tidy. */
export class GpujsStorage implements DeviceStorage {
  readonly backend = 'gpujs';
  readonly serial = nextStorageSerial();
  private freed = false;

  constructor(
    readonly value: DeviceValue,
    readonly size: number,
    readonly dtype: DType,
    readonly owner: object,
  ) {
    live++;
  }

  /** The handle a kernel of the same backend takes as input. */
  get handle(): DeviceValue {
    if (this.freed) throw new Error('gpujs: a disposed tensor was used as a kernel input');
    return this.value;
  }

  read(): TypedArray {
    if (this.value instanceof Promise) return readPending(this, () => this.readAsync(), this.size, this.dtype);
    return toDType(this.readHandle(this.value), this.dtype);
  }

  async readAsync(): Promise<TypedArray> {
    const h = await retain(this.value);
    try {
      return toDType(await readHandle(h, this.size), this.dtype);
    } finally {
      release(h);
    }
  }

  private readHandle(h: Handle): Float32Array {
    if (h instanceof Float32Array) return h;
    return flatten(h.toArray(), this.size);
  }

  dispose(): void {
    if (this.freed) return;
    this.freed = true;
    live--;
    const v = this.value;
    if (v instanceof Promise)
      void v.then(
        (h) => (h instanceof Float32Array ? undefined : h.delete()),
        () => undefined,
      );
    else if (!(v instanceof Float32Array)) v.delete();
  }
}

/**
 * The result of a CPU kernel that ran once its device inputs had arrived (gpu.js's WebGPU mode: an op
 * without a device kernel between device ops): values promised, exact in the op's dtype.
 */
export class PendingHostStorage implements DeviceStorage {
  readonly backend = 'gpujs';
  readonly serial = nextStorageSerial();
  private values: TypedArray | null = null;

  constructor(
    readonly value: Promise<TypedArray>,
    readonly size: number,
    readonly dtype: DType,
  ) {
    value.then(
      (v) => {
        this.values = v;
      },
      () => undefined,
    );
  }

  read(): TypedArray {
    return this.values ?? readPending(this, () => this.value, this.size, this.dtype);
  }

  readAsync(): Promise<TypedArray> {
    return this.value;
  }

  dispose(): void {
    // host memory: the garbage collector frees it
  }
}
