import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { CamCombine, CamOptions, CamResult } from './cam-core';
import { gradientCam, perItem } from './cam-core';
import { principalProjection } from './eigencam';

/** Eigen-Grad-CAM per item: the first principal component of ∂score/∂A ⊙ A (centred), with Eigen-CAM's sign rule. */
export const eigenGradCamCombine: CamCombine = perItem((a, g, k, hw) => {
  const ga = new Float64Array(k * hw);
  for (let j = 0; j < ga.length; j++) ga[j] = g![j]! * a[j]!;
  const { map, direction } = principalProjection(ga, k, hw, true);
  return { map, weights: direction };
});

/**
 * Eigen-Grad-CAM (pytorch-grad-cam's EigenGradCAM): Eigen-CAM on the class-specific product
 * ∂score/∂Aₖ ⊙ Aₖ instead of the activations, so the map depends on the target. No ReLU by default
 * (as Eigen-CAM; `relu: true` adds it); `weights` is the principal direction [N, K].
 */
export function eigenGradCam(model: Module, x: Tensor, options: CamOptions = {}): CamResult {
  return gradientCam('eigenGradCam', model, x, options, eigenGradCamCombine, false);
}
