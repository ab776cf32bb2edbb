import { minMax } from '../maps';

/** Ranks 1…n of `v` with ties given their average rank (as scipy.stats.rankdata 'average'). */
export function averageRanks(v: ArrayLike<number>): Float64Array {
  const n = v.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => v[a]! - v[b]!);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && v[idx[j + 1]!] === v[idx[i]!]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[idx[k]!] = r;
    i = j + 1;
  }
  return ranks;
}

/** Pearson correlation of two equal-length series; NaN when either is constant. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length) throw new Error(`pearson: series of ${n} and ${b.length} values`);
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

/**
 * Spearman rank correlation of two maps (flattened, equal size): the Pearson correlation of their
 * average ranks, in [−1, 1]; NaN when either map is constant (it has no order). Identical maps give
 * 1, reversed ones −1.
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`spearman: maps of ${a.length} and ${b.length} values`);
  return pearson(averageRanks(a), averageRanks(b));
}

/**
 * Structural similarity (Wang et al. 2004) of two maps [H, W] as skimage.metrics.structural_similarity
 * with its defaults: each map min–max normalised to [0, 1] (data range 1), a 7 × 7 uniform window
 * (smaller, odd, for maps under 7 px), sample covariances, K1 = 0.01, K2 = 0.03, the mean over the
 * windows that fit. In [−1, 1]; 1 for identical maps.
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, height: number, width: number): number {
  if (a.length !== height * width || b.length !== height * width) throw new Error(`ssim: maps must both hold ${height}×${width} values`);
  const x = minMax(a);
  const y = minMax(b);
  let win = Math.min(7, height, width);
  if (win % 2 === 0) win--;
  const np = win * win;
  const cov = np > 1 ? np / (np - 1) : 1;
  const c1 = (0.01 * 1) ** 2;
  const c2 = (0.03 * 1) ** 2;
  let total = 0;
  let count = 0;
  for (let r = 0; r + win <= height; r++) {
    for (let c = 0; c + win <= width; c++) {
      let sx = 0;
      let sy = 0;
      let sxx = 0;
      let syy = 0;
      let sxy = 0;
      for (let i = 0; i < win; i++) {
        for (let j = 0; j < win; j++) {
          const p = (r + i) * width + c + j;
          const u = x[p]!;
          const v = y[p]!;
          sx += u;
          sy += v;
          sxx += u * u;
          syy += v * v;
          sxy += u * v;
        }
      }
      const mx = sx / np;
      const my = sy / np;
      const vx = cov * (sxx / np - mx * mx);
      const vy = cov * (syy / np - my * my);
      const vxy = cov * (sxy / np - mx * my);
      total += ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      count++;
    }
  }
  return total / count;
}
