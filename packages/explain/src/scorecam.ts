import { add, cast, indexSelect, interpolate, max, mul, noGrad, record, reshape, tensor, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { CamLayer, CamOptions, CamResult } from './cam-core';
import { buildCam, camLayer, weightedSum, withLayer } from './cam-core';
import type { ProgressCallback, ResolvedTarget } from './common';
import { checkEval, checkInput, normalizeMaps, repeatItem, repeatTarget, resolveTarget, scoreRows, scoresOf, Warnings } from './common';

export interface ScoreCamOptions extends CamOptions {
  /** Masked inputs per forward pass (default 16). */
  batchSize?: number;
  /** Weight each channel by the softmax probability of the target (default true, as the authors' code); false: by its logit. Function targets use their own score. */
  probability?: boolean;
  /** The reference script's map: 1 + Σₖ sₖ Aₖ (it starts from ones). */
  reference?: boolean;
  /** Called after each batch with (masked inputs scored, N · K). */
  onProgress?: ProgressCallback;
}

/**
 * Score-CAM (Wang et al. 2020): each channel Aₖ of the target layer is upsampled bilinearly to the
 * input size, min–max normalised to a mask Hₖ, and weighted by the target's softmax score on x ⊙ Hₖ
 * (the authors' code: no baseline subtraction; constant channels get weight 0); the map is
 * ReLU(Σₖ sₖ Aₖ), [N, h, w] and [N, H, W]. Masked inputs are scored in batches, without recording.
 */
export function scoreCam(model: Module, x: Tensor, given: ScoreCamOptions = {}): CamResult {
  const method = 'scoreCam';
  checkInput(method, x);
  const options = withLayer(model, x, given);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const [n, , hh, ww] = x.shape as [number, number, number, number];
  const batch = Math.max(1, Math.floor(options.batchSize ?? 16));
  const { output, tape } = record(() => model.call(x));
  let layer: CamLayer | null = null;
  try {
    const target: ResolvedTarget =
      typeof options.target === 'function' ? { classes: null, fn: options.target } : resolveTarget(method, options.target, output);
    layer = camLayer(method, model, tape, options);
    const a = layer.a;
    const k = a.shape[1]!;
    const h = a.shape[2]!;
    const w = a.shape[3]!;
    const allWeights = new Float64Array(n * k);
    let done = 0;
    for (let i = 0; i < n; i++) {
      // Each channel upsampled and min–max scaled to a mask [K, 1, H, W]; a constant channel (an all-zero mask) is not scored.
      const masks = noGrad(() =>
        tidy(() => {
          const up = interpolate(reshape(indexSelect(a, 0, [i]), [k, 1, h, w]), { size: [hh, ww], mode: 'bilinear' });
          return cast(normalizeMaps(up), x.dtype);
        }),
      );
      const weights = allWeights.subarray(i * k, (i + 1) * k);
      try {
        const peak = max(masks, { dim: [1, 2, 3] });
        const peaks = peak.dataSync();
        peak.dispose();
        const active = Array.from({ length: k }, (_, c) => c).filter((c) => Number(peaks[c]) > 0);
        for (let b0 = 0; b0 < active.length; b0 += batch) {
          const chunk = active.slice(b0, b0 + batch);
          const xs = tidy(() => mul(repeatItem(x, i, chunk.length), indexSelect(masks, 0, chunk)));
          let s: Float64Array;
          try {
            s = scoreRows(
              method,
              model,
              xs,
              repeatTarget(
                target,
                chunk.map(() => i),
              ),
              options.probability ?? true,
            );
          } finally {
            xs.dispose();
          }
          chunk.forEach((c, r) => (weights[c] = s[r]!));
          done += chunk.length;
          options.onProgress?.(done, n * k);
        }
        if (active.length < k) {
          done += k - active.length; // constant channels: weight 0, nothing to score
          options.onProgress?.(done, n * k);
        }
      } finally {
        masks.dispose();
      }
    }
    const scores = Array.from(scoresOf(method, output, target));
    const reference = options.reference ?? false;
    return buildCam(
      method,
      a,
      null,
      (acts) => {
        const weights = tensor(allWeights, [n, k], acts.dtype);
        const map = weightedSum(acts, weights);
        return { map: reference ? add(map, 1) : map, weights };
      },
      options.relu ?? true,
      x.shape,
      target,
      scores,
      warnings,
    );
  } finally {
    layer?.dispose();
    tape.dispose();
    output.dispose();
  }
}
