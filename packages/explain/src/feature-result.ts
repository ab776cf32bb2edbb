import { tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { FeatureAttributionResult } from './feature-ablation';
import { checkConstant } from './maps';
import type { Warnings } from './options';
import type { ResolvedTarget } from './targets';

/** Writes item `i`'s feature values onto their pixels in every channel of `attr` (the values of an [N, C, H, W] map). */
export function spreadFeatures(attr: Float32Array, i: number, channels: number, group: Int32Array, values: ArrayLike<number>): void {
  const hw = group.length;
  const per = channels * hw;
  for (let k = 0; k < channels; k++) for (let p = 0; p < hw; p++) attr[i * per + k * hw + p] = values[group[p]!]!;
}

/**
 * What a perturbation method over a feature mask returns: the spread values `attr` as x's shape and
 * dtype, the values per feature, the target and clean scores; warns (with `hint`) when a map is constant.
 */
export function featureResult(
  x: Tensor,
  attr: Float32Array,
  features: number[][],
  target: ResolvedTarget,
  scores: Float64Array,
  warnings: Warnings,
  hint: string,
): FeatureAttributionResult {
  const attribution = tensor(attr, x.shape, x.dtype);
  checkConstant(attribution, target, warnings, hint);
  return {
    attribution,
    features,
    classes: target.classes ? [...target.classes] : null,
    scores: Array.from(scores),
    warnings: warnings.list,
  };
}
