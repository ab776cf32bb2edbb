import { mul, sum } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { CamCombine, CamOptions, CamResult } from './cam-core';
import { gradientCam } from './cam-core';

/** HiResCAM: Σₖ ∂score/∂Aₖ ⊙ Aₖ, element by element (no spatial averaging of the gradient). */
export const hiResCamCombine: CamCombine = (a, g) => ({ map: sum(mul(g!, a), { dim: 1 }), weights: null });

/**
 * HiResCAM (Draelos & Carin 2020): ReLU(Σₖ ∂score/∂Aₖ ⊙ Aₖ) (`relu: false` keeps the signed map,
 * whose sum over positions is the first-order Taylor term of the score); [N, h, w] and [N, H, W].
 */
export function hiResCam(model: Module, x: Tensor, options: CamOptions = {}): CamResult {
  return gradientCam('hiResCam', model, x, options, hiResCamCombine);
}
