import type { Tensor } from '@gradlens/tensor';
import * as t from '@gradlens/tensor';

// RoiAlign as torchvision's roi_align and onnxruntime compute it: each output bin averages (or, in max mode, takes
// the largest of) a grid of bilinear samples inside its region. The regions come from the rois' values (no
// gradient, as torchvision's proposals are detached); the features get theirs, through ordinary ops. In avg mode the
// bilinear weights of a regular grid are separable, so a batch item's rois are two matrix products with per-axis
// weight matrices (columns of all its rois, then rows per roi), not a gather of 16 values per output element:
// Faster R-CNN's 1000 rois × 7 × 7 bins × 256 channels then need no 800 MB of gathered values. Many rois on a large
// map instead gather the rows and columns their taps touch, all at once (see averageRoiTaps). Shared by
// @gradlens/onnx's RoiAlign op and the detection models' MultiScaleRoIAlign.

/** How rois are pooled: torchvision's roi_align arguments (ONNX's RoiAlign attributes). */
export interface RoiAlignOptions {
  /** Output bins per roi: [height, width]. */
  outputSize: readonly [number, number];
  /** Multiplies the roi coordinates into feature-map pixels (1 / the map's stride). */
  spatialScale: number;
  /** Samples per bin along each axis; 0: adaptive, ceil(roi size / bins). */
  samplingRatio: number;
  /** torchvision's aligned=True (ONNX half_pixel): shift by half a pixel, no minimum roi size of 1. */
  aligned: boolean;
  /** avg (torchvision's) or max (onnxruntime's weighted-tap max). */
  mode?: 'avg' | 'max';
}

/** The most elements one intermediate may hold (the ONNX importer's limit). */
const MAX_ELEMENTS = 2 ** 30;

function checkElements(shape: readonly number[], what: string): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0) || n > MAX_ELEMENTS)
    throw new Error(`${what} would be [${shape.join(', ')}] (${n} elements), past the ${MAX_ELEMENTS} one tensor may hold`);
}

/** Where one roi's samples fall along one axis: per output cell, its samples' coordinates (before clamping). */
interface AxisSamples {
  /** samples[cell] = the sample coordinates of that cell. */
  cells: number[][];
}

/** The torchvision bilinear taps of coordinate c on an axis of `size`: [index, weight] pairs (none outside). */
function taps(c: number, size: number): [number, number][] {
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

interface RoiGeometry {
  rows: AxisSamples;
  cols: AxisSamples;
}

/** A roi's extent on one axis (start and length, in feature-map pixels) and its samples per output cell. */
interface AxisExtent {
  start: number;
  length: number;
  grid: number;
}

interface RoiParams {
  halfPixel: boolean;
  scale: number;
  samplingRatio: number;
  outH: number;
  outW: number;
}

/** The extents of a roi [x1, y1, x2, y2]: rows then columns. */
function extents(roi: readonly number[], p: RoiParams): [AxisExtent, AxisExtent] {
  const offset = p.halfPixel ? 0.5 : 0;
  const [x1, y1, x2, y2] = roi.map((v) => v * p.scale) as [number, number, number, number];
  let width = x2 - offset - (x1 - offset);
  let height = y2 - offset - (y1 - offset);
  if (!p.halfPixel) {
    width = Math.max(width, 1);
    height = Math.max(height, 1);
  }
  const grid = (length: number, cells: number) => (p.samplingRatio > 0 ? p.samplingRatio : Math.max(0, Math.ceil(length / cells)));
  return [
    { start: y1 - offset, length: height, grid: grid(height, p.outH) },
    { start: x1 - offset, length: width, grid: grid(width, p.outW) },
  ];
}

/** The sample grid of a roi from its extents. */
function geometry([rows, cols]: [AxisExtent, AxisExtent], p: RoiParams): RoiGeometry {
  const axis = (e: AxisExtent, cells: number): AxisSamples => {
    const bin = e.length / cells;
    return {
      cells: Array.from({ length: cells }, (_, k) =>
        Array.from({ length: e.grid }, (_, i) => e.start + k * bin + ((i + 0.5) * bin) / e.grid),
      ),
    };
  };
  return { rows: axis(rows, p.outH), cols: axis(cols, p.outW) };
}

/**
 * Per-axis averaging weights of one roi: weights[cell·size + k] = (1/grid) Σ over the cell's samples of their tap
 * weight on position k. A sample outside the feature map adds nothing but still counts, as in torchvision.
 */
function axisWeights(samples: AxisSamples, size: number): number[] {
  const out = new Array<number>(samples.cells.length * size).fill(0);
  samples.cells.forEach((cell, k) => {
    const share = cell.length > 0 ? 1 / cell.length : 0;
    for (const c of cell) for (const [i, w] of taps(c, size)) out[k * size + i]! += w * share;
  });
  return out;
}

/** Numbers as a constant tensor of `like`'s (float) dtype. */
function constant(values: number[], shape: number[], like: Tensor): Tensor {
  return t.tensor(like.dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values), shape, like.dtype);
}

