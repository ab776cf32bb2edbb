import type { BoundingBox, SaliencyMap } from './saliency';
import { checkBox } from './saliency';
import { descendingOrder } from './perturbation-steps';

/** A binary mask (1 inside) of an h × w image from a box in pixel edges (x1, y1 exclusive). */
export function boxMask(box: BoundingBox, height: number, width: number): Uint8Array {
  checkBox('boxMask', box, height, width);
  const m = new Uint8Array(height * width);
  for (let y = Math.max(0, Math.ceil(box.y0)); y < Math.min(height, Math.ceil(box.y1)); y++)
    for (let x = Math.max(0, Math.ceil(box.x0)); x < Math.min(width, Math.ceil(box.x1)); x++) m[y * width + x] = 1;
  return m;
}

function inside(where: string, map: SaliencyMap, mask: ArrayLike<number>): { s: Uint8Array; count: number } {
  if (mask.length !== map.data.length)
    throw new Error(`${where}: the mask has ${mask.length} values but the map is ${map.height}×${map.width}`);
  const s = Uint8Array.from({ length: mask.length }, (_, i) => (mask[i] ? 1 : 0));
  let count = 0;
  for (const v of s) count += v;
  return { s, count };
}

/**
 * Relevance mass accuracy (Arras et al. 2022, as Quantus's `RelevanceMassAccuracy`): Σ_{p∈mask} map_p
 * / Σ_p map_p, the share of the map's mass inside the object mask (any non-zero value). ↑; NaN for an
 * empty mask. Give a non-negative map (the default 'abs-max' reduction is).
 */
export function relevanceMassAccuracy(map: SaliencyMap, mask: ArrayLike<number>): number {
  const { s, count } = inside('relevanceMassAccuracy', map, mask);
  if (count === 0) return NaN;
  let within = 0;
  let total = 0;
  map.data.forEach((v, i) => {
    total += v;
    if (s[i]) within += v;
  });
  return within / total;
}

/**
 * Relevance rank accuracy (Arras et al. 2022, as Quantus's `RelevanceRankAccuracy`): with K the
 * mask's size, the fraction of the map's K highest pixels (ties by index) that lie in the mask. ↑;
 * NaN for an empty mask.
 */
export function relevanceRankAccuracy(map: SaliencyMap, mask: ArrayLike<number>): number {
  const { s, count } = inside('relevanceRankAccuracy', map, mask);
  if (count === 0) return NaN;
  const order = descendingOrder(map.data);
  let hits = 0;
  for (let i = 0; i < count; i++) hits += s[order[i]!]!;
  return hits / count;
}

/**
 * Top-k intersection (Theiner et al. 2021, as Quantus's `TopKIntersection`): the fraction of the
 * map's k highest pixels (ties by index) inside the mask; `conceptInfluence` multiplies by
 * H·W / |mask|. ↑; NaN for an empty mask. Default k = min(1000, ⌊H·W / 4⌋) (Quantus's 1000 is for 224² images).
 */
export function topKIntersection(
  map: SaliencyMap,
  mask: ArrayLike<number>,
  options: { k?: number; conceptInfluence?: boolean } = {},
): number {
  const where = 'topKIntersection';
  const { s, count } = inside(where, map, mask);
  const n = map.data.length;
  const k = options.k ?? Math.max(1, Math.min(1000, Math.floor(n / 4)));
  if (!Number.isInteger(k) || k < 1 || k > n) throw new Error(`${where}: k must be an integer in 1…${n}, got ${k}`);
  if (count === 0) return NaN;
  const order = descendingOrder(map.data);
  let hits = 0;
  for (let i = 0; i < k; i++) hits += s[order[i]!]!;
  return (hits / k) * (options.conceptInfluence ? n / count : 1);
}

/**
 * Attribution localisation (Kohlbrenner et al. 2020, as Quantus's `AttributionLocalisation`): the
 * positive part of the map inside the mask over its total, Σ_in max(a, 0) / (Σ max(a, 0) + 1e-9);
 * `weighted` multiplies by |mask| / (H·W). ↑; NaN for an empty mask.
 */
export function attributionLocalisation(map: SaliencyMap, mask: ArrayLike<number>, options: { weighted?: boolean } = {}): number {
  const { s, count } = inside('attributionLocalisation', map, mask);
  if (count === 0) return NaN;
  let within = 0;
  let total = 0;
  map.data.forEach((v, i) => {
    const a = Math.max(v, 0);
    total += a;
    if (s[i]) within += a;
  });
  const r = within / (total + 1e-9);
  return options.weighted ? (r * count) / map.data.length : r;
}

/**
 * Localisation AUC (Fawcett 2006, as Quantus's `AUC`): the area under the ROC curve of the map as a
 * score for the mask's pixels — the probability that a pixel inside outranks one outside, ties
 * counting ½ (sklearn's roc_auc). ↑; NaN when the mask is empty or covers everything.
 */
export function localisationAUC(map: SaliencyMap, mask: ArrayLike<number>): number {
  const { s, count } = inside('localisationAUC', map, mask);
  const n = map.data.length;
  if (count === 0 || count === n) return NaN;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => map.data[a]! - map.data[b]!);
  // Mann–Whitney U with average ranks for ties.
  let rankSum = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && map.data[idx[j + 1]!] === map.data[idx[i]!]) j++;
    const r = (i + j) / 2 + 1;
    for (let q = i; q <= j; q++) if (s[idx[q]!]) rankSum += r;
    i = j + 1;
  }
  return (rankSum - (count * (count + 1)) / 2) / (count * (n - count));
}
