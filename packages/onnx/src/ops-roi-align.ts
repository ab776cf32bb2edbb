import * as t from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Attrs } from './attrs';
import type { OpTable } from './op-context';
import { checkElements, float, input, numbers } from './op-context';
import { asTensor, Const } from './values';

// RoiAlign (10, 16) as onnxruntime and torchvision's roi_align compute it: each output bin averages (or, in max
// mode, takes the largest of) a grid of bilinear samples inside its region. The regions come from the rois' values
// (no gradient, as in torchvision); the features get theirs. In avg mode the bilinear weights of a regular grid are
// separable, so a batch item's rois are two matrix products with per-axis weight matrices (columns of all its rois,
// then rows per roi), not a gather of 16 values per output element: Faster R-CNN's 1000 rois × 7 × 7 bins × 256
// channels then need no 800 MB of gathered values.

/** Where one roi's samples fall along one axis: per output cell, its samples' coordinates (before clamping). */
interface AxisSamples {
  /** samples[cell] = the sample coordinates of that cell. */
  cells: number[][];
}

/** The ONNX/torchvision bilinear taps of coordinate c on an axis of `size`: [index, weight] pairs (none outside). */
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

/** The sample grid of a roi [x1, y1, x2, y2] under the node's attributes. */
function geometry(roi: readonly number[], p: RoiParams): RoiGeometry {
  const offset = p.halfPixel ? 0.5 : 0;
  const [x1, y1, x2, y2] = roi.map((v) => v * p.scale) as [number, number, number, number];
  let width = x2 - offset - (x1 - offset);
  let height = y2 - offset - (y1 - offset);
  if (!p.halfPixel) {
    width = Math.max(width, 1);
    height = Math.max(height, 1);
  }
  const axis = (start: number, length: number, cells: number): AxisSamples => {
    const bin = length / cells;
    const grid = p.samplingRatio > 0 ? p.samplingRatio : Math.ceil(length / cells);
    return {
      cells: Array.from({ length: cells }, (_, k) => Array.from({ length: grid }, (_, i) => start + k * bin + ((i + 0.5) * bin) / grid)),
    };
  };
  return { rows: axis(y1 - offset, height, p.outH), cols: axis(x1 - offset, width, p.outW) };
}

interface RoiParams {
  halfPixel: boolean;
  scale: number;
  samplingRatio: number;
  outH: number;
  outW: number;
}

/**
 * Per-axis averaging weights of one roi: weights[cell·size + k] = (1/grid) Σ over the cell's samples of their tap
 * weight on position k. A sample outside the feature map adds nothing but still counts, as in onnxruntime.
 */
function axisWeights(samples: AxisSamples, size: number): number[] {
  const out = new Array<number>(samples.cells.length * size).fill(0);
  samples.cells.forEach((cell, k) => {
    const share = cell.length > 0 ? 1 / cell.length : 0;
    for (const c of cell) for (const [i, w] of taps(c, size)) out[k * size + i]! += w * share;
  });
  return out;
}

/** Numbers as a constant tensor of `like`'s dtype. */
function constant(values: number[], shape: number[], like: Tensor): Tensor {
  return asTensor(new Const(values, shape, 'float64'), like);
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

function roiAlign(x: Tensor, roiValues: number[], batchIndices: number[], attrs: Attrs, opset: number): Tensor {
  if (x.rank !== 4) throw new Error(`RoiAlign X [${x.shape.join(', ')}] must be 4-D [N, C, H, W]`);
  const count = batchIndices.length;
  if (roiValues.length !== 4 * count)
    throw new Error(`RoiAlign rois hold ${roiValues.length} numbers for ${count} batch indices (4 per roi: x1, y1, x2, y2)`);
  const n = x.shape[0]!;
  const bad = batchIndices.findIndex((b) => !Number.isInteger(b) || b < 0 || b >= n);
  if (bad >= 0) throw new Error(`RoiAlign batch index ${batchIndices[bad]} (roi ${bad}) is outside X's batch of ${n}`);
  const mode = attrs.string('mode', 'avg');
  if (mode !== 'avg' && mode !== 'max') throw new Error(`RoiAlign mode '${mode}' is not avg or max`);
  const transform = opset >= 16 ? attrs.string('coordinate_transformation_mode', 'half_pixel') : 'output_half_pixel';
  if (transform !== 'half_pixel' && transform !== 'output_half_pixel')
    throw new Error(`RoiAlign coordinate_transformation_mode '${transform}' is not half_pixel or output_half_pixel`);
  const p: RoiParams = {
    halfPixel: transform === 'half_pixel',
    scale: attrs.float('spatial_scale', 1),
    samplingRatio: attrs.int('sampling_ratio', 0),
    outH: attrs.int('output_height', 1),
    outW: attrs.int('output_width', 1),
  };
  if (p.outH < 1 || p.outW < 1 || p.samplingRatio < 0)
    throw new Error(
      `RoiAlign output ${p.outH}x${p.outW} and sampling_ratio ${p.samplingRatio}: sizes must be at least 1, the ratio at least 0`,
    );
  const [c, h, w] = x.shape.slice(1) as [number, number, number];
  if (count === 0) return t.zeros([0, c, p.outH, p.outW], x.dtype);
  const rois = batchIndices.map((_, k) => geometry(roiValues.slice(4 * k, 4 * k + 4), p));
  // Adaptive grids (sampling_ratio 0) follow the roi's size: a huge roi must not make millions of samples per bin.
  const samples = rois.reduce((s, g) => s + g.rows.cells[0]!.length * g.cols.cells[0]!.length, 0);
  if (samples * p.outH * p.outW > 2 ** 26)
    throw new Error(`RoiAlign would take ${samples * p.outH * p.outW} bilinear samples (rois far larger than X's ${h}x${w} map?)`);
  // Rois grouped by batch item, computed together, then put back in the rois' order.
  const order: number[] = [];
  const parts: Tensor[] = [];
  for (let b = 0; b < n; b++) {
    const mine = batchIndices.flatMap((bi, k) => (bi === b ? [k] : []));
    if (mine.length === 0) continue;
    const item = t.reshape(t.slice(x, 0, b, b + 1), [c, h, w]);
    const geo = mine.map((k) => rois[k]!);
    parts.push(mode === 'avg' ? averageRois(item, geo, p) : maxRois(item, geo, p));
    order.push(...mine);
  }
  const stacked = parts.length === 1 ? parts[0]! : t.cat(parts, 0);
  const back = new Array<number>(count);
  order.forEach((k, j) => (back[k] = j));
  return order.every((k, j) => k === j) ? stacked : t.indexSelect(stacked, 0, back);
}

/** Regions of interest pooled from a feature map (Mask/Faster R-CNN's box heads). */
export const roiAlignOps: OpTable = {
  RoiAlign: {
    since: 10,
    run: ({ values, attrs, opset }) => {
      const x = float(input(values, 0));
      const rois = numbers(input(values, 1));
      const batch = numbers(input(values, 2));
      return [roiAlign(x, rois, batch, attrs, opset)];
    },
  },
};
