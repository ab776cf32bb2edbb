/** max_pool2d and avg_pool2d (forward and backward) with PyTorch's window, ceil-mode and divisor semantics. */
import type { FloatArray, Pool2dGeometry } from './types';

/**
 * Writes max_pool2d of x [N, C, H, W] into out [N, C, OH, OW] and the argmax (flat h*W+w within each
 * input plane, as PyTorch's return_indices) into indices. NaN wins (the last NaN in the window), as in PyTorch.
 */
export function maxPool2dForward(x: FloatArray, g: Pool2dGeometry, out: FloatArray, indices: Int32Array): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, strideH: sH, strideW: sW, dilationH: dH, dilationW: dW } = g;
  const planes = g.batch * g.channels;
  const HW = H * W;
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * HW;
    for (let oh = 0; oh < OH; oh++) {
      let h0 = oh * sH - g.padH;
      const h1 = Math.min(h0 + (g.kernelH - 1) * dH + 1, H);
      while (h0 < 0) h0 += dH;
      for (let ow = 0; ow < OW; ow++, o++) {
        let w0 = ow * sW - g.padW;
        const w1 = Math.min(w0 + (g.kernelW - 1) * dW + 1, W);
        while (w0 < 0) w0 += dW;
        let maxIdx = h0 * W + w0;
        let maxVal = -Infinity;
        for (let h = h0; h < h1; h += dH) {
          for (let w = w0; w < w1; w += dW) {
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

/** Writes dx [N, C, H, W] (zeroed, then dy scatter-added at the saved argmax of each window). */
export function maxPool2dBackward(dy: FloatArray, indices: Int32Array, g: Pool2dGeometry, dx: FloatArray): void {
  scatterByIndices(dy, indices, g.batch * g.channels, g.outHeight * g.outWidth, g.inHeight * g.inWidth, dx);
}

/** dx[plane*inSize + indices[o]] += dy[o] over all planes, after zeroing dx. */
export function scatterByIndices(dy: FloatArray, indices: Int32Array, planes: number, outSize: number, inSize: number, dx: FloatArray): void {
  dx.fill(0, 0, planes * inSize);
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * inSize;
    for (let t = 0; t < outSize; t++, o++) {
      // An all-padding window stores an index past its plane (as PyTorch); it gets no gradient.
      const k = indices[o]!;
      if (k < 0 || k >= inSize) continue;
      dx[base + k] = dx[base + k]! + dy[o]!;
    }
  }
}

/** Per-output window of avg_pool2d along one axis: clipped start/end and the unclipped (padded) length. */
function avgWindows(outSize: number, inSize: number, k: number, stride: number, pad: number): { start: Int32Array; end: Int32Array; padded: Int32Array } {
  const start = new Int32Array(outSize), end = new Int32Array(outSize), padded = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const s = o * stride - pad;
    const e = Math.min(s + k, inSize + pad);
    padded[o] = e - s;
    start[o] = Math.max(s, 0);
    end[o] = Math.min(e, inSize);
  }
  return { start, end, padded };
}

function avgDivisor(padArea: number, clippedArea: number, countIncludePad: boolean, divisorOverride: number | null): number {
  return divisorOverride ?? (countIncludePad ? padArea : clippedArea);
}

/**
 * Writes avg_pool2d of x into out [N, C, OH, OW]. Dilation is ignored (PyTorch has none for avg pooling);
 * the divisor is divisorOverride, else the padded window area (countIncludePad) or the in-image area.
 * A window entirely outside the image gives 0.
 */
export function avgPool2dForward(x: FloatArray, g: Pool2dGeometry, countIncludePad: boolean, divisorOverride: number | null, out: FloatArray): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const rows = avgWindows(OH, H, g.kernelH, g.strideH, g.padH);
  const cols = avgWindows(OW, W, g.kernelW, g.strideW, g.padW);
  const planes = g.batch * g.channels;
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * H * W;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = rows.start[oh]!, h1 = rows.end[oh]!;
      for (let ow = 0; ow < OW; ow++, o++) {
        const w0 = cols.start[ow]!, w1 = cols.end[ow]!;
        if (h0 >= h1 || w0 >= w1) {
          out[o] = 0;
          continue;
        }
        let sum = 0;
        for (let h = h0; h < h1; h++) {
          const r = base + h * W;
          for (let w = w0; w < w1; w++) sum += x[r + w]!;
        }
        out[o] = sum / avgDivisor(rows.padded[oh]! * cols.padded[ow]!, (h1 - h0) * (w1 - w0), countIncludePad, divisorOverride);
      }
    }
  }
}

/** Writes the gradient of avg_pool2d into dx [N, C, H, W] (overwritten). */
export function avgPool2dBackward(dy: FloatArray, g: Pool2dGeometry, countIncludePad: boolean, divisorOverride: number | null, dx: FloatArray): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const rows = avgWindows(OH, H, g.kernelH, g.strideH, g.padH);
  const cols = avgWindows(OW, W, g.kernelW, g.strideW, g.padW);
  const planes = g.batch * g.channels;
  dx.fill(0, 0, planes * H * W);
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * H * W;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = rows.start[oh]!, h1 = rows.end[oh]!;
      for (let ow = 0; ow < OW; ow++, o++) {
        const w0 = cols.start[ow]!, w1 = cols.end[ow]!;
        if (h0 >= h1 || w0 >= w1) continue;
        const v = dy[o]! / avgDivisor(rows.padded[oh]! * cols.padded[ow]!, (h1 - h0) * (w1 - w0), countIncludePad, divisorOverride);
        for (let h = h0; h < h1; h++) {
          const r = base + h * W;
          for (let w = w0; w < w1; w++) dx[r + w] = dx[r + w]! + v;
        }
      }
    }
  }
}
