import { mul, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { checkConstant, checkEval, checkInput, Warnings } from './common';
import { cleanTarget } from './gradient-core';
import type { LayerAttributionOptions, LayerAttributionResult } from './layer-core';
import { layerGradAndEval } from './layer-core';

export interface LayerGradientXActivationOptions extends LayerAttributionOptions {
  /** Multiply the gradient by the activation (default true; false gives the layer gradient ∂score/∂A alone, Captum's multiply_by_inputs). */
  timesActivation?: boolean;
}

/**
 * Layer gradient × activation (Captum's LayerGradientXActivation): A ⊙ ∂score/∂A for the output A of
 * a named layer, [N, …layer shape], from one recorded pass.
 */
export function layerGradientXActivation(model: Module, x: Tensor, options: LayerGradientXActivationOptions): LayerAttributionResult {
  const method = 'layerGradientXActivation';
  checkInput(method, x, true);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const { target, scores } = cleanTarget(method, model, x, options.target);
  const { a, g } = layerGradAndEval(method, model, x, target, options.layer);
  const attribution = options.timesActivation === false ? g : tidy(() => mul(g, a));
  if (attribution !== g) g.dispose();
  a.dispose();
  checkConstant(attribution, target, warnings, `no gradient reached layer '${options.layer}', or its activation is 0`);
  return { attribution, scores: Array.from(scores), classes: target.classes ? [...target.classes] : null, warnings: warnings.list };
}
