import { record, tidy } from '@gradlens/tensor';
import type { RuleOverrides, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { checkConstant, checkEval, checkInput, layerActivation, Warnings } from './common';
import type { NeuronAttributionResult, NeuronOptions, NeuronSelector } from './neuron-selector';
import { neuronSeed } from './neuron-selector';
import { deconvnetRules, guidedRules } from './rules';

export interface NeuronGradientOptions extends NeuronOptions {
  /** Backward rules (default vanilla). */
  rules?: RuleOverrides;
}

/**
 * ∂neuron/∂xs under `rules` from one recorded pass over `xs`, [rows, …] (the caller owns it), with
 * the neuron's value per row.
 */
export function neuronInputGradient(
  method: string,
  model: Module,
  xs: Tensor,
  layer: string,
  neuron: NeuronSelector,
  rules: RuleOverrides | undefined,
): { grad: Tensor; values: number[] } {
  const { output, tape } = record(() => model.call(xs));
  try {
    const a = layerActivation(method, model, tape, layer);
    const { seed, values } = neuronSeed(method, layer, a, neuron);
    try {
      const grad = tidy(() => tape.grad([a], [xs], { rules, gradOutputs: [seed] })[0]!);
      return { grad, values };
    } finally {
      seed.dispose();
    }
  } finally {
    tape.dispose();
    if (output !== xs) output.dispose(); // a model may hand its input back
  }
}

function neuronGradientWith(
  method: string,
  model: Module,
  x: Tensor,
  options: NeuronGradientOptions,
  rules: RuleOverrides | undefined,
): NeuronAttributionResult {
  checkInput(method, x, true);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const { grad, values } = neuronInputGradient(method, model, x, options.layer, options.neuron, rules);
  checkConstant(
    grad,
    { classes: null, fn: null },
    warnings,
    `the neuron of '${options.layer}' passes no gradient to the input (inactive, or switched off by the rules)`,
  );
  return { attribution: grad, neuronValues: values, warnings: warnings.list };
}

/** Neuron gradient (Captum's NeuronGradient): ∂neuron/∂x, [N, C, H, W], the neuron one unit (or a function) of a named layer. */
export function neuronGradient(model: Module, x: Tensor, options: NeuronGradientOptions): NeuronAttributionResult {
  return neuronGradientWith('neuronGradient', model, x, options, options.rules);
}

/** Neuron guided backprop (Captum's NeuronGuidedBackprop): the neuron's gradient under `guidedRules`. */
export function neuronGuidedBackprop(model: Module, x: Tensor, options: NeuronOptions): NeuronAttributionResult {
  return neuronGradientWith('neuronGuidedBackprop', model, x, options, guidedRules);
}

/** Neuron deconvolution (Captum's NeuronDeconvolution): the neuron's gradient under `deconvnetRules`. */
export function neuronDeconvolution(model: Module, x: Tensor, options: NeuronOptions): NeuronAttributionResult {
  return neuronGradientWith('neuronDeconvolution', model, x, options, deconvnetRules);
}
