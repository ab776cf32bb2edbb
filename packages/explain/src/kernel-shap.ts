import type { Generator, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { BaseOptions, ProgressCallback } from './common';
import { checkEval, checkInput, valuesOf, Warnings } from './common';
import type { FeatureAttributionResult } from './feature-ablation';
import type { FeatureMask } from './feature-mask';
import { itemFeatureMask } from './feature-mask';
import { featureResult, spreadFeatures } from './feature-result';
import { cleanTarget } from './gradient-core';
import { metricGenerator } from './metrics/batch-scores';
import type { SlicOptions } from './slic';
import { scorePatterns, solve } from './surrogate';

export interface KernelShapOptions extends BaseOptions {
  /** The features (default: SLIC superpixels of each item, `slic` options). */
  featureMask?: FeatureMask;
  slic?: SlicOptions;
  /** Sampled coalitions per item (default 500). */
  samples?: number;
  /** Value of absent features in every channel (default 0). */
  baseline?: number;
  /** The coalitions themselves (rows of 0/1 per feature, neither all 0 nor all 1), for tests; weighted by the Shapley kernel. */
  patterns?: readonly (readonly number[])[];
  generator?: Generator;
  /** Seed of a fresh generator (default 0). */
  seed?: number;
  batchSize?: number;
  onProgress?: ProgressCallback;
}

/** The Shapley kernel weight of a coalition of `s` of `m` features: (m − 1) / (C(m, s) s (m − s)). */
export function shapleyKernel(m: number, s: number): number {
  let logC = 0;
  for (let j = 1; j <= s; j++) logC += Math.log(m - s + j) - Math.log(j);
  return (m - 1) / (Math.exp(logC) * s * (m - s));
}

/**
 * KernelSHAP (Lundberg & Lee 2017, Theorem 2): Shapley values as the weighted least-squares fit of
 * the scores of feature coalitions z (absent features at `baseline`), weights the Shapley kernel,
 * with φ₀ = f(baseline) and the efficiency constraint Σφ = f(x) − f(baseline) imposed exactly (by
 * eliminating the last feature, as the shap package). Coalition sizes are drawn in proportion to the
 * kernel's mass per size, then members uniformly; `patterns` replaces the draw (each then carries its kernel weight).
 */
export function kernelShap(model: Module, x: Tensor, options: KernelShapOptions = {}): FeatureAttributionResult {
  const method = 'kernelShap';
  checkInput(method, x);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const [n, c] = x.shape as [number, number, number, number];
  const gen = metricGenerator(options);
  const { target, scores } = cleanTarget(method, model, x, options.target);
  const xv = valuesOf(x);
  const count = options.patterns ? options.patterns.length : (options.samples ?? 500);
  if (!Number.isInteger(count) || count < 1) throw new Error(`${method}: samples must be a positive integer, got ${count}`);
  const progress = { done: 0, total: n * (count + 1), onProgress: options.onProgress };
  const features: number[][] = [];
  const attr = new Float32Array(x.size);
  for (let i = 0; i < n; i++) {
    const { group, members } = itemFeatureMask(method, x, i, options);
    const m = members.length;
    if (m < 2) throw new Error(`${method}: the feature mask has ${m} feature; KernelSHAP needs at least 2`);
    const zs: Uint8Array[] = [];
    const weights: number[] = [];
    if (options.patterns) {
      options.patterns.forEach((p, r) => {
        const on = p.reduce((a, b) => a + b, 0);
        if (p.length !== m || p.some((v) => v !== 0 && v !== 1) || on === 0 || on === m)
          throw new Error(`${method}: pattern ${r} must hold ${m} values of 0 or 1, neither all 0 nor all 1`);
        zs.push(Uint8Array.from(p));
        weights.push(shapleyKernel(m, on));
      });
    } else {
      // sizes 1…m−1 with probability ∝ C(m, s)·kernel(s) = (m − 1) / (s (m − s)); every sample then weighs the same
      const mass = Array.from({ length: m - 1 }, (_, j) => 1 / ((j + 1) * (m - j - 1)));
      const total = mass.reduce((a, b) => a + b, 0);
      for (let r = 0; r < count; r++) {
        let u = gen.uniform() * total;
        let s = 1;
        while (s < m - 1 && u >= mass[s - 1]!) u -= mass[s++ - 1]!;
        const idx = Array.from({ length: m }, (_, j) => j);
        for (let j = 0; j < s; j++) {
          const k = j + gen.int(m - j);
          [idx[j], idx[k]] = [idx[k]!, idx[j]!];
        }
        const z = new Uint8Array(m);
        for (let j = 0; j < s; j++) z[idx[j]!] = 1;
        zs.push(z);
        weights.push(1);
      }
    }
    const item = { method, model, xv, shape: x.shape, i, group, fill: options.baseline ?? 0, target };
    const f0 = scorePatterns(item, [new Uint8Array(m)], 1, progress)[0]!;
    const delta = scores[i]! - f0;
    const y = scorePatterns(item, zs, Math.max(1, Math.floor(options.batchSize ?? 32)), progress);
    // eliminate φ_m = Δ − Σ_{j<m} φ_j:  y − f0 − z_m Δ = Σ_{j<m} (z_j − z_m) φ_j
    const d = m - 1;
    const a = new Float64Array(d * d);
    const b = new Float64Array(d);
    zs.forEach((z, r) => {
      const wt = weights[r]!;
      const t = y[r]! - f0 - z[m - 1]! * delta;
      for (let p = 0; p < d; p++) {
        const xp = z[p]! - z[m - 1]!;
        if (xp === 0) continue;
        b[p] = b[p]! + wt * xp * t;
        for (let q = 0; q < d; q++) a[p * d + q] = a[p * d + q]! + wt * xp * (z[q]! - z[m - 1]!);
      }
    });
    const phi = Array.from(solve(method, a, b, d));
    phi.push(delta - phi.reduce((s, v) => s + v, 0));
    features.push(phi);
    spreadFeatures(attr, i, c, group, phi);
  }
  return featureResult(x, attr, features, target, scores, warnings, 'no coalition changed the score');
}
