/**
 * Window bounds of the 2-D pooling kernels along one axis, computed once per call, and the per-window
 * loops that max/avg and adaptive pooling share. The loops take plain numbers and typed arrays and
 * allocate nothing, so they stay monomorphic and V8 inlines them into the kernels' plane/row loops.
 */
import type { FloatArray } from './types';
import { scatterPlanesInArena } from './arena-jobs';

/** Per-output bounds along one axis: the first in-image tap (start) and the clipped exclusive end. */
export interface AxisWindows {
  readonly start: Int32Array;
  readonly end: Int32Array;
}

/**
 * Strided pooling windows along one axis (kernel k, stride, padding, dilation): start is the first tap
 * inside the image (on the dilation grid), end the exclusive in-image bound. start ≥ end for a window
 * entirely in the padding.
 */
export function strideWindows(outSize: number, inSize: number, k: number, stride: number, pad: number, dilation: number): AxisWindows {
  const start = new Int32Array(outSize),
    end = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    let s = o * stride - pad;
    end[o] = Math.min(s + (k - 1) * dilation + 1, inSize);
    while (s < 0) s += dilation;
    start[o] = s;
  }
  return { start, end };
}

/** Unclipped window lengths min(s + k, inSize + pad) − s of avg_pool2d (its count_include_pad divisor). */
export function paddedLengths(outSize: number, inSize: number, k: number, stride: number, pad: number): Int32Array {
  const len = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const s = o * stride - pad;
    len[o] = Math.min(s + k, inSize + pad) - s;
  }
  return len;
}

/** Adaptive pooling bins along one axis, as PyTorch's start_index/end_index: floor(o*in/out), ceil((o+1)*in/out). */
export function adaptiveWindows(outSize: number, inSize: number): AxisWindows {
  const start = new Int32Array(outSize),
    end = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    start[o] = Math.floor((o * inSize) / outSize);
    end[o] = Math.ceil(((o + 1) * inSize) / outSize);
  }
  return { start, end };
}

/** Sum of x over rows [h0, h1) and columns [w0, w1) of the plane at base (row length W). */
export function windowSum(x: FloatArray, base: number, W: number, h0: number, h1: number, w0: number, w1: number): number {
  let sum = 0;
  for (let h = h0; h < h1; h++) {
    const r = base + h * W;
    for (let w = w0; w < w1; w++) sum += x[r + w]!;
  }
  return sum;
}

/** Adds v to dx over rows [h0, h1) and columns [w0, w1) of the plane at base (row length W). */
export function windowAdd(dx: FloatArray, base: number, W: number, h0: number, h1: number, w0: number, w1: number, v: number): void {
  for (let h = h0; h < h1; h++) {
    const r = base + h * W;
    for (let w = w0; w < w1; w++) dx[r + w] = dx[r + w]! + v;
  }
}

/**
 * Writes the max of x over the window (rows h0 + i·dH < h1, columns w0 + j·dW < w1 of the plane at base)
 * into out[o], and its flat in-plane index h*W+w into indices[o]. NaN wins (the last NaN), as in PyTorch;
 * an empty window gives -Infinity and the index h0*W+w0.
 */
export function windowMax(
  x: FloatArray,
  base: number,
  W: number,
  h0: number,
  h1: number,
  dH: number,
  w0: number,
  w1: number,
  dW: number,
  out: FloatArray,
  indices: Int32Array,
  o: number,
): void {
  let maxIdx = h0 * W + w0;
  let maxVal = -Infinity;
  for (let h = h0; h < h1; h += dH) {
    for (let w = w0; w < w1; w += dW) {
      const idx = h * W + w;
      const v = x[base + idx]!;
      if (v > maxVal || v !== v) {
        maxVal = v;
        maxIdx = idx;
      }
    }
  }
  out[o] = maxVal;
  indices[o] = maxIdx;
}

/** dx[plane*inSize + indices[o]] += dy[o] over all planes, after zeroing dx; out-of-plane indices get nothing. */
export function scatterByIndices(
  dy: FloatArray,
  indices: Int32Array,
  planes: number,
  outSize: number,
  inSize: number,
  dx: FloatArray,
): void {
  if (scatterPlanesInArena(dy, indices, planes, outSize, inSize, dx)) return; // every array in the arena: on the module's threads
  dx.fill(0, 0, planes * inSize);
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * inSize;
    for (let t = 0; t < outSize; t++, o++) {
      // An all-padding window stores an index past its plane (as PyTorch); it gets no gradient.
      const k = indices[o]!;
      if (k < 0 || k >= inSize) continue;
      dx[base + k] = dx[base + k]! + dy[o]!;
    }
  }
}
