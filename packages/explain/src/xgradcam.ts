import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { CamCombine, CamOptions, CamResult, gradientCam, weightedSum } from './cam-core';

/** XGrad-CAM weights wₖ = Σᵢⱼ (Aₖᵢⱼ / Σₐᵦ Aₖₐᵦ) ∂score/∂Aₖᵢⱼ (0 for a channel whose activations sum to 0). */
export const xGradCamCombine: CamCombine = (a, g, k, hw) => {
  const weights = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let sumA = 0;
    let dot = 0;
    for (let j = 0; j < hw; j++) {
      sumA += a[c * hw + j]!;
      dot += a[c * hw + j]! * g![c * hw + j]!;
    }
    weights[c] = sumA !== 0 ? dot / sumA : 0;
  }
  return { map: weightedSum(a, weights, k, hw), weights };
};

/** XGrad-CAM (Fu et al. 2020): ReLU(Σₖ wₖ Aₖ) with activation-normalised gradient weights; [N, h, w] and [N, H, W]. */
export function xGradCam(model: Module, x: Tensor, options: CamOptions = {}): CamResult {
  return gradientCam('xGradCam', model, x, options, xGradCamCombine);
}
