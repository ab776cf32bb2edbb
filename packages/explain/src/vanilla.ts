import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { BaseOptions } from './common';
import type { AttributionResult } from './gradient-core';
import { inputGradient } from './gradient-core';

/**
 * Vanilla gradient (Simonyan et al. 2014): ∂score/∂x, [N, C, H, W], with respect to the
 * (preprocessed) input, from one recorded pass and the default backward rules.
 */
export function vanillaGradient(model: Module, x: Tensor, options: BaseOptions = {}): AttributionResult {
  return inputGradient('vanillaGradient', model, x, options, undefined);
}