/** Avg mode for the rois of one batch item: [R, C, outH, outW] from x [C, H, W] by two products. */
function averageRois(x: Tensor, rois: RoiGeometry[], p: RoiParams): Tensor {
  const [c, h, w] = x.shape as [number, number, number];
  const r = rois.length;
  checkElements([c, h, r, p.outW], 'RoiAlign (its columns sampled for every roi)');
  // Columns: [W, R·outW], then rows per roi: [R, outH, H].
  const colWeights = new Array<number>(w * r * p.outW).fill(0);
  rois.forEach((g, k) => {
    const a = axisWeights(g.cols, w); // [outW, W]
    for (let q = 0; q < p.outW; q++) for (let i = 0; i < w; i++) colWeights[i * r * p.outW + k * p.outW + q] = a[q * w + i]!;
  });
  const rowWeights = rois.flatMap((g) => axisWeights(g.rows, h));
  const across = t.matmul(t.reshape(x, [c * h, w]), constant(colWeights, [w, r * p.outW], x)); // [C·H, R·outW]
  const perRoi = t.reshape(t.permute(t.reshape(across, [c, h, r, p.outW]), [2, 1, 0, 3]), [r, h, c * p.outW]);
  const down = t.matmul(constant(rowWeights, [r, p.outH, h], x), perRoi); // [R, outH, C·outW]
  return t.permute(t.reshape(down, [r, p.outH, c, p.outW]), [0, 2, 1, 3]);
}

/** The positions where any cell of per-axis weights [cells, size] is non-zero, in order. */
function touched(weights: readonly number[], cells: number, size: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < size; i++) {
    for (let k = 0; k < cells; k++)
      if (weights[k * size + i] !== 0) {
        out.push(i);
        break;
      }
  }
  return out;
}

/** Per roi the rows and columns its bilinear taps touch, with its weights on them. */
interface RoiTaps {
  rows: number[];
  cols: number[];
  rowWeights: number[];
  colWeights: number[];
}

function roiTaps(g: RoiGeometry, h: number, w: number, p: RoiParams): RoiTaps {
  const rowWeights = axisWeights(g.rows, h); // [outH, H]
  const colWeights = axisWeights(g.cols, w); // [outW, W]
  return { rows: touched(rowWeights, p.outH, h), cols: touched(colWeights, p.outW, w), rowWeights, colWeights };
}

/**
 * Avg mode for many rois at once on the rows and columns their taps touch (at most 2 · bins · samples each way,
 * whatever the roi's size), gathered in one indexSelect and padded to a common count (zero weights), then two
 * batched products: [R, C, outH, outW]. Memory and work follow R × C × touched rows × touched columns, and the
 * backward pass is one scatter into the map, not one map-sized gradient per roi.
 */
