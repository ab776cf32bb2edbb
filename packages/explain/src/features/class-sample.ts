import { Generator, mean, mul, neg, slice, square, sub } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { IMAGENET_MEAN, IMAGENET_STD } from '@gradlens/io';
import type { FeatureVisOptions, FeatureVisResult } from './common';
import { gaussianBlur, optimizeImage, randomImage, sizeOf } from './common';

export interface ClassSampleOptions extends FeatureVisOptions {
  /** Input size, H×W (default 224). */
  size?: number | readonly [number, number];
  /** Range of the random initial pixels in the 0…1 picture scale (default [0, 1], as the reference script). */
  initRange?: readonly [number, number];
  /** λ of the L2 penalty: maximises S_c(x) − λ·mean(x²) (Simonyan et al. 2014; default 0). */
  l2?: number;
}

/** The logit of `target` for x, checked. */
function classLogit(method: string, model: Module, x: Tensor, target: number): Tensor {
  const out = model.call(x);
  const k = out.shape[1] ?? 0;
  if (out.rank !== 2) throw new Error(`${method}: the model must output logits [1, K], got [${out.shape.join(', ')}]`);
  if (!Number.isInteger(target) || target < 0 || target >= k) {
    throw new Error(`${method}: target class ${target} is out of range: the model has ${k} outputs (0…${k - 1})`);
  }
  return mean(slice(out, 1, target, target + 1));
}

/**
 * Class-model visualisation (Simonyan, Vedaldi & Zisserman 2014; the reference project's
 * generate_class_specific_samples.py): from a seeded random image, gradient ascent on the logit
 * S_c(x) − λ·mean(x²). Defaults as the reference: SGD, lr 6, 150 steps, pixels kept in the picture
 * range (the reference re-quantises to 8 bits every step; this keeps floats). Returns the image
 * [3, H, W] in the normalised space; `objective` is the class logit.
 */
export function generateClassSample(model: Module, target: number, options: ClassSampleOptions = {}): FeatureVisResult {
  const method = 'generateClassSample';
  const [h, w] = sizeOf(method, options.size, 224);
  const [low, high] = options.initRange ?? [0, 1];
  const init = randomImage(h, w, low, high, options.mean ?? IMAGENET_MEAN, options.std ?? IMAGENET_STD, new Generator(options.seed ?? 0));
  const l2 = options.l2 ?? 0;
  return optimizeImage(
    method,
    init,
    h,
    w,
    (x) => {
      const value = classLogit(method, model, x, target);
      return { loss: l2 ? sub(mul(mean(square(x)), l2), value) : neg(value), value };
    },
    options,
    { steps: 150, lr: 6, optimizer: 'sgd' },
  );
}

export interface RegularizedClassSampleOptions extends ClassSampleOptions {
  /** Blur the image before every `blurEvery`-th step (default 4, as the reference; 0: never). */
  blurEvery?: number;
  /** σ of the Gaussian blur in pixels (default 1, the reference's PIL radius 1). */
  blurSigma?: number;
  /**
   * Yosinski et al.'s θ_decay: x ← (1 − decay)·x after each step (default 0; the reference's decay is
   * the optimiser's `weightDecay`, 1e-4 by default here as there).
   */
  decay?: number;
  /** After each step, set to 0 (the mean colour) the pixels whose norm over channels is below this percentile (0…100; default 0: off). */
  normClipPercentile?: number;
  /**
   * After each step, set to 0 the pixels whose contribution |Σ_c x·∂S/∂x| (the first-order estimate of
   * the logit lost by zeroing them) is below this percentile (0…100; default 0: off).
   */
  contributionClipPercentile?: number;
  /** Rescale the image gradient to at most this L2 norm before the update (default off; see below). */
  gradientClip?: number;
}

/** The p-th percentile (0…100) of `v`, by sorting (nearest rank below). */
function percentileOf(v: Float64Array, p: number): number {
  const s = Float64Array.from(v).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.floor((p / 100) * s.length)))]!;
}

