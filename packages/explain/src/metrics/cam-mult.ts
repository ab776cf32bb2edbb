import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { imageValues, scoreImages } from './batch-scores';
import { checkMapSize } from './perturbation-steps';
import type { SaliencyMap } from './saliency';

/**
 * pytorch-grad-cam's `CamMultImageConfidenceChange`: the target's score of the image multiplied by
 * the map (every channel, pixel by pixel) minus its score of the image, f(x ⊙ m) − f(x). The map is
 * used as given: pass a CAM scaled to [0, 1] (`normalizeMaps`), as pytorch-grad-cam's are. Scores
 * are logits by default (its ClassifierOutputTarget), `probability: true` for softmax.
 */
export function camMultImageConfidenceChange(
  model: Module,
  image: Tensor,
  map: SaliencyMap,
  target: number,
  options: { probability?: boolean } = {},
): number {
  const where = 'camMultImageConfidenceChange';
  const { values, c, h, w } = imageValues(where, image);
  checkMapSize(where, map, h, w);
  const hw = h * w;
  const data = new Float64Array(2 * values.length);
  data.set(values, 0);
  for (let k = 0; k < c; k++) for (let p = 0; p < hw; p++) data[values.length + k * hw + p] = values[k * hw + p]! * map.data[p]!;
  const s = scoreImages(model, data, [c, h, w], target, options.probability ?? false, 2, where);
  return s[1]! - s[0]!;
}

/** pytorch-grad-cam's `DropInConfidence`: max(0, f(x) − f(x ⊙ m)) (↓: keeping what the map shows keeps the score). */
export function dropInConfidence(
  model: Module,
  image: Tensor,
  map: SaliencyMap,
  target: number,
  options: { probability?: boolean } = {},
): number {
  return Math.max(0, -camMultImageConfidenceChange(model, image, map, target, options));
}

/** pytorch-grad-cam's `IncreaseInConfidence`: 1 when f(x ⊙ m) > f(x), else 0 (↑, averaged over images). */
export function increaseInConfidence(
  model: Module,
  image: Tensor,
  map: SaliencyMap,
  target: number,
  options: { probability?: boolean } = {},
): number {
  return camMultImageConfidenceChange(model, image, map, target, options) > 0 ? 1 : 0;
}
