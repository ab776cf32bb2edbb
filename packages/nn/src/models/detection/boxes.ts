// torchvision's box arithmetic (models/detection/_utils.py BoxCoder, ops/boxes.py) on plain numbers: boxes are
// [x1, y1, x2, y2] rows of a flat array. The values are rounded to float32 after each step, as torchvision computes
// them in float32, so that its thresholds, top-n cuts and NMS take the same decisions here. No gradient flows
// through these: torchvision detaches the proposals, and the final boxes here are values.

const f = Math.fround;

/** torchvision's BoxCoder (decode only): deltas relative to reference boxes, weights (wx, wy, ww, wh). */
export class BoxCoder {
  /** torchvision's bbox_xform_clip default, log(1000 / 16): no box grows past 1000/16 times its reference. */
  static readonly defaultClip = Math.log(1000 / 16);

  constructor(
    readonly weights: readonly [number, number, number, number],
    readonly clip = BoxCoder.defaultClip,
  ) {}

  /**
   * Boxes from deltas [K, C·4] (flat) and reference boxes [K, 4]: [K, C, 4] flat, as decode_single (the width and
   * height deltas clamped at `clip` before exp).
   */
  decode(deltas: ArrayLike<number>, refs: ArrayLike<number>): Float32Array {
    const k = refs.length / 4;
    const perRef = k === 0 ? 0 : deltas.length / k;
    if (!Number.isInteger(k) || !Number.isInteger(perRef) || perRef % 4 !== 0)
      throw new Error(`BoxCoder: ${deltas.length} deltas do not fit ${refs.length / 4} reference boxes (4 per class)`);
    const [wx, wy, ww, wh] = this.weights.map(f) as [number, number, number, number];
    const clip = f(this.clip);
    const out = new Float32Array(deltas.length);
    for (let i = 0; i < k; i++) {
      const [x1, y1, x2, y2] = [refs[4 * i]!, refs[4 * i + 1]!, refs[4 * i + 2]!, refs[4 * i + 3]!].map(f) as number[];
      const width = f(x2! - x1!);
      const height = f(y2! - y1!);
      const cx = f(x1! + f(0.5 * width));
      const cy = f(y1! + f(0.5 * height));
      for (let j = 0; j < perRef; j += 4) {
        const at = i * perRef + j;
        const dx = f(deltas[at]! / wx);
        const dy = f(deltas[at + 1]! / wy);
        const dw = Math.min(f(deltas[at + 2]! / ww), clip);
        const dh = Math.min(f(deltas[at + 3]! / wh), clip);
        const pcx = f(f(dx * width) + cx);
        const pcy = f(f(dy * height) + cy);
        const hw = f(0.5 * f(f(Math.exp(dw)) * width));
        const hh = f(0.5 * f(f(Math.exp(dh)) * height));
        out[at] = pcx - hw;
        out[at + 1] = pcy - hh;
        out[at + 2] = pcx + hw;
        out[at + 3] = pcy + hh;
      }
    }
    return out;
  }
}

/** clip_boxes_to_image, in place: x into [0, width], y into [0, height]. */
export function clipBoxes(boxes: Float32Array, [height, width]: readonly [number, number]): Float32Array {
  for (let i = 0; i < boxes.length; i += 4) {
    boxes[i] = Math.min(Math.max(boxes[i]!, 0), width);
    boxes[i + 1] = Math.min(Math.max(boxes[i + 1]!, 0), height);
    boxes[i + 2] = Math.min(Math.max(boxes[i + 2]!, 0), width);
    boxes[i + 3] = Math.min(Math.max(boxes[i + 3]!, 0), height);
  }
  return boxes;
}

/** remove_small_boxes: the indices of boxes at least minSize wide and high. */
export function largeEnough(boxes: ArrayLike<number>, minSize: number): number[] {
  const keep: number[] = [];
  for (let i = 0; i < boxes.length / 4; i++) {
    if (f(boxes[4 * i + 2]! - boxes[4 * i]!) >= minSize && f(boxes[4 * i + 3]! - boxes[4 * i + 1]!) >= minSize) keep.push(i);
  }
  return keep;
}

