import { sub, tensor, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { TargetSpec } from './common';
import { checkConstant, checkInput, disposePass, layerActivation, passGrad, recordPass, requireOnPath, valuesOf } from './common';
import { baselineLike } from './deeplift';
import { cleanTarget } from './gradient-core';
import { pathPoints, pathSetup, totalsTensor } from './layer-core';
import type { NeuronPathOptions } from './neuron-integrated-gradients';
import { neuronValuesAt } from './neuron-integrated-gradients';
import type { NeuronAttributionResult } from './neuron-selector';
import { neuronOffset } from './neuron-selector';

export interface NeuronConductanceOptions extends Omit<NeuronPathOptions, 'neuron'> {
  /** The neuron's index into the layer's output without the batch dim (a function cannot be used: see below). */
  neuron: number | readonly number[];
  /** The model output whose flow through the neuron is measured (default 'top1'). */
  target?: TargetSpec;
}

/** What `neuronConductance` returns: also the target's scores. */
export interface NeuronConductanceResult extends NeuronAttributionResult {
  scores: number[];
  classes: number[] | null;
}

/**
 * Neuron conductance (Dhamdhere et al. 2018, Captum's NeuronConductance): how much of the target's
 * score flows from each input feature through one neuron y of a named layer,
 * (x − x′) ⊙ Σₖ wₖ ∂F/∂y · ∂y/∂x at x′ + αₖ (x − x′), [N, C, H, W]; both gradients come from the same
 * recorded pass. Default quadrature 'riemann-trapezoid', 50 steps (Captum's). The neuron must be an
 * index: ∂F/∂y is not defined for an aggregate of neurons.
 */
export function neuronConductance(model: Module, x: Tensor, options: NeuronConductanceOptions): NeuronConductanceResult {
  const method = 'neuronConductance';
  checkInput(method, x, true);
  if (typeof options.neuron === 'function')
    throw new Error(
      `${method}: the neuron must be an index into layer '${options.layer}''s output: ∂F/∂neuron is not defined for a function of the layer`,
    );
  const { warnings, alphas, weights, batch } = pathSetup(method, model, options, 'riemann-trapezoid');
  const n = x.shape[0]!;
  const per = x.size / n;
  const baseline = baselineLike(method, x, options.baseline);
  const diff = tidy(() => sub(x, baseline));
  try {
    const values = neuronValuesAt(method, model, x, { layer: options.layer, neuron: options.neuron });
    const { target, scores } = cleanTarget(method, model, x, options.target);
    const total = new Float64Array(x.size);
    for (let s0 = 0; s0 < alphas.length; s0 += batch) {
      const chunk = alphas.slice(s0, s0 + batch);
      const path = pathPoints(baseline, diff, chunk, target);
      try {
        const pass = recordPass(method, model, path.xs, path.target);
        try {
          const a = layerActivation(method, model, pass.tape, options.layer);
          requireOnPath(method, pass.tape, a, pass.output, options.layer);
          const off = neuronOffset(method, options.layer, a.shape, options.neuron);
          const aPer = a.size / a.shape[0]!;
          const ga = passGrad(pass, [a])[0]!;
          const mid = ga.dataSync();
          if (!pass.gradOutputs.includes(ga)) ga.dispose(); // at the model's output it is the pass's own seed
          const seed = new Float32Array(a.size);
          for (let r = 0; r < a.shape[0]!; r++) seed[r * aPer + off] = 1;
          const seedT = tensor(seed, a.shape, a.dtype);
          const gx = pass.tape.grad([a], [path.xs], { gradOutputs: [seedT] })[0]!;
          seedT.dispose();
          const gv = gx.dataSync();
          gx.dispose();
          chunk.forEach((_, c) => {
            for (let i = 0; i < n; i++) {
              const r = c * n + i;
              const f = weights[s0 + c]! * Number(mid[r * aPer + off]);
              for (let j = 0; j < per; j++) total[i * per + j] = total[i * per + j]! + f * Number(gv[r * per + j]);
            }
          });
        } finally {
          disposePass(pass);
        }
      } finally {
        path.xs.dispose();
      }
      options.onProgress?.(Math.min(s0 + batch, alphas.length), alphas.length);
    }
    const dv = valuesOf(diff);
    for (let j = 0; j < total.length; j++) total[j] = total[j]! * dv[j]!;
    const attribution = totalsTensor(total, x.shape, x.dtype);
    checkConstant(attribution, target, warnings, `no score flows through the neuron of '${options.layer}' along the path`);
    return {
      attribution,
      neuronValues: values,
      scores: Array.from(scores),
      classes: target.classes ? [...target.classes] : null,
      warnings: warnings.list,
    };
  } finally {
    diff.dispose();
    baseline.dispose();
  }
}
