import { sub, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { checkConstant, checkInput, scoreRows } from './common';
import { baselineLike, deltaResult } from './deeplift';
import { cleanTarget } from './gradient-core';
import type { LayerDeltaResult, LayerPathOptions } from './layer-core';
import { layerGradAndEval, pathPoints, pathSetup, sumsPerItem, totalsTensor } from './layer-core';

/**
 * Layer conductance (Dhamdhere et al. 2018, as Captum's LayerConductance computes it): along the
 * input path x′ + αₚ (x − x′) at the steps + 1 points of the quadrature, each neuron's conductance is
 * Σₚ ∂F/∂A(xₚ) · (A(xₚ₊₁) − A(xₚ)) — the chain rule ∂A/∂x · dx replaced by the activation's change
 * between consecutive points. [N, …layer shape]; `delta` = Σ attribution − (F(x) − F(x′)), which
 * shrinks as `steps` grows. Path points are batched; consecutive batches are chained.
 */
export function layerConductance(model: Module, x: Tensor, options: LayerPathOptions): LayerDeltaResult {
  const method = 'layerConductance';
  checkInput(method, x, true);
  const { warnings, alphas, batch } = pathSetup(method, model, options, 'gauss-legendre', 1);
  const n = x.shape[0]!;
  const baseline = baselineLike(method, x, options.baseline);
  const diff = tidy(() => sub(x, baseline));
  try {
    const { target, scores } = cleanTarget(method, model, x, options.target);
    const baselineScores = scoreRows(method, model, baseline, target, false);
    let total: Float64Array | null = null;
    let prevA: Float64Array | null = null;
    let prevG: Float64Array | null = null;
    let shape: readonly number[] = [];
    for (let s0 = 0; s0 < alphas.length; s0 += batch) {
      const chunk = alphas.slice(s0, s0 + batch);
      const path = pathPoints(baseline, diff, chunk, target);
      let av: Float64Array;
      let gv: Float64Array;
      try {
        const { a, g } = layerGradAndEval(method, model, path.xs, path.target, options.layer);
        shape = [n, ...a.shape.slice(1)];
        av = Float64Array.from(a.dataSync());
        gv = Float64Array.from(g.dataSync());
        a.dispose();
        g.dispose();
      } finally {
        path.xs.dispose();
      }
      const size = av.length / chunk.length;
      total ??= new Float64Array(size);
      for (let c = 0; c < chunk.length; c++) {
        const off = c * size;
        if (prevA && prevG) {
          for (let j = 0; j < size; j++) total[j] = total[j]! + prevG[j]! * (av[off + j]! - prevA[j]!);
        }
        prevA = av.slice(off, off + size);
        prevG = gv.slice(off, off + size);
      }
      options.onProgress?.(Math.min(s0 + batch, alphas.length), alphas.length);
    }
    const sums = sumsPerItem(total!, n);
    const attribution = totalsTensor(total!, shape, x.dtype);
    checkConstant(attribution, target, warnings, `the layer's activation does not change along the path, or no gradient reached it`);
    return deltaResult(attribution, sums, scores, baselineScores, target, warnings);
  } finally {
    diff.dispose();
    baseline.dispose();
  }
}
