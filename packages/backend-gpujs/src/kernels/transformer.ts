/**
 * The ops of a vision transformer's forward pass and of their gradient rules: exp, erf, exact GELU, a power
 * by a host number (layer norm's 1/√(var + ε) in its rule), softmax along one dimension and layer norm over
 * the last dimensions, over a flat [n] output, one element per thread. gpu.js has no erf: the kernels use
 * Abramowitz & Stegun's 7.1.26 (|error| ≤ 1.5e-7), spelled out in each (gpu.js transpiles each kernel alone).
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

/** Softmax over a dimension of size D whose elements lie S apart: e^(x − max)/Σ e^(x − max) along it. */
export function softmax(this: KernelThis<{ D: number; S: number }>, x: Values): number {
  const i = this.thread.x;
  const q = Math.floor(i / this.constants.S);
  const inner = i - q * this.constants.S;
  const outer = Math.floor(q / this.constants.D);
  const base = outer * this.constants.D * this.constants.S + inner;
  let m = x[base]!;
  for (let d = 1; d < this.constants.D; d++) {
    const v = x[base + d * this.constants.S]!;
    if (v > m) m = v;
  }
  let total = 0;
  for (let d = 0; d < this.constants.D; d++) total = total + Math.exp(x[base + d * this.constants.S]! - m);
  return Math.exp(x[i]! - m) / total;
}

/**
 * Layer norm over rows of R contiguous values: (x − mean)/√(var + EPS)·weight + bias, the biased
 * variance taken around the mean (two passes, as the CPU kernel); weight and bias per column.
 */
export function layerNorm(this: KernelThis<{ R: number; EPS: number }>, x: Values, weight: Values, bias: Values): number {
  const i = this.thread.x;
  const row = Math.floor(i / this.constants.R);
  const base = row * this.constants.R;
  const j = i - base;
  let total = 0;
  for (let k = 0; k < this.constants.R; k++) total = total + x[base + k]!;
  const mean = total / this.constants.R;
  let sq = 0;
  for (let k = 0; k < this.constants.R; k++) {
    const d = x[base + k]! - mean;
    sq = sq + d * d;
  }
  const inv = 1 / Math.sqrt(sq / this.constants.R + this.constants.EPS);
  return (x[i]! - mean) * inv * weight[j]! + bias[j]!;
}
