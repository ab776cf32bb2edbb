import { sub, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { ProgressCallback } from './common';
import { checkConstant, checkInput, valuesOf } from './common';
import { baselineLike } from './deeplift';
import type { IntegrationMethod } from './integrated-gradients';
import { layerValuesOf, pathInputs, pathSetup, sumsPerItem, totalsTensor } from './layer-core';
import { neuronInputGradient } from './neuron-gradient';
import type { NeuronAttributionResult, NeuronOptions } from './neuron-selector';
import { neuronValues } from './neuron-selector';

/** Options of the neuron methods that integrate along a path from a baseline. */
export interface NeuronPathOptions extends NeuronOptions {
  /** The baseline x′: a number, or a tensor broadcastable to the input (default 0). */
  baseline?: number | Tensor;
  /** Number of path points (default 50, as Captum). */
  steps?: number;
  /** Quadrature (default 'gauss-legendre' for integrated gradients, 'riemann-trapezoid' for conductance: Captum's defaults). */
  method?: IntegrationMethod;
  /** Path points per forward pass (rows = batchSize · N; default 16). */
  batchSize?: number;
  onProgress?: ProgressCallback;
}

/** A neuron method with a reference input: also the gap Σ attribution − (neuron(x) − neuron(x′)) per item. */
export interface NeuronDeltaResult extends NeuronAttributionResult {
  delta: number[];
  baselineValues: number[];
}

/** The neuron's value per item for input `x`. */
export function neuronValuesAt(method: string, model: Module, x: Tensor, options: NeuronOptions): number[] {
  const a = layerValuesOf(method, model, x, options.layer);
  try {
    return neuronValues(method, options.layer, a, options.neuron);
  } finally {
    a.dispose();
  }
}

/**
 * Neuron integrated gradients (Captum's NeuronIntegratedGradients): integrated gradients of one
 * neuron of a named layer, (x − x′) ⊙ Σₖ wₖ ∂neuron/∂x (x′ + αₖ (x − x′)), [N, C, H, W], with the
 * completeness gap Σ attribution − (neuron(x) − neuron(x′)) per item. Path points are batched.
 */
export function neuronIntegratedGradients(model: Module, x: Tensor, options: NeuronPathOptions): NeuronDeltaResult {
  const method = 'neuronIntegratedGradients';
  checkInput(method, x, true);
  const { warnings, alphas, weights, batch } = pathSetup(method, model, options, 'gauss-legendre');
  const n = x.shape[0]!;
  const baseline = baselineLike(method, x, options.baseline);
  const diff = tidy(() => sub(x, baseline));
  try {
    const values = neuronValuesAt(method, model, x, options);
    const baselineValues = neuronValuesAt(method, model, baseline, options);
    const total = new Float64Array(x.size);
    for (let s0 = 0; s0 < alphas.length; s0 += batch) {
      const chunk = alphas.slice(s0, s0 + batch);
      const xs = pathInputs(baseline, diff, chunk);
      try {
        const { grad } = neuronInputGradient(method, model, xs, options.layer, options.neuron, undefined);
        const gv = grad.dataSync();
        grad.dispose();
        chunk.forEach((_, c) => {
          const w = weights[s0 + c]!;
          for (let j = 0; j < x.size; j++) total[j] = total[j]! + w * Number(gv[c * x.size + j]);
        });
      } finally {
        xs.dispose();
      }
      options.onProgress?.(Math.min(s0 + batch, alphas.length), alphas.length);
    }
    const dv = valuesOf(diff);
    for (let j = 0; j < total.length; j++) total[j] = total[j]! * dv[j]!;
    const attribution = totalsTensor(total, x.shape, x.dtype);
    checkConstant(
      attribution,
      { classes: null, fn: null },
      warnings,
      'the input equals the baseline, or the neuron passes no gradient to the input',
    );
    return {
      attribution,
      delta: sumsPerItem(total, n).map((s, i) => s - (values[i]! - baselineValues[i]!)),
      neuronValues: values,
      baselineValues,
      warnings: warnings.list,
    };
  } finally {
    diff.dispose();
    baseline.dispose();
  }
}
