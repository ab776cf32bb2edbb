/** max_pool2d and avg_pool2d (forward and backward) with PyTorch's window, ceil-mode and divisor semantics. */
import type { FloatArray, Pool2dGeometry } from './types';
import { paddedLengths, strideWindows, windowAdd, windowMax, windowSum } from './pool_windows';
import { maxPool2x2InArena, maxPoolWindowsInArena } from './arena-jobs';

/**
 * Writes max_pool2d of x [N, C, H, W] into out [N, C, OH, OW] and the argmax (flat h*W+w within each
 * input plane, as PyTorch's return_indices) into indices. NaN wins (the last NaN in the window), as in PyTorch.
 */
export function maxPool2dForward(x: FloatArray, g: Pool2dGeometry, out: FloatArray, indices: Int32Array): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, dilationH: dH, dilationW: dW } = g;
  if (isPlain2x2(g)) {
    if (!maxPool2x2InArena(x, g, out, indices)) maxPool2x2(x, g, out, indices); // in the arena: on the module's threads
    return;
  }
  const rows = strideWindows(OH, H, g.kernelH, g.strideH, g.padH, dH);
  const cols = strideWindows(OW, W, g.kernelW, g.strideW, g.padW, dW);
  if (maxPoolWindowsInArena(x, g, rows, cols, out, indices)) return; // in the arena: on the module's threads
  const planes = g.batch * g.channels;
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * H * W;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = rows.start[oh]!,
        h1 = rows.end[oh]!;
      for (let ow = 0; ow < OW; ow++, o++) windowMax(x, base, W, h0, h1, dH, cols.start[ow]!, cols.end[ow]!, dW, out, indices, o);
    }
  }
}

/** The VGG/ResNet pooling: 2×2 windows, stride 2, no padding or dilation, every window inside the image. */
function isPlain2x2(g: Pool2dGeometry): boolean {
  return (
    g.kernelH === 2 &&
    g.kernelW === 2 &&
    g.strideH === 2 &&
    g.strideW === 2 &&
    g.padH === 0 &&
    g.padW === 0 &&
    g.dilationH === 1 &&
    g.dilationW === 1 &&
    2 * g.outHeight <= g.inHeight &&
    2 * g.outWidth <= g.inWidth
  );
}

/**
 * maxPool2dForward for isPlain2x2 geometries without a branch per comparison: which of the four taps
 * wins is computed as an integer (`+(v > best) | +(v !== v)`, the same "greater, or NaN" test as
 * windowMax, in the same order) and the value re-read at that tap. The general loop's `if` mispredicts
 * on about half of the comparisons of real activations; this runs about 4× faster and gives the same
 * values and indices.
 */
function maxPool2x2(x: FloatArray, g: Pool2dGeometry, out: FloatArray, indices: Int32Array): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const planes = g.batch * g.channels;
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * H * W;
    for (let oh = 0; oh < OH; oh++) {
      const row = 2 * oh * W;
      for (let ow = 0; ow < OW; ow++, o++) {
        const i0 = row + 2 * ow;
        let idx = i0;
        let best = x[base + i0]!;
        let v = x[base + i0 + 1]!;
        idx += +(v > best) | +(v !== v);
        best = x[base + idx]!;
        v = x[base + i0 + W]!;
        let take = +(v > best) | +(v !== v);
        idx += take * (i0 + W - idx);
        best = x[base + idx]!;
        v = x[base + i0 + W + 1]!;
        take = +(v > best) | +(v !== v);
        idx += take * (i0 + W + 1 - idx);
        out[o] = x[base + idx]!;
        indices[o] = idx;
      }
    }
  }
}

function avgDivisor(padArea: number, clippedArea: number, countIncludePad: boolean, divisorOverride: number | null): number {
  return divisorOverride ?? (countIncludePad ? padArea : clippedArea);
}

/**
 * Writes avg_pool2d of x into out [N, C, OH, OW]. Dilation is ignored (PyTorch has none for avg pooling);
 * the divisor is divisorOverride, else the padded window area (countIncludePad) or the in-image area.
 * A window entirely outside the image gives 0.
 */
export function avgPool2dForward(
  x: FloatArray,
  g: Pool2dGeometry,
  countIncludePad: boolean,
  divisorOverride: number | null,
  out: FloatArray,
): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const rows = strideWindows(OH, H, g.kernelH, g.strideH, g.padH, 1),
    rowLen = paddedLengths(OH, H, g.kernelH, g.strideH, g.padH);
  const cols = strideWindows(OW, W, g.kernelW, g.strideW, g.padW, 1),
    colLen = paddedLengths(OW, W, g.kernelW, g.strideW, g.padW);
  const planes = g.batch * g.channels;
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * H * W;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = rows.start[oh]!,
        h1 = rows.end[oh]!;
      for (let ow = 0; ow < OW; ow++, o++) {
        const w0 = cols.start[ow]!,
          w1 = cols.end[ow]!;
        if (h0 >= h1 || w0 >= w1) {
          out[o] = 0;
          continue;
        }
        out[o] =
          windowSum(x, base, W, h0, h1, w0, w1) /
          avgDivisor(rowLen[oh]! * colLen[ow]!, (h1 - h0) * (w1 - w0), countIncludePad, divisorOverride);
      }
    }
  }
}

/** Writes the gradient of avg_pool2d into dx [N, C, H, W] (overwritten). */
export function avgPool2dBackward(
  dy: FloatArray,
  g: Pool2dGeometry,
  countIncludePad: boolean,
  divisorOverride: number | null,
  dx: FloatArray,
): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const rows = strideWindows(OH, H, g.kernelH, g.strideH, g.padH, 1),
    rowLen = paddedLengths(OH, H, g.kernelH, g.strideH, g.padH);
  const cols = strideWindows(OW, W, g.kernelW, g.strideW, g.padW, 1),
    colLen = paddedLengths(OW, W, g.kernelW, g.strideW, g.padW);
  const planes = g.batch * g.channels;
  dx.fill(0, 0, planes * H * W);
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * H * W;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = rows.start[oh]!,
        h1 = rows.end[oh]!;
      for (let ow = 0; ow < OW; ow++, o++) {
        const w0 = cols.start[ow]!,
          w1 = cols.end[ow]!;
        if (h0 >= h1 || w0 >= w1) continue;
        windowAdd(
          dx,
          base,
          W,
          h0,
          h1,
          w0,
          w1,
          dy[o]! / avgDivisor(rowLen[oh]! * colLen[ow]!, (h1 - h0) * (w1 - w0), countIncludePad, divisorOverride),
        );
      }
    }
  }
}