function averageRoiTaps(x: Tensor, taps: RoiTaps[], p: RoiParams): Tensor {
  const [c, h, w] = x.shape as [number, number, number];
  const r = taps.length;
  const mr = Math.max(1, ...taps.map((q) => q.rows.length));
  const mc = Math.max(1, ...taps.map((q) => q.cols.length));
  checkElements([c, r, mr, mc], 'RoiAlign (the map values its rois sample)');
  const positions = new Array<number>(r * mr * mc).fill(0);
  const rowW = new Array<number>(r * p.outH * mr).fill(0); // [R, outH, mr]
  const colW = new Array<number>(r * mc * p.outW).fill(0); // [R, mc, outW]
  taps.forEach((q, k) => {
    q.rows.forEach((y, i) => q.cols.forEach((xc, j) => (positions[(k * mr + i) * mc + j] = y * w + xc)));
    for (let o = 0; o < p.outH; o++) q.rows.forEach((y, i) => (rowW[(k * p.outH + o) * mr + i] = q.rowWeights[o * h + y]!));
    for (let o = 0; o < p.outW; o++) q.cols.forEach((xc, j) => (colW[(k * mc + j) * p.outW + o] = q.colWeights[o * w + xc]!));
  });
  const picked = t.indexSelect(t.reshape(x, [c, h * w]), 1, positions); // [C, R·mr·mc]
  const perRoi = t.reshape(t.permute(t.reshape(picked, [c, r, mr, mc]), [1, 0, 2, 3]), [r, c * mr, mc]);
  const across = t.matmul(perRoi, constant(colW, [r, mc, p.outW], x)); // [R, C·mr, outW]
  const byRow = t.reshape(t.permute(t.reshape(across, [r, c, mr, p.outW]), [0, 2, 1, 3]), [r, mr, c * p.outW]);
  const down = t.matmul(constant(rowW, [r, p.outH, mr], x), byRow); // [R, outH, C·outW]
  return t.permute(t.reshape(down, [r, p.outH, c, p.outW]), [0, 2, 1, 3]);
}

/** Max mode (onnxruntime's): per bin, the largest weighted tap value w·v over its samples' four taps. */
function maxRois(x: Tensor, rois: RoiGeometry[], p: RoiParams): Tensor {
  const [c, h, w] = x.shape as [number, number, number];
  const r = rois.length;
  const perBin = rois.map((g) => 4 * Math.max(...g.rows.cells.map((s) => s.length)) * Math.max(...g.cols.cells.map((s) => s.length)));
  const width = Math.max(4, ...perBin);
  checkElements([r, c, p.outH, p.outW, width], 'RoiAlign max mode (its weighted taps)');
  // For every (roi, bin, slot): a flat position in one channel plane and a weight; unused slots repeat slot 0.
  const positions: number[] = [];
  const weights: number[] = [];
  rois.forEach((g) => {
    for (let ph = 0; ph < p.outH; ph++)
      for (let pw = 0; pw < p.outW; pw++) {
        const slots: [number, number][] = [];
        for (const y of g.rows.cells[ph]!)
          for (const xc of g.cols.cells[pw]!) {
            const ty = taps(y, h);
            const tx = taps(xc, w);
            if (ty.length === 0 || tx.length === 0) slots.push([0, 0], [0, 0], [0, 0], [0, 0]);
            else {
              // onnxruntime's four taps, the high one at weight 0 where the sample sits on the last row or column
              const pair = (tp: [number, number][]): [number, number][] => [tp[0]!, tp[1] ?? [tp[0]![0], 0]];
              for (const [ry, wy] of pair(ty)) for (const [rx, wx] of pair(tx)) slots.push([ry * w + rx, wy * wx]);
            }
          }
        while (slots.length < width) slots.push(slots[0]!);
        for (const [pos, wt] of slots) (positions.push(pos), weights.push(wt));
      }
  });
  // [C, H·W] gathered at the positions → [C, R·outH·outW·width], weighted, max over the slots.
  const picked = t.indexSelect(t.reshape(x, [c, h * w]), 1, positions);
  const weighted = t.mul(picked, constant(weights, [1, weights.length], x));
  const best = t.max(t.reshape(weighted, [c, r, p.outH, p.outW, width]), { dim: 4 });
  return t.permute(best, [1, 0, 2, 3]);
}

