import { add, cat, defaultGenerator, Generator, mul, tensor, tidy } from '@gradlens/tensor';
import type { RuleOverrides, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { BaseOptions, ProgressCallback } from './common';
import { checkConstant, checkEval, checkInput, repeatTarget, valueRange, valuesOf, Warnings } from './common';
import { batchGradient, cleanTarget } from './gradient-core';

export interface SmoothGradOptions extends BaseOptions {
  /** Number of noisy samples n (default 50). */
  samples?: number;
  /**
   * Noise level: σ = noiseLevel · (max(x) − min(x)) per item, the paper's "σ/(x_max − x_min)"
   * (default 0.15; the paper recommends 10–20 %). With `reference: true`, the reference script's
   * `param_sigma_multiplier` (default 4).
   */
  noiseLevel?: number;
  /** Standard normal draws [samples, N, C, H, W], scaled by σ, used instead of drawing (for tests). */
  noise?: Tensor;
  /** Where the draws come from (default: a generator seeded with `seed`, or the default generator). */
  generator?: Generator;
  /** Seeds a fresh generator for the draws. */
  seed?: number;
  /** Noisy samples per forward pass (rows = batchSize · N; default 8). */
  batchSize?: number;
  /** Backward rules for each noisy gradient (default vanilla; `guidedRules` gives guided SmoothGrad). */
  rules?: RuleOverrides;
  /** Multiply each noisy gradient by its noisy input (SmoothGrad of gradient × input). */
  timesInput?: boolean;
  /**
   * The reference script's noise: standard deviation (noiseLevel / (max − min))², noise level
   * divided by the range and then squared (its `normal_(mean, sigma**2)` passes sigma² as the std).
   */
  reference?: boolean;
  onProgress?: ProgressCallback;
}

/** What `smoothGrad` returns; the caller owns the tensors. */
export interface SmoothGradResult {
  /** SmoothGrad: the mean of the n noisy gradients, [N, C, H, W]. */
  attribution: Tensor;
  /** SmoothGrad² (Hooker et al. 2019): the mean of the squared noisy gradients, [N, C, H, W]. */
  squared: Tensor;
  /** VarGrad (Adebayo et al. 2018): the variance (1/n) of the noisy gradients, [N, C, H, W]. */
  variance: Tensor;
  /** The noise standard deviation used for each item. */
  sigma: number[];
  classes: number[] | null;
  scores: number[];
  warnings: string[];
}

/**
 * SmoothGrad (Smilkov et al. 2017): gradients of n noisy copies x + N(0, σ²), σ = noiseLevel ·
 * (max − min) of each item, averaged; with SmoothGrad² and VarGrad from the same samples. The
 * target is resolved on the clean input. Samples are batched.
 */
export function smoothGrad(model: Module, x: Tensor, options: SmoothGradOptions = {}): SmoothGradResult {
  const method = 'smoothGrad';
  checkInput(method, x, true);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const [n] = x.shape as [number];
  const per = x.size / n;
  const samples = options.noise ? options.noise.shape[0]! : (options.samples ?? 50);
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`${method}: samples must be a positive integer, got ${samples}`);
  if (options.noise && options.noise.shape.join() !== [samples, ...x.shape].join()) {
    throw new Error(`${method}: noise must have shape [samples, ${x.shape.join(', ')}], got [${options.noise.shape.join(', ')}]`);
  }
  if (options.samples !== undefined && options.noise && options.samples !== samples) {
    throw new Error(`${method}: samples = ${options.samples} but the supplied noise has ${samples} samples`);
  }
  const level = options.noiseLevel ?? (options.reference ? 4 : 0.15);
  const batch = Math.max(1, Math.floor(options.batchSize ?? 8));
  const xv = valuesOf(x);
  const sigma: number[] = [];
  for (let i = 0; i < n; i++) {
    const { lo, hi } = valueRange(xv, i * per, per);
    const range = hi - lo;
    if (options.reference) {
      if (range === 0) throw new Error(`${method}: item ${i} is constant, the reference noise (level / range)² is undefined`);
      sigma.push((level / range) ** 2);
    } else sigma.push(level * range);
  }
  const { target, scores } = cleanTarget(method, model, x, options.target);
  const gen = options.generator ?? (options.seed !== undefined ? new Generator(options.seed) : defaultGenerator);
  const noiseValues = options.noise ? valuesOf(options.noise) : null;
  const sum = new Float64Array(x.size);
  const sumSq = new Float64Array(x.size);
  const sigmaPerRow = (rows: number): Tensor =>
    tensor(
      Float32Array.from({ length: rows * n }, (_, r) => sigma[r % n]!),
      [rows * n, ...x.shape.slice(1).map(() => 1)],
      x.dtype,
    );
  for (let s0 = 0; s0 < samples; s0 += batch) {
    const count = Math.min(batch, samples - s0);
    const eps = new Float32Array(count * x.size);
    for (let j = 0; j < eps.length; j++) eps[j] = noiseValues ? noiseValues[s0 * x.size + j]! : gen.normal();
    const g = tidy(() => {
      const xs = add(
        cat(
          Array.from({ length: count }, () => x),
          0,
        ),
        mul(tensor(eps, [count * n, ...x.shape.slice(1)], x.dtype), sigmaPerRow(count)),
      );
      const items = Array.from({ length: count * n }, (_, r) => r % n);
      const grad = batchGradient(method, model, xs, repeatTarget(target, items), options.rules);
      return options.timesInput ? mul(grad, xs) : grad;
    });
    const gv = g.dataSync();
    g.dispose();
    for (let r = 0; r < count; r++) {
      for (let j = 0; j < x.size; j++) {
        const v = Number(gv[r * x.size + j]);
        sum[j] = sum[j]! + v;
        sumSq[j] = sumSq[j]! + v * v;
      }
    }
    options.onProgress?.(s0 + count, samples);
  }
  const mean = new Float32Array(x.size);
  const sq = new Float32Array(x.size);
  const variance = new Float32Array(x.size);
  for (let j = 0; j < x.size; j++) {
    const m = sum[j]! / samples;
    const m2 = sumSq[j]! / samples;
    mean[j] = m;
    sq[j] = m2;
    variance[j] = Math.max(0, m2 - m * m);
  }
  const attribution = tensor(mean, x.shape, x.dtype);
  checkConstant(attribution, target, warnings, 'every noisy gradient was zero or equal');
  return {
    attribution,
    squared: tensor(sq, x.shape, x.dtype),
    variance: tensor(variance, x.shape, x.dtype),
    sigma,
    classes: target.classes ? [...target.classes] : null,
    scores: Array.from(scores),
    warnings: warnings.list,
  };
}
