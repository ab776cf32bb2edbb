import { abs, cat, div, expand, full, gradRules, gt, inputsOf, mul, narrow, onesLike, sub, tensor, tidy, where } from '@gradlens/tensor';
import type { GradContext, GradRule, RuleOverrides, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { BaseOptions, ResolvedTarget } from './common';
import { checkConstant, checkEval, checkInput, disposePass, recordPass, scoreRows, valuesOf, Warnings } from './common';
import { cleanTarget } from './gradient-core';
import { sumsPerItem } from './layer-core';

/** The element-wise non-linearities DeepLIFT's Rescale rule replaces; every other op keeps its gradient. */
export const RESCALE_OPS = ['relu', 'sigmoid', 'tanh', 'gelu', 'erf', 'clamp'] as const;
/** One of RESCALE_OPS: each has one input, `x`. */
type RescaleOp = (typeof RESCALE_OPS)[number];

/**
 * DeepLIFT's Rescale rule (Shrikumar et al. 2017, §3.5.1) for an element-wise non-linearity y = f(z)
 * recorded on a batch [x-rows; reference-rows] (the first half of dim 0 is the input, the second its
 * reference): the multiplier m = Δy / Δz = (f(z) − f(z_ref)) / (z − z_ref), or the gradient f′(z)
 * where |Δz| ≤ eps (the paper's limit); both halves are multiplied by the same m.
 */
export function rescaleRule<K extends RescaleOp>(op: K, eps: number): GradRule<K> {
  return (dy, ctx) => {
    const { x: z } = inputsOf(ctx as GradContext<RescaleOp>);
    const rows = z.shape[0] ?? 0;
    if (rows % 2 !== 0)
      throw new Error(
        `deepLift: op '${op}' at '${ctx.scope}' saw ${rows} rows; every op must keep the batch on dim 0 (input rows, then reference rows)`,
      );
    const h = rows / 2;
    const dz = sub(narrow(z, 0, 0, h), narrow(z, 0, h, h));
    const dout = sub(narrow(ctx.output, 0, 0, h), narrow(ctx.output, 0, h, h));
    const local = (gradRules[op] as GradRule<K>)(onesLike(ctx.output), ctx)[0]!;
    const far = gt(abs(dz), eps);
    const m = where(far, div(dout, where(far, dz, 1)), narrow(expand(local, z.shape), 0, 0, h));
    return [mul(dy, cat([m, m], 0)), ...ctx.inputs.slice(1).map(() => null)];
  };
}

/** DeepLIFT-Rescale as a rule set for `tape.grad` over a [input; reference] batch. */
export function deepLiftRules(eps = 1e-10): RuleOverrides {
  const rules: RuleOverrides = {};
  for (const op of RESCALE_OPS) (rules as Record<string, unknown>)[op] = rescaleRule(op, eps);
  return rules;
}

export interface DeepLiftOptions extends BaseOptions {
  /** The reference x′: a number or a tensor broadcastable to the input (default 0). */
  baseline?: number | Tensor;
  /** |Δz| at or below which a non-linearity uses its gradient instead of Δy/Δz (default 1e-10, as Captum). */
  eps?: number;
}

/** What `deepLift` and `deepLiftShap` return; the caller owns the tensor. */
export interface DeepLiftResult {
  /** Contributions C_Δx Δt: (x − x′) ⊙ multipliers, [N, …] (the mean over baselines for DeepLIFT-SHAP). */
  attribution: Tensor;
  /**
   * Summation-to-delta gap per item: Σ attribution − (F(x) − F(x′)) (the mean F over the baselines
   * for DeepLIFT-SHAP). Zero up to rounding when every non-linearity is element-wise (max pooling
   * keeps its gradient, which breaks the property where the max's position changes).
   */
  delta: number[];
  scores: number[];
  baselineScores: number[];
  classes: number[] | null;
  warnings: string[];
}

/** The baseline as a tensor of the input's shape (a copy the caller frees). */
export function baselineLike(method: string, x: Tensor, b: number | Tensor | undefined): Tensor {
  return tidy(() => {
    if (b === undefined || typeof b === 'number') return full(x.shape, b ?? 0, x.dtype);
    let e: Tensor;
    try {
      e = expand(b, x.shape);
    } catch {
      throw new Error(`${method}: baseline of shape [${b.shape.join(', ')}] does not broadcast to the input [${x.shape.join(', ')}]`);
    }
    return e === b ? mul(b, 1) : e;
  });
}

/**
 * Multipliers of each row of `xs` [R, …] relative to the matching row of `refs` [R, …] under the
 * Rescale rule, from one recorded pass over [xs; refs] whose reference rows get no seed.
 */
export function rescaleMultipliers(method: string, model: Module, xs: Tensor, refs: Tensor, target: ResolvedTarget, eps: number): Tensor {
  const r = xs.shape[0]!;
  const both = cat([xs, refs], 0);
  try {
    const t: ResolvedTarget = target.classes ? { classes: [...target.classes, ...target.classes], fn: null } : target;
    const pass = recordPass(method, model, both, t);
    try {
      // Seed only the input rows: the reference rows exist to give each non-linearity its Δz.
      const g = pass.gradOutputs[0]!;
      const rowMask = tensor(
        Float32Array.from({ length: 2 * r }, (_, i) => (i < r ? 1 : 0)),
        [2 * r, ...g.shape.slice(1).map(() => 1)],
        g.dtype,
      );
      const seeds = [mul(g, rowMask)];
      try {
        const [grad] = pass.tape.grad(pass.seedOutputs, [both], { rules: deepLiftRules(eps), gradOutputs: seeds });
        try {
          return narrow(grad!, 0, 0, r);
        } finally {
          grad!.dispose();
        }
      } finally {
        rowMask.dispose();
        seeds[0]!.dispose();
      }
    } finally {
      disposePass(pass);
    }
  } finally {
    both.dispose();
  }
}

/**
 * A reference method's result: the attribution with its summation-to-delta gap per item, Σ attribution − (F(x) − F(x′))
 * given the per-item `sums` of the attribution (as the method accumulated them).
 */
export function deltaResult(
  attribution: Tensor,
  sums: readonly number[],
  scores: ArrayLike<number>,
  baselineScores: ArrayLike<number>,
  target: ResolvedTarget,
  warnings: Warnings,
): DeepLiftResult {
  return {
    attribution,
    delta: sums.map((s, i) => s - (scores[i]! - baselineScores[i]!)),
    scores: Array.from(scores),
    baselineScores: Array.from(baselineScores),
    classes: target.classes ? [...target.classes] : null,
    warnings: warnings.list,
  };
}

/**
 * DeepLIFT with the Rescale rule (Shrikumar et al. 2017): one recorded forward pass over the input
 * and its reference side by side, walked back with each element-wise non-linearity's gradient
 * swapped for Δy/Δz; attribution = (x − x′) ⊙ multipliers, [N, …], with the summation-to-delta gap.
 * Linear ops, pooling by averaging and batch norm in eval mode keep their gradient (it equals their
 * multiplier); max pooling keeps its gradient too.
 */
export function deepLift(model: Module, x: Tensor, options: DeepLiftOptions = {}): DeepLiftResult {
  const method = 'deepLift';
  checkInput(method, x, true);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const baseline = baselineLike(method, x, options.baseline);
  try {
    const { target, scores } = cleanTarget(method, model, x, options.target);
    const baselineScores = scoreRows(method, model, baseline, target, false);
    const attribution = tidy(() => mul(rescaleMultipliers(method, model, x, baseline, target, options.eps ?? 1e-10), sub(x, baseline)));
    const sums = sumsPerItem(valuesOf(attribution), x.shape[0]!);
    checkConstant(attribution, target, warnings, 'the input equals the reference, or no multiplier reached the input');
    return deltaResult(attribution, sums, scores, baselineScores, target, warnings);
  } finally {
    baseline.dispose();
  }
}
