import type { Generator, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { imageValues, metricGenerator, scoreImages } from './batch-scores';
import { saliencyOrder } from './deletion';
import type { SaliencyMap } from './saliency';

/** Neighbour offsets [dy, dx] and weights of ROAD's linear imputation (Rong et al. 2022): 1/6 for edges, 1/12 for corners. */
const NEIGHBOURS: readonly [number, number, number][] = [
  [-1, -1, 1 / 12],
  [-1, 0, 1 / 6],
  [-1, 1, 1 / 12],
  [0, -1, 1 / 6],
  [0, 1, 1 / 6],
  [1, -1, 1 / 12],
  [1, 0, 1 / 6],
  [1, 1, 1 / 12],
];

/**
 * ROAD's noisy linear imputation (Rong et al. 2022, §4): every removed pixel (mask 1) takes the
 * weighted mean of its 8 neighbours (weights 1/6 and 1/12), removed ones included, so the removed
 * region solves a sparse symmetric positive-definite system per channel (solved here by conjugate
 * gradients to a relative residual of 1e-12); then `noise`·N(0, 1) is added to the imputed values.
 * A removed region with no kept pixel around it has no solution: an error.
 */
export function noisyLinearImpute(
  values: Float64Array,
  c: number,
  h: number,
  w: number,
  removed: Uint8Array,
  noise: number,
  gen: Generator | null,
): Float64Array {
  const hw = h * w;
  const unknown: number[] = [];
  const slot = new Int32Array(hw).fill(-1);
  for (let p = 0; p < hw; p++) if (removed[p]) slot[p] = unknown.push(p) - 1;
  const out = Float64Array.from(values);
  const m = unknown.length;
  if (m === 0) return out;
  if (m === hw) throw new Error('noisyLinearImpute: every pixel is removed; nothing to impute from');
  // Row i: (Σ_j w_ij) x_i − Σ_{j removed} w_ij x_j = Σ_{j kept} w_ij x_j
  const diag = new Float64Array(m);
  const nbr: { j: number; wt: number }[][] = [];
  for (let i = 0; i < m; i++) {
    const p = unknown[i]!;
    const y = Math.floor(p / w);
    const x = p % w;
    const list: { j: number; wt: number }[] = [];
    for (const [dy, dx, wt] of NEIGHBOURS) {
      const yy = y + dy;
      const xx = x + dx;
      if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
      diag[i] = diag[i]! + wt;
      list.push({ j: yy * w + xx, wt });
    }
    nbr.push(list);
  }
  const apply = (v: Float64Array, r: Float64Array) => {
    for (let i = 0; i < m; i++) {
      let s = diag[i]! * v[i]!;
      for (const { j, wt } of nbr[i]!) if (slot[j]! >= 0) s -= wt * v[slot[j]!]!;
      r[i] = s;
    }
  };
  for (let k = 0; k < c; k++) {
    const b = new Float64Array(m);
    for (let i = 0; i < m; i++) for (const { j, wt } of nbr[i]!) if (slot[j]! < 0) b[i] = b[i]! + wt * values[k * hw + j]!;
    const xs = new Float64Array(m);
    const r = Float64Array.from(b);
    const d = Float64Array.from(r);
    const q = new Float64Array(m);
    let rr = r.reduce((a, v) => a + v * v, 0);
    const stop = 1e-24 * Math.max(rr, 1e-300);
    for (let it = 0; it < 10 * m + 100 && rr > stop; it++) {
      apply(d, q);
      let dq = 0;
      for (let i = 0; i < m; i++) dq += d[i]! * q[i]!;
      if (!(dq > 0)) throw new Error('noisyLinearImpute: a removed region touches no kept pixel (the system is singular)');
      const alpha = rr / dq;
      let rr2 = 0;
      for (let i = 0; i < m; i++) {
        xs[i] = xs[i]! + alpha * d[i]!;
        r[i] = r[i]! - alpha * q[i]!;
        rr2 += r[i]! * r[i]!;
      }
      const beta = rr2 / rr;
      rr = rr2;
      for (let i = 0; i < m; i++) d[i] = r[i]! + beta * d[i]!;
    }
    for (let i = 0; i < m; i++) out[k * hw + unknown[i]!] = xs[i]! + (noise > 0 && gen ? noise * gen.normal() : 0);
  }
  return out;
}

export interface RoadOptions {
  /** Percentages of pixels removed (default 10, 20, …, 90). */
  percentages?: readonly number[];
  /** Standard deviation of the noise added to imputed values (default 0.01, as the authors' NoisyLinearImputer). */
  noise?: number;
  /** Score the softmax probability (default true, as ROAD's accuracy-like curves) or the logit. */
  probability?: boolean;
  generator?: Generator;
  /** Seed of a fresh generator for the noise (default 0). */
  seed?: number;
  batchSize?: number;
}

export interface RoadResult {
  /** Most relevant first: the mean score over the percentages (↓: a faithful map loses the class fast). */
  morf: number;
  /** Least relevant first: the mean score over the percentages (↑: removing what the map calls unimportant keeps the class). */
  lerf: number;
  /** pytorch-grad-cam's `ROADCombined`: (lerf − morf) / 2 (↑). */
  combined: number;
  /** The scores at each percentage. */
  morfCurve: number[];
  lerfCurve: number[];
  percentages: number[];
}

/**
 * ROAD, RemOve And Debias (Rong et al. 2022): the ⌊p·H·W/100⌋ most (MoRF) or least (LeRF)
 * relevant pixels, by the map (ties by pixel index), are removed and filled by noisy linear
 * imputation, and the target's score is read at each percentage p; `morf` and `lerf` average the
 * curve. Assumes a per-pixel map of the image's size and a class target.
 */
export function road(model: Module, image: Tensor, map: SaliencyMap, target: number, options: RoadOptions = {}): RoadResult {
  const where = 'road';
  const { values, c, h, w } = imageValues(where, image);
  if (map.height !== h || map.width !== w)
    throw new Error(`${where}: the map is ${map.height}×${map.width} but the image ${h}×${w}; resize the map first`);
  const hw = h * w;
  const percentages = [...(options.percentages ?? [10, 20, 30, 40, 50, 60, 70, 80, 90])];
  for (const p of percentages) if (!(p >= 0 && p < 100)) throw new Error(`${where}: percentages must lie in [0, 100), got ${p}`);
  const order = saliencyOrder(map);
  const gen = metricGenerator(options);
  const noise = options.noise ?? 0.01;
  const data = new Float64Array(2 * percentages.length * values.length);
  let row = 0;
  for (const mostFirst of [true, false]) {
    for (const p of percentages) {
      const k = Math.floor((p * hw) / 100);
      const removed = new Uint8Array(hw);
      for (let i = 0; i < k; i++) removed[order[mostFirst ? i : hw - 1 - i]!] = 1;
      data.set(noisyLinearImpute(values, c, h, w, removed, noise, gen), row++ * values.length);
    }
  }
  const s = Array.from(scoreImages(model, data, [c, h, w], target, options.probability ?? true, options.batchSize ?? 16, where));
  const morfCurve = s.slice(0, percentages.length);
  const lerfCurve = s.slice(percentages.length);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const morf = mean(morfCurve);
  const lerf = mean(lerfCurve);
  return { morf, lerf, combined: (lerf - morf) / 2, morfCurve, lerfCurve, percentages };
}
