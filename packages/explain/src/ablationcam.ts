import { mul, tensor, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { withOutputTransform } from '@gradlens/nn';
import type { Module } from '@gradlens/nn';
import type { CamLayer, CamOptions, CamResult } from './cam-core';
import { buildCam, camLayer, weightedSum, withLayer } from './cam-core';
import type { ProgressCallback } from './common';
import { checkEval, checkInput, disposePass, recordPass, repeatItem, repeatTarget, scoreRows, Warnings } from './common';

export interface AblationCamOptions extends CamOptions {
  /** Ablated copies per forward pass (default 16). */
  batchSize?: number;
  /** Called after each batch with (channels ablated, N · K). */
  onProgress?: ProgressCallback;
}

/** Runs `fn` while module `path` of `model` multiplies its output by `scale` (a tensor broadcasting against it). */
export function withScaledOutput<T>(model: Module, path: string, scale: Tensor, fn: () => T): T {
  return withOutputTransform(model.getModule(path), (y) => mul(y, scale), fn);
}

/**
 * Ablation-CAM (Desai & Ramaswamy 2020): channel weights wₖ = (y − yₖ) / y, with y the target's logit
 * and yₖ the logit when channel k of the target layer is set to zero (the rest of the network runs
 * again on the ablated activation); the map is ReLU(Σₖ wₖ Aₖ), [N, h, w] and [N, H, W]. Ablated
 * copies are scored in batches. Where y = 0, the weights are y − yₖ (with a warning).
 */
export function ablationCam(model: Module, x: Tensor, given: AblationCamOptions = {}): CamResult {
  const method = 'ablationCam';
  checkInput(method, x);
  const options = withLayer(model, x, given);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const n = x.shape[0]!;
  const batch = Math.max(1, Math.floor(options.batchSize ?? 16));
  const pass = recordPass(method, model, x, options.target);
  let layer: CamLayer | null = null;
  try {
    layer = camLayer(method, model, pass.tape, options, pass.output);
    const a = layer.a;
    const k = a.shape[1]!;
    // Channel k is zeroed in the layer's own layout: dim 1 of [N, K, h, w], the last dim of [N, tokens, K] or of channels-last [N, h, w, K].
    const raw = layer.raw;
    const scaleShape = (count: number): number[] => {
      if (layer?.channelsLast) return [count, 1, 1, k];
      if (raw.rank === 4 && raw.shape[1] === k) return [count, k, 1, 1];
      if (raw.rank === 3 && raw.shape[2] === k) return [count, 1, k];
      throw new Error(
        `${method}: cannot ablate the ${k} channels of the reshaped map in layer '${options.layer}' of shape [${raw.shape.join(', ')}]; ablation needs channels on dim 1 of [N, K, h, w] or last in [N, tokens, K]`,
      );
    };
    scaleShape(1);
    const allWeights = new Float64Array(n * k);
    let done = 0;
    for (let i = 0; i < n; i++) {
      const y = pass.scores[i]!;
      if (y === 0) warnings.warn(`the target's score of item ${i} is 0; the weights are y − yₖ, not divided by y`);
      const weights = allWeights.subarray(i * k, (i + 1) * k);
      for (let c0 = 0; c0 < k; c0 += batch) {
        const count = Math.min(batch, k - c0);
        const scale = new Float32Array(count * k).fill(1);
        for (let r = 0; r < count; r++) scale[r * k + c0 + r] = 0;
        const xs = tidy(() => repeatItem(x, i, count));
        const sc = tensor(scale, scaleShape(count), x.dtype);
        try {
          const s = withScaledOutput(model, options.layer, sc, () =>
            scoreRows(method, model, xs, repeatTarget(pass.target, new Array<number>(count).fill(i)), false),
          );
          for (let r = 0; r < count; r++) weights[c0 + r] = y === 0 ? y - s[r]! : (y - s[r]!) / y;
        } finally {
          xs.dispose();
          sc.dispose();
        }
        done += count;
        options.onProgress?.(done, n * k);
      }
    }
    return buildCam(
      method,
      a,
      null,
      (acts) => {
        const weights = tensor(allWeights, [n, k], acts.dtype);
        return { map: weightedSum(acts, weights), weights };
      },
      options.relu ?? true,
      x.shape,
      pass.target,
      pass.scores,
      warnings,
    );
  } finally {
    layer?.dispose();
    disposePass(pass);
  }
}
