import { add, mul, tensor, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { BaseOptions, ProgressCallback } from './common';
import { checkConstant, checkEval, checkInput, repeatItem, repeatTarget, scoreRows, Warnings } from './common';
import { cleanTarget } from './gradient-core';

export interface OcclusionOptions extends BaseOptions {
  /** Occluder size [h, w] in pixels (default 8), covering all channels. */
  window?: number | [number, number];
  /** Step between occluder positions (default: half the window, at least 1). */
  stride?: number | [number, number];
  /** The value the occluded pixels take, in the model's input space (default 0: the mean after ImageNet normalisation). */
  fill?: number;
  /** Score the target's softmax probability (default true, as Zeiler & Fergus); false: its logit. Function targets use their own score. */
  probability?: boolean;
  /** Occluded copies per forward pass (default 16). */
  batchSize?: number;
  /** Called after each batch with (occluded copies scored, N · positions). */
  onProgress?: ProgressCallback;
}

/** What `occlusion` returns; the caller owns the tensors. */
export interface OcclusionResult {
  /** score(x) − score(x occluded at each position): [N, rows, cols] over the occluder positions. */
  grid: Tensor;
  /** Per pixel, the mean score drop over the positions that covered it (0 where none did): [N, H, W]. */
  map: Tensor;
  /** Top-left corners of the occluder positions: rows (y) and columns (x). */
  positions: { ys: number[]; xs: number[] };
  classes: number[] | null;
  /** The clean score per item (probability or logit, as chosen). */
  scores: number[];
  warnings: string[];
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

/**
 * Occlusion sensitivity (Zeiler & Fergus 2014): a `fill`-valued window slides over the input with
 * `stride`; the drop of the target's score at each position gives `grid` [N, rows, cols] and, spread
 * over the covered pixels, `map` [N, H, W]. Occluded copies are scored in batches, without recording.
 */
export function occlusion(model: Module, x: Tensor, options: OcclusionOptions = {}): OcclusionResult {
  const method = 'occlusion';
  checkInput(method, x);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const [n, , hh, ww] = x.shape as [number, number, number, number];
  const [wh, wwid] = pair(options.window ?? 8);
  const [sh, sw] = pair(options.stride ?? [Math.max(1, Math.floor(wh / 2)), Math.max(1, Math.floor(wwid / 2))]);
  for (const [name, v] of [
    ['window', wh],
    ['window', wwid],
    ['stride', sh],
    ['stride', sw],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${method}: ${name} must be positive integers, got ${v}`);
  }
  if (wh > hh || wwid > ww) throw new Error(`${method}: window ${wh}×${wwid} is larger than the input ${hh}×${ww}`);
  const ys: number[] = [];
  const xs: number[] = [];
  for (let y = 0; y + wh <= hh; y += sh) ys.push(y);
  for (let xx = 0; xx + wwid <= ww; xx += sw) xs.push(xx);
  const positions = ys.length * xs.length;
  const fill = options.fill ?? 0;
  const probability = options.probability ?? true;
  const batch = Math.max(1, Math.floor(options.batchSize ?? 16));
  const { target } = cleanTarget(method, model, x, options.target);
  const clean = scoreRows(method, model, x, target, probability);
  const grid = new Float32Array(n * positions);
  const map = new Float32Array(n * hh * ww);
  let done = 0;
  for (let i = 0; i < n; i++) {
    for (let p0 = 0; p0 < positions; p0 += batch) {
      const count = Math.min(batch, positions - p0);
      // keep = 0 inside the window, 1 elsewhere; occluded = x · keep + fill · (1 − keep)
      const keep = new Float32Array(count * hh * ww).fill(1);
      const filler = new Float32Array(count * hh * ww);
      for (let r = 0; r < count; r++) {
        const p = p0 + r;
        const y0 = ys[Math.floor(p / xs.length)]!;
        const x0 = xs[p % xs.length]!;
        for (let y = y0; y < y0 + wh; y++) {
          for (let xx = x0; xx < x0 + wwid; xx++) {
            keep[r * hh * ww + y * ww + xx] = 0;
            filler[r * hh * ww + y * ww + xx] = fill;
          }
        }
      }
      const batchX = tidy(() => {
        const item = repeatItem(x, i, count);
        return add(mul(item, tensor(keep, [count, 1, hh, ww], x.dtype)), tensor(filler, [count, 1, hh, ww], x.dtype));
      });
      let s: Float64Array;
      try {
        s = scoreRows(method, model, batchX, repeatTarget(target, new Array<number>(count).fill(i)), probability);
      } finally {
        batchX.dispose();
      }
      for (let r = 0; r < count; r++) grid[i * positions + p0 + r] = clean[i]! - s[r]!;
      done += count;
      options.onProgress?.(done, n * positions);
    }
    const sum = new Float64Array(hh * ww);
    const cnt = new Uint32Array(hh * ww);
    for (let p = 0; p < positions; p++) {
      const y0 = ys[Math.floor(p / xs.length)]!;
      const x0 = xs[p % xs.length]!;
      const d = grid[i * positions + p]!;
      for (let y = y0; y < y0 + wh; y++) {
        for (let xx = x0; xx < x0 + wwid; xx++) {
          sum[y * ww + xx] = sum[y * ww + xx]! + d;
          cnt[y * ww + xx] = cnt[y * ww + xx]! + 1;
        }
      }
    }
    for (let j = 0; j < hh * ww; j++) map[i * hh * ww + j] = cnt[j]! > 0 ? sum[j]! / cnt[j]! : 0;
  }
  const gridT = tensor(grid, [n, ys.length, xs.length], x.dtype);
  checkConstant(gridT, target, warnings, 'no occluder position changed the score (try a larger window or another fill)');
  return {
    grid: gridT,
    map: tensor(map, [n, hh, ww], x.dtype),
    positions: { ys, xs },
    classes: target.classes ? [...target.classes] : null,
    scores: Array.from(clean),
    warnings: warnings.list,
  };
}
