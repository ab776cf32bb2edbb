import { tensor } from '@gradlens/tensor';
import type { Generator, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { imageValues, l2, metricGenerator } from './batch-scores';
import type { Explainer } from './saliency';

export interface MaxSensitivityOptions {
  /** Perturbed copies (default 10, as Captum's n_perturb_samples). */
  samples?: number;
  /** Radius r of the L∞ ball the perturbations are drawn from uniformly, U(−r, r) per value (default 0.02, as Captum). */
  radius?: number;
  /** The perturbations δ themselves [samples, C, H, W] (for tests). */
  perturbations?: Tensor;
  generator?: Generator;
  /** Seed of a fresh generator (default 0). */
  seed?: number;
}

/** The explainer's map for `x` as float64 values (the explainer's tensor is disposed). */
export function explainValues(explainer: Explainer, model: Module, x: Tensor, target: number): Float64Array {
  const m = explainer(model, x, target);
  try {
    return Float64Array.from(m.dataSync());
  } finally {
    m.dispose();
  }
}

/**
 * ‖Φ(x + δ) − Φ(x)‖₂ / ‖Φ(x)‖₂ (the norm of Φ(x) taken as 1 when it is 0) for each of `samples` perturbations
 * δ ~ U(−r, r)ⁿ (or the given ones), on the explainer's raw output for the explained class: what max- and average
 * sensitivity summarise. Runs the explainer `samples` + 1 times.
 */
export function sensitivityRatios(
  where: string,
  model: Module,
  image: Tensor,
  explainer: Explainer,
  target: number,
  options: MaxSensitivityOptions = {},
): number[] {
  const { values, c, h, w } = imageValues(where, image);
  const samples = options.perturbations ? options.perturbations.shape[0]! : (options.samples ?? 10);
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`${where}: samples must be a positive integer, got ${samples}`);
  if (options.perturbations && options.perturbations.size !== samples * values.length)
    throw new Error(`${where}: perturbations must be [samples, ${c}, ${h}, ${w}], got [${options.perturbations.shape.join(', ')}]`);
  const radius = options.radius ?? 0.02;
  const gen = metricGenerator(options);
  const given = options.perturbations ? Float64Array.from(options.perturbations.dataSync()) : null;
  const x = tensor(Float32Array.from(values), [1, c, h, w]);
  let base: Float64Array;
  try {
    base = explainValues(explainer, model, x, target);
  } finally {
    x.dispose();
  }
  const norm = l2(base) || 1;
  const ratios: number[] = [];
  for (let s = 0; s < samples; s++) {
    const p = Float32Array.from(values, (v, j) => v + (given ? given[s * values.length + j]! : radius * (2 * gen.uniform() - 1)));
    const xp = tensor(p, [1, c, h, w]);
    try {
      const e = explainValues(explainer, model, xp, target);
      if (e.length !== base.length)
        throw new Error(`${where}: the explainer returned ${e.length} values for a perturbed input, ${base.length} for the input`);
      ratios.push(l2(e, base) / norm);
    } finally {
      xp.dispose();
    }
  }
  return ratios;
}

/**
 * Max-sensitivity (Yeh et al. 2019, as Captum's `sensitivity_max`): the largest relative change of
 * the explanation under small uniform perturbations, max_δ ‖Φ(x + δ) − Φ(x)‖₂ / ‖Φ(x)‖₂ (the norm
 * of Φ(x) taken as 1 when it is 0), δ ~ U(−r, r)ⁿ. Lower (↓) is more robust. Runs the explainer
 * `samples` + 1 times on the explained class.
 */
export function maxSensitivity(
  model: Module,
  image: Tensor,
  explainer: Explainer,
  target: number,
  options: MaxSensitivityOptions = {},
): number {
  return Math.max(0, ...sensitivityRatios('maxSensitivity', model, image, explainer, target, options));
}
