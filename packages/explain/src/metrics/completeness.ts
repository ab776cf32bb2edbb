import { full, noGrad, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { IntegratedGradientsOptions } from '../integrated-gradients';
import { integratedGradients } from '../integrated-gradients';
import type { Explainer } from './saliency';

export interface CompletenessResult {
  /** Σ attribution. */
  sum: number;
  /** f(x) − f(x′): the target's logit on the input minus on the baseline. */
  difference: number;
  /** |Σ attribution − (f(x) − f(x′))|. */
  gap: number;
  /** gap / |f(x) − f(x′)| (Infinity when the difference is 0 and the gap is not, 0 when both are). */
  relativeGap: number;
}

/** Throws unless `input` is one item ([1, …]): the metrics sum one item's attribution against its own logit. */
function checkOneItem(where: string, input: Tensor): void {
  if (input.rank < 2 || input.shape[0] !== 1) {
    throw new Error(
      `${where}: expected one item [1, C, H, W] (or [1, F]), got [${input.shape.join(', ')}]; call it once per item (a batch would mix the items' sums)`,
    );
  }
}

/** The completeness gap of an attribution sum against f(x) − f(x′) (see `CompletenessResult`). */
export function completenessGap(sum: number, fx: number, fBaseline: number): CompletenessResult {
  const difference = fx - fBaseline;
  const gap = Math.abs(sum - difference);
  const relativeGap = gap === 0 ? 0 : difference === 0 ? Infinity : gap / Math.abs(difference);
  return { sum, difference, gap, relativeGap };
}

/**
 * Integrated-gradients completeness (Sundararajan, Taly & Yan 2017, "Axiomatic Attribution for Deep
 * Networks", Proposition 1): runs this package's `integratedGradients` for `target` on one image
 * [1, C, H, W] and returns |Σ attributions − (f(x) − f(x′))| and that gap relative to
 * |f(x) − f(x′)|, where f is the target's logit and x′ the baseline (default 0). The gap measures
 * the quadrature error; it shrinks as `steps` grows.
 */
export function integratedGradientsCompleteness(
  model: Module,
  input: Tensor,
  target: number,
  options: Omit<IntegratedGradientsOptions, 'target' | 'reference'> = {},
): CompletenessResult {
  checkOneItem('integratedGradientsCompleteness', input);
  const r = integratedGradients(model, input, { onWarning: () => undefined, ...options, target });
  try {
    const v = r.attribution.dataSync();
    let s = 0;
    for (let i = 0; i < v.length; i++) s += Number(v[i]);
    return completenessGap(s, r.scores[0]!, r.baselineScores[0]!);
  } finally {
    r.attribution.dispose();
  }
}

/** The target's logit for one image [1, C, H, W] (no gradient recorded). */
export function targetLogit(model: Module, input: Tensor, target: number): number {
  checkOneItem('targetLogit', input);
  return noGrad(() =>
    tidy(() => {
      const out = model.call(input);
      const k = out.shape[1] ?? 0;
      if (out.rank !== 2 || !Number.isInteger(target) || target < 0 || target >= k) {
        throw new Error(`targetLogit: target class ${target} does not fit the model output [${out.shape.join(', ')}]`);
      }
      return Number(out.dataSync()[target]);
    }),
  );
}

/**
 * Completeness of any signed input attribution (the output of `explainer`, summed over every
 * element as returned): |Σ A − (f(x) − f(x′))| relative to |f(x) − f(x′)|, f the target's logit,
 * x′ a constant baseline (default 0). Meaningful for methods that claim completeness (integrated
 * gradients, LRP with conservation, DeepLIFT); gradient × input of a ReLU network without biases too.
 */
export function attributionCompleteness(
  model: Module,
  input: Tensor,
  target: number,
  explainer: Explainer,
  options: { baseline?: number } = {},
): CompletenessResult {
  checkOneItem('attributionCompleteness', input);
  const a = explainer(model, input, target);
  let s = 0;
  try {
    const v = a.dataSync();
    for (let i = 0; i < v.length; i++) s += Number(v[i]);
  } finally {
    a.dispose();
  }
  const base = full(input.shape, options.baseline ?? 0, input.dtype);
  try {
    return completenessGap(s, targetLogit(model, input, target), targetLogit(model, base, target));
  } finally {
    base.dispose();
  }
}
