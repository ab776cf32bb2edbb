import type { NamedKernelTable } from '../backend';
import { broadcastStrides, stridesOf } from '../../shape';
import type { FloatArray, TypedArray } from '../../dtype';
import { markShared } from '../../tensor';
import { scatterByIndices } from './kernels';
import { copyRow } from './kernels/im2col';
import { inTensorArena } from './storage-pool';
import { around, floats, forEachRun, make, output, outputToFill, read } from './util';

/** dst[d0 + k·ds] = src[s0 + k·ss] for k < n. */
function copyRun(src: TypedArray, s0: number, ss: number, dst: TypedArray, d0: number, ds: number, n: number): void {
  if (ss === 1 && ds === 1) copyRow(src, s0, dst, d0, n);
  else for (let k = 0; k < n; k++) dst[d0 + k * ds] = src[s0 + k * ss]!;
}

/**
 * For every element o of `shape` (row-major, contiguous in `dense`) and its offset `base + i` in `strided` (i from
 * `strides`): gathers strided into dense, or with `scatter` the other way. One loop per run of the innermost
 * (collapsed) dim, a memcpy where the run is contiguous on both sides: ViT's head splits and slices ran a
 * callback per element (about 5 ns each).
 */
function stridedCopy(
  shape: readonly number[],
  strides: readonly number[],
  base: number,
  strided: TypedArray,
  dense: TypedArray,
  scatter = false,
): void {
  forEachRun(shape, [stridesOf(shape), strides], ([o, i], n, [, s]) => {
    if (scatter) copyRun(dense, o!, 1, strided, base + i!, s!, n);
    else copyRun(strided, base + i!, s!, dense, o!, 1, n);
  });
}

function sliceGeometry(inShape: readonly number[], begin: readonly number[], end: readonly number[], step: readonly number[]) {
  const outShape = begin.map((b, d) => Math.max(0, Math.ceil((end[d]! - b) / step[d]!)));
  const inStrides = stridesOf(inShape);
  const base = begin.reduce((s, b, d) => s + b * inStrides[d]!, 0);
  const strides = inStrides.map((s, d) => s * step[d]!);
  return { outShape, base, strides };
}

export const shapeKernels = {
  // A reshape shares its input's values (`assign` writes both, as a view in PyTorch), so neither tensor's
  // freeing may hand the array to the storage pool; an arena array (one holder only) is copied instead.
  reshape: ({ x }, { shape }) => {
    const v = read(x);
    if (inTensorArena(v)) {
      // An arena block has one holder (kernels/arena.ts), so a reshape there is a copy.
      const { t, v: copy } = outputToFill(shape, x.dtype);
      copy.set(v);
      return { out: t };
    }
    markShared(v);
    return { out: make(v, shape, x.dtype) };
  },
  permute: ({ x }, { dims }) => {
    const shape = dims.map((d) => x.shape[d]!);
    const inStrides = stridesOf(x.shape);
    const { t, v } = outputToFill(shape, x.dtype); // every element written
    stridedCopy(
      shape,
      dims.map((d) => inStrides[d]!),
      0,
      read(x),
      v,
    );
    return { out: t };
  },
  expand: ({ x }, { shape }) => {
    const { t, v } = output(shape, x.dtype);
    const xv = read(x);
    forEachRun(shape, [stridesOf(shape), broadcastStrides(x.shape, shape)], ([o, i], n, [, s]) => {
      if (s === 0) v.fill(xv[i!]!, o!, o! + n);
      else for (let k = 0; k < n; k++) v[o! + k] = xv[i! + k * s!]!;
    });
    return { out: t };
  },
  slice: ({ x }, { begin, end, step }) => {
    const g = sliceGeometry(x.shape, begin, end, step);
    const { t, v } = outputToFill(g.outShape, x.dtype); // every element written
    stridedCopy(g.outShape, g.strides, g.base, read(x), v);
    return { out: t };
  },
  unslice: ({ x }, { begin, end, step, shape }) => {
    const g = sliceGeometry(shape, begin, end, step);
    const { t, v } = output(shape, x.dtype);
    stridedCopy(g.outShape, g.strides, g.base, v, read(x), true);
    return { out: t };
  },
  pad: ({ x }, { pads, value }) => {
    const shape = x.shape.map((d, i) => d + pads[i]![0] + pads[i]![1]);
    const { t, v } = outputToFill(shape, x.dtype);
    v.fill(value); // every value: the border's, then x's over it
    const outStrides = stridesOf(shape);
    const base = pads.reduce((s, [before], d) => s + before * outStrides[d]!, 0);
    stridedCopy(x.shape, outStrides, base, v, read(x), true);
    return { out: t };
  },
  cat: ({ xs }, { dim }) => {
    const first = xs[0]!;
    const shape = [...first.shape];
    shape[dim] = xs.reduce((s, x) => s + x.shape[dim]!, 0);
    const { t, v } = output(shape, first.dtype);
    const { outer, inner } = around(shape, dim);
    let offset = 0;
    for (const x of xs) {
      const chunk = x.shape[dim]! * inner;
      const xv = read(x);
      for (let o = 0; o < outer; o++) {
        for (let k = 0; k < chunk; k++) v[o * shape[dim]! * inner + offset + k] = xv[o * chunk + k]!;
      }
      offset += chunk;
    }
    return { out: t };
  },
  indexSelect: ({ x, index }, { dim }) => {
    const idx = read(index);
    const { outer, size, inner } = around(x.shape, dim);
    const shape = [...x.shape];
    shape[dim] = idx.length;
    const { t, v } = output(shape, x.dtype);
    const xv = read(x);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < idx.length; j++) {
        const src = (o * size + idx[j]!) * inner;
        const dst = (o * idx.length + j) * inner;
        for (let k = 0; k < inner; k++) v[dst + k] = xv[src + k]!;
      }
    }
    return { out: t };
  },
  indexAdd: ({ x, index }, { dim, size }) => {
    const idx = read(index);
    const { outer, inner } = around(x.shape, dim);
    const shape = [...x.shape];
    shape[dim] = size;
    const { t, v } = output(shape, x.dtype);
    const xv = read(x);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < idx.length; j++) {
        const dst = (o * size + idx[j]!) * inner;
        const src = (o * idx.length + j) * inner;
        for (let k = 0; k < inner; k++) v[dst + k] = v[dst + k]! + xv[src + k]!;
      }
    }
    return { out: t };
  },
  gatherPlanes: ({ x, indices }) => {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const [oh, ow] = indices.shape.slice(2) as [number, number];
    const { t, v } = output([n, c, oh, ow], x.dtype);
    const xv = read(x);
    const iv = read(indices);
    const plane = h * w;
    const outPlane = oh * ow;
    for (let p = 0; p < n * c; p++) {
      for (let k = 0; k < outPlane; k++) v[p * outPlane + k] = xv[p * plane + iv[p * outPlane + k]!]!;
    }
    return { out: t };
  },
  scatterPlanes: ({ dy, indices }, { planeShape }) => {
    const [n, c, oh, ow] = dy.shape as [number, number, number, number];
    const { t, v } = outputToFill([n, c, ...planeShape], dy.dtype); // scatterByIndices zeroes it first
    scatterByIndices(floats(dy), read(indices) as Int32Array, n * c, oh * ow, planeShape[0] * planeShape[1], v as FloatArray);
    return { out: t };
  },
} satisfies Partial<NamedKernelTable>;
