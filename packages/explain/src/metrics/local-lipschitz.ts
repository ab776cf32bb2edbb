import { tensor } from '@gradlens/tensor';
import type { Generator, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { imageValues, l2, metricGenerator } from './batch-scores';
import { explainValues } from './max-sensitivity';
import type { Explainer } from './saliency';

export interface LocalLipschitzOptions {
  /** Perturbed copies (default 20, as Quantus's nr_samples). */
  samples?: number;
  /** Standard deviation of the Gaussian perturbation (default 0.1, as Quantus's perturb_std). */
  stdev?: number;
  /** The perturbations themselves [samples, C, H, W] (for tests), added to the image. */
  perturbations?: Tensor;
  generator?: Generator;
  /** Seed of a fresh generator (default 0). */
  seed?: number;
}

/** |Φ| / max |Φ| (Quantus's abs and normalise_by_max; zeros stay zeros). */
function absNormalised(a: Float64Array): Float64Array {
  let max = 0;
  for (const v of a) max = Math.max(max, Math.abs(v));
  return Float64Array.from(a, (v) => (max > 0 ? Math.abs(v) / max : 0));
}

/**
 * Local Lipschitz estimate (Alvarez-Melis & Jaakkola 2018, as Quantus's `LocalLipschitzEstimate`):
 * max over Gaussian perturbations x′ = x + N(0, σ²) of ‖Φ(x) − Φ(x′)‖₂ / ‖x − x′‖₂, where Φ is the
 * explanation, absolute and divided by its maximum (Quantus's defaults abs and normalise). Lower (↓)
 * is more stable. Runs the explainer `samples` + 1 times on the explained class.
 */
export function localLipschitz(
  model: Module,
  image: Tensor,
  explainer: Explainer,
  target: number,
  options: LocalLipschitzOptions = {},
): number {
  const where = 'localLipschitz';
  const { values, c, h, w } = imageValues(where, image);
  const samples = options.perturbations ? options.perturbations.shape[0]! : (options.samples ?? 20);
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`${where}: samples must be a positive integer, got ${samples}`);
  if (options.perturbations && options.perturbations.size !== samples * values.length)
    throw new Error(`${where}: perturbations must be [samples, ${c}, ${h}, ${w}], got [${options.perturbations.shape.join(', ')}]`);
  const stdev = options.stdev ?? 0.1;
  const gen = metricGenerator(options);
  const given = options.perturbations ? Float64Array.from(options.perturbations.dataSync()) : null;
  const x = tensor(Float32Array.from(values), [1, c, h, w]);
  let base: Float64Array;
  try {
    base = absNormalised(explainValues(explainer, model, x, target));
  } finally {
    x.dispose();
  }
  let worst = 0;
  for (let s = 0; s < samples; s++) {
    const p = Float32Array.from(values, (v, j) => v + (given ? given[s * values.length + j]! : stdev * gen.normal()));
    const xp = tensor(p, [1, c, h, w]);
    try {
      const e = absNormalised(explainValues(explainer, model, xp, target));
      if (e.length !== base.length)
        throw new Error(`${where}: the explainer returned ${e.length} values for a perturbed input, ${base.length} for the input`);
      const dx = l2(p, values);
      if (dx > 0) worst = Math.max(worst, l2(e, base) / dx);
    } finally {
      xp.dispose();
    }
  }
  return worst;
}
