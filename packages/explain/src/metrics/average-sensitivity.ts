import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { MaxSensitivityOptions } from './max-sensitivity';
import { sensitivityRatios } from './max-sensitivity';
import type { Explainer } from './saliency';

/**
 * Average sensitivity (Yeh et al. 2019, as Quantus's `AvgSensitivity`): the mean, not the maximum, of
 * ‖Φ(x + δ) − Φ(x)‖₂ / ‖Φ(x)‖₂ over δ ~ U(−r, r)ⁿ, on the explainer's raw output, with the options
 * and draws of `maxSensitivity` (10 samples, r = 0.02; Quantus draws 200 with r = 0.2 and leaves out
 * perturbations that change the prediction — this keeps them). Lower (↓) is more robust.
 */
export function averageSensitivity(
  model: Module,
  image: Tensor,
  explainer: Explainer,
  target: number,
  options: MaxSensitivityOptions = {},
): number {
  const ratios = sensitivityRatios('averageSensitivity', model, image, explainer, target, options);
  return ratios.reduce((a, b) => a + b, 0) / ratios.length;
}
