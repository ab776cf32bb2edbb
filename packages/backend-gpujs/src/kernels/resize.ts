/**
 * Adaptive average pooling (forward and backward) and bilinear upsampling, NCHW, one output element per
 * thread over a [x, y, plane] grid. Their integer window bounds and interpolation taps are computed on the
 * host (exactly, as the CPU kernels compute them) and passed as small tables, so the kernels only read.
 */
import type { KernelThis, Values } from './types';

/** Input and output plane sizes; the largest window (adaptive pooling) or covering count (its backward). */
export interface ResizeConstants {
  [k: string]: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  /** adaptive pooling: the largest window's height and width; backward: most output rows/cols covering one input row/col */
  MH: number;
  MW: number;
}

/**
 * adaptive_avg_pool2d at one output cell. `win` holds the windows: row starts [OH], row ends [OH],
 * column starts [OW], column ends [OW].
 */
export function adaptiveAvgPool2dForward(this: KernelThis<ResizeConstants>, x: Values, win: Values): number {
  const oh = this.thread.y;
  const ow = this.thread.x;
  const h0 = win[oh]!;
  const h1 = win[this.constants.OH + oh]!;
  const w0 = win[2 * this.constants.OH + ow]!;
  const w1 = win[2 * this.constants.OH + this.constants.OW + ow]!;
  const base = this.thread.z * this.constants.H * this.constants.W;
  let s = 0;
  for (let i = 0; i < this.constants.MH; i++) {
    for (let j = 0; j < this.constants.MW; j++) {
      if (h0 + i < h1 && w0 + j < w1) s = s + x[base + (h0 + i) * this.constants.W + w0 + j]!;
    }
  }
  return s / ((h1 - h0) * (w1 - w0));
}

/**
 * The gradient of adaptive_avg_pool2d at one input cell: the output cells whose windows cover it, each
 * dy divided by its window's area. `win` as in the forward kernel; `cover` holds, per input row, the first
 * covering output row [H] and one past the last [H], then the same per input column [W], [W].
 */
export function adaptiveAvgPool2dBackward(this: KernelThis<ResizeConstants>, dy: Values, win: Values, cover: Values): number {
  const h = this.thread.y;
  const w = this.thread.x;
  const r0 = cover[h]!;
  const r1 = cover[this.constants.H + h]!;
  const c0 = cover[2 * this.constants.H + w]!;
  const c1 = cover[2 * this.constants.H + this.constants.W + w]!;
  const base = this.thread.z * this.constants.OH * this.constants.OW;
  let s = 0;
  for (let i = 0; i < this.constants.MH; i++) {
    for (let j = 0; j < this.constants.MW; j++) {
      const oh = r0 + i;
      const ow = c0 + j;
      if (oh < r1 && ow < c1) {
        const area =
          (win[this.constants.OH + oh]! - win[oh]!) *
          (win[2 * this.constants.OH + this.constants.OW + ow]! - win[2 * this.constants.OH + ow]!);
        s = s + dy[base + oh * this.constants.OW + ow]! / area;
      }
    }
  }
  return s;
}

/**
 * Bilinear upsampling at one output cell. `taps` holds per output row its two source rows [OH], [OH] and
 * their weights [OH], [OH], then the same per output column ([OW] × 4).
 */
export function upsampleBilinear2dForward(this: KernelThis<ResizeConstants>, x: Values, taps: Values): number {
  const oh = this.thread.y;
  const ow = this.thread.x;
  const OH = this.constants.OH;
  const at = 4 * OH;
  const OW = this.constants.OW;
  const base = this.thread.z * this.constants.H * this.constants.W;
  const r0 = base + taps[oh]! * this.constants.W;
  const r1 = base + taps[OH + oh]! * this.constants.W;
  const h0 = taps[2 * OH + oh]!;
  const h1 = taps[3 * OH + oh]!;
  const c0 = taps[at + ow]!;
  const c1 = taps[at + OW + ow]!;
  const v0 = taps[at + 2 * OW + ow]!;
  const v1 = taps[at + 3 * OW + ow]!;
  return h0 * (v0 * x[r0 + c0]! + v1 * x[r0 + c1]!) + h1 * (v0 * x[r1 + c0]! + v1 * x[r1 + c1]!);
}
