import { noGrad, tensor, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { releasingIntermediates, type Module } from '@gradlens/nn';
import { indexOfMax } from '../maps';
import { imageValues, l2 } from './batch-scores';
import { explainValues } from './max-sensitivity';
import { imageMin, positiveInt } from './perturbation-steps';
import type { Explainer } from './saliency';

export interface ContinuityOptions {
  /** Horizontal translations (default 28, as Quantus's nr_steps): t = −W + k·⌊(2W + 1) / steps⌋, k = 1…steps. */
  steps?: number;
  /** The value shifted-in pixels take in every channel (default: the image's minimum, Quantus's "black"). */
  fill?: number;
  /** Leave out translations whose top class is not `target` (default true, as Quantus's return_nan_when_prediction_changes). */
  skipChangedPredictions?: boolean;
}

/** |Φ| / max |Φ| (Quantus's normalise_by_max then abs; zeros stay zeros). */
function absNormalised(a: Float64Array): Float64Array {
  let max = 0;
  for (const v of a) max = Math.max(max, Math.abs(v));
  return Float64Array.from(a, (v) => (max > 0 ? Math.abs(v) / max : 0));
}

/**
 * Continuity (Montavon et al. 2018, as Quantus's `Continuity`): the image is translated horizontally by
 * t pixels (out[x] = in[x − t], vacated columns `fill`) for `steps` values of t, and the score is the
 * largest ‖Φ(x) − Φ(xₜ)‖₁ / (‖x − xₜ‖₂ + 1e-9), Φ the explainer's output made absolute and divided by
 * its maximum. Translations whose top class is not `target` are left out (Quantus sets them NaN and
 * takes np.max, which makes the whole score NaN; this takes the max of the rest); NaN when none is
 * left. Lower (↓) is more continuous. Runs the explainer `steps` + 1 times.
 */
export function continuity(model: Module, image: Tensor, explainer: Explainer, target: number, options: ContinuityOptions = {}): number {
  const where = 'continuity';
  const { values, c, h, w } = imageValues(where, image);
  const steps = positiveInt(where, 'steps', options.steps, 28, 2 * w + 1);
  const fill = options.fill ?? imageMin(values);
  const dx = Math.floor((2 * w + 1) / steps);
  const skip = options.skipChangedPredictions ?? true;
  const run = (v: ArrayLike<number>): { e: Float64Array; top: number } => {
    const x = tensor(Float32Array.from(v), [1, c, h, w]);
    try {
      const top = noGrad(() =>
        tidy(() => {
          const y = releasingIntermediates(() => model.call(x));
          if (y.rank !== 2 || !Number.isInteger(target) || target < 0 || target >= y.shape[1]!)
            throw new Error(`${where}: target class ${target} does not index the model's output [${y.shape.join(', ')}]`);
          return indexOfMax(y.dataSync());
        }),
      );
      return { e: absNormalised(explainValues(explainer, model, x, target)), top };
    } finally {
      x.dispose();
    }
  };
  const base = run(values).e;
  let worst = NaN;
  for (let k = 1; k <= steps; k++) {
    const t = -w + k * dx;
    const shifted = new Float64Array(values.length);
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const from = x - t;
          shifted[(ch * h + y) * w + x] = from >= 0 && from < w ? values[(ch * h + y) * w + from]! : fill;
        }
    const { e, top } = run(shifted);
    if (e.length !== base.length)
      throw new Error(`${where}: the explainer returned ${e.length} values for a translated input, ${base.length} for the input`);
    if (skip && top !== target) continue;
    let l1 = 0;
    for (let i = 0; i < e.length; i++) l1 += Math.abs(e[i]! - base[i]!);
    const r = l1 / (l2(values, shifted) + 1e-9);
    worst = Number.isNaN(worst) ? r : Math.max(worst, r);
  }
  return worst;
}
