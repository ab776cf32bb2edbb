/**
 * The ops of a vision transformer's forward pass and of their gradient rules: exp, erf, GELU (exact and tanh),
 * a power by a host number (layer norm's 1/√(var + ε) in its rule), and softmax along one dimension and layer
 * norm over the last dimensions, each as a per-row statistics kernel and an elementwise one; over a flat
 * output, one element (or one row's statistic) per thread. gpu.js has no erf: the kernels use Abramowitz &
 * Stegun's 7.1.26 (|error| ≤ 1.5e-7), spelled out in each (gpu.js transpiles each kernel alone).
 */
import type { KernelThis, Values } from './types';

type Flat = KernelThis<Record<string, number>>;

/** eˣ. */
export function exp(this: Flat, x: Values): number {
  return Math.exp(x[this.thread.x]!);
}

/** erf(x) (Abramowitz & Stegun 7.1.26). */
export function erf(this: Flat, x: Values): number {
  const v = x[this.thread.x]!;
  const a = Math.abs(v);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  if (v < 0) return -y;
  return y;
}

/** x·Φ(x), Φ(x) = (1 + erf(x/√2))/2: F.gelu's exact form. */
export function gelu(this: Flat, x: Values): number {
  const v = x[this.thread.x]!;
  const a = Math.abs(v) * 0.7071067811865476;
  const t = 1 / (1 + 0.3275911 * a);
  let e = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  if (v < 0) e = -e;
  return 0.5 * v * (1 + e);
}

/**
 * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))): F.gelu's approximate='tanh' form, with tanh(u) written as
 * 1 − 2/(e^(2u) + 1) (exact at both ends: e^(2u) overflows to ∞ for large u, giving 1).
 */
export function geluTanh(this: Flat, x: Values): number {
  const v = x[this.thread.x]!;
  const u = 0.7978845608028654 * (v + 0.044715 * v * v * v);
  return 0.5 * v * (2 - 2 / (Math.exp(2 * u) + 1));
}

/**
 * aˢ for a number s: |a|ˢ, negated for a negative a and an odd integer s (GLSL's pow is undefined for a
 * negative base, so the sign is put back by hand); NaN for a negative a and a fractional s, as on the CPU
 * (the square root of a negative number: NaN on IEEE hardware). `INTEGER` and `ODD` describe s.
 */
export function powScalar(this: KernelThis<{ INTEGER: number; ODD: number }>, a: Values, s: number): number {
  const v = a[this.thread.x]!;
  if (v === 0 && s === 0) return 1;
  if (v < 0 && this.constants.INTEGER === 0) return Math.sqrt(v);
  const r = Math.pow(Math.abs(v), s);
  if (v < 0 && this.constants.ODD === 1) return -r;
  return r;
}

/**
 * Softmax's per-row statistics, a row being the D elements S apart along the dimension (ROWS = size / D rows,
 * numbered outer·S + inner): element r < ROWS is row r's max, element ROWS + r its Σ e^(x − max). One pass
 * per row here, so that `softmaxApply` reads two numbers per element instead of walking the row again.
 */
export function softmaxStats(this: KernelThis<{ D: number; S: number; ROWS: number }>, x: Values): number {
  const i = this.thread.x;
  let r = i;
  if (i >= this.constants.ROWS) r = i - this.constants.ROWS;
  const outer = Math.floor(r / this.constants.S);
  const base = outer * this.constants.D * this.constants.S + r - outer * this.constants.S;
  let m = x[base]!;
  for (let d = 1; d < this.constants.D; d++) {
    const v = x[base + d * this.constants.S]!;
    if (v > m) m = v;
  }
  if (i < this.constants.ROWS) return m;
  let total = 0;
  for (let d = 0; d < this.constants.D; d++) total = total + Math.exp(x[base + d * this.constants.S]! - m);
  return total;
}

/** Softmax from its row statistics (`softmaxStats`): e^(x − max)/Σ for one element. */
export function softmaxApply(this: KernelThis<{ D: number; S: number; ROWS: number }>, x: Values, stats: Values): number {
  const i = this.thread.x;
  const q = Math.floor(i / this.constants.S);
  const inner = i - q * this.constants.S;
  const r = Math.floor(q / this.constants.D) * this.constants.S + inner;
  return Math.exp(x[i]! - stats[r]!) / stats[this.constants.ROWS + r]!;
}

/**
 * Layer norm's per-row statistics over rows of R contiguous values: element r < ROWS is row r's mean,
 * element ROWS + r its 1/√(var + EPS), the biased variance taken around the mean (two passes, as the CPU kernel).
 */
export function layerNormStats(this: KernelThis<{ R: number; ROWS: number; EPS: number }>, x: Values): number {
  const i = this.thread.x;
  let row = i;
  if (i >= this.constants.ROWS) row = i - this.constants.ROWS;
  const base = row * this.constants.R;
  let total = 0;
  for (let k = 0; k < this.constants.R; k++) total = total + x[base + k]!;
  const mean = total / this.constants.R;
  if (i < this.constants.ROWS) return mean;
  let sq = 0;
  for (let k = 0; k < this.constants.R; k++) {
    const d = x[base + k]! - mean;
    sq = sq + d * d;
  }
  return 1 / Math.sqrt(sq / this.constants.R + this.constants.EPS);
}

/** Layer norm from its row statistics (`layerNormStats`): (x − mean)·inv·weight + bias, weight and bias per column. */
export function layerNormApply(
  this: KernelThis<{ R: number; ROWS: number }>,
  x: Values,
  stats: Values,
  weight: Values,
  bias: Values,
): number {
  const i = this.thread.x;
  const row = Math.floor(i / this.constants.R);
  const j = i - row * this.constants.R;
  return (x[i]! - stats[row]!) * stats[this.constants.ROWS + row]! * weight[j]! + bias[j]!;
}