/**
 * Pools rois [x1, y1, x2, y2] (flat, 4 per roi, in input coordinates) of batch items `batchIndices` from features
 * x [N, C, H, W]: [R, C, outH, outW], differentiable with respect to x (the rois are numbers, with no gradient).
 */
export function roiAlign(x: Tensor, rois: readonly number[], batchIndices: readonly number[], o: RoiAlignOptions): Tensor {
  if (x.rank !== 4) throw new Error(`RoiAlign X [${x.shape.join(', ')}] must be 4-D [N, C, H, W]`);
  const count = batchIndices.length;
  if (rois.length !== 4 * count)
    throw new Error(`RoiAlign rois hold ${rois.length} numbers for ${count} batch indices (4 per roi: x1, y1, x2, y2)`);
  const n = x.shape[0]!;
  const bad = batchIndices.findIndex((b) => !Number.isInteger(b) || b < 0 || b >= n);
  if (bad >= 0) throw new Error(`RoiAlign batch index ${batchIndices[bad]} (roi ${bad}) is outside X's batch of ${n}`);
  const p: RoiParams = {
    halfPixel: o.aligned,
    scale: o.spatialScale,
    samplingRatio: o.samplingRatio,
    outH: o.outputSize[0],
    outW: o.outputSize[1],
  };
  if (!(p.outH >= 1 && p.outW >= 1 && p.samplingRatio >= 0 && Number.isInteger(p.outH + p.outW + p.samplingRatio)))
    throw new Error(
      `RoiAlign output ${p.outH}x${p.outW} and sampling_ratio ${p.samplingRatio}: sizes must be at least 1, the ratio at least 0`,
    );
  const [c, h, w] = x.shape.slice(1) as [number, number, number];
  checkElements([count, c, p.outH, p.outW], 'RoiAlign output');
  if (count === 0) return t.zeros([0, c, p.outH, p.outW], x.dtype);
  const notFinite = rois.findIndex((v) => !Number.isFinite(v));
  if (notFinite >= 0) throw new Error(`RoiAlign roi ${Math.floor(notFinite / 4)} has a coordinate ${rois[notFinite]}: rois must be finite`);
  const spans = batchIndices.map((_, k) => extents(rois.slice(4 * k, 4 * k + 4), p));
  // Adaptive grids (sampling_ratio 0) follow the roi's size: a huge roi must not make millions of samples per bin.
  const samples = spans.reduce((s, [rows, cols]) => s + rows.grid * cols.grid, 0) * p.outH * p.outW;
  if (samples > 2 ** 26)
    throw new Error(`RoiAlign would take ${samples} bilinear samples (rois far larger than X's ${h}x${w} map, or a huge output?)`);
  const geo = spans.map((e) => geometry(e, p));
  // Rois grouped by batch item, computed together, then put back in the rois' order.
  const order: number[] = [];
  const parts: Tensor[] = [];
  for (let b = 0; b < n; b++) {
    const mine = batchIndices.flatMap((bi, k) => (bi === b ? [k] : []));
    if (mine.length === 0) continue;
    const item = t.reshape(t.slice(x, 0, b, b + 1), [c, h, w]);
    const g = mine.map((k) => geo[k]!);
    const avg = (): Tensor => {
      // the whole-map products cost R·C·H·W·outW; the gathered taps R·C·rows·columns, worth it when far fewer
      const taps = g.map((q) => roiTaps(q, h, w, p));
      const gathered = Math.max(...taps.map((q) => q.rows.length)) * Math.max(...taps.map((q) => q.cols.length));
      return 4 * gathered < h * w ? averageRoiTaps(item, taps, p) : averageRois(item, g, p);
    };
    parts.push(o.mode === 'max' ? maxRois(item, g, p) : avg());
    order.push(...mine);
  }
  const stacked = parts.length === 1 ? parts[0]! : t.cat(parts, 0);
  const back = new Array<number>(count);
  order.forEach((k, j) => (back[k] = j));
  return order.every((k, j) => k === j) ? stacked : t.indexSelect(stacked, 0, back);
}
