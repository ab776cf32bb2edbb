import { tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { DeepLiftResult } from './deeplift';
import { deltaResult } from './deeplift';
import { sumsPerItem } from './layer-core';
import { checkConstant, valuesOf } from './maps';
import type { BaseOptions } from './options';
import { checkEval, checkInput, Warnings } from './options';
import type { ResolvedTarget } from './targets';

/** What DeepLIFT-SHAP and GradientSHAP have checked and read before their passes. */
export interface ShapInputs {
  warnings: Warnings;
  /** Baselines B, items N, values per item. */
  nb: number;
  n: number;
  per: number;
  /** x's and the baselines' values, flat. */
  xv: Float64Array;
  bv: Float64Array;
}

/** The checks both SHAP methods start with (input, eval mode, baselines of x's item shape) and their flat values. */
export function shapInputs(method: string, model: Module, x: Tensor, options: BaseOptions & { baselines: Tensor }): ShapInputs {
  checkInput(method, x, true);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const nb = checkBaselines(method, x, options.baselines);
  const n = x.shape[0]!;
  return { warnings, nb, n, per: x.size / n, xv: valuesOf(x), bv: valuesOf(options.baselines) };
}

/** Checks a baseline distribution [B, …] against x's item shape (B ≥ 1); returns B. */
export function checkBaselines(method: string, x: Tensor, b: Tensor | undefined): number {
  if (!b || b.rank !== x.rank || b.shape.slice(1).join() !== x.shape.slice(1).join() || b.shape[0]! < 1) {
    throw new Error(
      `${method}: baselines must be [B, ${x.shape.slice(1).join(', ')}] with B ≥ 1 (the input's item shape), got ${b ? `[${b.shape.join(', ')}]` : String(b)}`,
    );
  }
  return b.shape[0]!;
}

/**
 * What DeepLIFT-SHAP and GradientSHAP return: the attribution `total` as x's shape and dtype, and per
 * item the gap Σ attribution − (F(x) − mean F(b)); warns (with `hint`) when a map is constant.
 */
export function shapResult(
  x: Tensor,
  total: Float64Array,
  scores: Float64Array,
  baselineScores: Float64Array,
  target: ResolvedTarget,
  warnings: Warnings,
  hint: string,
): DeepLiftResult {
  const attribution = tensor(Float32Array.from(total), x.shape, x.dtype);
  checkConstant(attribution, target, warnings, hint);
  const sums = sumsPerItem(total, x.shape[0]!);
  return deltaResult(attribution, sums, scores, baselineScores, target, warnings);
}
