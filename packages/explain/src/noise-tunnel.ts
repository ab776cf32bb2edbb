import { add, cat, defaultGenerator, Generator, tensor, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { BaseOptions, ProgressCallback, TargetSpec } from './common';
import { checkConstant, checkEval, checkInput, repeatTarget, valuesOf, Warnings } from './common';
import { cleanTarget } from './gradient-core';

/**
 * Any attribution method as the noise tunnel calls it: a batch `xs` [R, …] of noisy copies and the
 * target of each row (class indices, or the user's function) → a map [R, …] (any shape with R first).
 * Return a fresh tensor: the tunnel disposes it.
 */
export type BatchAttribution = (model: Module, xs: Tensor, target: TargetSpec) => Tensor;

/** Which statistic of the noisy maps is `attribution`. */
export type NoiseTunnelType = 'smoothgrad' | 'smoothgrad_sq' | 'vargrad';

export interface NoiseTunnelOptions extends BaseOptions {
  /** Which statistic `attribution` holds (default 'smoothgrad'); all three are returned. */
  type?: NoiseTunnelType;
  /** Noisy samples n (default 50). */
  samples?: number;
  /** Absolute noise standard deviation, the same for every item (Captum's `stdevs`). */
  stdev?: number;
  /** Relative noise: σ = noiseLevel · (max(x) − min(x)) per item (default 0.15; ignored when `stdev` is given). */
  noiseLevel?: number;
  /** Standard normal draws [samples, N, …], scaled by σ, used instead of drawing (for tests). */
  noise?: Tensor;
  generator?: Generator;
  seed?: number;
  /** Noisy samples per call of the method (rows = batchSize · N; default 8). */
  batchSize?: number;
  onProgress?: ProgressCallback;
}

/** What `noiseTunnel` returns; the caller owns the tensors. */
export interface NoiseTunnelResult {
  /** The chosen statistic (`type`), the shape of the method's map for the batch [N, …]. */
  attribution: Tensor;
  /** SmoothGrad: mean of the noisy maps. */
  mean: Tensor;
  /** SmoothGrad² (Hooker et al. 2019): mean of the squared noisy maps. */
  squared: Tensor;
  /** VarGrad (Adebayo et al. 2018): variance (1/n) of the noisy maps. */
  variance: Tensor;
  sigma: number[];
  classes: number[] | null;
  scores: number[];
  warnings: string[];
}

/**
 * A noise tunnel around any attribution method (Captum's NoiseTunnel): runs `explain` on n noisy
 * copies x + N(0, σ²) of the batch and returns the mean (SmoothGrad, Smilkov et al. 2017), the mean
 * of squares (SmoothGrad²) and the variance (VarGrad, Adebayo et al. 2018) of the maps. The target
 * is resolved once on the clean input, so every noisy copy explains the same class.
 */
export function noiseTunnel(explain: BatchAttribution, model: Module, x: Tensor, options: NoiseTunnelOptions = {}): NoiseTunnelResult {
  const method = 'noiseTunnel';
  checkInput(method, x, true);
  if (typeof explain !== 'function')
    throw new Error(`${method}: the first argument must be an attribution function (model, xs, target) => Tensor, got ${typeof explain}`);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const type = options.type ?? 'smoothgrad';
  if (!['smoothgrad', 'smoothgrad_sq', 'vargrad'].includes(type))
    throw new Error(`${method}: type must be 'smoothgrad', 'smoothgrad_sq' or 'vargrad', got '${String(type)}'`);
  const [n] = x.shape as [number];
  const per = x.size / n;
  const samples = options.noise ? options.noise.shape[0]! : (options.samples ?? 50);
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`${method}: samples must be a positive integer, got ${samples}`);
  if (options.noise && options.noise.shape.join() !== [samples, ...x.shape].join()) {
    throw new Error(`${method}: noise must have shape [samples, ${x.shape.join(', ')}], got [${options.noise.shape.join(', ')}]`);
  }
  if (options.stdev !== undefined && !(options.stdev >= 0)) throw new Error(`${method}: stdev must be ≥ 0, got ${options.stdev}`);
  const xv = valuesOf(x);
  const sigma = Array.from({ length: n }, (_, i) => {
    if (options.stdev !== undefined) return options.stdev;
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = i * per; j < (i + 1) * per; j++) {
      lo = Math.min(lo, xv[j]!);
      hi = Math.max(hi, xv[j]!);
    }
    return (options.noiseLevel ?? 0.15) * (hi - lo);
  });
  const batch = Math.max(1, Math.floor(options.batchSize ?? 8));
  const gen = options.generator ?? (options.seed !== undefined ? new Generator(options.seed) : defaultGenerator);
  const noiseValues = options.noise ? valuesOf(options.noise) : null;
  const { target, scores } = cleanTarget(method, model, x, options.target);
  let sum: Float64Array | null = null;
  let sumSq: Float64Array | null = null;
  let mapShape: number[] = [];
  for (let s0 = 0; s0 < samples; s0 += batch) {
    const count = Math.min(batch, samples - s0);
    const eps = new Float32Array(count * x.size);
    for (let j = 0; j < eps.length; j++)
      eps[j] = sigma[Math.floor(j / per) % n]! * (noiseValues ? noiseValues[s0 * x.size + j]! : gen.normal());
    const xs = tidy(() =>
      add(
        cat(
          Array.from({ length: count }, () => x),
          0,
        ),
        tensor(eps, [count * n, ...x.shape.slice(1)], x.dtype),
      ),
    );
    let maps: Tensor;
    try {
      const t = repeatTarget(
        target,
        Array.from({ length: count * n }, (_, r) => r % n),
      );
      maps = explain(model, xs, t.classes ? t.classes : t.fn!);
    } finally {
      xs.dispose();
    }
    if (maps.shape[0] !== count * n) {
      maps.dispose();
      throw new Error(
        `${method}: the method returned a map of shape [${maps.shape.join(', ')}] for ${count * n} noisy inputs; it must return one map per input row`,
      );
    }
    const mv = maps.dataSync();
    const m = maps.size / (count * n);
    mapShape = maps.shape.slice(1);
    maps.dispose();
    sum ??= new Float64Array(n * m);
    sumSq ??= new Float64Array(n * m);
    if (sum.length !== n * m) throw new Error(`${method}: the method's map size changed between calls`);
    for (let r = 0; r < count * n; r++) {
      const i = r % n;
      for (let j = 0; j < m; j++) {
        const v = Number(mv[r * m + j]);
        sum[i * m + j] = sum[i * m + j]! + v;
        sumSq[i * m + j] = sumSq[i * m + j]! + v * v;
      }
    }
    options.onProgress?.(s0 + count, samples);
  }
  const size = sum!.length;
  const mean = new Float32Array(size);
  const sq = new Float32Array(size);
  const variance = new Float32Array(size);
  for (let j = 0; j < size; j++) {
    const a = sum![j]! / samples;
    const b = sumSq![j]! / samples;
    mean[j] = a;
    sq[j] = b;
    variance[j] = Math.max(0, b - a * a);
  }
  const shape = [n, ...mapShape];
  const result = { mean: tensor(mean, shape, x.dtype), squared: tensor(sq, shape, x.dtype), variance: tensor(variance, shape, x.dtype) };
  const chosen = type === 'smoothgrad' ? result.mean : type === 'smoothgrad_sq' ? result.squared : result.variance;
  checkConstant(chosen, target, warnings, 'every noisy map was zero or equal');
  return {
    // A copy of the chosen statistic, made on the host (mul(chosen, 1) left its scalar tensor behind).
    attribution: tensor((type === 'smoothgrad' ? mean : type === 'smoothgrad_sq' ? sq : variance).slice(), shape, x.dtype),
    ...result,
    sigma,
    classes: target.classes ? [...target.classes] : null,
    scores: Array.from(scores),
    warnings: warnings.list,
  };
}
