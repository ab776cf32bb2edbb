import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { slic } from '../slic';
import type { SlicOptions } from '../slic';
import { imageValues, scoreImages } from './batch-scores';
import { checkMapSize, descendingOrder, scoreGenerated, setPixels, unitTrapz } from './perturbation-steps';
import type { SaliencyMap } from './saliency';

export interface IrofOptions {
  /** The superpixels: one integer id per pixel (H·W, any ids); default `slic(image, slic)`. */
  segments?: ArrayLike<number>;
  /** Options of the default SLIC segmentation. */
  slic?: SlicOptions;
  /** The value removed segments take in every channel (default: the image's mean over every value, Quantus's "mean"). */
  fill?: number;
  /** Score the softmax probability (default true, as Quantus) or the logit. */
  probability?: boolean;
  batchSize?: number;
}

export interface IrofResult {
  /** Area over the curve, G − numpy.trapz(curve, dx=1) for G segments (Quantus's IROF): ↑. */
  aoc: number;
  /** f(x with the first k segments removed) / f(x), k = 1…G. */
  curve: number[];
  segments: number;
}

/**
 * IROF, iterative removal of features (Rieger & Hansen 2020, as Quantus's `IROF`): superpixels
 * (SLIC by default; numbered by first appearance) are ordered by their mean map value (decreasing,
 * ties by number) and removed one after another (set to `fill`); the curve is the target's score
 * relative to the unperturbed one, and the score the area over it. Higher (↑) is better.
 */
export function irof(model: Module, image: Tensor, map: SaliencyMap, target: number, options: IrofOptions = {}): IrofResult {
  const where = 'irof';
  const { values, c, h, w } = imageValues(where, image);
  checkMapSize(where, map, h, w);
  const hw = h * w;
  const raw = options.segments ?? slic(image, options.slic);
  if (raw.length !== hw) throw new Error(`${where}: segments must hold one id per pixel (${hw}), got ${raw.length}`);
  const ids = new Map<number, number>();
  const members: number[][] = [];
  for (let p = 0; p < hw; p++) {
    const id = raw[p]!;
    if (!Number.isInteger(id)) throw new Error(`${where}: segment ids must be integers, got ${id} at pixel ${p}`);
    let s = ids.get(id);
    if (s === undefined) {
      s = members.push([]) - 1;
      ids.set(id, s);
    }
    members[s]!.push(p);
  }
  const means = members.map((ps) => ps.reduce((a, p) => a + map.data[p]!, 0) / ps.length);
  const order = descendingOrder(means);
  let fill = options.fill;
  if (fill === undefined) {
    fill = 0;
    for (const v of values) fill += v;
    fill /= values.length;
  }
  const prob = options.probability ?? true;
  const y = scoreImages(model, values, [c, h, w], target, prob, 1, where)[0]!;
  const current = Float64Array.from(values);
  const scores = scoreGenerated(
    model,
    [c, h, w],
    members.length,
    (r, out) => {
      setPixels(current, c, hw, members[order[r]!]!, fill!);
      out.set(current);
    },
    target,
    prob,
    options.batchSize ?? 16,
    where,
  );
  const curve = Array.from(scores, (s) => s / y);
  return { aoc: members.length - unitTrapz(curve), curve, segments: members.length };
}
