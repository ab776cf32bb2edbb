import { toFloat32 } from '@gradlens/io';
import type { NdArray } from '@gradlens/io';
import { Tensor, tensor } from '@gradlens/tensor';

/*
 * Converters between @gradlens/io's plain arrays and @gradlens/tensor's Tensors. They live here, not
 * in io (io depends on nothing of ours, so its readers work without the tensor engine) and not in
 * tensor (which knows no file formats): nn is the first package that depends on both.
 */

/** Whether `value` is a plain `{ dtype, shape, data }` array (as io's readers return), not a Tensor. */
export function isNdArray(value: unknown): value is NdArray {
  if (value === null || typeof value !== 'object' || value instanceof Tensor) return false;
  const v = value as Partial<NdArray>;
  return typeof v.dtype === 'string' && Array.isArray(v.shape) && ArrayBuffer.isView(v.data);
}

/**
 * Returns a Tensor (a copy) of an io array, same shape: float32/float64/int32/bool as they are,
 * float16/bfloat16 decoded to float32, uint8/int8/int16 widened to int32, int64 to int32 when every
 * value fits (else an error).
 */
export function toTensor(array: NdArray): Tensor {
  if (!isNdArray(array)) {
    throw new Error(
      `toTensor: expected an io array { dtype, shape, data }, got ${(array as unknown) instanceof Tensor ? 'a Tensor (it needs no conversion)' : typeof array}`,
    );
  }
  const { dtype, shape, data } = array;
  switch (dtype) {
    case 'float32':
    case 'float64':
    case 'int32':
      return tensor(data as Float32Array | Float64Array | Int32Array, [...shape]);
    case 'bool':
      return tensor(data as Uint8Array, [...shape], 'bool');
    case 'float16':
    case 'bfloat16':
      return tensor(toFloat32(array), [...shape]);
    case 'uint8':
    case 'int8':
    case 'int16':
      return tensor(Int32Array.from(data as ArrayLike<number>), [...shape]);
    case 'int64': {
      const out = new Int32Array(data.length);
      (data as BigInt64Array).forEach((v, i) => {
        if (v > 2147483647n || v < -2147483648n)
          throw new Error(`toTensor: int64 value ${v} at index ${i} does not fit the int32 a Tensor holds`);
        out[i] = Number(v);
      });
      return tensor(out, [...shape]);
    }
  }
}

/**
 * Returns an io array of a Tensor, same dtype and shape, ready for writeNpy and the picture functions:
 * a copy of the values, or with `copy: false` a view of the tensor's own storage (no memory for large
 * state dicts; valid while the tensor lives, and not to be written to).
 */
export function toNdArray(t: Tensor, options: { copy?: boolean } = {}): NdArray<'float32' | 'float64' | 'int32' | 'bool'> {
  const data = options.copy === false ? t.values() : t.dataSync();
  switch (t.dtype) {
    case 'float32':
      return { dtype: 'float32', shape: [...t.shape], data: data as Float32Array };
    case 'float64':
      return { dtype: 'float64', shape: [...t.shape], data: data as Float64Array };
    case 'int32':
      return { dtype: 'int32', shape: [...t.shape], data: data as Int32Array };
    case 'bool':
      return { dtype: 'bool', shape: [...t.shape], data: data as Uint8Array };
  }
}
