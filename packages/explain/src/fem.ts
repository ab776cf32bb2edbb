import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { CamOptions, CamResult } from './cam-core';
import { activationCam, perItem, withLayer } from './cam-core';
import { checkInput } from './common';

export interface FemOptions extends Omit<CamOptions, 'target'> {
  /** The k of the k-sigma rule (default 2, as pytorch-grad-cam). */
  k?: number;
}

/**
 * FEM, the feature explanation method (Fuad et al. 2020, pytorch-grad-cam's `FEM`): a position of
 * channel c counts when Aᶜ exceeds the channel's spatial mean + k · standard deviation (population);
 * wᶜ is the fraction of positions that count, the map Σᶜ wᶜ Aᶜ, ReLU'd (`relu: false` keeps the sign).
 * Class-agnostic: no target, no gradient. `weights` holds wᶜ [N, K].
 */
export function fem(model: Module, x: Tensor, given: FemOptions = {}): CamResult {
  const method = 'fem';
  checkInput(method, x);
  const options = withLayer(model, x, given);
  const kSigma = options.k ?? 2;
  if (!Number.isFinite(kSigma)) throw new Error(`${method}: k must be a finite number, got ${kSigma}`);
  return activationCam(
    method,
    model,
    x,
    options,
    perItem((a, _g, k, hw) => {
      const weights = new Float64Array(k);
      const map = new Float64Array(hw);
      for (let c = 0; c < k; c++) {
        const row = a.subarray(c * hw, (c + 1) * hw);
        let mean = 0;
        for (const v of row) mean += v;
        mean /= hw;
        let sq = 0;
        for (const v of row) sq += (v - mean) ** 2;
        const th = mean + kSigma * Math.sqrt(sq / hw);
        let count = 0;
        for (const v of row) if (v > th) count++;
        weights[c] = count / hw;
        if (count > 0) for (let j = 0; j < hw; j++) map[j] = map[j]! + weights[c]! * row[j]!;
      }
      return { map, weights };
    }),
    options.relu ?? true,
  );
}
