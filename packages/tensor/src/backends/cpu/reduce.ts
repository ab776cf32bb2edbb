import type { DType } from '../../dtype';
import { floatOf } from '../../dtype';
import type { NamedKernelTable } from '../backend';
import type { Shape } from '../../shape';
import { sizeOf, stridesOf } from '../../shape';
import type { Tensor } from '../../tensor';
import { around, forEachRun, output, outputToFill, read } from './util';
import { softmaxInArena } from './kernels/arena-jobs';

/** The shape a reduction over `dims` leaves, with or without the reduced dims kept as size 1. */
export function reducedShape(shape: Shape, dims: readonly number[], keepdim: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!dims.includes(i)) out.push(d);
    else if (keepdim) out.push(1);
  });
  return out;
}

/** Strides that map each input element to the output element it reduces into (0 along reduced dims). */
function reductionStrides(shape: Shape, dims: readonly number[]): { strides: number[]; outSize: number } {
  const kept = shape.map((d, i) => (dims.includes(i) ? 1 : d));
  return { strides: stridesOf(kept).map((s, i) => (dims.includes(i) ? 0 : s)), outSize: sizeOf(kept) };
}

/**
 * Folds every input element into its output slot: `acc[o] = step(acc[o], x)`. Runs along a reduced
 * dim fold into one slot, runs along a kept dim into consecutive slots; sums get a closure-free loop.
 */
function fold(x: Tensor, dims: readonly number[], init: number, step: ((acc: number, v: number) => number) | 'sum'): Float64Array {
  const { strides, outSize } = reductionStrides(x.shape, dims);
  const acc = new Float64Array(outSize).fill(init);
  const xv = read(x);
  forEachRun(x.shape, [stridesOf(x.shape), strides], ([ix, o], n, [sx, so]) => {
    if (so === 0) {
      let a = acc[o!]!;
      if (step === 'sum') for (let i = 0; i < n; i++) a += xv[ix! + i * sx!]!;
      else for (let i = 0; i < n; i++) a = step(a, xv[ix! + i * sx!]!);
      acc[o!] = a;
    } else if (step === 'sum') for (let i = 0; i < n; i++) acc[o! + i * so!] = acc[o! + i * so!]! + xv[ix! + i * sx!]!;
    else for (let i = 0; i < n; i++) acc[o! + i * so!] = step(acc[o! + i * so!]!, xv[ix! + i * sx!]!);
  });
  return acc;
}

function reduce(
  x: Tensor,
  dims: readonly number[],
  keepdim: boolean,
  dtype: DType,
  init: number,
  step: ((acc: number, v: number) => number) | 'sum',
): { t: Tensor; v: Float64Array | Float32Array | Int32Array | Uint8Array } {
  const acc = fold(x, dims, init, step);
  const { t, v } = output(reducedShape(x.shape, dims, keepdim), dtype);
  for (let i = 0; i < acc.length; i++) v[i] = acc[i]!;
  return { t, v };
}

const count = (x: Tensor, dims: readonly number[]) => dims.reduce((n, d) => n * x.shape[d]!, 1);
const sumDtype = (d: DType): DType => (d === 'bool' ? 'int32' : d);

function argReduce(x: Tensor, dim: number | null, keepdim: boolean, better: (v: number, best: number) => boolean): Tensor {
  const shape = dim === null ? [x.size] : x.shape;
  const d = dim ?? 0;
  const { outer, size, inner } = around(shape, d);
  const outShape = dim === null ? (keepdim ? x.shape.map(() => 1) : []) : reducedShape(x.shape, [d], keepdim);
  const { t, v } = output(outShape, 'int32');
  const xv = read(x);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = xv[o * size * inner + i]!;
      let arg = 0;
      for (let k = 1; k < size && best === best; k++) {
        const e = xv[(o * size + k) * inner + i]!;
        if (e !== e || better(e, best)) {
          best = e;
          arg = k;
        }
      }
      v[o * inner + i] = arg;
    }
  }
  return t;
}

function softmaxAlong(x: Tensor, dim: number, log: boolean): Tensor {
  const { outer, size, inner } = around(x.shape, dim);
  const { t, v } = outputToFill(x.shape, floatOf(x.dtype)); // every path writes every value
  const xv = read(x);
  // float32 in the arena: on the module's threads (an int32 tensor there, say max pooling's indices, is not floats)
  if (!log && xv instanceof Float32Array && v instanceof Float32Array && softmaxInArena(xv, v, outer, size, inner)) return t;
  // Each row's exponentials are computed once and kept in double (the same values the sum adds), so
  // softmax takes one exp per element, not two; the results are the same bits as exp(z) / s.
  const e = new Float64Array(size);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * size * inner + i;
      let m = -Infinity;
      for (let k = 0; k < size; k++) m = Math.max(m, xv[base + k * inner]!);
      let s = 0;
      for (let k = 0; k < size; k++) {
        e[k] = Math.exp(xv[base + k * inner]! - m);
        s += e[k]!;
      }
      if (log) {
        const logS = Math.log(s);
        for (let k = 0; k < size; k++) v[base + k * inner] = xv[base + k * inner]! - m - logS;
      } else for (let k = 0; k < size; k++) v[base + k * inner] = e[k]! / s;
    }
  }
  return t;
}

export const reduceKernels = {
  sum: ({ x }, { dims, keepdim }) => ({ out: reduce(x, dims, keepdim, sumDtype(x.dtype), 0, 'sum').t }),
  mean: ({ x }, { dims, keepdim }) => {
    const n = count(x, dims);
    const { t, v } = reduce(x, dims, keepdim, floatOf(x.dtype), 0, 'sum');
    for (let i = 0; i < v.length; i++) v[i] = v[i]! / n;
    return { out: t };
  },
  max: ({ x }, { dims, keepdim }) => ({ out: reduce(x, dims, keepdim, x.dtype, -Infinity, (a, v) => (v > a || v !== v ? v : a)).t }),
  min: ({ x }, { dims, keepdim }) => ({ out: reduce(x, dims, keepdim, x.dtype, Infinity, (a, v) => (v < a || v !== v ? v : a)).t }),
  argmax: ({ x }, { dim, keepdim }) => ({ out: argReduce(x, dim, keepdim, (v, b) => v > b) }),
  argmin: ({ x }, { dim, keepdim }) => ({ out: argReduce(x, dim, keepdim, (v, b) => v < b) }),
  var: ({ x }, { dims, keepdim, correction }) => {
    const n = count(x, dims);
    const mean = fold(x, dims, 0, 'sum');
    for (let i = 0; i < mean.length; i++) mean[i] = mean[i]! / n;
    // Second pass over the centred values, for accuracy (as two-pass variance is).
    const { strides } = reductionStrides(x.shape, dims);
    const ss = new Float64Array(mean.length);
    const xv = read(x);
    forEachRun(x.shape, [stridesOf(x.shape), strides], ([ix, o], len, [sx, so]) => {
      for (let i = 0; i < len; i++) {
        const d = xv[ix! + i * sx!]! - mean[o! + i * so!]!;
        ss[o! + i * so!] = ss[o! + i * so!]! + d * d;
      }
    });
    const { t, v } = output(reducedShape(x.shape, dims, keepdim), floatOf(x.dtype));
    for (let i = 0; i < ss.length; i++) v[i] = ss[i]! / Math.max(0, n - correction);
    return { out: t };
  },
  softmax: ({ x }, { dim }) => ({ out: softmaxAlong(x, dim, false) }),
  logSoftmax: ({ x }, { dim }) => ({ out: softmaxAlong(x, dim, true) }),
} satisfies Partial<NamedKernelTable>;
