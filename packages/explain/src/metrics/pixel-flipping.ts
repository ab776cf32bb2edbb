import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { imageValues } from './batch-scores';
import { checkMapSize, descendingOrder, imageMin, positiveInt, scoreGenerated, setPixels, unitTrapz } from './perturbation-steps';
import type { SaliencyMap } from './saliency';

export interface PixelFlippingOptions {
  /** Pixels flipped per step (default ⌈H·W / 100⌉, so a curve has ≤ 100 points; Quantus's default is 1). */
  featuresInStep?: number;
  /** The value flipped pixels take in every channel (default: the image's minimum, Quantus's "black"). */
  fill?: number;
  /** Score the softmax probability (default true, as Quantus) or the logit. */
  probability?: boolean;
  batchSize?: number;
}

export interface PixelFlippingResult {
  /** The score after each step (⌈H·W / featuresInStep⌉ values; the unflipped image is not one of them, as Quantus). */
  curve: number[];
  /** The fraction of pixels flipped at each point of the curve. */
  fractions: number[];
  /** numpy.trapz(curve, dx=1): Quantus's `return_auc_per_sample` (↓: a faithful map loses the class fast). */
  auc: number;
}

/**
 * Pixel flipping (Bach et al. 2015; Samek et al. 2017, as Quantus's `PixelFlipping`): pixels (all
 * channels) are set to `fill` in order of decreasing map value (ties by index), `featuresInStep` at a
 * time, cumulatively, and the target's score is read after each step. Lower (↓) area is better.
 */
export function pixelFlipping(
  model: Module,
  image: Tensor,
  map: SaliencyMap,
  target: number,
  options: PixelFlippingOptions = {},
): PixelFlippingResult {
  const where = 'pixelFlipping';
  const { values, c, h, w } = imageValues(where, image);
  checkMapSize(where, map, h, w);
  const hw = h * w;
  const step = positiveInt(where, 'featuresInStep', options.featuresInStep, Math.ceil(hw / 100), hw);
  const fill = options.fill ?? imageMin(values);
  const order = descendingOrder(map.data);
  const steps = Math.ceil(hw / step);
  const current = Float64Array.from(values);
  const counts = Array.from({ length: steps }, (_, r) => Math.min((r + 1) * step, hw));
  const scores = scoreGenerated(
    model,
    [c, h, w],
    steps,
    (r, out) => {
      setPixels(current, c, hw, order.subarray(r * step, counts[r]), fill);
      out.set(current);
    },
    target,
    options.probability ?? true,
    options.batchSize ?? 16,
    where,
  );
  const curve = Array.from(scores);
  return { curve, fractions: counts.map((k) => k / hw), auc: unitTrapz(curve) };
}
