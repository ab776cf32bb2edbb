import { tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { BaseOptions, ProgressCallback } from './common';
import { checkEval, checkInput, repeatTarget, scoreRows, valuesOf, Warnings } from './common';
import type { FeatureAttributionResult } from './feature-ablation';
import type { FeatureMask } from './feature-mask';
import { patchMask, resolveMask } from './feature-mask';
import { featureResult, spreadFeatures } from './feature-result';
import { cleanTarget } from './gradient-core';
import { metricGenerator } from './metrics/batch-scores';
import type { Generator } from '@gradlens/tensor';

export interface ShapleySamplingOptions extends BaseOptions {
  /** Which pixels form one feature (default: square patches of `patch` pixels). */
  featureMask?: FeatureMask;
  /** Patch side of the default mask (default 4). */
  patch?: number;
  /** The value of an absent feature's pixels in every channel (default 0). */
  baseline?: number;
  /** Random permutations of the features (default 25, as Captum). */
  samples?: number;
  /** The permutations themselves (each a permutation of 0…G−1, features in order of first appearance in the mask), for tests. */
  permutations?: readonly (readonly number[])[];
  generator?: Generator;
  /** Seed of a fresh generator (default 0). */
  seed?: number;
  /** Inputs per forward pass (default 32). */
  batchSize?: number;
  onProgress?: ProgressCallback;
}

/**
 * Shapley value sampling (Castro et al. 2009; Captum's ShapleyValueSampling): for random
 * permutations of the mask's features, the features are switched from `baseline` to the input one
 * at a time and each gets its marginal score change; the mean over permutations estimates its Shapley
 * value. Every permutation's values sum to f(x) − f(baseline) exactly (efficiency). Batched, no recording.
 */
export function shapleyValueSampling(model: Module, x: Tensor, options: ShapleySamplingOptions = {}): FeatureAttributionResult {
  const method = 'shapleyValueSampling';
  checkInput(method, x);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const hw = h * w;
  const per = c * hw;
  const { group, members } = resolveMask(method, options.featureMask ?? patchMask(h, w, options.patch ?? 4), h, w);
  const nf = members.length;
  const gen = metricGenerator(options);
  const perms: number[][] = [];
  const count = options.permutations ? options.permutations.length : (options.samples ?? 25);
  if (!Number.isInteger(count) || count < 1) throw new Error(`${method}: samples must be a positive integer, got ${count}`);
  for (let s = 0; s < count; s++) {
    if (options.permutations) {
      const p = [...options.permutations[s]!];
      if (p.length !== nf || [...p].sort((a, b) => a - b).some((v, j) => v !== j))
        throw new Error(`${method}: permutation ${s} is not a permutation of the ${nf} features 0…${nf - 1}`);
      perms.push(p);
    } else {
      const p = Array.from({ length: nf }, (_, j) => j);
      for (let j = nf - 1; j > 0; j--) {
        const k = gen.int(j + 1);
        [p[j], p[k]] = [p[k]!, p[j]!];
      }
      perms.push(p);
    }
  }
  const fill = options.baseline ?? 0;
  const batch = Math.max(1, Math.floor(options.batchSize ?? 32));
  const { target, scores } = cleanTarget(method, model, x, options.target);
  const xv = valuesOf(x);
  const features: number[][] = [];
  const attr = new Float32Array(x.size);
  const total = n * count * (nf + 1);
  let done = 0;
  for (let i = 0; i < n; i++) {
    const phi = new Float64Array(nf);
    // rows of the whole item: for each permutation, the states with its first 0…G features present
    const states: { perm: number; present: number }[] = [];
    for (let s = 0; s < count; s++) for (let j = 0; j <= nf; j++) states.push({ perm: s, present: j });
    const values = new Float64Array(states.length);
    for (let r0 = 0; r0 < states.length; r0 += batch) {
      const chunk = states.slice(r0, r0 + batch);
      const data = new Float32Array(chunk.length * per);
      chunk.forEach(({ perm, present }, r) => {
        const on = new Uint8Array(nf);
        for (let j = 0; j < present; j++) on[perms[perm]![j]!] = 1;
        for (let k = 0; k < c; k++)
          for (let p = 0; p < hw; p++) data[r * per + k * hw + p] = on[group[p]!] ? xv[i * per + k * hw + p]! : fill;
      });
      const xs = tensor(data, [chunk.length, c, h, w], x.dtype);
      try {
        scoreRows(method, model, xs, repeatTarget(target, new Array<number>(chunk.length).fill(i)), false).forEach(
          (v, r) => (values[r0 + r] = v),
        );
      } finally {
        xs.dispose();
      }
      done += chunk.length;
      options.onProgress?.(done, total);
    }
    for (let s = 0; s < count; s++) {
      for (let j = 1; j <= nf; j++) {
        const f = perms[s]![j - 1]!;
        phi[f] = phi[f]! + (values[s * (nf + 1) + j]! - values[s * (nf + 1) + j - 1]!) / count;
      }
    }
    features.push(Array.from(phi));
    spreadFeatures(attr, i, c, group, phi);
  }
  return featureResult(x, attr, features, target, scores, warnings, 'no feature changed the score');
}
