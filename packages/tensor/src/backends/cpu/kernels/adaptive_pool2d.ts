/** adaptive_avg_pool2d and adaptive_max_pool2d with PyTorch bins: start=floor(o*in/out), end=ceil((o+1)*in/out). */
import type { AdaptivePoolGeometry, FloatArray } from './types';
import { scatterByIndices } from './pool2d';

/** Bin bounds along one axis, as PyTorch's start_index/end_index. */
export function adaptiveBins(outSize: number, inSize: number): { start: Int32Array; end: Int32Array } {
  const start = new Int32Array(outSize), end = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    start[o] = Math.floor((o * inSize) / outSize);
    end[o] = Math.ceil(((o + 1) * inSize) / outSize);
  }
  return { start, end };
}

/** Writes adaptive_avg_pool2d of x [N, C, H, W] into out [N, C, OH, OW]. */
export function adaptiveAvgPool2dForward(x: FloatArray, g: AdaptivePoolGeometry, out: FloatArray): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const rows = adaptiveBins(OH, H), cols = adaptiveBins(OW, W);
  const planes = g.batch * g.channels;
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * H * W;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = rows.start[oh]!, h1 = rows.end[oh]!;
      for (let ow = 0; ow < OW; ow++, o++) {
        const w0 = cols.start[ow]!, w1 = cols.end[ow]!;
        let sum = 0;
        for (let h = h0; h < h1; h++) {
          const r = base + h * W;
          for (let w = w0; w < w1; w++) sum += x[r + w]!;
        }
        out[o] = sum / ((h1 - h0) * (w1 - w0));
      }
    }
  }
}

/** Writes the gradient of adaptive_avg_pool2d into dx [N, C, H, W] (overwritten). */
export function adaptiveAvgPool2dBackward(dy: FloatArray, g: AdaptivePoolGeometry, dx: FloatArray): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const rows = adaptiveBins(OH, H), cols = adaptiveBins(OW, W);
  const planes = g.batch * g.channels;
  dx.fill(0, 0, planes * H * W);
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * H * W;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = rows.start[oh]!, h1 = rows.end[oh]!;
      for (let ow = 0; ow < OW; ow++, o++) {
        const w0 = cols.start[ow]!, w1 = cols.end[ow]!;
        const v = dy[o]! / ((h1 - h0) * (w1 - w0));
        for (let h = h0; h < h1; h++) {
          const r = base + h * W;
          for (let w = w0; w < w1; w++) dx[r + w] = dx[r + w]! + v;
        }
      }
    }
  }
}

/** Writes adaptive_max_pool2d of x into out [N, C, OH, OW] and flat h*W+w argmax indices; NaN wins as in PyTorch. */
export function adaptiveMaxPool2dForward(x: FloatArray, g: AdaptivePoolGeometry, out: FloatArray, indices: Int32Array): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const rows = adaptiveBins(OH, H), cols = adaptiveBins(OW, W);
  const planes = g.batch * g.channels;
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * H * W;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = rows.start[oh]!, h1 = rows.end[oh]!;
      for (let ow = 0; ow < OW; ow++, o++) {
        const w0 = cols.start[ow]!, w1 = cols.end[ow]!;
        let maxIdx = h0 * W + w0;
        let maxVal = -Infinity;
        for (let h = h0; h < h1; h++) {
          for (let w = w0; w < w1; w++) {
            const idx = h * W + w;
            const v = x[base + idx]!;
            if (v > maxVal || v !== v) {
              maxVal = v;
              maxIdx = idx;
            }
          }
        }
        out[o] = maxVal;
        indices[o] = maxIdx;
      }
    }
  }
}

/** Writes dx [N, C, H, W] (zeroed, then dy scatter-added at the saved argmax of each bin). */
export function adaptiveMaxPool2dBackward(dy: FloatArray, indices: Int32Array, g: AdaptivePoolGeometry, dx: FloatArray): void {
  scatterByIndices(dy, indices, g.batch * g.channels, g.outHeight * g.outWidth, g.inHeight * g.inWidth, dx);
}
