import type { Generator, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { imageValues, metricGenerator, scoreImages } from './batch-scores';

export interface InfidelityOptions {
  /** Perturbations (default 10, as Captum's n_perturb_samples). */
  samples?: number;
  /** Standard deviation of the Gaussian perturbations I (default 0.1, in the model's input space). */
  stdev?: number;
  /** Scale the attribution by the least-squares β first (Captum's `normalize`; default false, as Captum). */
  normalize?: boolean;
  /** The perturbations themselves [samples, C, H, W] (for tests), used as I. */
  perturbations?: Tensor;
  /** Score the softmax probability instead of the logit (default false). */
  probability?: boolean;
  generator?: Generator;
  /** Seed of a fresh generator (default 0). */
  seed?: number;
  batchSize?: number;
}

/**
 * Infidelity (Yeh et al. 2019, as Captum's `infidelity`): E_I[(Iᵀa − (f(x) − f(x − I)))²] over
 * Gaussian perturbations I, with `normalize` the attribution scaled by β = E[Iᵀa·Δf] / E[(Iᵀa)²]
 * first. Lower (↓) is better. `attribution` has the image's [C, H, W] size, or is a per-pixel map
 * [H, W] applied to every channel (a CAM map upsampled).
 */
export function infidelity(
  model: Module,
  image: Tensor,
  attribution: Tensor | Float64Array,
  target: number,
  options: InfidelityOptions = {},
): number {
  const where = 'infidelity';
  const { values, c, h, w } = imageValues(where, image);
  const hw = h * w;
  const a = attribution instanceof Float64Array ? attribution : Float64Array.from(attribution.dataSync());
  if (a.length !== values.length && a.length !== hw)
    throw new Error(`${where}: the attribution has ${a.length} values; expected the image's ${c}×${h}×${w} or a ${h}×${w} map`);
  const perPixel = a.length === hw && c > 1;
  const samples = options.perturbations ? options.perturbations.shape[0]! : (options.samples ?? 10);
  if (options.perturbations && options.perturbations.size !== samples * values.length)
    throw new Error(`${where}: perturbations must be [samples, ${c}, ${h}, ${w}], got [${options.perturbations.shape.join(', ')}]`);
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`${where}: samples must be a positive integer, got ${samples}`);
  const stdev = options.stdev ?? 0.1;
  const gen = metricGenerator(options);
  const given = options.perturbations ? Float64Array.from(options.perturbations.dataSync()) : null;
  const data = new Float64Array((samples + 1) * values.length);
  data.set(values, 0);
  const dots = new Float64Array(samples);
  for (let s = 0; s < samples; s++) {
    const off = (s + 1) * values.length;
    let dot = 0;
    for (let j = 0; j < values.length; j++) {
      const pert = given ? given[s * values.length + j]! : stdev * gen.normal();
      data[off + j] = values[j]! - pert;
      dot += pert * a[perPixel ? j % hw : j]!;
    }
    dots[s] = dot;
  }
  const scores = scoreImages(model, data, [c, h, w], target, options.probability ?? false, options.batchSize ?? 16, where);
  const diffs = Float64Array.from({ length: samples }, (_, s) => scores[0]! - scores[s + 1]!);
  let beta = 1;
  if (options.normalize) {
    let num = 0;
    let den = 0;
    for (let s = 0; s < samples; s++) {
      num += dots[s]! * diffs[s]!;
      den += dots[s]! ** 2;
    }
    beta = den === 0 ? 0 : num / den;
  }
  let sum = 0;
  for (let s = 0; s < samples; s++) sum += (beta * dots[s]! - diffs[s]!) ** 2;
  return sum / samples;
}
