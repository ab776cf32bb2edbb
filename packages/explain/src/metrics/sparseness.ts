import type { SaliencyMap } from './saliency';

/**
 * Sparseness (Chalasani et al. 2020, as Quantus's `Sparseness`): the Gini index of the map's
 * absolute values, normalised by their maximum and shifted by 1e-7 (Quantus), sorted ascending:
 * Σₖ (2k − n − 1) aₖ / (n Σ aₖ), k = 1…n. In [0, 1); higher (↑) means the attribution is
 * concentrated on fewer pixels. Assumes a per-pixel map (channels already reduced).
 */
export function sparseness(map: SaliencyMap): number {
  const n = map.data.length;
  if (n === 0) throw new Error('sparseness: the map is empty');
  let max = 0;
  for (const v of map.data) max = Math.max(max, Math.abs(v));
  const a = Float64Array.from(map.data, (v) => (max > 0 ? Math.abs(v) / max : 0) + 1e-7).sort();
  let num = 0;
  let sum = 0;
  for (let k = 0; k < n; k++) {
    num += (2 * (k + 1) - n - 1) * a[k]!;
    sum += a[k]!;
  }
  return num / (n * sum);
}
