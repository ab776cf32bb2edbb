import { sub, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { checkConstant, checkInput } from './common';
import { baselineLike } from './deeplift';
import { cleanTarget } from './gradient-core';
import type { LayerAttributionResult, LayerPathOptions } from './layer-core';
import { layerGradAndEval, pathPoints, pathSetup, totalsTensor } from './layer-core';

/**
 * Internal influence (Leino et al. 2018, Captum's InternalInfluence): the path integral of the
 * layer gradient, Σₖ wₖ ∂F/∂A (x′ + αₖ (x − x′)), [N, …layer shape] — integrated gradients' integral
 * taken at a layer and not multiplied by anything. Path points are batched.
 */
export function internalInfluence(model: Module, x: Tensor, options: LayerPathOptions): LayerAttributionResult {
  const method = 'internalInfluence';
  checkInput(method, x, true);
  const { warnings, alphas, weights, batch } = pathSetup(method, model, options, 'gauss-legendre');
  const n = x.shape[0]!;
  const baseline = baselineLike(method, x, options.baseline);
  const diff = tidy(() => sub(x, baseline));
  try {
    const { target, scores } = cleanTarget(method, model, x, options.target);
    let total: Float64Array | null = null;
    let shape: readonly number[] = [];
    for (let s0 = 0; s0 < alphas.length; s0 += batch) {
      const chunk = alphas.slice(s0, s0 + batch);
      const path = pathPoints(baseline, diff, chunk, target);
      try {
        const { a, g } = layerGradAndEval(method, model, path.xs, path.target, options.layer);
        a.dispose();
        shape = [n, ...g.shape.slice(1)];
        const gv = g.dataSync();
        g.dispose();
        const size = gv.length / chunk.length;
        total ??= new Float64Array(size);
        chunk.forEach((_, c) => {
          const w = weights[s0 + c]!;
          for (let j = 0; j < size; j++) total![j] = total![j]! + w * Number(gv[c * size + j]);
        });
      } finally {
        path.xs.dispose();
      }
      options.onProgress?.(Math.min(s0 + batch, alphas.length), alphas.length);
    }
    const attribution = totalsTensor(total!, shape, x.dtype);
    checkConstant(attribution, target, warnings, `no gradient reached layer '${options.layer}' along the path`);
    return { attribution, scores: Array.from(scores), classes: target.classes ? [...target.classes] : null, warnings: warnings.list };
  } finally {
    diff.dispose();
    baseline.dispose();
  }
}
