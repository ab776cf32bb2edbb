import type { DType, DTypeArray, FloatArray, TypedArray } from '../../dtype';
import type { Shape } from '../../shape';
import { broadcastStrides, sizeOf } from '../../shape';
import { Tensor } from '../../tensor';
import { takeArray } from './storage-pool';

/** A new tensor over freshly computed values. */
export function make(values: TypedArray, shape: Shape, dtype: DType): Tensor {
  return new Tensor(values, shape, dtype);
}

/** A zero-filled output tensor and its values, for kernels that write in place. */
export function output<D extends DType>(shape: Shape, dtype: D): { t: Tensor; v: DTypeArray[D] } {
  const v = takeArray(dtype, sizeOf(shape), true);
  return { t: new Tensor(v, shape, dtype), v };
}

/** An output tensor whose values are unspecified (a reused array), for kernels that write every element. */
export function outputToFill<D extends DType>(shape: Shape, dtype: D): { t: Tensor; v: DTypeArray[D] } {
  const v = takeArray(dtype, sizeOf(shape), false);
  return { t: new Tensor(v, shape, dtype), v };
}

/** The values of a tensor for a kernel that reads them during its call (they stay reusable once it is freed). */
export function read(t: Tensor): TypedArray {
  return t.kernelValues() as TypedArray;
}

/** The values of a float tensor (callers check the dtype first). */
export function floats(t: Tensor): FloatArray {
  return t.kernelValues() as FloatArray;
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

/**
 * Merges adjacent dims that every stride list walks as one (stride[d] = stride[d+1]·shape[d+1]) and
 * drops size-1 dims, so broadcasting [N, C, H, W] against [1, C, 1, 1] becomes three dims, not four.
 */
export function collapseDims(shape: Shape, stridesList: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = stridesList.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d]!;
    if (size === 1) continue;
    const last = outShape.length - 1;
    const mergeable = last >= 0 && stridesList.every((s, k) => outStrides[k]![last] === s[d]! * size);
    if (mergeable) {
      outShape[last] = outShape[last]! * size;
      stridesList.forEach((s, k) => (outStrides[k]![last] = s[d]!));
    } else {
      outShape.push(size);
      stridesList.forEach((s, k) => outStrides[k]!.push(s[d]!));
    }
  }
  return { shape: outShape, strides: outStrides };
}

/**
 * Walks `shape` as runs along its innermost (collapsed) dim: `visit(bases, length, innerStrides)` is
 * called once per run with each stride list's starting offset, so kernels loop tightly inside a run
 * instead of looking up an index per element.
 */
export function forEachRun(
  shape: Shape,
  stridesList: readonly (readonly number[])[],
  visit: (bases: number[], length: number, inner: number[]) => void,
): void {
  const plan = collapseDims(shape, stridesList);
  const k = stridesList.length;
  const rank = plan.shape.length;
  if (sizeOf(shape) === 0) return;
  if (rank === 0) {
    visit(new Array<number>(k).fill(0), 1, new Array<number>(k).fill(0));
    return;
  }
  const length = plan.shape[rank - 1]!;
  const inner = plan.strides.map((s) => s[rank - 1]!);
  const runs = sizeOf(plan.shape) / length;
  const counter = new Array<number>(rank - 1).fill(0);
  const bases = new Array<number>(k).fill(0);
  for (let r = 0; r < runs; r++) {
    visit(bases, length, inner);
    for (let d = rank - 2; d >= 0; d--) {
      counter[d]!++;
      for (let j = 0; j < k; j++) bases[j] = bases[j]! + plan.strides[j]![d]!;
      if (counter[d]! < plan.shape[d]!) break;
      for (let j = 0; j < k; j++) bases[j] = bases[j]! - plan.strides[j]![d]! * plan.shape[d]!;
      counter[d] = 0;
    }
  }
}

/** Splits a shape around `dim` into (outer, size, inner) for kernels that work along one dimension. */
export function around(shape: Shape, dim: number): { outer: number; size: number; inner: number } {
  return { outer: sizeOf(shape.slice(0, dim)), size: shape[dim]!, inner: sizeOf(shape.slice(dim + 1)) };
}