/**
 * Regularised class-model visualisation (Yosinski et al. 2015, "Understanding Neural Networks Through
 * Deep Visualization"; the reference project's generate_regularized_class_specific_samples.py):
 * gradient ascent on the class logit with the four regularisers of Yosinski et al.: L2 decay (the
 * optimiser's `weightDecay`, and/or `decay`), Gaussian blur every `blurEvery` steps, clipping of
 * pixels with a small norm, and clipping of pixels with a small contribution. The reference script
 * calls `clip_grad_norm` on the model's parameters, which leaves the image untouched; here
 * `gradientClip` clips the image's gradient instead, off by default because with the reference's
 * value (0.1) and lr the image would barely move. Defaults: SGD, lr 6, weight decay 1e-4, 150 steps,
 * blur σ 1 every 4 steps. Returns the image [3, H, W] in the normalised space; `objective` is the logit.
 */
export function generateRegularizedClassSample(
  model: Module,
  target: number,
  options: RegularizedClassSampleOptions = {},
): FeatureVisResult {
  const method = 'generateRegularizedClassSample';
  const [h, w] = sizeOf(method, options.size, 224);
  const [low, high] = options.initRange ?? [0, 1];
  const init = randomImage(h, w, low, high, options.mean ?? IMAGENET_MEAN, options.std ?? IMAGENET_STD, new Generator(options.seed ?? 0));
  const l2 = options.l2 ?? 0;
  const blurEvery = options.blurEvery ?? 4;
  const sigma = options.blurSigma ?? 1;
  const decay = options.decay ?? 0;
  const normPct = options.normClipPercentile ?? 0;
  const contribPct = options.contributionClipPercentile ?? 0;
  for (const [name, v] of [
    ['normClipPercentile', normPct],
    ['contributionClipPercentile', contribPct],
  ] as const) {
    if (!(v >= 0 && v <= 100)) throw new Error(`${method}: ${name} must be in [0, 100], got ${v}`);
  }
  if (!(decay >= 0 && decay < 1)) throw new Error(`${method}: decay must be in [0, 1), got ${decay}`);
  const n = h * w;
  const zeroBelow = (pixels: Float32Array, score: Float64Array, pct: number) => {
    const cut = percentileOf(score, pct);
    for (let p = 0; p < n; p++) if (score[p]! < cut) for (let c = 0; c < 3; c++) pixels[c * n + p] = 0;
  };
  return optimizeImage(
    method,
    init,
    h,
    w,
    (x) => {
      const value = classLogit(method, model, x, target);
      return { loss: l2 ? sub(mul(mean(square(x)), l2), value) : neg(value), value };
    },
    options,
    { steps: 150, lr: 6, optimizer: 'sgd', weightDecay: 1e-4 },
    {
      before: (pixels, step) => {
        if (blurEvery > 0 && step % blurEvery === 0) gaussianBlur(pixels, 3, h, w, sigma);
      },
      gradient: (grad) => {
        const clip = options.gradientClip;
        if (clip === undefined) return;
        let s = 0;
        for (let i = 0; i < grad.length; i++) s += grad[i]! * grad[i]!;
        const norm = Math.sqrt(s);
        if (norm > clip) for (let i = 0; i < grad.length; i++) grad[i] = (grad[i]! * clip) / norm;
      },
      after: (pixels, grad) => {
        if (decay > 0) for (let i = 0; i < pixels.length; i++) pixels[i] = pixels[i]! * (1 - decay);
        if (normPct > 0) {
          const norms = new Float64Array(n);
          for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) norms[p] = norms[p]! + pixels[c * n + p]! ** 2;
          zeroBelow(pixels, norms, normPct);
        }
        if (contribPct > 0) {
          // The loss gradient is −∂S/∂x; contribution of pixel p: |Σ_c x · ∂S/∂x|.
          const contrib = new Float64Array(n);
          for (let p = 0; p < n; p++) {
            let s = 0;
            for (let c = 0; c < 3; c++) s -= pixels[c * n + p]! * grad[c * n + p]!;
            contrib[p] = Math.abs(s);
          }
          zeroBelow(pixels, contrib, contribPct);
        }
      },
    },
  );
}
