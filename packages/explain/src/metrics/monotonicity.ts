import type { Generator, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { imageValues, metricGenerator, scoreImages } from './batch-scores';
import { ascendingOrder, checkMapSize, imageMin, positiveInt, scoreGenerated, setPixels } from './perturbation-steps';
import type { SaliencyMap } from './saliency';
import { spearman } from './stats';

export interface MonotonicityOptions {
  /** Pixels added per step (default ⌈H·W / 100⌉; Quantus's default is 1). */
  featuresInStep?: number;
  /** The start image's value in every channel (default: the image's minimum, Quantus's "black"). */
  fill?: number;
  /** Order by |map| (default true, as Quantus's abs) or by the signed map. */
  abs?: boolean;
  /** Score the softmax probability (default true, as Quantus) or the logit. */
  probability?: boolean;
  batchSize?: number;
}

export interface MonotonicityResult {
  /** Every step raised the score or kept it (↑: 1 is monotonic). */
  monotonic: boolean;
  /** The score after each step. */
  curve: number[];
}

/**
 * Monotonicity (Arya et al. 2019, as Quantus's `Monotonicity`): from an image of `fill`, the pixels
 * (all channels) are put back in order of increasing |map| (ties by index), `featuresInStep` at a
 * time; the map is monotonic when the target's score never falls.
 */
export function monotonicity(
  model: Module,
  image: Tensor,
  map: SaliencyMap,
  target: number,
  options: MonotonicityOptions = {},
): MonotonicityResult {
  const where = 'monotonicity';
  const { values, c, h, w } = imageValues(where, image);
  checkMapSize(where, map, h, w);
  const hw = h * w;
  const step = positiveInt(where, 'featuresInStep', options.featuresInStep, Math.ceil(hw / 100), hw);
  const a = (options.abs ?? true) ? map.data.map(Math.abs) : map.data;
  const order = ascendingOrder(a);
  const steps = Math.ceil(hw / step);
  const current = new Float64Array(values.length).fill(options.fill ?? imageMin(values));
  const curve = Array.from(
    scoreGenerated(
      model,
      [c, h, w],
      steps,
      (r, out) => {
        setPixels(current, c, hw, order.subarray(r * step, Math.min((r + 1) * step, hw)), 0, values);
        out.set(current);
      },
      target,
      options.probability ?? true,
      options.batchSize ?? 16,
      where,
    ),
  );
  return { monotonic: curve.every((v, i) => i === 0 || v >= curve[i - 1]!), curve };
}

export interface MonotonicityCorrelationOptions {
  /** Pixels per step (default ⌈H·W / 100⌉; Quantus's default is 1). */
  featuresInStep?: number;
  /** Perturbed copies per step (default 10; Quantus's nr_samples is 100). */
  samples?: number;
  /** Range of the uniform values the step's pixels take (default the image's [min, max]; Quantus's is [0, 1]). */
  low?: number;
  high?: number;
  /** Order by |map| (default true, as Quantus's abs). */
  abs?: boolean;
  /** |f(x)| below which the variance is not divided by f(x)² (default 1e-5, as Quantus). */
  eps?: number;
  /** Score the softmax probability (default true, as Quantus) or the logit. */
  probability?: boolean;
  /**
   * The uniform draws in [0, 1) themselves (for tests): step by step, sample by sample, channel by
   * channel, the step's pixels in order; otherwise drawn from the generator in that order.
   */
  draws?: ArrayLike<number>;
  generator?: Generator;
  /** Seed of a fresh generator (default 0). */
  seed?: number;
  batchSize?: number;
}

/**
 * Monotonicity correlation (Nguyen & Martínez 2020, as Quantus's `MonotonicityCorrelation`): the
 * pixels, in steps of `featuresInStep` by increasing |map|, are each in turn (alone, from the
 * original image) replaced `samples` times by uniform values; the Spearman correlation between the
 * step's map sum and the score's variance E[(f(x̃) − f(x))²] / f(x)². Higher (↑) is better.
 */
export function monotonicityCorrelation(
  model: Module,
  image: Tensor,
  map: SaliencyMap,
  target: number,
  options: MonotonicityCorrelationOptions = {},
): number {
  const where = 'monotonicityCorrelation';
  const { values, c, h, w } = imageValues(where, image);
  checkMapSize(where, map, h, w);
  const hw = h * w;
  const step = positiveInt(where, 'featuresInStep', options.featuresInStep, Math.ceil(hw / 100), hw);
  const samples = positiveInt(where, 'samples', options.samples, 10);
  const a = (options.abs ?? true) ? map.data.map(Math.abs) : map.data;
  const order = ascendingOrder(a);
  const steps = Math.ceil(hw / step);
  if (steps < 2) throw new Error(`${where}: featuresInStep ${step} leaves one step; a correlation needs two`);
  let low = options.low;
  let high = options.high;
  if (low === undefined || high === undefined) {
    low ??= imageMin(values);
    high ??= -imageMin(values.map((v) => -v));
  }
  const total = Array.from({ length: steps }, (_, s) => samples * c * (Math.min((s + 1) * step, hw) - s * step)).reduce((x, y) => x + y, 0);
  if (options.draws && options.draws.length !== total)
    throw new Error(
      `${where}: draws must hold ${total} values (steps × samples × channels × pixels per step), got ${options.draws.length}`,
    );
  const gen = options.draws ? null : metricGenerator(options);
  let next = 0;
  const draw = () => (options.draws ? options.draws[next++]! : gen!.uniform());
  const prob = options.probability ?? true;
  const y = scoreImages(model, values, [c, h, w], target, prob, 1, where)[0]!;
  const eps = options.eps ?? 1e-5;
  const inv = Math.abs(y) >= eps ? 1 / (y * y) : 1;
  const sums = new Float64Array(steps);
  const variances = new Float64Array(steps);
  const scores = scoreGenerated(
    model,
    [c, h, w],
    steps * samples,
    (r, out) => {
      const s = Math.floor(r / samples);
      const pixels = order.subarray(s * step, Math.min((s + 1) * step, hw));
      out.set(values);
      for (let k = 0; k < c; k++) for (const p of pixels) out[k * hw + p] = low! + (high! - low!) * draw();
    },
    target,
    prob,
    options.batchSize ?? 16,
    where,
  );
  for (let s = 0; s < steps; s++) {
    for (const p of order.subarray(s * step, Math.min((s + 1) * step, hw))) sums[s] = sums[s]! + a[p]!;
    let v = 0;
    for (let j = 0; j < samples; j++) v += (scores[s * samples + j]! - y) ** 2;
    variances[s] = (v / samples) * inv;
  }
  return spearman(sums, variances);
}
