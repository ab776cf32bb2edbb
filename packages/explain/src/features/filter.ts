import { Generator, mean, neg, slice } from '@gradlens/tensor';
import { ReLU, ReLU6 } from '@gradlens/nn';
import type { Module } from '@gradlens/nn';
import { IMAGENET_MEAN, IMAGENET_STD } from '@gradlens/io';
import { parametrizedStart } from './parametrization';
import type { FeatureVisOptions, FeatureVisResult } from './common';
import { countCallsOn, findModule, layerOutput, optimizeImage, randomImage, sizeOf } from './common';

export interface FilterVisualizationOptions extends FeatureVisOptions {
  /** Module path of the layer (`features.10`); its output must be [1, C, h, w] (or [1, C]). */
  layer: string;
  /** Index of the filter (channel) whose mean activation is maximised. */
  filter: number;
  /** Input size, H×W (default 224). */
  size?: number | readonly [number, number];
  /** Range of the random initial pixels in the 0…1 picture scale (default [150/255, 180/255], as the reference script). */
  initRange?: readonly [number, number];
  /**
   * When the layer is a ReLU, maximise the mean of its input (the pre-activation) rather than of its
   * output (default true). A filter that is silent on the grey starting image has a zero output and
   * so a zero gradient: maximising the output leaves the start unchanged, as the reference script
   * does on small trained models. `false` keeps the reference's objective.
   */
  preActivation?: boolean;
}

/**
 * Filter visualisation by activation maximisation (Erhan et al. 2009; the reference project's
 * cnn_layer_visualization.py): from a seeded random image, minimises −mean(A[0, filter]) of the
 * layer's activation A over the pixels. Defaults as the reference: Adam, lr 0.1, weight decay 1e-6,
 * 30 steps. Returns the image [3, H, W] in the normalised space; `objective` is the mean activation
 * that is maximised (of a ReLU's input, unless `preActivation` is false).
 */
export function visualizeFilter(model: Module, options: FilterVisualizationOptions): FeatureVisResult {
  const method = 'visualizeFilter';
  const [h, w] = sizeOf(method, options.size, 224);
  const [low, high] = options.initRange ?? [150 / 255, 180 / 255];
  const g = new Generator(options.seed ?? 0);
  const kind = options.parametrization ?? 'pixel';
  const [mu, sd] = [options.mean ?? IMAGENET_MEAN, options.std ?? IMAGENET_STD];
  const init =
    parametrizedStart(kind, h, w, mu, sd, options.spectrumDecay ?? 1, 0.01, () => g.normal()) ?? randomImage(h, w, low, high, mu, sd, g);
  const calls = countCallsOn(method, model, options.layer, init, h, w);
  const f = options.filter;
  const module = findModule(method, model, options.layer);
  const side = (options.preActivation ?? true) && (module instanceof ReLU || module instanceof ReLU6) ? 'input' : 'output';
  return optimizeImage(
    method,
    init,
    h,
    w,
    (x) => {
      const act = layerOutput(method, model, options.layer, x, calls, side);
      const channels = act.shape[1];
      if (act.rank < 2 || act.shape[0] !== 1 || channels === undefined) {
        throw new Error(`${method}: layer '${options.layer}' gave shape [${act.shape.join(', ')}]; expected [1, C, …]`);
      }
      if (!Number.isInteger(f) || f < 0 || f >= channels) {
        throw new Error(`${method}: filter ${f} is out of range: layer '${options.layer}' has ${channels} channels (0…${channels - 1})`);
      }
      const value = mean(slice(act, 1, f, f + 1));
      return { loss: neg(value), value };
    },
    options,
    { steps: 30, lr: 0.1, optimizer: 'adam', weightDecay: 1e-6 },
  );
}
