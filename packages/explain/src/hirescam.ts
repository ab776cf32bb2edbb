import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { CamCombine, CamOptions, CamResult, gradientCam } from './cam-core';

/** HiResCAM: Σₖ ∂score/∂Aₖ ⊙ Aₖ, element by element (no spatial averaging of the gradient). */
export const hiResCamCombine: CamCombine = (a, g, k, hw) => {
  const map = new Float64Array(hw);
  for (let c = 0; c < k; c++) for (let j = 0; j < hw; j++) map[j] = map[j]! + g![c * hw + j]! * a[c * hw + j]!;
  return { map, weights: null };
};

/**
 * HiResCAM (Draelos & Carin 2020): ReLU(Σₖ ∂score/∂Aₖ ⊙ Aₖ) (`relu: false` keeps the signed map,
 * whose sum over positions is the first-order Taylor term of the score); [N, h, w] and [N, H, W].
 */
export function hiResCam(model: Module, x: Tensor, options: CamOptions = {}): CamResult {
  return gradientCam('hiResCam', model, x, options, hiResCamCombine);
}
