import { mean, stack, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { CamOptions, CamResult } from './cam-core';
import type { TargetSpec } from './common';
import { checkInput, disposeResult, Warnings } from './common';
import { cleanTarget } from './gradient-core';
import { reluScale } from './maps';

/** Any CAM-family function (gradCam, scoreCam, eigenGradCam…) as the combinators call it. */
export type CamMethod<O extends CamOptions = CamOptions> = (model: Module, x: Tensor, options: O) => CamResult;

/** What `multiLayerCam` and `augSmoothCam` return; the caller owns the tensor. */
export interface CombinedCamResult {
  /** The combined map at input size [N, H, W], min–max scaled per item to [0, 1]. */
  map: Tensor;
  classes: number[] | null;
  scores: number[];
  warnings: string[];
}

/** The mean of maps already scaled to [0, 1], scaled again (the combinators' last step). */
export function meanScaled(maps: readonly Tensor[]): Tensor {
  return tidy(() => reluScale(mean(stack(maps), { dim: 0 })));
}

/** The target as class indices resolved once on the clean input (a function target is kept). */
export function fixedTarget(
  method: string,
  model: Module,
  x: Tensor,
  spec: TargetSpec | undefined,
): { target: TargetSpec; classes: number[] | null; scores: number[] } {
  const { target, scores } = cleanTarget(method, model, x, spec);
  return {
    target: target.classes ? [...target.classes] : target.fn!,
    classes: target.classes ? [...target.classes] : null,
    scores: Array.from(scores),
  };
}

/**
 * A CAM method on several target layers, averaged (pytorch-grad-cam's list of target_layers): each
 * layer's map upsampled to the input, ReLU'd and min–max scaled per item, then the mean over the
 * layers scaled again. The target is resolved once on the clean input, so every layer explains the same class.
 */
export function multiLayerCam<O extends CamOptions>(
  camFn: CamMethod<O>,
  model: Module,
  x: Tensor,
  options: O & { layers: readonly string[] },
): CombinedCamResult {
  const method = 'multiLayerCam';
  checkInput(method, x);
  const layers = options.layers;
  if (!Array.isArray(layers) || layers.length === 0)
    throw new Error(`${method}: layers must be a non-empty list of module paths, got ${JSON.stringify(layers)}`);
  const warnings = new Warnings(method, options.onWarning);
  const { target, classes, scores } = fixedTarget(method, model, x, options.target);
  const scaled: Tensor[] = [];
  try {
    for (const layer of layers) {
      const r = camFn(model, x, { ...options, layer, target, onWarning: (m: string) => warnings.warn(`${layer}: ${m}`) });
      try {
        scaled.push(reluScale(r.upsampled));
      } finally {
        disposeResult(r);
      }
    }
    return { map: meanScaled(scaled), classes, scores, warnings: warnings.list };
  } finally {
    scaled.forEach((t) => t.dispose());
  }
}
