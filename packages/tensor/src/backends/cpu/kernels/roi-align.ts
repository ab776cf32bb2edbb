/**
 * RoIAlign in torchvision's avg mode (roi_align, ONNX RoiAlign's avg), forward and backward, on [N, C, H, W] maps.
 * Each output bin averages a grid of bilinear samples inside its roi. The bilinear weight of a sample is a row
 * weight times a column weight and the grid is a product of row and column samples, so a bin is
 * Σ_y Σ_x R[y] C[x] X[y, x] with per-axis weights over the few contiguous rows and columns its samples touch:
 * no gathered copies of the map, and work per bin of about (samples per axis + 1)² per channel, from one list of
 * taps per roi shared by every channel.
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

/** torchvision's bilinear taps of coordinate c on an axis of `size`: [position, weight] pairs, none outside [−1, size]. */
export function bilinearTaps(c: number, size: number): [number, number][] {
  if (c < -1 || c > size) return [];
  const y = Math.max(c, 0);
  const low = Math.floor(y);
  if (low >= size - 1) return [[size - 1, 1]];
  const frac = y - low;
  return [
    [low, 1 - frac],
    [low + 1, frac],
  ];
}

/** Per output cell along one axis of extent `e`, its samples' coordinates (before clamping). */
export function cellSamples(e: RoiExtent, cells: number): number[][] {
  const bin = e.length / cells;
  return Array.from({ length: cells }, (_, k) => Array.from({ length: e.grid }, (_, i) => e.start + k * bin + ((i + 0.5) * bin) / e.grid));
}

/**
 * The windows of the `cells` cells of extent `e` on an axis of `size`: torchvision's bilinear_interpolate averaged
 * over each cell's samples, a sample below −1 or past `size` adding nothing (while still counted).
 */
function axisWindows(e: RoiExtent, cells: number, size: number): AxisWindows {
  // the samples of a cell lie within bin + 1 positions, and each touches two neighbours
  const stride = Math.min(size, Math.ceil(Math.abs(e.length / cells)) + 3);
  const w: AxisWindows = { start: new Int32Array(cells), length: new Int32Array(cells), weights: new Float64Array(cells * stride), stride };
  const share = e.grid > 0 ? 1 / e.grid : 0;
  cellSamples(e, cells).forEach((samples, k) => {
    const taps = samples.flatMap((c) => bilinearTaps(c, size));
    if (taps.length === 0) return;
    // a roi of negative extent (aligned, x2 < x1, a fixed grid) samples backwards
    const lo = Math.min(...taps.map(([p]) => p));
    w.start[k] = lo;
    w.length[k] = Math.max(...taps.map(([p]) => p)) - lo + 1;
    for (const [p, weight] of taps) w.weights[k * stride + p - lo]! += weight * share;
  });
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
  return [axisWindows(rows, outH, height), axisWindows(cols, outW, width)];
}

/**
 * Roi r's taps, bin after bin (bins row-major): bin k's are [first[k], first[k + 1]), each a position in a map plane
 * and its weight (its row weight times its column weight). Built once a roi, used by every channel.
 */
interface RoiTaps {
  first: Int32Array;
  position: Int32Array;
  weight: Float64Array;
}

function roiTaps(a: RoiAlignAttrs, r: number, height: number, width: number): RoiTaps {
  const [rows, cols] = roiWindows(a, r, height, width);
  const [outH, outW] = a.outputSize;
  let count = 0;
  for (let ph = 0; ph < outH; ph++) for (let pw = 0; pw < outW; pw++) count += rows.length[ph]! * cols.length[pw]!;
  const taps: RoiTaps = { first: new Int32Array(outH * outW + 1), position: new Int32Array(count), weight: new Float64Array(count) };
  let t = 0;
  for (let ph = 0; ph < outH; ph++)
    for (let pw = 0; pw < outW; pw++) {
      taps.first[ph * outW + pw] = t;
      for (let i = 0; i < rows.length[ph]!; i++)
        for (let j = 0; j < cols.length[pw]!; j++, t++) {
          taps.position[t] = (rows.start[ph]! + i) * width + cols.start[pw]! + j;
          taps.weight[t] = rows.weights[ph * rows.stride + i]! * cols.weights[pw * cols.stride + j]!;
        }
    }
  taps.first[outH * outW] = t;
  return taps;
}

/** out [R, C, outH, outW] (written whole) from x [N, C, H, W]. */
export function roiAlignForward(x: FloatArray, xShape: readonly number[], a: RoiAlignAttrs, out: FloatArray): void {
  const [, channels, height, width] = xShape as [number, number, number, number];
  const bins = a.outputSize[0] * a.outputSize[1];
  const plane = height * width;
  let o = 0;
  a.batchIndices.forEach((b, r) => {
    const { first, position, weight } = roiTaps(a, r, height, width);
    for (let c = 0; c < channels; c++) {
      const base = (b * channels + c) * plane;
      for (let k = 0; k < bins; k++, o++) {
        let acc = 0;
        for (let t = first[k]!, end = first[k + 1]!; t < end; t++) acc += weight[t]! * x[base + position[t]!]!;
        out[o] = acc;
      }
    }
  });
}

/** dx [N, C, H, W] (zero on entry) += the adjoint of roiAlignForward applied to dy [R, C, outH, outW]. */
export function roiAlignBackward(dy: FloatArray, xShape: readonly number[], a: RoiAlignAttrs, dx: FloatArray): void {
  const [, channels, height, width] = xShape as [number, number, number, number];
  const bins = a.outputSize[0] * a.outputSize[1];
  const plane = height * width;
  let o = 0;
  a.batchIndices.forEach((b, r) => {
    const { first, position, weight } = roiTaps(a, r, height, width);
    for (let c = 0; c < channels; c++) {
      const base = (b * channels + c) * plane;
      for (let k = 0; k < bins; k++, o++) {
        const g = dy[o]!;
        if (g === 0) continue;
        for (let t = first[k]!, end = first[k + 1]!; t < end; t++) dx[base + position[t]!]! += g * weight[t]!;
      }
    }
  });
}
