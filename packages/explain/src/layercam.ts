import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { CamCombine, CamOptions, CamResult, gradientCam } from './cam-core';

/** Layer-CAM: Σₖ ReLU(∂score/∂Aₖ) ⊙ Aₖ, element by element. */
export const layerCamCombine: CamCombine = (a, g, k, hw) => {
  const map = new Float64Array(hw);
  for (let c = 0; c < k; c++) for (let j = 0; j < hw; j++) map[j] = map[j]! + Math.max(0, g![c * hw + j]!) * a[c * hw + j]!;
  return { map, weights: null };
};

/** Layer-CAM (Jiang et al. 2021): ReLU(Σₖ ReLU(∂score/∂Aₖ) ⊙ Aₖ); [N, h, w] and [N, H, W]. */
export function layerCam(model: Module, x: Tensor, options: CamOptions = {}): CamResult {
  return gradientCam('layerCam', model, x, options, layerCamCombine);
}
