import { mul, sub, tensor, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { BaseOptions, ProgressCallback } from './common';
import { repeatTarget, scoreRows } from './common';
import type { DeepLiftResult } from './deeplift';
import { rescaleMultipliers } from './deeplift';
import { cleanTarget } from './gradient-core';
import { shapInputs, shapResult } from './shap-baselines';

export interface DeepLiftShapOptions extends BaseOptions {
  /** The baseline distribution [B, …] (each row one reference of the input's item shape). */
  baselines: Tensor;
  /** As DeepLIFT's (default 1e-10). */
  eps?: number;
  /** Baselines per forward pass (rows = 2 · batchSize · N; default 8). */
  batchSize?: number;
  onProgress?: ProgressCallback;
}

/**
 * DeepLIFT-SHAP (Lundberg & Lee 2017, §4.2): DeepLIFT-Rescale against each reference of a baseline
 * distribution, averaged: Σ attribution = F(x) − mean_b F(b), an approximation of SHAP values.
 */
export function deepLiftShap(model: Module, x: Tensor, options: DeepLiftShapOptions): DeepLiftResult {
  const method = 'deepLiftShap';
  const { warnings, nb, n, per, xv, bv } = shapInputs(method, model, x, options);
  const batch = Math.max(1, Math.floor(options.batchSize ?? 8));
  const { target, scores } = cleanTarget(method, model, x, options.target);
  const baseScores = new Float64Array(n);
  const total = new Float64Array(x.size);
  for (let b0 = 0; b0 < nb; b0 += batch) {
    const count = Math.min(batch, nb - b0);
    // rows: for each baseline j of the chunk, every item i (row j·n + i)
    const xsData = new Float32Array(count * x.size);
    const refData = new Float32Array(count * x.size);
    for (let j = 0; j < count; j++) {
      for (let i = 0; i < n; i++) {
        xsData.set(xv.subarray(i * per, (i + 1) * per), (j * n + i) * per);
        refData.set(bv.subarray((b0 + j) * per, (b0 + j + 1) * per), (j * n + i) * per);
      }
    }
    const shape = [count * n, ...x.shape.slice(1)];
    const xs = tensor(xsData, shape, x.dtype);
    const refs = tensor(refData, shape, x.dtype);
    try {
      const items = Array.from({ length: count * n }, (_, r) => r % n);
      const t = repeatTarget(target, items);
      const s = scoreRows(method, model, refs, t, false);
      for (let r = 0; r < count * n; r++) baseScores[r % n] = baseScores[r % n]! + s[r]! / nb;
      const contrib = tidy(() => mul(rescaleMultipliers(method, model, xs, refs, t, options.eps ?? 1e-10), sub(xs, refs)));
      const cv = contrib.dataSync();
      contrib.dispose();
      for (let r = 0; r < count * n; r++) {
        const i = r % n;
        for (let j = 0; j < per; j++) total[i * per + j] = total[i * per + j]! + Number(cv[r * per + j]) / nb;
      }
    } finally {
      xs.dispose();
      refs.dispose();
    }
    options.onProgress?.(b0 + count, nb);
  }
  return shapResult(x, total, scores, baseScores, target, warnings, 'the input equals every reference, or no multiplier reached the input');
}
