import { tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { CamOptions, CamResult } from './cam-core';
import { checkInput, disposeResult, TargetSpec, Warnings } from './common';
import { cleanTarget } from './gradient-core';

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

/** ReLU then min–max of each of `count` planes of `size` values, in place (pytorch-grad-cam's max(·, 0) and scale_cam_image). */
export function reluScalePlanes(v: Float64Array, count: number, size: number): void {
  for (let p = 0; p < count; p++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = p * size; j < (p + 1) * size; j++) {
      v[j] = Math.max(0, v[j]!);
      lo = Math.min(lo, v[j]!);
      hi = Math.max(hi, v[j]!);
    }
    for (let j = p * size; j < (p + 1) * size; j++) v[j] = hi > lo ? (v[j]! - lo) / (hi - lo) : 0;
  }
}

/** The target as class indices resolved once on the clean input (a function target is kept). */
export function fixedTarget(method: string, model: Module, x: Tensor, spec: TargetSpec | undefined): { target: TargetSpec; classes: number[] | null; scores: number[] } {
  const { target, scores } = cleanTarget(method, model, x, spec);
  return { target: target.classes ? [...target.classes] : target.fn!, classes: target.classes ? [...target.classes] : null, scores: Array.from(scores) };
}

/**
 * A CAM method on several target layers, averaged (pytorch-grad-cam's list of target_layers): each
 * layer's map upsampled to the input, ReLU'd and min–max scaled per item, then the mean over the
 * layers scaled again. The target is resolved once on the clean input, so every layer explains the same class.
 */
export function multiLayerCam<O extends CamOptions>(camFn: CamMethod<O>, model: Module, x: Tensor, options: O & { layers: readonly string[] }): CombinedCamResult {
  const method = 'multiLayerCam';
  checkInput(method, x);
  const layers = options.layers;
  if (!Array.isArray(layers) || layers.length === 0) throw new Error(`${method}: layers must be a non-empty list of module paths, got ${JSON.stringify(layers)}`);
  const warnings = new Warnings(method, options.onWarning);
  const { target, classes, scores } = fixedTarget(method, model, x, options.target);
  const [n, , h, w] = x.shape as [number, number, number, number];
  const total = new Float64Array(n * h * w);
  for (const layer of layers) {
    const r = camFn(model, x, { ...options, layer, target, onWarning: (m: string) => warnings.warn(`${layer}: ${m}`) });
    try {
      const v = Float64Array.from(r.upsampled.dataSync(), Number);
      reluScalePlanes(v, n, h * w);
      for (let j = 0; j < v.length; j++) total[j] = total[j]! + v[j]! / layers.length;
    } finally {
      disposeResult(r);
    }
  }
  reluScalePlanes(total, n, h * w);
  return { map: tensor(Float32Array.from(total), [n, h, w], x.dtype), classes, scores, warnings: warnings.list };
}
