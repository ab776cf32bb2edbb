import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { BaseOptions } from './common';
import type { AttributionResult } from './gradient-core';
import { inputGradient } from './gradient-core';
import { guidedRules } from './rules';

/**
 * Guided backprop (Springenberg et al. 2015): the gradient [N, C, H, W] where every ReLU (module or
 * functional, features or classifier, and ReLU6) passes only positive gradient where its input was
 * positive. (The reference script hooks only the ReLU modules of `model.features`.)
 */
export function guidedBackprop(model: Module, x: Tensor, options: BaseOptions = {}): AttributionResult {
  return inputGradient('guidedBackprop', model, x, options, guidedRules);
}
