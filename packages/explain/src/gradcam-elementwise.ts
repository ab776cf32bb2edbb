import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { CamCombine, CamOptions, CamResult, gradientCam } from './cam-core';

/** Σₖ ReLU(∂score/∂Aₖ ⊙ Aₖ) per position. */
export const gradCamElementWiseCombine: CamCombine = (a, g, k, hw) => {
  const map = new Float64Array(hw);
  for (let c = 0; c < k; c++) for (let j = 0; j < hw; j++) map[j] = map[j]! + Math.max(0, g![c * hw + j]! * a[c * hw + j]!);
  return { map, weights: null };
};

/**
 * Grad-CAM element-wise (pytorch-grad-cam's GradCAMElementWise): ReLU(Σₖ ReLU(∂score/∂Aₖ ⊙ Aₖ)), the
 * HiResCAM product with negative contributions cut per element before the channel sum; [N, h, w] and [N, H, W].
 */
export function gradCamElementWise(model: Module, x: Tensor, options: CamOptions = {}): CamResult {
  return gradientCam('gradCamElementWise', model, x, options, gradCamElementWiseCombine);
}
