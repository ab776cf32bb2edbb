import type { SaliencyMap } from './saliency';

/**
 * Complexity (Bhatt et al. 2020, as Quantus's `Complexity`): the Shannon entropy (natural log) of
 * the map's absolute values taken as a distribution, pₖ = |aₖ| / Σ|a|: −Σ pₖ ln pₖ (0 ln 0 = 0).
 * Between 0 (one pixel) and ln n (uniform); lower (↓) is a simpler explanation. NaN for an all-zero map.
 */
export function complexity(map: SaliencyMap): number {
  let sum = 0;
  for (const v of map.data) sum += Math.abs(v);
  if (map.data.length === 0) throw new Error('complexity: the map is empty');
  if (sum === 0) return NaN;
  let h = 0;
  for (const v of map.data) {
    const p = Math.abs(v) / sum;
    if (p > 0) h -= p * Math.log(p);
  }
  return h;
}
