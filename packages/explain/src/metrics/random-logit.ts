import { noGrad, tidy } from '@gradlens/tensor';
import type { Generator, Tensor } from '@gradlens/tensor';
import { releasingIntermediates, type Module } from '@gradlens/nn';
import { imageValues, metricGenerator } from './batch-scores';
import type { Explainer, SaliencyOptions } from './saliency';
import { toSaliencyMap } from './saliency';
import { ssim } from './stats';

export interface RandomLogitOptions extends SaliencyOptions {
  /** The off class to compare with (default: drawn uniformly from the other classes). */
  otherClass?: number;
  generator?: Generator;
  /** Seed of a fresh generator (default 0). */
  seed?: number;
}

export interface RandomLogitResult {
  /** SSIM of the map for the class and the map for `otherClass` (↓: a class-sensitive map changes). */
  similarity: number;
  otherClass: number;
}

/**
 * Random logit (Sixt et al. 2020, as Quantus's `RandomLogit`): the structural similarity (`ssim`,
 * skimage's defaults on min–max scaled maps) between the explanation of the class and that of a
 * random other class. Lower (↓) is better: the explanation depends on the class. Runs the explainer twice.
 */
export function randomLogit(
  model: Module,
  image: Tensor,
  explainer: Explainer,
  target: number,
  options: RandomLogitOptions = {},
): RandomLogitResult {
  const where = 'randomLogit';
  const { h, w } = imageValues(where, image);
  const x = image.rank === 4 ? image : null;
  if (!x) throw new Error(`${where}: expected one image [1, C, H, W], got [${image.shape.join(', ')}]`);
  const k = noGrad(() => tidy(() => releasingIntermediates(() => model.call(x)).shape));
  if (k.length !== 2) throw new Error(`${where}: the model must output logits [N, K], got [${k.join(', ')}]`);
  const classes = k[1]!;
  if (!Number.isInteger(target) || target < 0 || target >= classes)
    throw new Error(`${where}: target class ${target} does not index the model's ${classes} outputs`);
  if (classes < 2) throw new Error(`${where}: the model has one output; there is no other class`);
  let other = options.otherClass;
  if (other === undefined) {
    const r = metricGenerator(options).int(classes - 1);
    other = r >= target ? r + 1 : r;
  }
  if (!Number.isInteger(other) || other < 0 || other >= classes || other === target)
    throw new Error(`${where}: otherClass must be a class in 0…${classes - 1} other than ${target}, got ${other}`);
  const mapOf = (cls: number) => {
    const m = explainer(model, x, cls);
    try {
      return toSaliencyMap(m, { reduce: options.reduce, size: options.size ?? [h, w] });
    } finally {
      m.dispose();
    }
  };
  const a = mapOf(target);
  const b = mapOf(other);
  return { similarity: ssim(a.data, b.data, a.height, a.width), otherClass: other };
}
