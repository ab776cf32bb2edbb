import type { FloatDType } from '../../dtype';
import { sizeOf } from '../../shape';
import type { NamedKernelTable } from '../backend';
import { erf, INV_SQRT_2PI } from './kernels/erf';
import { geluInArena, layerNormBackwardInArena, softmaxBackwardInArena } from './kernels/arena-jobs';
import type { FloatArray } from './kernels/types';
import { around, floats, output, outputToFill } from './util';

/**
 * The fused backward ops of the transformer layers (gelu, softmax, layer norm): one pass each where
 * the composed rules ran five to fifteen elementwise ops and reductions, with their temporaries.
 * Sums are accumulated in float64; their own rules (autodiff/rules) are written with ordinary ops.
 */

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** d/dx x·Φ(x) = Φ(x) + x·φ(x). */
const geluSlope = (x: number) => 0.5 * (1 + erf(x * Math.SQRT1_2)) + x * Math.exp(-0.5 * x * x) * INV_SQRT_2PI;

/** d/dx of 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715x³). */
function geluTanhSlope(x: number): number {
  const t = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
}

/**
 * Layer-norm backward over `rows` rows of `cols`: per row the forward's mean and 1/√(var + eps) (the
 * same two passes), then dx = inv·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·weight, and Σ dy·x̂ per column.
 */
function layerNormBackwardRows(
  dy: FloatArray,
  x: FloatArray,
  weight: FloatArray | null,
  eps: number,
  rows: number,
  cols: number,
  dx: FloatArray,
  sumDyXhat: Float64Array,
): void {
  const xhat = new Float64Array(cols);
  const g = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += x[base + j]!;
    const mean = s / cols;
    let q = 0;
    for (let j = 0; j < cols; j++) {
      const d = x[base + j]! - mean;
      q += d * d;
    }
    const inv = 1 / Math.sqrt(q / cols + eps);
    let sg = 0,
      sgx = 0;
    for (let j = 0; j < cols; j++) {
      const h = (x[base + j]! - mean) * inv;
      const d = dy[base + j]!;
      const gj = weight ? d * weight[j]! : d;
      xhat[j] = h;
      g[j] = gj;
      sg += gj;
      sgx += gj * h;
      sumDyXhat[j] = sumDyXhat[j]! + d * h;
    }
    const mg = sg / cols,
      mgx = sgx / cols;
    for (let j = 0; j < cols; j++) dx[base + j] = inv * (g[j]! - mg - xhat[j]! * mgx);
  }
}

/** The fused backward kernels (mirrors the rules of geluBackward, softmaxBackward and layerNormBackward). */
export const fusedBackwardKernels = {
  geluBackward: ({ dy, x }, { approximate }) => {
    const { t, v } = outputToFill(x.shape, x.dtype as FloatDType); // every path writes every value
    const dv = floats(dy),
      xv = floats(x);
    if (approximate !== 'tanh' && geluInArena(xv, v, dv)) return { out: t }; // on the module's threads
    const slope = approximate === 'tanh' ? geluTanhSlope : geluSlope;
    for (let i = 0; i < v.length; i++) v[i] = dv[i]! * slope(xv[i]!);
    return { out: t };
  },
  softmaxBackward: ({ dy, y }, { dim }) => {
    const { outer, size, inner } = around(y.shape, dim);
    const { t, v } = outputToFill(y.shape, y.dtype as FloatDType); // every path writes every value
    const dv = floats(dy),
      yv = floats(y);
    if (softmaxBackwardInArena(dv, yv, v, outer, size, inner)) return { out: t }; // on the module's threads
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * size * inner + i;
        let s = 0;
        for (let k = 0; k < size; k++) s += dv[base + k * inner]! * yv[base + k * inner]!;
        for (let k = 0; k < size; k++) v[base + k * inner] = yv[base + k * inner]! * (dv[base + k * inner]! - s);
      }
    }
    return { out: t };
  },
  layerNormBackward: ({ dy, x, weight }, { dims, eps }) => {
    const dtype = x.dtype as FloatDType;
    const normalized = x.shape.slice(x.rank - dims);
    const cols = sizeOf(normalized);
    const { t, v } = outputToFill(x.shape, dtype); // every path writes every value
    const sums = new Float64Array(cols);
    const args = [floats(dy), floats(x), weight ? floats(weight) : null, eps, cols === 0 ? 0 : x.size / cols, cols, v, sums] as const;
    if (!layerNormBackwardInArena(...args)) layerNormBackwardRows(...args); // float32 in the arena: on the module's threads
    const w = output(normalized, dtype);
    w.v.set(sums);
    return { out: t, extras: [w.t] };
  },
} satisfies Partial<NamedKernelTable>;
