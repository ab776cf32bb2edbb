import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { BaseOptions } from './common';
import type { AttributionResult } from './gradient-core';
import { inputGradient } from './gradient-core';
import { deconvnetRules } from './rules';

/**
 * Deconvnet (Zeiler & Fergus 2014) as a backward rule: the "gradient" [N, C, H, W] where every ReLU
 * (and ReLU6) passes only positive gradient, whatever its forward input was; max pooling keeps its
 * switches, convolutions use transposed filters (their ordinary gradient).
 */
export function deconvnet(model: Module, x: Tensor, options: BaseOptions = {}): AttributionResult {
  return inputGradient('deconvnet', model, x, options, deconvnetRules);
}
