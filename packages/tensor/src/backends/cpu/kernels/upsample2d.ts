/**
 * upsample_nearest2d and upsample_bilinear2d (forward and backward) with PyTorch's source-index rules.
 * Nearest reproduces PyTorch's float32 index arithmetic (so the chosen pixel matches exactly);
 * bilinear weights are computed in float64 (PyTorch uses the input dtype: ≤1 ulp of float32 apart).
 */
import type { FloatArray, ResizeGeometry } from './types';

/** Source index of each output position for nearest mode, as PyTorch's nearest_idx. */
export function nearestIndices(outSize: number, inSize: number, scale: number): Int32Array {
  const idx = new Int32Array(outSize);
  const fs = Math.fround(scale);
  for (let o = 0; o < outSize; o++) {
    if (outSize === inSize) idx[o] = o;
    else if (outSize === 2 * inSize) idx[o] = o >> 1;
    else idx[o] = Math.min(Math.floor(Math.fround(o * fs)), inSize - 1);
  }
  return idx;
}

/** Linear interpolation taps along one axis: out[o] = w0*in[i0] + w1*in[i1], as PyTorch's compute_source_index_and_lambda. */
export function linearTaps(
  outSize: number,
  inSize: number,
  scale: number,
  alignCorners: boolean,
): { i0: Int32Array; i1: Int32Array; w0: Float64Array; w1: Float64Array } {
  const i0 = new Int32Array(outSize),
    i1 = new Int32Array(outSize);
  const w0 = new Float64Array(outSize),
    w1 = new Float64Array(outSize);
  for (let o = 0; o < outSize; o++) {
    if (outSize === inSize && !alignCorners) {
      i0[o] = o;
      i1[o] = o;
      w0[o] = 1;
      w1[o] = 0;
      continue;
    }
    let real = alignCorners ? scale * o : scale * (o + 0.5) - 0.5;
    if (real < 0) real = 0;
    const a = Math.min(Math.floor(real), inSize - 1);
    const lambda = Math.min(Math.max(real - a, 0), 1);
    i0[o] = a;
    i1[o] = a < inSize - 1 ? a + 1 : a;
    w1[o] = lambda;
    w0[o] = 1 - lambda;
  }
  return { i0, i1, w0, w1 };
}

/** Writes nearest upsampling of x [N, C, H, W] into out [N, C, OH, OW]. */
export function upsampleNearest2dForward(x: FloatArray, g: ResizeGeometry, out: FloatArray): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const hi = nearestIndices(OH, H, g.scaleH),
    wi = nearestIndices(OW, W, g.scaleW);
  const planes = g.batch * g.channels;
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * H * W;
    for (let oh = 0; oh < OH; oh++) {
      const r = base + hi[oh]! * W;
      for (let ow = 0; ow < OW; ow++) out[o++] = x[r + wi[ow]!]!;
    }
  }
}

/** Writes the gradient of nearest upsampling into dx [N, C, H, W] (overwritten). */
export function upsampleNearest2dBackward(dy: FloatArray, g: ResizeGeometry, dx: FloatArray): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const hi = nearestIndices(OH, H, g.scaleH),
    wi = nearestIndices(OW, W, g.scaleW);
  const planes = g.batch * g.channels;
  dx.fill(0, 0, planes * H * W);
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * H * W;
    for (let oh = 0; oh < OH; oh++) {
      const r = base + hi[oh]! * W;
      for (let ow = 0; ow < OW; ow++) {
        const i = r + wi[ow]!;
        dx[i] = dx[i]! + dy[o++]!;
      }
    }
  }
}

/** Writes bilinear upsampling of x [N, C, H, W] into out [N, C, OH, OW]. */
export function upsampleBilinear2dForward(x: FloatArray, g: ResizeGeometry, out: FloatArray): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const th = linearTaps(OH, H, g.scaleH, g.alignCorners),
    tw = linearTaps(OW, W, g.scaleW, g.alignCorners);
  const planes = g.batch * g.channels;
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * H * W;
    for (let oh = 0; oh < OH; oh++) {
      const r0 = base + th.i0[oh]! * W,
        r1 = base + th.i1[oh]! * W;
      const h0 = th.w0[oh]!,
        h1 = th.w1[oh]!;
      for (let ow = 0; ow < OW; ow++) {
        const c0 = tw.i0[ow]!,
          c1 = tw.i1[ow]!;
        const v0 = tw.w0[ow]!,
          v1 = tw.w1[ow]!;
        out[o++] = h0 * (v0 * x[r0 + c0]! + v1 * x[r0 + c1]!) + h1 * (v0 * x[r1 + c0]! + v1 * x[r1 + c1]!);
      }
    }
  }
}

/** Writes the gradient of bilinear upsampling into dx [N, C, H, W] (overwritten). */
export function upsampleBilinear2dBackward(dy: FloatArray, g: ResizeGeometry, dx: FloatArray): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const th = linearTaps(OH, H, g.scaleH, g.alignCorners),
    tw = linearTaps(OW, W, g.scaleW, g.alignCorners);
  const planes = g.batch * g.channels;
  dx.fill(0, 0, planes * H * W);
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * H * W;
    for (let oh = 0; oh < OH; oh++) {
      const r0 = base + th.i0[oh]! * W,
        r1 = base + th.i1[oh]! * W;
      const h0 = th.w0[oh]!,
        h1 = th.w1[oh]!;
      for (let ow = 0; ow < OW; ow++) {
        const c0 = tw.i0[ow]!,
          c1 = tw.i1[ow]!;
        const v0 = tw.w0[ow]!,
          v1 = tw.w1[ow]!;
        const d = dy[o++]!;
        dx[r0 + c0] = dx[r0 + c0]! + h0 * v0 * d;
        dx[r0 + c1] = dx[r0 + c1]! + h0 * v1 * d;
        dx[r1 + c0] = dx[r1 + c0]! + h1 * v0 * d;
        dx[r1 + c1] = dx[r1 + c1]! + h1 * v1 * d;
      }
    }
  }
}
