import type { Tensor } from '@gradlens/tensor';
import type { BoundingBox, SaliencyMap, SaliencyOptions } from './saliency';
import { checkBox, toSaliencyMap } from './saliency';

export interface PointingOptions extends SaliencyOptions {
  /**
   * How far (in pixels, Euclidean, from the pixel's centre to the box) the maximum may lie outside the
   * box and still count. Default: the paper's 15 px scaled from a 224-px image, 15 · min(H, W) / 224
   * (≈ 4.3 px on 64 × 64), so the allowance is the same fraction of the image at any size.
   */
  tolerance?: number;
}

export interface PointingResult {
  hit: boolean;
  /** The maximum's pixel (column x, row y): the first in row-major order on ties; null for a constant map. */
  point: { x: number; y: number } | null;
  /** Distance from the maximum's pixel centre to the box (0 inside). */
  distance: number;
  /** The tolerance used, in pixels. */
  tolerance: number;
}

/**
 * The pointing game (Zhang et al. 2016/2018, "Top-down Neural Attention by Excitation Backprop"): a
 * hit when the map's maximum lies inside the true box, or within `tolerance` pixels of it. A
 * constant map points nowhere and counts as a miss. The map is reduced to one channel (see
 * `toSaliencyMap`) and, given `size`, resized to the image first.
 */
export function pointingGame(map: Tensor | SaliencyMap, box: BoundingBox, options: PointingOptions = {}): PointingResult {
  const m = toSaliencyMap(map, options);
  checkBox('pointingGame', box, m.height, m.width);
  const tolerance = options.tolerance ?? (15 * Math.min(m.height, m.width)) / 224;
  if (!(tolerance >= 0)) throw new Error(`pointingGame: tolerance must be ≥ 0 pixels, got ${tolerance}`);
  let best = 0;
  let lo = Infinity;
  for (let i = 0; i < m.data.length; i++) {
    const v = m.data[i]!;
    if (v > m.data[best]! || Number.isNaN(m.data[best]!)) best = i;
    if (v < lo) lo = v;
  }
  if (!(m.data[best]! > lo)) return { hit: false, point: null, distance: Infinity, tolerance };
  const y = Math.floor(best / m.width);
  const x = best - y * m.width;
  const cx = x + 0.5;
  const cy = y + 0.5;
  const dx = Math.max(box.x0 - cx, 0, cx - box.x1);
  const dy = Math.max(box.y0 - cy, 0, cy - box.y1);
  const distance = Math.hypot(dx, dy);
  return { hit: distance <= tolerance, point: { x, y }, distance, tolerance };
}
