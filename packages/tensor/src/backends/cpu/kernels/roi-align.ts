/**
 * RoIAlign in torchvision's avg mode (roi_align, ONNX RoiAlign's avg), forward and backward, on [N, C, H, W] maps.
 * Each output bin averages a grid of bilinear samples inside its roi. The bilinear weight of a sample is a row
 * weight times a column weight and the grid is a product of row and column samples, so a bin is
 * Σ_y R[y] Σ_x C[x] X[y, x] with per-axis weights over the few contiguous rows and columns its samples touch:
 * no gathered copies of the map, and work per bin of about (samples per axis + 1)² per channel.
 * Weights and sums are float64; the output is rounded once.
 */
import type { RoiAlignAttrs } from '../../../ops/op-attrs';
import type { FloatArray } from './types';

/** Per output cell along one axis of one roi: the first map position its samples touch, how many, and their weights. */
interface AxisWindows {
  start: Int32Array;
  length: Int32Array;
  /** Cell k's weights at offset k · stride. */
  weights: Float64Array;
  stride: number;
}

/**
 * The windows of `cells` cells of `bin` positions each from `start`, `grid` samples a cell, on an axis of `size`:
 * torchvision's bilinear_interpolate, a sample below −1 or past `size` adding nothing (while still counted).
 */
function axisWindows(start: number, bin: number, cells: number, grid: number, size: number): AxisWindows {
  // the samples of a cell lie within bin + 1 positions, and each touches two neighbours
  const stride = Math.min(size, Math.ceil(Math.abs(bin)) + 3);
  const w: AxisWindows = { start: new Int32Array(cells), length: new Int32Array(cells), weights: new Float64Array(cells * stride), stride };
  const share = grid > 0 ? 1 / grid : 0;
  for (let k = 0; k < cells; k++) {
    let lo = -1;
    let hi = -1;
    for (let i = 0; i < grid; i++) {
      const c = start + k * bin + ((i + 0.5) * bin) / grid;
      if (c < -1 || c > size) continue;
      const y = Math.max(c, 0);
      const low = Math.floor(y);
      const first = low >= size - 1 ? size - 1 : low;
      const last = low >= size - 1 ? size - 1 : low + 1;
      // a roi of negative extent (aligned, x2 < x1, a fixed grid) samples backwards
      lo = lo < 0 ? first : Math.min(lo, first);
      hi = Math.max(hi, last);
    }
    if (lo < 0) continue;
    w.start[k] = lo;
    w.length[k] = hi - lo + 1;
    const base = k * stride;
    for (let i = 0; i < grid; i++) {
      const c = start + k * bin + ((i + 0.5) * bin) / grid;
      if (c < -1 || c > size) continue;
      const y = Math.max(c, 0);
      const low = Math.floor(y);
      if (low >= size - 1) {
        w.weights[base + size - 1 - lo]! += share;
        continue;
      }
      const frac = y - low;
      w.weights[base + low - lo]! += (1 - frac) * share;
      w.weights[base + low + 1 - lo]! += frac * share;
    }
  }
  return w;
}

/** A roi's extent along one axis in map positions, and its samples per cell (torchvision's roi_align_forward_kernel). */
export interface RoiExtent {
  start: number;
  length: number;
  grid: number;
}

/** Rows then columns of roi r of `a` ([x1, y1, x2, y2] at rois[4r…]). */
export function roiExtents(a: RoiAlignAttrs, r: number): [RoiExtent, RoiExtent] {
  const offset = a.aligned ? 0.5 : 0;
  const s = a.spatialScale;
  const x1 = a.rois[4 * r]! * s - offset;
  const y1 = a.rois[4 * r + 1]! * s - offset;
  let width = a.rois[4 * r + 2]! * s - offset - x1;
  let height = a.rois[4 * r + 3]! * s - offset - y1;
  if (!a.aligned) {
    width = Math.max(width, 1);
    height = Math.max(height, 1);
  }
  const grid = (length: number, cells: number) => (a.samplingRatio > 0 ? a.samplingRatio : Math.max(0, Math.ceil(length / cells)));
  const [outH, outW] = a.outputSize;
  return [
    { start: y1, length: height, grid: grid(height, outH) },
    { start: x1, length: width, grid: grid(width, outW) },
  ];
}

/** The row and column windows of roi r on an H × W map. */
function roiWindows(a: RoiAlignAttrs, r: number, height: number, width: number): [AxisWindows, AxisWindows] {
  const [rows, cols] = roiExtents(a, r);
  const [outH, outW] = a.outputSize;
  return [
    axisWindows(rows.start, rows.length / outH, outH, rows.grid, height),
    axisWindows(cols.start, cols.length / outW, outW, cols.grid, width),
  ];
}

/** out [R, C, outH, outW] (written whole) from x [N, C, H, W]. */
export function roiAlignForward(x: FloatArray, xShape: readonly number[], a: RoiAlignAttrs, out: FloatArray): void {
  const [, channels, height, width] = xShape as [number, number, number, number];
  const [outH, outW] = a.outputSize;
  const plane = height * width;
  let o = 0;
  a.batchIndices.forEach((b, r) => {
    const [rows, cols] = roiWindows(a, r, height, width);
    for (let c = 0; c < channels; c++) {
      const base = (b * channels + c) * plane;
      for (let ph = 0; ph < outH; ph++) {
        const r0 = rows.start[ph]!;
        const rn = rows.length[ph]!;
        const rw = ph * rows.stride;
        for (let pw = 0; pw < outW; pw++, o++) {
          const c0 = cols.start[pw]!;
          const cn = cols.length[pw]!;
          const cw = pw * cols.stride;
          let acc = 0;
          for (let i = 0; i < rn; i++) {
            const row = base + (r0 + i) * width + c0;
            let s = 0;
            for (let j = 0; j < cn; j++) s += cols.weights[cw + j]! * x[row + j]!;
            acc += rows.weights[rw + i]! * s;
          }
          out[o] = acc;
        }
      }
    }
  });
}

/** dx [N, C, H, W] (zero on entry) += the adjoint of roiAlignForward applied to dy [R, C, outH, outW]. */
export function roiAlignBackward(dy: FloatArray, xShape: readonly number[], a: RoiAlignAttrs, dx: FloatArray): void {
  const [, channels, height, width] = xShape as [number, number, number, number];
  const [outH, outW] = a.outputSize;
  const plane = height * width;
  let o = 0;
  a.batchIndices.forEach((b, r) => {
    const [rows, cols] = roiWindows(a, r, height, width);
    for (let c = 0; c < channels; c++) {
      const base = (b * channels + c) * plane;
      for (let ph = 0; ph < outH; ph++) {
        const r0 = rows.start[ph]!;
        const rn = rows.length[ph]!;
        const rw = ph * rows.stride;
        for (let pw = 0; pw < outW; pw++, o++) {
          const g = dy[o]!;
          if (g === 0) continue;
          const c0 = cols.start[pw]!;
          const cn = cols.length[pw]!;
          const cw = pw * cols.stride;
          for (let i = 0; i < rn; i++) {
            const row = base + (r0 + i) * width + c0;
            const gi = g * rows.weights[rw + i]!;
            for (let j = 0; j < cn; j++) dx[row + j]! += gi * cols.weights[cw + j]!;
          }
        }
      }
    }
  });
}
