import { mean, mul, neg, slice, square } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { countCallsOn, FeatureVisOptions, FeatureVisResult, imageValues, layerOutput, optimizeImage } from './common';

export interface DeepDreamOptions extends FeatureVisOptions {
  /** Module path of the layer whose activation is amplified. */
  layer: string;
  /**
   * Amplify one filter (maximise its mean activation, as the reference project's deep_dream.py)
   * instead of the whole layer's activation norm (Mordvintsev et al. 2015, the default).
   */
  filter?: number;
}

/**
 * DeepDream (Mordvintsev, Olah & Tyka 2015): gradient ascent on a real image (normalised [3, H, W]
 * or [1, 3, H, W], not changed) of ½·mean(A²) of the layer's activation A — or, with `filter`, of
 * mean(A[0, filter]). Defaults: normalised gradient steps (x ← x + lr·g/mean|g|), lr 0.02, 40 steps,
 * pixels kept in the picture range. Returns the dreamed image [3, H, W]; `objective` is the amplified quantity.
 */
export function deepDream(model: Module, image: Tensor, options: DeepDreamOptions): FeatureVisResult {
  const method = 'deepDream';
  const { values, h, w } = imageValues(method, image);
  const calls = countCallsOn(method, model, options.layer, values, h, w);
  const f = options.filter;
  return optimizeImage(method, values, h, w, (x) => {
    const act = layerOutput(method, model, options.layer, x, calls);
    let value: Tensor;
    if (f === undefined) {
      value = mul(mean(square(act)), 0.5);
    } else {
      const channels = act.shape[1] ?? 0;
      if (act.rank < 2 || !Number.isInteger(f) || f < 0 || f >= channels) {
        throw new Error(`${method}: filter ${f} is out of range for layer '${options.layer}' of shape [${act.shape.join(', ')}]`);
      }
      value = mean(slice(act, 1, f, f + 1));
    }
    return { loss: neg(value), value };
  }, options, { steps: 40, lr: 0.02, optimizer: 'normalized' });
}
