import { div, gt, indexSelect, interpolate, max, min, relu, reshape, sub, Tensor, tidy, where, zerosLike } from '@gradlens/tensor';
import type { ResolvedTarget } from './targets';
import type { Warnings } from './options';

/** The least and greatest of `count` values from `from` (NaNs skipped; lo > hi when there are none). */
export function valueRange(v: ArrayLike<number | bigint>, from = 0, count = v.length - from): { lo: number; hi: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (let j = from; j < from + count; j++) {
    const x = Number(v[j]);
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return { lo, hi };
}

/** Min–max normalisation of host values to [0, 1]; a constant map becomes zeros (`normalizeMaps` for tensors). */
export function minMax(v: ArrayLike<number>): Float64Array {
  const { lo, hi } = valueRange(v);
  const out = new Float64Array(v.length);
  if (hi > lo) for (let i = 0; i < v.length; i++) out[i] = (v[i]! - lo) / (hi - lo);
  return out;
}

/** The offset (from `from`) of the first greatest of `count` values (0 when all are NaN). */
export function indexOfMax(v: ArrayLike<number | bigint>, from = 0, count = v.length - from): number {
  let best = 0;
  for (let j = 1; j < count; j++) if (Number(v[from + j]) > Number(v[from + best])) best = j;
  return best;
}

/** Bilinear upsampling (align_corners = false, as F.interpolate and cv2.resize) of maps [N, h, w] to [N, H, W]. */
export function upsampleMaps(maps: Tensor, height: number, width: number): Tensor {
  return tidy(() => {
    const [n, h, w] = maps.shape as [number, number, number];
    const up = interpolate(reshape(maps, [n, 1, h, w]), { size: [height, width], mode: 'bilinear' });
    return reshape(up, [n, height, width]);
  });
}

/** Warns for every item whose map (`maps` [N, …]) is constant: it carries no information. */
export function checkConstant(maps: Tensor, target: ResolvedTarget, warnings: Warnings, hint: string): void {
  const n = maps.shape[0]!;
  const per = maps.size / n;
  const v = maps.dataSync();
  for (let i = 0; i < n; i++) {
    const { lo, hi } = valueRange(v, i * per, per);
    if (lo === hi) {
      const what = target.classes ? ` (class ${target.classes[i]})` : '';
      warnings.warn(`the map of item ${i}${what} is constant (every value is ${lo}); ${hint}`);
    }
  }
}

/** Min–max normalises each item of `maps` [N, …] to [0, 1], as tensor ops; a constant item becomes zeros. */
export function normalizeMaps(maps: Tensor): Tensor {
  return tidy(() => {
    if (maps.rank < 2) return zerosLike(maps); // one value per item: constant
    const perItem = { dim: [...Array(maps.rank).keys()].slice(1), keepdim: true };
    const lo = min(maps, perItem);
    const range = sub(max(maps, perItem), lo);
    return where(gt(range, 0), div(sub(maps, lo), range), 0);
  });
}

/** ReLU, then min–max per item (pytorch-grad-cam's max(·, 0) and scale_cam_image): [N, …] → [0, 1]. */
export function reluScale(maps: Tensor): Tensor {
  return tidy(() => normalizeMaps(relu(maps)));
}

/** Copies of item i of `x` [N, …] stacked `count` times: [count, …]. */
export function repeatItem(x: Tensor, item: number, count: number): Tensor {
  return indexSelect(
    x,
    0,
    Array.from({ length: count }, () => item),
  );
}

/** The values of tensor `t` as float64 (a copy). */
export function valuesOf(t: Tensor): Float64Array {
  return Float64Array.from(t.dataSync());
}

/** Disposes every tensor in a method's result (nested objects included); returns nothing. */
export function disposeResult(result: object): void {
  for (const v of Object.values(result)) {
    if (v instanceof Tensor) v.dispose();
    else if (v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v)) disposeResult(v as object);
  }
}
