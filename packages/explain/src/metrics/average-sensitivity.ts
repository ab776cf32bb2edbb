import { tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { imageValues, l2, metricGenerator } from './batch-scores';
import type { MaxSensitivityOptions } from './max-sensitivity';
import { explainValues } from './max-sensitivity';
import type { Explainer } from './saliency';

/**
 * Average sensitivity (Yeh et al. 2019, as Quantus's `AvgSensitivity`): the mean, not the maximum, of
 * ‖Φ(x + δ) − Φ(x)‖₂ / ‖Φ(x)‖₂ over δ ~ U(−r, r)ⁿ, on the explainer's raw output, with the options
 * and draws of `maxSensitivity` (10 samples, r = 0.02; Quantus draws 200 with r = 0.2 and leaves out
 * perturbations that change the prediction — this keeps them). Lower (↓) is more robust.
 */
export function averageSensitivity(
  model: Module,
  image: Tensor,
  explainer: Explainer,
  target: number,
  options: MaxSensitivityOptions = {},
): number {
  const where = 'averageSensitivity';
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
  let total = 0;
  for (let s = 0; s < samples; s++) {
    const p = Float32Array.from(values, (v, j) => v + (given ? given[s * values.length + j]! : radius * (2 * gen.uniform() - 1)));
    const xp = tensor(p, [1, c, h, w]);
    try {
      const e = explainValues(explainer, model, xp, target);
      if (e.length !== base.length)
        throw new Error(`${where}: the explainer returned ${e.length} values for a perturbed input, ${base.length} for the input`);
      total += l2(e, base) / norm;
    } finally {
      xp.dispose();
    }
  }
  return total / samples;
}
