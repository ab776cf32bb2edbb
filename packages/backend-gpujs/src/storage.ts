import type { DeviceStorage, DType, TypedArray } from '@gradlens/tensor';

/**
 * What a gpu.js kernel hands back: a typed array (webasm and cpu modes, where "device" memory is the
 * JS heap), a GL texture (pipeline mode), or a promise of a WebGPU buffer handle.
 */
export interface TextureLike {
  toArray(): unknown;
  delete(): void;
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
    if (this.value instanceof Promise) {
      throw new Error('gpujs (webgpu mode): results arrive asynchronously; read them with `await tensor.data()`');
    }
    return toDType(this.readHandle(this.value), this.dtype);
  }

  async readAsync(): Promise<TypedArray> {
    const h = await this.value;
    if (h instanceof Float32Array) return toDType(h, this.dtype);
    const arr = await Promise.resolve(h.toArray());
    return toDType(flatten(arr, this.size), this.dtype);
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
