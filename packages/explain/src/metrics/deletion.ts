import { noGrad, softmax, tensor, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { releasingIntermediates, type Module } from '@gradlens/nn';
import { gaussianBlur } from '../features/common';
import type { SaliencyMap, SaliencyOptions } from './saliency';
import { toSaliencyMap } from './saliency';

/** What replaces deleted pixels, or what inserted pixels start from. */
export type CurveBaseline = 'zeros' | 'blur' | number | Tensor;

export interface DeletionOptions extends SaliencyOptions {
  /** Number of steps between 0% and 100% of the pixels (default 50); the curve has steps + 1 points. */
  steps?: number;
  /** Images per forward pass (default 16). */
  batchSize?: number;
  /**
   * The substrate: 'zeros' (0 in the model's input space — the mean colour for a mean-normalised
   * model), 'blur' (the image blurred with σ = `blurSigma`), a constant, or an image [C, H, W] /
   * [1, C, H, W]. Default 'zeros' for deletion, 'blur' for insertion, as RISE.
   */
  baseline?: CurveBaseline;
  /** σ of the blur baseline in pixels (default RISE's 5 px at 224, scaled: 5 · min(H, W) / 224, at least 1). */
  blurSigma?: number;
  /** Score of the curve: the target's softmax probability (default, as RISE) or its raw logit. */
  score?: 'softmax' | 'logit';
  /** Called after each forward batch with the number of curve points done and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface CurveResult {
  /** Area under the curve by the trapezoidal rule over the fraction of pixels changed, in [0, 1] for probabilities. */
  auc: number;
  /** The score after each step, steps + 1 values (the first is the unchanged start). */
  curve: number[];
  /** The fraction of pixels changed at each point, from 0 to 1. */
  fractions: number[];
}

/** Trapezoidal area under (x, y) points. */
export function trapezoidAUC(x: readonly number[], y: readonly number[]): number {
  let a = 0;
  for (let i = 1; i < x.length; i++) a += ((y[i]! + y[i - 1]!) / 2) * (x[i]! - x[i - 1]!);
  return a;
}

/** Pixel indices by decreasing saliency; ties (and NaN, last) in increasing index order. */
export function saliencyOrder(map: SaliencyMap): Int32Array {
  const idx = Array.from({ length: map.data.length }, (_, i) => i);
  const key = (i: number) => (Number.isNaN(map.data[i]!) ? -Infinity : map.data[i]!);
  idx.sort((a, b) => key(b) - key(a) || a - b);
  return Int32Array.from(idx);
}

function imageOf(where: string, image: Tensor): { values: Float32Array; c: number; h: number; w: number } {
  const s = image.shape;
  const chw = s.length === 4 && s[0] === 1 ? s.slice(1) : s;
  if (chw.length !== 3) throw new Error(`${where}: expected an image [C, H, W] or [1, C, H, W], got [${s.join(', ')}]`);
  return { values: Float32Array.from(image.dataSync()), c: chw[0]!, h: chw[1]!, w: chw[2]! };
}

function baselineOf(
  where: string,
  spec: CurveBaseline,
  img: { values: Float32Array; c: number; h: number; w: number },
  sigma: number | undefined,
): Float32Array {
  if (spec === 'zeros') return new Float32Array(img.values.length);
  if (typeof spec === 'number') return new Float32Array(img.values.length).fill(spec);
  if (spec === 'blur') {
    const out = img.values.slice();
    gaussianBlur(out, img.c, img.h, img.w, sigma ?? Math.max(1, (5 * Math.min(img.h, img.w)) / 224));
    return out;
  }
  if (typeof spec === 'string')
    throw new Error(`${where}: baseline must be 'zeros', 'blur', a number or an image tensor, got '${String(spec)}'`);
  const b = imageOf(where, spec);
  if (b.values.length !== img.values.length) {
    throw new Error(`${where}: the baseline image [${spec.shape.join(', ')}] does not match the image [${img.c}, ${img.h}, ${img.w}]`);
  }
  return b.values;
}

/**
 * Runs the deletion or insertion game: pixels (all channels together) move from `from` to `to` in
 * order of decreasing saliency, `steps` equal shares at a time, and the target's score is read
 * after each share with batched forward passes.
 */
function game(
  where: string,
  model: Module,
  image: Tensor,
  map: Tensor | SaliencyMap,
  target: number,
  options: DeletionOptions,
  insertion: boolean,
): CurveResult {
  const img = imageOf(where, image);
  const { c, h, w } = img;
  const m = toSaliencyMap(map, { ...options, size: options.size ?? [h, w] });
  if (m.height !== h || m.width !== w) throw new Error(`${where}: map ${m.width}×${m.height} does not match the image ${w}×${h}`);
  const steps = options.steps ?? 50;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`${where}: steps must be a positive integer, got ${steps}`);
  const batch = Math.max(1, Math.floor(options.batchSize ?? 16));
  const base = baselineOf(where, options.baseline ?? (insertion ? 'blur' : 'zeros'), img, options.blurSigma);
  const [from, to] = insertion ? [base, img.values] : [img.values, base];
  const order = saliencyOrder(m);
  const n = h * w;
  const counts = Array.from({ length: steps + 1 }, (_, k) => Math.round((k * n) / steps));
  const curve: number[] = [];
  const useSoftmax = (options.score ?? 'softmax') === 'softmax';
  const current = from.slice();
  let done = 0;
  for (let k0 = 0; k0 <= steps; k0 += batch) {
    const ks = counts.slice(k0, Math.min(k0 + batch, steps + 1));
    const buf = new Float32Array(ks.length * c * n);
    ks.forEach((count, b) => {
      for (; done < count; done++) {
        const p = order[done]!;
        for (let ch = 0; ch < c; ch++) current[ch * n + p] = to[ch * n + p]!;
      }
      buf.set(current, b * c * n);
    });
    const scores = noGrad(() =>
      tidy(() => {
        const out = releasingIntermediates(() => model.call(tensor(buf, [ks.length, c, h, w], 'float32')));
        if (out.rank !== 2) throw new Error(`${where}: the model must output logits [N, K], got [${out.shape.join(', ')}]`);
        const k = out.shape[1]!;
        if (!Number.isInteger(target) || target < 0 || target >= k)
          throw new Error(`${where}: target class ${target} is out of range for ${k} outputs`);
        const v = (useSoftmax ? softmax(out, 1) : out).dataSync();
        return Array.from({ length: ks.length }, (_, b) => Number(v[b * k + target]));
      }),
    );
    curve.push(...scores);
    options.onProgress?.(curve.length, steps + 1);
  }
  const fractions = counts.map((v) => v / n);
  return { auc: trapezoidAUC(fractions, curve), curve, fractions };
}

/**
 * Deletion AUC (Petsiuk, Das & Saenko 2018, "RISE: Randomized Input Sampling for Explanation of
 * Black-box Models"): starting from the image, replaces pixels with the baseline (default zeros) in
 * order of decreasing saliency, `steps` equal shares at a time, records the target's softmax
 * probability after each share, and returns the trapezoidal area under probability vs. fraction
 * deleted (in [0, 1]; lower is better). Ties in the map are broken by pixel index.
 */
export function deletionAUC(
  model: Module,
  image: Tensor,
  map: Tensor | SaliencyMap,
  target: number,
  options: DeletionOptions = {},
): CurveResult {
  return game('deletionAUC', model, image, map, target, options, false);
}

/**
 * Insertion AUC (Petsiuk et al. 2018, RISE): starting from the baseline (default the image blurred),
 * puts back the image's pixels in order of decreasing saliency, records the target's softmax
 * probability after each share, and returns the trapezoidal area under the curve (in [0, 1]; higher
 * is better).
 */
export function insertionAUC(
  model: Module,
  image: Tensor,
  map: Tensor | SaliencyMap,
  target: number,
  options: DeletionOptions = {},
): CurveResult {
  return game('insertionAUC', model, image, map, target, options, true);
}
