import type { RuleOverrides, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { BaseOptions } from './common';
import type { AttributionResult } from './gradient-core';
import { inputGradient } from './gradient-core';

export interface GradientXInputOptions extends BaseOptions {
  /** Backward rules for the gradient (default: vanilla; `guidedRules` gives guided × input). */
  rules?: RuleOverrides;
}

/** Gradient × input (Shrikumar et al. 2016): x ⊙ ∂score/∂x, [N, C, H, W]. */
export function gradientXInput(model: Module, x: Tensor, options: GradientXInputOptions = {}): AttributionResult {
  return inputGradient('gradientXInput', model, x, options, options.rules, true);
}
