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

/**
 * Effective complexity (Nguyen & Martínez 2020, as Quantus's `EffectiveComplexity`): the number of
 * pixels whose |map| / max |map| exceeds `eps` (default 1e-5). Lower (↓) is simpler; 0 for an all-zero map.
 */
export function effectiveComplexity(map: SaliencyMap, options: { eps?: number } = {}): number {
  let max = 0;
  for (const v of map.data) max = Math.max(max, Math.abs(v));
  if (max === 0) return 0;
  const eps = options.eps ?? 1e-5;
  let n = 0;
  for (const v of map.data) if (Math.abs(v) / max > eps) n++;
  return n;
}
