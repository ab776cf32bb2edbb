import { mul, noGrad, tidy } from '@gradlens/tensor';
import type { RuleOverrides, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { BaseOptions, ResolvedTarget, TargetSpec } from './common';
import { checkConstant, checkEval, checkInput, disposePass, passGrad, recordPass, resolveTarget, scoreRows, Warnings } from './common';

/** What a gradient-family method returns; the caller owns (and disposes) the tensors. */
export interface AttributionResult {
  /** The attribution with respect to the input, [N, C, H, W]. */
  attribution: Tensor;
  /** The explained class of each item (null for a target function). */
  classes: number[] | null;
  /** The target's score per item on the clean input (logit for class targets). */
  scores: number[];
  warnings: string[];
}

/**
 * The gradient of the target score with respect to the input batch, from one recorded pass whose
 * backward walk uses `rules` (undefined: the vanilla gradient); with `timesInput`, multiplied by x.
 */
export function inputGradient(
  method: string,
  model: Module,
  x: Tensor,
  options: BaseOptions,
  rules: RuleOverrides | undefined,
  timesInput = false,
): AttributionResult {
  checkInput(method, x, true);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const pass = recordPass(method, model, x, options.target);
  try {
    const attribution = tidy(() => {
      const [g] = passGrad(pass, [x], rules);
      return timesInput ? mul(g!, x) : g!;
    });
    checkConstant(
      attribution,
      pass.target,
      warnings,
      'the gradient is the same everywhere (no path from the input to the target, or every ReLU on it was off)',
    );
    return { attribution, classes: pass.target.classes ? [...pass.target.classes] : null, scores: pass.scores, warnings: warnings.list };
  } finally {
    disposePass(pass);
  }
}

/** Resolves the target on the clean input with one forward pass that records nothing; returns it with the clean scores. */
export function cleanTarget(
  method: string,
  model: Module,
  x: Tensor,
  spec: TargetSpec | undefined,
): { target: ResolvedTarget; scores: Float64Array } {
  const target: ResolvedTarget =
    typeof spec === 'function'
      ? { classes: null, fn: spec }
      : noGrad(() => {
          let r!: ResolvedTarget;
          tidy(() => {
            r = resolveTarget(method, spec, model.call(x));
          });
          return r;
        });
  return { target, scores: scoreRows(method, model, x, target, false) };
}

/**
 * Gradients of the target scores of a batch `xs` (rows are copies of items: `target` already
 * repeated) with respect to `xs`, [rows, …], from one recorded pass; the caller owns the result.
 */
export function batchGradient(method: string, model: Module, xs: Tensor, target: ResolvedTarget, rules: RuleOverrides | undefined): Tensor {
  const pass = recordPass(method, model, xs, target);
  try {
    return passGrad(pass, [xs], rules)[0]!;
  } finally {
    disposePass(pass);
  }
}
