/**
 * Implicit im2col: gather one kernel tap of one input plane over a run of output pixels straight
 * into a packed GEMM panel, and the adjoint scatter (col2im) from a GEMM result row.
 */
import type { Conv2dGeometry, FloatArray } from './types';

/**
 * Writes x[plane + ih*W + iw] (0 outside the image) for kernel tap (ky, kx) and output pixels
 * pix0 .. pix0+cnt-1 (pix = oh*OW + ow) to dst[d], advancing d by `step` per pixel and by an extra
 * `jump` every `period` pixels (counting from `phase`): the panel layout of the GEMM packers.
 */
export function gatherTap(
  x: FloatArray, plane: number, g: Conv2dGeometry, ky: number, kx: number, pix0: number, cnt: number,
  dst: FloatArray, d: number, step: number, phase: number, period: number, jump: number,
): void {
  const H = g.inHeight, W = g.inWidth, OW = g.outWidth, sH = g.strideH, sW = g.strideW;
  const offH = ky * g.dilationH - g.padH;
  const offW = kx * g.dilationW - g.padW;
  // Output columns whose tap lies inside the image: [owLo, owHi).
  const owLo = Math.min(OW, offW >= 0 ? 0 : Math.ceil(-offW / sW));
  const owHi = Math.min(OW, W - 1 - offW < 0 ? 0 : Math.floor((W - 1 - offW) / sW) + 1);
  let oh = (pix0 / OW) | 0;
  let ow = pix0 - oh * OW;
  let ph = phase;
  let t = 0;
  // One output row at a time: zeros left of owLo, a strided copy, zeros right of owHi.
  while (t < cnt) {
    const end = ow + Math.min(cnt - t, OW - ow);
    const ih = oh * sH + offH;
    let lo = ow, hi = ow;
    if (ih >= 0 && ih < H) {
      lo = Math.min(Math.max(ow, owLo), end);
      hi = Math.max(lo, Math.min(end, owHi));
    }
    for (let o = ow; o < lo; o++) {
      dst[d] = 0;
      d += step;
      if (++ph === period) { ph = 0; d += jump; }
    }
    let si = plane + ih * W + lo * sW + offW;
    for (let o = lo; o < hi; o++, si += sW) {
      dst[d] = x[si]!;
      d += step;
      if (++ph === period) { ph = 0; d += jump; }
    }
    for (let o = hi; o < end; o++) {
      dst[d] = 0;
      d += step;
      if (++ph === period) { ph = 0; d += jump; }
    }
    t += end - ow;
    ow = 0;
    oh++;
  }
}

/**
 * Adds src[s + t] (t < cnt) into dx at the input position that output pixel pix0+t reads through
 * kernel tap (ky, kx); positions outside the image (padding) are dropped.
 */
export function scatterTap(
  dx: FloatArray, plane: number, g: Conv2dGeometry, ky: number, kx: number, pix0: number, cnt: number,
  src: FloatArray, s: number,
): void {
  const H = g.inHeight, W = g.inWidth, OW = g.outWidth, sH = g.strideH, sW = g.strideW;
  const offH = ky * g.dilationH - g.padH;
  const offW = kx * g.dilationW - g.padW;
  let oh = (pix0 / OW) | 0;
  let ow = pix0 - oh * OW;
  let t = 0;
  while (t < cnt) {
    const run = Math.min(cnt - t, OW - ow);
    const ih = oh * sH + offH;
    if (ih >= 0 && ih < H) {
      // Valid ow in this run: 0 <= ow*sW + offW < W.
      const lo = Math.max(ow, offW >= 0 ? 0 : Math.ceil(-offW / sW));
      const hi = Math.min(ow + run, W - 1 - offW < 0 ? 0 : Math.floor((W - 1 - offW) / sW) + 1);
      let di = plane + ih * W + lo * sW + offW;
      let si = s + t + (lo - ow);
      for (let o = lo; o < hi; o++, di += sW) dx[di] = dx[di]! + src[si++]!;
    }
    t += run;
    ow = 0;
    oh++;
  }
}
