import { DType, floatOf } from '../../dtype';
import type { KernelTable } from '../backend';
import { Shape, sizeOf, stridesOf } from '../../shape';
import type { Tensor } from '../../tensor';
import { around, output, stridedOffsets } from './util';

/** The shape a reduction over `dims` leaves, with or without the reduced dims kept as size 1. */
export function reducedShape(shape: Shape, dims: readonly number[], keepdim: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!dims.includes(i)) out.push(d);
    else if (keepdim) out.push(1);
  });
  return out;
}

/** For every input element, the index of the output element it reduces into. */
function reductionIndex(shape: Shape, dims: readonly number[]): { index: Int32Array; outSize: number } {
  const kept = shape.map((d, i) => (dims.includes(i) ? 1 : d));
  const keptStrides = stridesOf(kept).map((s, i) => (dims.includes(i) ? 0 : s));
  return { index: stridedOffsets(shape, keptStrides), outSize: sizeOf(kept) };
}

function reduce(x: Tensor, dims: readonly number[], keepdim: boolean, dtype: DType, init: number, step: (acc: number, v: number) => number): { t: Tensor; v: Float64Array | Float32Array | Int32Array | Uint8Array } {
  const { index, outSize } = reductionIndex(x.shape, dims);
  const acc = new Float64Array(outSize).fill(init);
  const xv = x.values();
  for (let i = 0; i < xv.length; i++) acc[index[i]!] = step(acc[index[i]!]!, xv[i]!);
  const { t, v } = output(reducedShape(x.shape, dims, keepdim), dtype);
  for (let i = 0; i < outSize; i++) v[i] = acc[i]!;
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
  const xv = x.values();
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
  const { t, v } = output(x.shape, floatOf(x.dtype));
  const xv = x.values();
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * size * inner + i;
      let m = -Infinity;
      for (let k = 0; k < size; k++) m = Math.max(m, xv[base + k * inner]!);
      let s = 0;
      for (let k = 0; k < size; k++) s += Math.exp(xv[base + k * inner]! - m);
      const logS = Math.log(s);
      for (let k = 0; k < size; k++) {
        const z = xv[base + k * inner]! - m;
        v[base + k * inner] = log ? z - logS : Math.exp(z) / s;
      }
    }
  }
  return t;
}

export const reduceKernels: Pick<KernelTable, 'sum' | 'mean' | 'max' | 'min' | 'argmax' | 'argmin' | 'var' | 'softmax' | 'logSoftmax'> = {
  sum: ([x], { dims, keepdim }) => ({ out: reduce(x!, dims, keepdim, sumDtype(x!.dtype), 0, (a, v) => a + v).t }),
  mean: ([x], { dims, keepdim }) => {
    const n = count(x!, dims);
    const { t, v } = reduce(x!, dims, keepdim, floatOf(x!.dtype), 0, (a, e) => a + e);
    for (let i = 0; i < v.length; i++) v[i] = v[i]! / n;
    return { out: t };
  },
  max: ([x], { dims, keepdim }) => ({ out: reduce(x!, dims, keepdim, x!.dtype, -Infinity, (a, v) => (v > a || v !== v ? v : a)).t }),
  min: ([x], { dims, keepdim }) => ({ out: reduce(x!, dims, keepdim, x!.dtype, Infinity, (a, v) => (v < a || v !== v ? v : a)).t }),
  argmax: ([x], { dim, keepdim }) => ({ out: argReduce(x!, dim, keepdim, (v, b) => v > b) }),
  argmin: ([x], { dim, keepdim }) => ({ out: argReduce(x!, dim, keepdim, (v, b) => v < b) }),
  var: ([x], { dims, keepdim, correction }) => {
    const { index, outSize } = reductionIndex(x!.shape, dims);
    const n = count(x!, dims);
    const xv = x!.values();
    const mean = new Float64Array(outSize);
    for (let i = 0; i < xv.length; i++) mean[index[i]!] = mean[index[i]!]! + xv[i]!;
    for (let i = 0; i < outSize; i++) mean[i] = mean[i]! / n;
    const ss = new Float64Array(outSize);
    for (let i = 0; i < xv.length; i++) {
      const d = xv[i]! - mean[index[i]!]!;
      ss[index[i]!] = ss[index[i]!]! + d * d;
    }
    const { t, v } = output(reducedShape(x!.shape, dims, keepdim), floatOf(x!.dtype));
    for (let i = 0; i < outSize; i++) v[i] = ss[i]! / Math.max(0, n - correction);
    return { out: t };
  },
  softmax: ([x], { dim }) => ({ out: softmaxAlong(x!, dim, false) }),
  logSoftmax: ([x], { dim }) => ({ out: softmaxAlong(x!, dim, true) }),
};
