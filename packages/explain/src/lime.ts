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
import { scorePatterns, weightedRidge } from './surrogate';

export interface LimeOptions extends BaseOptions {
  /** The features (default: SLIC superpixels of each item, `slic` options). */
  featureMask?: FeatureMask;
  slic?: SlicOptions;
  /** Perturbed samples per item (default 1000, as the lime package), the first being the unperturbed input. */
  samples?: number;
  /** Kernel width of the exponential kernel on the cosine distance (default 0.25, as the lime package for images). */
  kernelWidth?: number;
  /** Ridge penalty (default 1, as the lime package). */
  alpha?: number;
  /** Value of switched-off features in every channel (default 0). */
  baseline?: number;
  /** The on/off patterns themselves (rows of 0/1 per feature), for tests; otherwise row 0 is all on and the rest uniform Bernoulli(½). */
  patterns?: readonly (readonly number[])[];
  generator?: Generator;
  /** Seed of a fresh generator (default 0). */
  seed?: number;
  batchSize?: number;
  onProgress?: ProgressCallback;
}

/** Cosine distance of a 0/1 pattern from the all-ones pattern: 1 − |z| / (√|z| √M). */
function cosineFromAllOn(z: Uint8Array): number {
  let on = 0;
  for (const v of z) on += v;
  return on === 0 ? 1 : 1 - on / (Math.sqrt(on) * Math.sqrt(z.length));
}

/**
 * LIME for images (Ribeiro et al. 2016, as the authors' lime package): features (superpixels) are
 * switched off at random, the model scores each pattern, and a ridge regression weighted by
 * √exp(−d² / width²), d the cosine distance from the all-on pattern, fits the scores; each feature's
 * coefficient is its attribution. Returns the coefficients per feature and spread over its pixels.
 */
export function lime(model: Module, x: Tensor, options: LimeOptions = {}): FeatureAttributionResult & { intercepts: number[] } {
  const method = 'lime';
  checkInput(method, x);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const [n, c] = x.shape as [number, number, number, number];
  const gen = metricGenerator(options);
  const width = options.kernelWidth ?? 0.25;
  const { target, scores } = cleanTarget(method, model, x, options.target);
  const xv = valuesOf(x);
  const count = options.patterns ? options.patterns.length : (options.samples ?? 1000);
  if (!Number.isInteger(count) || count < 2) throw new Error(`${method}: samples must be an integer ≥ 2, got ${count}`);
  const progress = { done: 0, total: n * count, onProgress: options.onProgress };
  const features: number[][] = [];
  const intercepts: number[] = [];
  const attr = new Float32Array(x.size);
  for (let i = 0; i < n; i++) {
    const { group, members } = itemFeatureMask(method, x, i, options);
    const nf = members.length;
    const zs: Uint8Array[] = [];
    for (let r = 0; r < count; r++) {
      if (options.patterns) {
        const p = options.patterns[r]!;
        if (p.length !== nf || p.some((v) => v !== 0 && v !== 1))
          throw new Error(`${method}: pattern ${r} must hold ${nf} values of 0 or 1`);
        zs.push(Uint8Array.from(p));
      } else zs.push(r === 0 ? new Uint8Array(nf).fill(1) : Uint8Array.from({ length: nf }, () => (gen.uniform() < 0.5 ? 1 : 0)));
    }
    const item = { method, model, xv, shape: x.shape, i, group, fill: options.baseline ?? 0, target };
    const y = scorePatterns(item, zs, Math.max(1, Math.floor(options.batchSize ?? 32)), progress);
    const weights = zs.map((z) => Math.sqrt(Math.exp(-(cosineFromAllOn(z) ** 2) / width ** 2)));
    const { coef, intercept } = weightedRidge(method, zs, y, weights, options.alpha ?? 1);
    features.push(Array.from(coef));
    intercepts.push(intercept);
    spreadFeatures(attr, i, c, group, coef);
  }
  return {
    ...featureResult(x, attr, features, target, scores, warnings, 'the surrogate found no feature that changes the score'),
    intercepts,
  };
}
