import { defaultGenerator, Generator, tensor, tidy } from '@gradlens/tensor';
import type { RuleOverrides, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { BaseOptions, ProgressCallback } from './common';
import { repeatTarget, scoreRows, valuesOf } from './common';
import type { DeepLiftResult } from './deeplift';
import { batchGradient, cleanTarget } from './gradient-core';
import { shapInputs, shapResult } from './shap-baselines';

export interface GradientShapOptions extends BaseOptions {
  /** The baseline distribution [B, …] (each row one reference of the input's item shape). */
  baselines: Tensor;
  /** Samples per item (default 20). */
  samples?: number;
  /** Standard deviation of the Gaussian noise added to the input before each sample (default 0, as Captum). */
  stdev?: number;
  /**
   * The random draws, instead of drawing (for tests): for sample s of item i (index s·N + i), the
   * baseline row, the point α ∈ [0, 1] on the path, and optionally the noise [S, N, …] (unscaled: multiplied by `stdev`).
   */
  draws?: { baselineIndex: readonly number[]; alpha: readonly number[]; noise?: Tensor };
  generator?: Generator;
  seed?: number;
  /** Samples per forward pass (rows = batchSize · N; default 16). */
  batchSize?: number;
  /** Backward rules of the gradients (default vanilla). */
  rules?: RuleOverrides;
  onProgress?: ProgressCallback;
}

/**
 * GradientSHAP (Lundberg & Lee 2017; Captum's GradientShap): the expected gradients over random
 * baselines b of a distribution and random points α ~ U(0, 1) on the path from b to the (optionally
 * noisy) input x̃, times (x̃ − b): mean_s (x̃ − b_s) ⊙ ∇F(b_s + α_s (x̃ − b_s)), [N, …]. In expectation
 * Σ attribution = F(x) − E_b F(b) (SHAP's efficiency); `delta` reports the gap against the drawn baselines.
 */
export function gradientShap(model: Module, x: Tensor, options: GradientShapOptions): DeepLiftResult {
  const method = 'gradientShap';
  const { warnings, nb, n, per, xv, bv } = shapInputs(method, model, x, options);
  const draws = options.draws;
  const samples = draws ? draws.alpha.length / n : (options.samples ?? 20);
  if (!Number.isInteger(samples) || samples < 1)
    throw new Error(
      `${method}: samples must be a positive integer, got ${samples}${draws ? ' (draws.alpha must hold samples · N values)' : ''}`,
    );
  if (draws && draws.baselineIndex.length !== draws.alpha.length)
    throw new Error(
      `${method}: draws.baselineIndex has ${draws.baselineIndex.length} values, draws.alpha ${draws.alpha.length}; give one of each per sample and item`,
    );
  if (draws?.noise && draws.noise.shape.join() !== [samples, ...x.shape].join())
    throw new Error(`${method}: draws.noise must be [${[samples, ...x.shape].join(', ')}], got [${draws.noise.shape.join(', ')}]`);
  const stdev = options.stdev ?? 0;
  if (!(stdev >= 0)) throw new Error(`${method}: stdev must be ≥ 0, got ${stdev}`);
  const gen = options.generator ?? (options.seed !== undefined ? new Generator(options.seed) : defaultGenerator);
  const batch = Math.max(1, Math.floor(options.batchSize ?? 16));
  const { target, scores } = cleanTarget(method, model, x, options.target);
  const nv = draws?.noise ? valuesOf(draws.noise) : null;
  const index: number[] = [];
  const alpha: number[] = [];
  for (let r = 0; r < samples * n; r++) {
    const k = draws ? draws.baselineIndex[r]! : gen.int(nb);
    if (!Number.isInteger(k) || k < 0 || k >= nb)
      throw new Error(`${method}: draws.baselineIndex[${r}] = ${k} is not a row of the ${nb} baselines`);
    index.push(k);
    alpha.push(draws ? draws.alpha[r]! : gen.uniform());
  }
  const total = new Float64Array(x.size);
  const baseMean = new Float64Array(n);
  for (let s0 = 0; s0 < samples; s0 += batch) {
    const count = Math.min(batch, samples - s0);
    const rows = count * n;
    const diff = new Float64Array(rows * per);
    const point = new Float32Array(rows * per);
    const ref = new Float32Array(rows * per);
    for (let q = 0; q < rows; q++) {
      const r = s0 * n + q;
      const i = q % n;
      const k = index[r]!;
      for (let j = 0; j < per; j++) {
        const noise = stdev > 0 ? stdev * (nv ? nv[r * per + j]! : gen.normal()) : 0;
        const xt = xv[i * per + j]! + noise;
        const bj = bv[k * per + j]!;
        diff[q * per + j] = xt - bj;
        point[q * per + j] = bj + alpha[r]! * (xt - bj);
        ref[q * per + j] = bj;
      }
    }
    const items = Array.from({ length: rows }, (_, q) => q % n);
    const t = repeatTarget(target, items);
    const shape = [rows, ...x.shape.slice(1)];
    const g = tidy(() => batchGradient(method, model, tensor(point, shape, x.dtype), t, options.rules));
    const gv = g.dataSync();
    g.dispose();
    const refT = tensor(ref, shape, x.dtype);
    const bs = scoreRows(method, model, refT, t, false);
    refT.dispose();
    for (let q = 0; q < rows; q++) {
      const i = q % n;
      baseMean[i] = baseMean[i]! + bs[q]! / samples;
      for (let j = 0; j < per; j++) total[i * per + j] = total[i * per + j]! + (diff[q * per + j]! * Number(gv[q * per + j])) / samples;
    }
    options.onProgress?.(s0 + count, samples);
  }
  return shapResult(x, total, scores, baseMean, target, warnings, 'every sampled gradient was zero, or the input equals every baseline');
}
