import type { Tensor } from '@gradlens/tensor';
import type { BoundingBox, SaliencyMap, SaliencyOptions } from './saliency';
import { checkBox, toSaliencyMap } from './saliency';

export interface LocalizationOptions extends SaliencyOptions {
  /** Keep the pixels whose value is at least this fraction of the map's maximum (default 0.2, as the CAM paper). */
  threshold?: number;
  /** Pixel neighbourhood of a connected component: 8 (the default: diagonal neighbours join) or 4. */
  connectivity?: 4 | 8;
  /** IoU at or above which the box counts as a hit (default 0.5). */
  iouThreshold?: number;
}

export interface LocalizationResult {
  /** Intersection over union of the predicted box with the true box (0 when there is no predicted box). */
  iou: number;
  /** iou ≥ iouThreshold. */
  hit: boolean;
  /** The box around the largest connected component of the thresholded map; null for a map whose maximum is ≤ 0. */
  box: BoundingBox | null;
}

/**
 * The bounding box (pixel edges, x1/y1 exclusive) of the largest connected component of
 * { p : map[p] ≥ threshold · max(map) } — the CAM paper's box (Zhou et al. 2016, §3). Components are
 * 8-connected by default; the largest is the one with most pixels, the first in row-major order on
 * a tie. Null when the map's maximum is not positive (nothing to segment).
 */
export function largestComponentBox(map: SaliencyMap, options: { threshold?: number; connectivity?: 4 | 8 } = {}): BoundingBox | null {
  const { data, height: h, width: w } = map;
  const threshold = options.threshold ?? 0.2;
  const conn = options.connectivity ?? 8;
  if (conn !== 4 && conn !== 8) throw new Error(`largestComponentBox: connectivity must be 4 or 8, got ${String(conn)}`);
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) if (data[i]! > max) max = data[i]!;
  if (!(max > 0)) return null;
  const cut = threshold * max;
  const label = new Int32Array(h * w).fill(-1);
  const stack: number[] = [];
  const offsets =
    conn === 8
      ? [
          [-1, -1],
          [-1, 0],
          [-1, 1],
          [0, -1],
          [0, 1],
          [1, -1],
          [1, 0],
          [1, 1],
        ]
      : [
          [-1, 0],
          [0, -1],
          [0, 1],
          [1, 0],
        ];
  let best: { count: number; box: BoundingBox } | null = null;
  let next = 0;
  for (let start = 0; start < h * w; start++) {
    if (label[start] !== -1 || !(data[start]! >= cut)) continue;
    const id = next++;
    label[start] = id;
    stack.push(start);
    let count = 0;
    let x0 = w;
    let y0 = h;
    let x1 = -1;
    let y1 = -1;
    while (stack.length) {
      const p = stack.pop()!;
      const y = Math.floor(p / w);
      const x = p - y * w;
      count++;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      for (const [dy, dx] of offsets) {
        const ny = y + dy!;
        const nx = x + dx!;
        if (ny < 0 || ny >= h || nx < 0 || nx >= w) continue;
        const q = ny * w + nx;
        if (label[q] === -1 && data[q]! >= cut) {
          label[q] = id;
          stack.push(q);
        }
      }
    }
    if (!best || count > best.count) best = { count, box: { x0, y0, x1: x1 + 1, y1: y1 + 1 } };
  }
  return best ? best.box : null;
}

/** Intersection over union of two boxes (pixel edges): |A ∩ B| / |A ∪ B|, in [0, 1]. */
export function boxIoU(a: BoundingBox, b: BoundingBox): number {
  const iw = Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0));
  const ih = Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
  const inter = iw * ih;
  const union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Weakly supervised localisation as in the CAM paper (Zhou et al. 2016, "Learning Deep Features for
 * Discriminative Localization"): thresholds the map at 20% of its maximum, boxes the largest
 * connected component (8-connectivity by default) and scores the box by IoU with the true box; a hit
 * when IoU ≥ 0.5. The map is reduced to one channel (see `toSaliencyMap`) and, given `size`, resized
 * to the image first; the true box is in the map's pixel coordinates.
 */
export function localizationIoU(map: Tensor | SaliencyMap, box: BoundingBox, options: LocalizationOptions = {}): LocalizationResult {
  const m = toSaliencyMap(map, options);
  checkBox('localizationIoU', box, m.height, m.width);
  const predicted = largestComponentBox(m, options);
  const iou = predicted ? boxIoU(predicted, box) : 0;
  return { iou, hit: iou >= (options.iouThreshold ?? 0.5), box: predicted };
}
