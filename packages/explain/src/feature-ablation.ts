import { tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { BaseOptions, ProgressCallback } from './common';
import { checkEval, checkInput, repeatTarget, scoreRows, valuesOf, Warnings } from './common';
import type { FeatureMask } from './feature-mask';
import { patchMask, resolveMask } from './feature-mask';
import { featureResult, spreadFeatures } from './feature-result';
import { cleanTarget } from './gradient-core';

export interface FeatureAblationOptions extends BaseOptions {
  /** Which pixels form one feature (default: square patches of `patch` pixels). */
  featureMask?: FeatureMask;
  /** Patch side of the default mask (default 4). */
  patch?: number;
  /** The value ablated pixels take in every channel (default 0). */
  baseline?: number;
  /** Ablated copies per forward pass (default 16). */
  batchSize?: number;
  onProgress?: ProgressCallback;
}

/** What `featureAblation` and `shapleyValueSampling` return; the caller owns the tensor. */
export interface FeatureAttributionResult {
  /** Each feature's value on its pixels, in every channel: [N, C, H, W] (Captum's layout). */
  attribution: Tensor;
  /** The value per feature [N][G], features numbered in order of first appearance in the mask. */
  features: number[][];
  classes: number[] | null;
  scores: number[];
  warnings: string[];
}

/** Copies of item `i` of x (values `xv`, item size `per`) with the pixels of each feature set in `sets` filled from `fill`. */
export function maskedCopies(
  xv: Float64Array,
  i: number,
  per: number,
  hw: number,
  channels: number,
  sets: readonly (readonly number[])[],
  fill: (k: number, p: number) => number,
): Float32Array {
  const out = new Float32Array(sets.length * per);
  sets.forEach((pixels, r) => {
    out.set(xv.subarray(i * per, (i + 1) * per), r * per);
    for (const p of pixels) for (let k = 0; k < channels; k++) out[r * per + k * hw + p] = fill(k, p);
  });
  return out;
}

/**
 * Feature ablation (Captum's FeatureAblation): for each feature of the mask, the target's score
 * drop f(x) − f(x with that feature's pixels set to `baseline` in every channel). Ablated copies are
 * scored in batches without recording; `attribution` spreads each value over its pixels.
 */
export function featureAblation(model: Module, x: Tensor, options: FeatureAblationOptions = {}): FeatureAttributionResult {
  const method = 'featureAblation';
  checkInput(method, x);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const hw = h * w;
  const per = c * hw;
  const { group, members } = resolveMask(method, options.featureMask ?? patchMask(h, w, options.patch ?? 4), h, w);
  const fill = options.baseline ?? 0;
  const batch = Math.max(1, Math.floor(options.batchSize ?? 16));
  const { target, scores } = cleanTarget(method, model, x, options.target);
  const xv = valuesOf(x);
  const features: number[][] = [];
  const attr = new Float32Array(x.size);
  let done = 0;
  for (let i = 0; i < n; i++) {
    const vals: number[] = [];
    for (let g0 = 0; g0 < members.length; g0 += batch) {
      const sets = members.slice(g0, g0 + batch);
      const xs = tensor(
        maskedCopies(xv, i, per, hw, c, sets, () => fill),
        [sets.length, c, h, w],
        x.dtype,
      );
      try {
        const s = scoreRows(method, model, xs, repeatTarget(target, new Array<number>(sets.length).fill(i)), false);
        s.forEach((v) => vals.push(scores[i]! - v));
      } finally {
        xs.dispose();
      }
      done += sets.length;
      options.onProgress?.(done, n * members.length);
    }
    features.push(vals);
    spreadFeatures(attr, i, c, group, vals);
  }
  return featureResult(x, attr, features, target, scores, warnings, 'no feature changed the score when ablated');
}
