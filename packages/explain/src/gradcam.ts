import { add, mean } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { CamCombine, CamOptions, CamResult } from './cam-core';
import { gradientCam, weightedSum } from './cam-core';

export interface GradCamOptions extends CamOptions {
  /** The reference script's map: 1 + Σₖ αₖ Aₖ (its `cam = np.ones(...)` start) instead of the paper's Σₖ αₖ Aₖ. */
  reference?: boolean;
}

/** Grad-CAM channel weights αₖ = mean over positions of ∂score/∂Aₖ, then Σₖ αₖ Aₖ (+1 with `reference`). */
export function gradCamCombine(reference: boolean): CamCombine {
  return (a, g) => {
    const weights = mean(g!, { dim: [2, 3] });
    const map = weightedSum(a, weights);
    return { map: reference ? add(map, 1) : map, weights };
  };
}

/**
 * Grad-CAM (Selvaraju et al. 2017): ReLU(Σₖ αₖ Aₖ) with αₖ the spatial mean of ∂score/∂Aₖ, where
 * score is the pre-softmax logit; [N, h, w] at the layer plus [N, H, W] upsampled.
 * `reference: true` starts the sum from ones, as the reference script does.
 */
export function gradCam(model: Module, x: Tensor, options: GradCamOptions = {}): CamResult {
  return gradientCam('gradCam', model, x, options, gradCamCombine(options.reference ?? false));
}
