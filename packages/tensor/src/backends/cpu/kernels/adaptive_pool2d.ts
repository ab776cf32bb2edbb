/** adaptive_avg_pool2d and adaptive_max_pool2d with PyTorch bins: start=floor(o*in/out), end=ceil((o+1)*in/out). */
import type { AdaptivePoolGeometry, FloatArray } from './types';
import { adaptiveWindows, windowAdd, windowMax, windowSum } from './pool_windows';

/** Writes adaptive_avg_pool2d of x [N, C, H, W] into out [N, C, OH, OW]. */
export function adaptiveAvgPool2dForward(x: FloatArray, g: AdaptivePoolGeometry, out: FloatArray): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const rows = adaptiveWindows(OH, H),
    cols = adaptiveWindows(OW, W);
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
        out[o] = windowSum(x, base, W, h0, h1, w0, w1) / ((h1 - h0) * (w1 - w0));
      }
    }
  }
}

/** Writes the gradient of adaptive_avg_pool2d into dx [N, C, H, W] (overwritten). */
export function adaptiveAvgPool2dBackward(dy: FloatArray, g: AdaptivePoolGeometry, dx: FloatArray): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const rows = adaptiveWindows(OH, H),
    cols = adaptiveWindows(OW, W);
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
        windowAdd(dx, base, W, h0, h1, w0, w1, dy[o]! / ((h1 - h0) * (w1 - w0)));
      }
    }
  }
}

/** Writes adaptive_max_pool2d of x into out [N, C, OH, OW] and flat h*W+w argmax indices; NaN wins as in PyTorch. */
export function adaptiveMaxPool2dForward(x: FloatArray, g: AdaptivePoolGeometry, out: FloatArray, indices: Int32Array): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const rows = adaptiveWindows(OH, H),
    cols = adaptiveWindows(OW, W);
  const planes = g.batch * g.channels;
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * H * W;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = rows.start[oh]!,
        h1 = rows.end[oh]!;
      for (let ow = 0; ow < OW; ow++, o++) windowMax(x, base, W, h0, h1, 1, cols.start[ow]!, cols.end[ow]!, 1, out, indices, o);
    }
  }
}
