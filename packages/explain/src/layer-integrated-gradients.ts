import { add, cat, mul, sub, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { checkConstant, checkInput, disposePass, passGrad, recordPass, repeatTarget, requireOnPath, scoreRows, valuesOf } from './common';
import { baselineLike } from './deeplift';
import { cleanTarget } from './gradient-core';
import type { LayerDeltaResult, LayerPathOptions } from './layer-core';
import { layerValuesOf, pathSetup, sumsPerItem, totalsTensor, withLayerOutput } from './layer-core';

/**
 * Layer integrated gradients (Captum's LayerIntegratedGradients, attributing to the layer's output):
 * the layer's activation is set to A′ + α (A − A′) between its values for the baseline (A′) and the
 * input (A), the rest of the network runs from there (the input still feeds any branch that skips the
 * layer), and attribution = (A − A′) ⊙ Σₖ wₖ ∂F/∂A at each point, [N, …layer shape]; `delta` =
 * Σ attribution − (F(x) − F(x′)) per item. Path points are batched.
 */
export function layerIntegratedGradients(model: Module, x: Tensor, options: LayerPathOptions): LayerDeltaResult {
  const method = 'layerIntegratedGradients';
  checkInput(method, x, true);
  const { warnings, alphas, weights, batch } = pathSetup(method, model, options, 'gauss-legendre');
  const n = x.shape[0]!;
  const baseline = baselineLike(method, x, options.baseline);
  const owned: Tensor[] = [baseline];
  try {
    const { target, scores } = cleanTarget(method, model, x, options.target);
    const baselineScores = scoreRows(method, model, baseline, target, false);
    const aX = layerValuesOf(method, model, x, options.layer);
    owned.push(aX);
    const aB = layerValuesOf(method, model, baseline, options.layer);
    owned.push(aB);
    const diff = tidy(() => sub(aX, aB));
    owned.push(diff);
    const total = new Float64Array(aX.size);
    for (let s0 = 0; s0 < alphas.length; s0 += batch) {
      const chunk = alphas.slice(s0, s0 + batch);
      const g = tidy(() => {
        const interp = cat(
          chunk.map((a) => add(aB, mul(diff, a))),
          0,
        );
        const xs = cat(
          chunk.map(() => x),
          0,
        );
        const t = repeatTarget(
          target,
          Array.from({ length: chunk.length * n }, (_, r) => r % n),
        );
        const pass = withLayerOutput(method, model, options.layer, interp, () => recordPass(method, model, xs, t));
        try {
          if (s0 === 0) requireOnPath(method, pass.tape, interp, pass.output, options.layer);
          // a copy: where the layer is the model's output, the gradient is the pass's own seed, freed with it
          return mul(passGrad(pass, [interp])[0]!, 1);
        } finally {
          disposePass(pass);
        }
      });
      const gv = g.dataSync();
      g.dispose();
      chunk.forEach((_, c) => {
        const w = weights[s0 + c]!;
        for (let j = 0; j < aX.size; j++) total[j] = total[j]! + w * Number(gv[c * aX.size + j]);
      });
      options.onProgress?.(Math.min(s0 + batch, alphas.length), alphas.length);
    }
    const dv = valuesOf(diff);
    for (let j = 0; j < total.length; j++) total[j] = total[j]! * dv[j]!;
    const attribution = totalsTensor(total, aX.shape, aX.dtype);
    checkConstant(
      attribution,
      target,
      warnings,
      `the layer's activation is the same for the input and the baseline, or no gradient reached it`,
    );
    return {
      attribution,
      delta: sumsPerItem(total, n).map((s, i) => s - (scores[i]! - baselineScores[i]!)),
      scores: Array.from(scores),
      baselineScores: Array.from(baselineScores),
      classes: target.classes ? [...target.classes] : null,
      warnings: warnings.list,
    };
  } finally {
    for (const t of owned) t.dispose();
  }
}
