import { add, div, mul, ne, relu, reshape, sum, where } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { CamCombine, CamOptions, CamResult } from './cam-core';
import { gradientCam, weightedSum } from './cam-core';

/**
 * Grad-CAM++ weights from first-order gradients g = ∂score/∂A (the usual closed form for an
 * exponential output): α = g² / (2g² + Σₐᵦ A · g³), set to 0 where the denominator is 0;
 * wₖ = Σᵢⱼ α · ReLU(g). α is computed as 1 / (2 + Σₐᵦ A · g) where g ≠ 0, the same quotient with g²
 * cancelled: g² and g³ would overflow float32 for large scores (|g| ≳ 1e13) and underflow for tiny ones.
 */
export const gradCamPlusPlusCombine: CamCombine = (a, g) => {
  const [n, k] = a.shape as [number, number];
  const sumA = reshape(sum(a, { dim: [2, 3] }), [n, k, 1, 1]);
  const denom = add(mul(sumA, g!), 2);
  const alpha = where(ne(g!, 0), where(ne(denom, 0), div(1, denom), 0), 0);
  const weights = sum(mul(alpha, relu(g!)), { dim: [2, 3] });
  return { map: weightedSum(a, weights), weights };
};

/** Grad-CAM++ (Chattopadhay et al. 2018): ReLU(Σₖ wₖ Aₖ) with pixel-weighted positive gradients; [N, h, w] and [N, H, W]. */
export function gradCamPlusPlus(model: Module, x: Tensor, options: CamOptions = {}): CamResult {
  return gradientCam('gradCamPlusPlus', model, x, options, gradCamPlusPlusCombine);
}
