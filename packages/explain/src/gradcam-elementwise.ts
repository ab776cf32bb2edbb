import { mul, relu, sum } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { CamCombine, CamOptions, CamResult } from './cam-core';
import { gradientCam } from './cam-core';

/** Σₖ ReLU(∂score/∂Aₖ ⊙ Aₖ) per position. */
export const gradCamElementWiseCombine: CamCombine = (a, g) => ({ map: sum(relu(mul(g!, a)), { dim: 1 }), weights: null });

/**
 * Grad-CAM element-wise (pytorch-grad-cam's GradCAMElementWise): ReLU(Σₖ ReLU(∂score/∂Aₖ ⊙ Aₖ)), the
 * HiResCAM product with negative contributions cut per element before the channel sum; [N, h, w] and [N, H, W].
 */
export function gradCamElementWise(model: Module, x: Tensor, options: CamOptions = {}): CamResult {
  return gradientCam('gradCamElementWise', model, x, options, gradCamElementWiseCombine);
}
