import { mul, relu, sum } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { CamCombine, CamOptions, CamResult } from './cam-core';
import { gradientCam } from './cam-core';

/** Layer-CAM: Σₖ ReLU(∂score/∂Aₖ) ⊙ Aₖ, element by element. */
export const layerCamCombine: CamCombine = (a, g) => ({ map: sum(mul(relu(g!), a), { dim: 1 }), weights: null });

/** Layer-CAM (Jiang et al. 2021): ReLU(Σₖ ReLU(∂score/∂Aₖ) ⊙ Aₖ); [N, h, w] and [N, H, W]. */
export function layerCam(model: Module, x: Tensor, options: CamOptions = {}): CamResult {
  return gradientCam('layerCam', model, x, options, layerCamCombine);
}