/** Indices sorted by score, highest first (ties to the lower index). */
export function byScore(scores: ArrayLike<number>, indices?: readonly number[]): number[] {
  const order = indices ? [...indices] : Array.from({ length: scores.length }, (_, i) => i);
  return order.sort((a, b) => scores[b]! - scores[a]! || a - b);
}

/** Intersection over union of boxes i and j of a flat [K, 4] array, in float32 as torchvision's nms kernel. */
export function boxIou(boxes: ArrayLike<number>, i: number, j: number): number {
  const [ax1, ay1, ax2, ay2] = [boxes[4 * i]!, boxes[4 * i + 1]!, boxes[4 * i + 2]!, boxes[4 * i + 3]!];
  const [bx1, by1, bx2, by2] = [boxes[4 * j]!, boxes[4 * j + 1]!, boxes[4 * j + 2]!, boxes[4 * j + 3]!];
  const w = Math.max(0, f(Math.min(ax2, bx2) - Math.max(ax1, bx1)));
  const h = Math.max(0, f(Math.min(ay2, by2) - Math.max(ay1, by1)));
  const inter = f(w * h);
  const areaA = f(f(ax2 - ax1) * f(ay2 - ay1));
  const areaB = f(f(bx2 - bx1) * f(by2 - by1));
  return f(inter / f(f(areaA + areaB) - inter));
}

/** torchvision.ops.nms: the indices kept, highest score first; a box goes when its IoU with a kept one is > iou. */
export function nms(boxes: ArrayLike<number>, scores: ArrayLike<number>, iou: number): number[] {
  const order = byScore(scores);
  const suppressed = new Uint8Array(scores.length);
  const keep: number[] = [];
  for (let a = 0; a < order.length; a++) {
    const i = order[a]!;
    if (suppressed[i]) continue;
    keep.push(i);
    for (let b = a + 1; b < order.length; b++) {
      const j = order[b]!;
      if (!suppressed[j] && boxIou(boxes, i, j) > iou) suppressed[j] = 1;
    }
  }
  return keep;
}

/** Rows `idx` of a flat [K, width] array. */
export function pick(values: ArrayLike<number>, idx: readonly number[], width = 1): Float32Array {
  const out = new Float32Array(idx.length * width);
  idx.forEach((k, r) => {
    for (let c = 0; c < width; c++) out[r * width + c] = values[k * width + c]!;
  });
  return out;
}

/**
 * torchvision.ops.batched_nms: NMS within each group (class or level), the kept indices by decreasing score. As
 * torchvision 0.14 on the CPU: past 4000 coordinates one NMS per group, else one NMS on boxes offset by
 * group × (largest coordinate + 1), in float32.
 */
export function batchedNms(boxes: Float32Array, scores: ArrayLike<number>, groups: readonly number[], iou: number): number[] {
  const n = scores.length;
  if (n === 0) return [];
  if (boxes.length > 4000) {
    const kept: number[] = [];
    for (const g of [...new Set(groups)].sort((a, b) => a - b)) {
      const idx = groups.flatMap((h, i) => (h === g ? [i] : []));
      for (const k of nms(pick(boxes, idx, 4), pick(scores, idx), iou)) kept.push(idx[k]!);
    }
    return byScore(
      scores,
      kept.sort((a, b) => a - b),
    );
  }
  let max = -Infinity;
  for (const v of boxes) max = Math.max(max, v);
  const shifted = new Float32Array(boxes.length);
  for (let i = 0; i < n; i++) {
    const offset = f(groups[i]! * f(max + 1));
    for (let c = 0; c < 4; c++) shifted[4 * i + c] = boxes[4 * i + c]! + offset;
  }
  return nms(shifted, scores, iou);
}
