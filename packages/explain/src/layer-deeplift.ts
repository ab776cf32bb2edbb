import { cat, mul, narrow, sub, tensor, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { ResolvedTarget } from './common';
import {
  checkConstant,
  checkEval,
  checkInput,
  disposePass,
  layerActivation,
  recordPass,
  requireOnPath,
  scoreRows,
  valuesOf,
  Warnings,
} from './common';
import { baselineLike, deepLiftRules, deltaResult } from './deeplift';
import { cleanTarget } from './gradient-core';
import type { LayerAttributionOptions, LayerDeltaResult } from './layer-core';
import { sumsPerItem } from './layer-core';

export interface LayerDeepLiftOptions extends LayerAttributionOptions {
  /** The reference x′: a number or a tensor broadcastable to the input (default 0). */
  baseline?: number | Tensor;
  /** |Δz| at or below which a non-linearity uses its gradient instead of Δy/Δz (default 1e-10, as Captum). */
  eps?: number;
}

/**
 * Layer DeepLIFT (Captum's LayerDeepLift, attributing to the layer's output): one recorded pass over
 * [x; x′], walked back from the target to the layer with `deepLiftRules`; attribution =
 * (A − A′) ⊙ multipliers, [N, …layer shape], with `delta` = Σ attribution − (F(x) − F(x′)) per item
 * (0 up to rounding when every non-linearity after the layer is element-wise).
 */
export function layerDeepLift(model: Module, x: Tensor, options: LayerDeepLiftOptions): LayerDeltaResult {
  const method = 'layerDeepLift';
  checkInput(method, x, true);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const n = x.shape[0]!;
  const baseline = baselineLike(method, x, options.baseline);
  const both = tidy(() => cat([x, baseline], 0));
  try {
    const { target, scores } = cleanTarget(method, model, x, options.target);
    const baselineScores = scoreRows(method, model, baseline, target, false);
    const t: ResolvedTarget = target.classes ? { classes: [...target.classes, ...target.classes], fn: null } : target;
    const pass = recordPass(method, model, both, t);
    try {
      const a = layerActivation(method, model, pass.tape, options.layer);
      requireOnPath(method, pass.tape, a, pass.output, options.layer);
      const attribution = tidy(() => {
        // Seed only the input rows: the reference rows give each non-linearity its Δz.
        const g = pass.gradOutputs[0]!;
        const rowMask = tensor(
          Float32Array.from({ length: 2 * n }, (_, i) => (i < n ? 1 : 0)),
          [2 * n, ...g.shape.slice(1).map(() => 1)],
          g.dtype,
        );
        const [m] = pass.tape.grad(pass.seedOutputs, [a], { rules: deepLiftRules(options.eps ?? 1e-10), gradOutputs: [mul(g, rowMask)] });
        return mul(narrow(m!, 0, 0, n), sub(narrow(a, 0, 0, n), narrow(a, 0, n, n)));
      });
      const sums = sumsPerItem(valuesOf(attribution), n);
      checkConstant(
        attribution,
        target,
        warnings,
        `the layer's activation is the same for the input and the reference, or no multiplier reached it`,
      );
      return deltaResult(attribution, sums, scores, baselineScores, target, warnings);
    } finally {
      disposePass(pass);
    }
  } finally {
    both.dispose();
    baseline.dispose();
  }
}
