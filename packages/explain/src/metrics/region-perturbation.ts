import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { imageValues, scoreImages } from './batch-scores';
import { checkMapSize, imageMin, positiveInt, scoreGenerated, setPixels, unitTrapz } from './perturbation-steps';
import type { SaliencyMap } from './saliency';

export interface RegionPerturbationOptions {
  /** Side of the square patches (default 8, as Quantus). */
  patchSize?: number;
  /** Most relevant patches first (default) or least relevant first. */
  order?: 'morf' | 'lerf';
  /** Patches perturbed (default 100, as Quantus's regions_evaluation; at most the number of patches). */
  regions?: number;
  /** The value perturbed pixels take in every channel (default: the image's minimum, Quantus's "black"). */
  fill?: number;
  /** Score the softmax probability (default true, as Quantus) or the logit. */
  probability?: boolean;
  batchSize?: number;
}

export interface PatchCurveResult {
  /** One value per patch perturbed (see each metric). */
  curve: number[];
  /** numpy.trapz(curve, dx=1), as Quantus's AUC of the curve. */
  auc: number;
  /** The patches in the order they were perturbed, each its pixel indices. */
  patches: number[][];
}

/**
 * The non-overlapping `size`-pixel square patches of an h × w image on Quantus's grid: the image is
 * padded to a multiple of `size` (⌊pad/2⌋ before, ⌈pad/2⌉ after), so border patches are partial.
 * Each patch lists its pixel indices and the sum of the map over them; sorted by decreasing (morf)
 * or increasing (lerf) sum, ties by patch index (numpy's stable argsort).
 */
export function patchOrder(map: SaliencyMap, size: number, order: 'morf' | 'lerf'): number[][] {
  const { height: h, width: w } = map;
  const pad = (d: number) => (d % size === 0 ? 0 : Math.floor((size - (d % size)) / 2));
  const top = pad(h);
  const left = pad(w);
  const rows = Math.ceil(h / size);
  const cols = Math.ceil(w / size);
  const patches: { pixels: number[]; sum: number; index: number }[] = [];
  for (let br = 0; br < rows; br++) {
    for (let bc = 0; bc < cols; bc++) {
      const pixels: number[] = [];
      let sum = 0;
      for (let y = br * size - top; y < (br + 1) * size - top; y++) {
        for (let x = bc * size - left; x < (bc + 1) * size - left; x++) {
          if (y < 0 || y >= h || x < 0 || x >= w) continue;
          pixels.push(y * w + x);
          sum += map.data[y * w + x]!;
        }
      }
      patches.push({ pixels, sum, index: patches.length });
    }
  }
  const sign = order === 'morf' ? -1 : 1;
  patches.sort((a, b) => sign * (a.sum - b.sum) || a.index - b.index);
  return patches.map((p) => p.pixels);
}

function patchCurve(
  where: string,
  model: Module,
  image: Tensor,
  map: SaliencyMap,
  target: number,
  options: RegionPerturbationOptions,
  all: boolean,
): { scores: Float64Array; base: number; patches: number[][] } {
  const { values, c, h, w } = imageValues(where, image);
  checkMapSize(where, map, h, w);
  const size = positiveInt(where, 'patchSize', options.patchSize, 8, Math.max(h, w));
  const order = options.order ?? 'morf';
  if (order !== 'morf' && order !== 'lerf') throw new Error(`${where}: order must be 'morf' or 'lerf', got '${String(order)}'`);
  const ordered = patchOrder(map, size, order);
  const count = all ? ordered.length : Math.min(positiveInt(where, 'regions', options.regions, 100), ordered.length);
  const patches = ordered.slice(0, count);
  const fill = options.fill ?? imageMin(values);
  const hw = h * w;
  const prob = options.probability ?? true;
  const batch = options.batchSize ?? 16;
  const current = Float64Array.from(values);
  const scores = scoreGenerated(
    model,
    [c, h, w],
    count,
    (r, out) => {
      setPixels(current, c, hw, patches[r]!, fill);
      out.set(current);
    },
    target,
    prob,
    batch,
    where,
  );
  const base = scoreImages(model, values, [c, h, w], target, prob, 1, where)[0]!;
  return { scores, base, patches };
}

/**
 * Region perturbation (Samek et al. 2017, as Quantus's `RegionPerturbation`): non-overlapping
 * `patchSize` patches, ordered by the map's sum over them (most relevant first by default), are set
 * to `fill` one after another; `curve` holds f(x) − f(x with the first k patches perturbed). With
 * MoRF a higher (↑) area is better (the score falls fast).
 */
export function regionPerturbation(
  model: Module,
  image: Tensor,
  map: SaliencyMap,
  target: number,
  options: RegionPerturbationOptions = {},
): PatchCurveResult {
  const { scores, base, patches } = patchCurve('regionPerturbation', model, image, map, target, options, false);
  const curve = Array.from(scores, (s) => base - s);
  return { curve, auc: unitTrapz(curve), patches };
}

/**
 * Selectivity (Montavon et al. 2018, as Quantus's `Selectivity`): every `patchSize` patch is removed
 * (set to `fill`) in order of decreasing map sum; `curve` holds the target's score after each
 * removal. Lower (↓) area is better. `order` and `regions` are ignored (all patches, MoRF).
 */
export function selectivity(
  model: Module,
  image: Tensor,
  map: SaliencyMap,
  target: number,
  options: Omit<RegionPerturbationOptions, 'order' | 'regions'> = {},
): PatchCurveResult {
  const { scores, patches } = patchCurve('selectivity', model, image, map, target, { ...options, order: 'morf' }, true);
  const curve = Array.from(scores);
  return { curve, auc: unitTrapz(curve), patches };
}
