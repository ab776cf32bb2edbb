import { div, mul, ne, sum, where } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { CamCombine, CamOptions, CamResult } from './cam-core';
import { gradientCam, weightedSum } from './cam-core';

/** XGrad-CAM weights wₖ = Σᵢⱼ (Aₖᵢⱼ / Σₐᵦ Aₖₐᵦ) ∂score/∂Aₖᵢⱼ (0 for a channel whose activations sum to 0). */
export const xGradCamCombine: CamCombine = (a, g) => {
  const sumA = sum(a, { dim: [2, 3] });
  const weights = where(ne(sumA, 0), div(sum(mul(a, g!), { dim: [2, 3] }), sumA), 0);
  return { map: weightedSum(a, weights), weights };
};

/** XGrad-CAM (Fu et al. 2020): ReLU(Σₖ wₖ Aₖ) with activation-normalised gradient weights; [N, h, w] and [N, H, W]. */
export function xGradCam(model: Module, x: Tensor, options: CamOptions = {}): CamResult {
  return gradientCam('xGradCam', model, x, options, xGradCamCombine);
}
