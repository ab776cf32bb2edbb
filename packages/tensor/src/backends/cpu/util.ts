import { allocate, DType, FloatArray, TypedArray } from '../../dtype';
import { Shape, broadcastStrides, sizeOf } from '../../shape';
import { Tensor } from '../../tensor';

/** A new tensor over freshly computed values. */
export function make(values: TypedArray, shape: Shape, dtype: DType): Tensor {
  return new Tensor(values, shape, dtype);
}

/** A zero-filled output tensor and its values, for kernels that write in place. */
export function output<D extends DType>(shape: Shape, dtype: D): { t: Tensor; v: ReturnType<typeof allocate<D>> } {
  const v = allocate(dtype, sizeOf(shape));
  return { t: new Tensor(v, shape, dtype), v };
}

/** The values of a float tensor (callers check the dtype first). */
export function floats(t: Tensor): FloatArray {
  return t.values() as FloatArray;
}

/**
 * The offsets an odometer over `shape` reaches when dimension d advances the offset by strides[d],
 * starting at `base`: the one strided walk behind broadcasting, reductions, permutes and slices.
 */
export function stridedOffsets(shape: Shape, strides: readonly number[], base = 0): Int32Array {
  const n = sizeOf(shape);
  const offsets = new Int32Array(n);
  const rank = shape.length;
  const counter = new Array<number>(rank).fill(0);
  let offset = base;
  for (let i = 0; i < n; i++) {
    offsets[i] = offset;
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]!++;
      offset += strides[d]!;
      if (counter[d]! < shape[d]!) break;
      offset -= strides[d]! * shape[d]!;
      counter[d] = 0;
    }
  }
  return offsets;
}

/**
 * For each element of an array of shape `target`, the index of the element of `shape` that
 * broadcasting reads; null when no broadcasting happens.
 */
export function broadcastIndex(shape: Shape, target: Shape): Int32Array | null {
  if (shape.length === target.length && shape.every((d, i) => d === target[i])) return null;
  return stridedOffsets(target, broadcastStrides(shape, target));
}

/** Splits a shape around `dim` into (outer, size, inner) for kernels that work along one dimension. */
export function around(shape: Shape, dim: number): { outer: number; size: number; inner: number } {
  return { outer: sizeOf(shape.slice(0, dim)), size: shape[dim]!, inner: sizeOf(shape.slice(dim + 1)) };
}
