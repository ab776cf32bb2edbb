import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { CamCombine, CamOptions, CamResult, gradientCam, weightedSum } from './cam-core';

/**
 * Grad-CAM++ weights from first-order gradients g = ∂score/∂A (the usual closed form for an
 * exponential output): α = g² / (2g² + Σₐᵦ A · g³), set to 0 where the denominator is 0;
 * wₖ = Σᵢⱼ α · ReLU(g).
 */
export const gradCamPlusPlusCombine: CamCombine = (a, g, k, hw) => {
  const weights = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let sumA = 0;
    for (let j = 0; j < hw; j++) sumA += a[c * hw + j]!;
    let w = 0;
    for (let j = 0; j < hw; j++) {
      const gi = g![c * hw + j]!;
      const g2 = gi * gi;
      const denom = 2 * g2 + sumA * g2 * gi;
      const alpha = denom !== 0 ? g2 / denom : 0;
      w += alpha * Math.max(0, gi);
    }
    weights[c] = w;
  }
  return { map: weightedSum(a, weights, k, hw), weights };
};

/** Grad-CAM++ (Chattopadhay et al. 2018): ReLU(Σₖ wₖ Aₖ) with pixel-weighted positive gradients; [N, h, w] and [N, H, W]. */
export function gradCamPlusPlus(model: Module, x: Tensor, options: CamOptions = {}): CamResult {
  return gradientCam('gradCamPlusPlus', model, x, options, gradCamPlusPlusCombine);
}
