import { opError } from '../errors';
import type { Tensor } from '../tensor';
import { tensor, zeros } from '../creation';
import { bilinearTaps, cellSamples, roiExtents } from '../backends/cpu/kernels/roi-align';
import type { RoiExtent } from '../backends/cpu/kernels/roi-align';
import { requireFloat, mul } from './elementwise';
import type { RoiAlignAttrs } from './op-attrs';
import { max } from './reduce';
import { runOp } from './run';
import { indexSelect, permute, reshape } from './shape-ops';

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

/** The most bilinear samples one call may take: rois far past the map with an adaptive grid would take millions a bin. */
const MAX_SAMPLES = 2 ** 26;

const op = 'roiAlign';

function checkElements(shape: readonly number[], what: string): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0) || n > MAX_ELEMENTS)
    throw opError(op, `${what} would be [${shape.join(', ')}] (${n} elements), past the ${MAX_ELEMENTS} one tensor may hold`);
}

/**
 * Pools rois [x1, y1, x2, y2] (flat, 4 per roi, in input coordinates) of batch items `batchIndices` from features
 * x [N, C, H, W]: [R, C, outH, outW], differentiable with respect to x (the rois are numbers, with no gradient, as
 * torchvision's detached proposals). Avg mode is torchvision's `roi_align` (one op, its backward a scatter into
 * the map); max mode is onnxruntime's RoiAlign max (the largest weighted bilinear tap), built from gathers.
 */
export function roiAlign(x: Tensor, rois: readonly number[], batchIndices: readonly number[], o: RoiAlignOptions): Tensor {
  requireFloat(op, x);
  if (x.rank !== 4) throw opError(op, `X [${x.shape.join(', ')}] must be 4-D [N, C, H, W]`);
  const count = batchIndices.length;
  if (rois.length !== 4 * count)
    throw opError(op, `rois hold ${rois.length} numbers for ${count} batch indices (4 per roi: x1, y1, x2, y2)`);
  const n = x.shape[0]!;
  const bad = batchIndices.findIndex((b) => !Number.isInteger(b) || b < 0 || b >= n);
  if (bad >= 0) throw opError(op, `batch index ${batchIndices[bad]} (roi ${bad}) is outside X's batch of ${n}`);
  const [outH, outW] = o.outputSize;
  if (!(outH >= 1 && outW >= 1 && o.samplingRatio >= 0 && Number.isInteger(outH + outW + o.samplingRatio)))
    throw opError(op, `output ${outH}x${outW} and sampling_ratio ${o.samplingRatio}: sizes must be at least 1, the ratio at least 0`);
  if (!Number.isFinite(o.spatialScale)) throw opError(op, `spatial scale ${o.spatialScale} must be a finite number`);
  const [c, h, w] = x.shape.slice(1) as [number, number, number];
  checkElements([count, c, outH, outW], 'the output');
  if (count === 0) return zeros([0, c, outH, outW], x.dtype);
  const notFinite = rois.findIndex((v) => !Number.isFinite(v));
  if (notFinite >= 0) throw opError(op, `roi ${Math.floor(notFinite / 4)} has a coordinate ${rois[notFinite]}: rois must be finite`);
  const attrs: RoiAlignAttrs = {
    rois: [...rois],
    batchIndices: [...batchIndices],
    outputSize: [outH, outW],
    spatialScale: o.spatialScale,
    samplingRatio: o.samplingRatio,
    aligned: o.aligned,
  };
  const spans = batchIndices.map((_, r) => roiExtents(attrs, r));
  const samples = spans.reduce((s, [rows, cols]) => s + rows.grid * cols.grid, 0) * outH * outW;
  if (samples > MAX_SAMPLES)
    throw opError(op, `it would take ${samples} bilinear samples (rois far larger than X's ${h}x${w} map, or a huge output?)`);
  if (o.mode !== 'max') return runOp('roiAlign', [x], attrs);
  return maxRois(x, attrs, spans);
}

/** Numbers as a constant tensor of `like`'s (float) dtype. */
function constant(values: number[], shape: number[], like: Tensor): Tensor {
  return tensor(like.dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values), shape, like.dtype);
}

/** Max mode (onnxruntime's): per bin, the largest weighted tap value w·v over its samples' four taps. */
function maxRois(x: Tensor, a: RoiAlignAttrs, spans: [RoiExtent, RoiExtent][]): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [outH, outW] = a.outputSize;
  const r = a.batchIndices.length;
  const grids = spans.map(([rows, cols]) => ({ rows: cellSamples(rows, outH), cols: cellSamples(cols, outW) }));
  const width = Math.max(4, ...spans.map(([rows, cols]) => 4 * rows.grid * cols.grid));
  checkElements([r, c, outH, outW, width], "max mode's weighted taps");
  // For every (roi, bin, slot): a flat position in the [N·H·W] planes of one channel and a weight; unused slots
  // repeat slot 0.
  const positions: number[] = [];
  const weights: number[] = [];
  grids.forEach((g, k) => {
    const plane = a.batchIndices[k]! * h * w;
    for (let ph = 0; ph < outH; ph++)
      for (let pw = 0; pw < outW; pw++) {
        const slots: [number, number][] = [];
        for (const y of g.rows[ph]!)
          for (const xc of g.cols[pw]!) {
            const ty = bilinearTaps(y, h);
            const tx = bilinearTaps(xc, w);
            if (ty.length === 0 || tx.length === 0) slots.push([plane, 0], [plane, 0], [plane, 0], [plane, 0]);
            else {
              // onnxruntime's four taps, the high one at weight 0 where the sample sits on the last row or column
              const pair = (tp: [number, number][]): [number, number][] => [tp[0]!, tp[1] ?? [tp[0]![0], 0]];
              for (const [ry, wy] of pair(ty)) for (const [rx, wx] of pair(tx)) slots.push([plane + ry * w + rx, wy * wx]);
            }
          }
        while (slots.length < width) slots.push(slots[0] ?? [plane, 0]);
        for (const [pos, wt] of slots) (positions.push(pos), weights.push(wt));
      }
  });
  // [C, N·H·W] gathered at the positions → [C, R·outH·outW·width], weighted, max over the slots.
  const planes = reshape(permute(x, [1, 0, 2, 3]), [c, n * h * w]);
  const picked = indexSelect(planes, 1, positions);
  const weighted = mul(picked, constant(weights, [1, weights.length], x));
  const best = max(reshape(weighted, [c, r, outH, outW, width]), { dim: 4 });
  return permute(best, [1, 0, 2, 3]);
}
