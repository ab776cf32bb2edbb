import { tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { ProgressCallback, ResolvedTarget } from './common';
import { repeatTarget, scoreRows } from './common';

/** One item of an input whose features are switched on and off: what scoring its patterns needs. */
export interface PatternItem {
  method: string;
  model: Module;
  /** The whole input's values ([N, C, H, W], float64). */
  xv: Float64Array;
  shape: readonly number[];
  /** The item's index in the batch. */
  i: number;
  /** Each pixel's feature index. */
  group: Int32Array;
  /** What the pixels of an off feature take, in every channel. */
  fill: number;
  target: ResolvedTarget;
}

/**
 * The target's score of the item for each on/off pattern z (rows of `zs`, one 0/1 per feature):
 * features that are off take `fill` in every channel. Batched, without recording.
 */
export function scorePatterns(
  item: PatternItem,
  zs: readonly Uint8Array[],
  batchSize: number,
  progress?: { done: number; total: number; onProgress?: ProgressCallback },
): Float64Array {
  const { method, model, xv, shape, i, group, fill, target } = item;
  const [, c, h, w] = shape as [number, number, number, number];
  const hw = h * w;
  const per = c * hw;
  const out = new Float64Array(zs.length);
  for (let r0 = 0; r0 < zs.length; r0 += batchSize) {
    const chunk = zs.slice(r0, r0 + batchSize);
    const data = new Float32Array(chunk.length * per);
    chunk.forEach((z, r) => {
      for (let k = 0; k < c; k++) for (let p = 0; p < hw; p++) data[r * per + k * hw + p] = z[group[p]!] ? xv[i * per + k * hw + p]! : fill;
    });
    const xs = tensor(data, [chunk.length, c, h, w]);
    try {
      scoreRows(method, model, xs, repeatTarget(target, new Array<number>(chunk.length).fill(i)), false).forEach(
        (v, r) => (out[r0 + r] = v),
      );
    } finally {
      xs.dispose();
    }
    if (progress) {
      progress.done += chunk.length;
      progress.onProgress?.(progress.done, progress.total);
    }
  }
  return out;
}

/** Solves the symmetric system A x = b (A d×d, row-major, float64) by Gaussian elimination with partial pivoting; throws when singular. */
export function solve(method: string, a: Float64Array, b: Float64Array, d: number): Float64Array {
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let col = 0; col < d; col++) {
    let piv = col;
    for (let r = col + 1; r < d; r++) if (Math.abs(m[r * d + col]!) > Math.abs(m[piv * d + col]!)) piv = r;
    if (Math.abs(m[piv * d + col]!) < 1e-12)
      throw new Error(
        `${method}: the regression is singular (too few samples for the number of features?); draw more samples or use fewer features`,
      );
    if (piv !== col) {
      for (let j = 0; j < d; j++) [m[col * d + j], m[piv * d + j]] = [m[piv * d + j]!, m[col * d + j]!];
      [x[col], x[piv]] = [x[piv]!, x[col]!];
    }
    for (let r = col + 1; r < d; r++) {
      const f = m[r * d + col]! / m[col * d + col]!;
      if (f === 0) continue;
      for (let j = col; j < d; j++) m[r * d + j] = m[r * d + j]! - f * m[col * d + j]!;
      x[r] = x[r]! - f * x[col]!;
    }
  }
  for (let r = d - 1; r >= 0; r--) {
    let s = x[r]!;
    for (let j = r + 1; j < d; j++) s -= m[r * d + j]! * x[j]!;
    x[r] = s / m[r * d + r]!;
  }
  return x;
}

/**
 * Weighted ridge regression with an intercept, as scikit-learn's Ridge(alpha) with sample weights:
 * X and y are centred by their weighted means, β = (XcᵀWXc + αI)⁻¹ XcᵀW yc, intercept ȳ − x̄ᵀβ.
 */
export function weightedRidge(
  method: string,
  xs: readonly ArrayLike<number>[],
  y: ArrayLike<number>,
  weights: ArrayLike<number>,
  alpha: number,
): { coef: Float64Array; intercept: number } {
  const n = xs.length;
  const d = n > 0 ? xs[0]!.length : 0;
  let sw = 0;
  const mx = new Float64Array(d);
  let my = 0;
  for (let r = 0; r < n; r++) {
    const wt = weights[r]!;
    sw += wt;
    my += wt * y[r]!;
    for (let j = 0; j < d; j++) mx[j] = mx[j]! + wt * xs[r]![j]!;
  }
  my /= sw;
  for (let j = 0; j < d; j++) mx[j] = mx[j]! / sw;
  const a = new Float64Array(d * d);
  const b = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    const wt = weights[r]!;
    const yc = y[r]! - my;
    for (let i = 0; i < d; i++) {
      const xi = xs[r]![i]! - mx[i]!;
      b[i] = b[i]! + wt * xi * yc;
      for (let j = 0; j < d; j++) a[i * d + j] = a[i * d + j]! + wt * xi * (xs[r]![j]! - mx[j]!);
    }
  }
  for (let i = 0; i < d; i++) a[i * d + i] = a[i * d + i]! + alpha;
  const coef = solve(method, a, b, d);
  let intercept = my;
  for (let j = 0; j < d; j++) intercept -= mx[j]! * coef[j]!;
  return { coef, intercept };
}
