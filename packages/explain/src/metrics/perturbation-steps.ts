import type { Module } from '@gradlens/nn';
import { scoreImages } from './batch-scores';
import type { SaliencyMap } from './saliency';

/** Pixel indices by increasing value; ties (and NaN, first) in increasing index order (numpy's stable argsort). */
export function ascendingOrder(values: ArrayLike<number>): Int32Array {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  const key = (i: number) => (Number.isNaN(values[i]!) ? -Infinity : values[i]!);
  idx.sort((a, b) => key(a) - key(b) || a - b);
  return Int32Array.from(idx);
}

/** Pixel indices by decreasing value; ties in increasing index order (numpy's stable argsort of −v). */
export function descendingOrder(values: ArrayLike<number>): Int32Array {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  const key = (i: number) => (Number.isNaN(values[i]!) ? -Infinity : values[i]!);
  idx.sort((a, b) => key(b) - key(a) || a - b);
  return Int32Array.from(idx);
}

/**
 * Scores `rows` images made one at a time, in order, by `make(r, out)` (out: one image [C, H, W],
 * zero-filled), in batches of `batchSize`, so no more than one batch is ever held (a per-pixel curve
 * on a 224² image has 50 176 rows).
 */
export function scoreGenerated(
  model: Module,
  shape: readonly [number, number, number],
  rows: number,
  make: (r: number, out: Float32Array) => void,
  target: number,
  probability: boolean,
  batchSize: number,
  where: string,
): Float64Array {
  const per = shape[0] * shape[1] * shape[2];
  const batch = Math.max(1, Math.floor(batchSize) || 1);
  const out = new Float64Array(rows);
  for (let r0 = 0; r0 < rows; r0 += batch) {
    const count = Math.min(batch, rows - r0);
    const buf = new Float32Array(count * per);
    for (let r = 0; r < count; r++) make(r0 + r, buf.subarray(r * per, (r + 1) * per));
    out.set(scoreImages(model, buf, shape, target, probability, count, where), r0);
  }
  return out;
}

/** The image's minimum over every channel: Quantus's "black" baseline. */
export function imageMin(values: ArrayLike<number>): number {
  let m = Infinity;
  for (let i = 0; i < values.length; i++) m = Math.min(m, values[i]!);
  return m;
}

/** Trapezoidal area with unit spacing (numpy.trapz(y, dx=1), Quantus's calculate_auc). */
export function unitTrapz(y: ArrayLike<number>): number {
  let a = 0;
  for (let i = 1; i < y.length; i++) a += (y[i]! + y[i - 1]!) / 2;
  return a;
}

/** Throws unless the map has the image's size. */
export function checkMapSize(where: string, map: SaliencyMap, h: number, w: number): void {
  if (map.height !== h || map.width !== w)
    throw new Error(`${where}: the map is ${map.height}×${map.width} but the image ${h}×${w}; resize the map first`);
}

/** A positive integer option, or its default; anything else is a one-line error. */
export function positiveInt(where: string, name: string, v: number | undefined, fallback: number, max = Infinity): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new Error(`${where}: ${name} must be an integer in 1…${max === Infinity ? '∞' : max}, got ${n}`);
  return n;
}

/** Sets `pixels` (all channels) of `img` [C·hw] to `fill`, or to `from`'s values when `from` is given. */
export function setPixels(
  img: Float64Array,
  c: number,
  hw: number,
  pixels: ArrayLike<number>,
  fill: number,
  from?: ArrayLike<number>,
): void {
  for (let i = 0; i < pixels.length; i++) {
    const p = pixels[i]!;
    for (let k = 0; k < c; k++) img[k * hw + p] = from ? from[k * hw + p]! : fill;
  }
}
