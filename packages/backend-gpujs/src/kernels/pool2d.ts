/**
 * max_pool2d and avg_pool2d, forward and backward, as gpu.js kernels over [OW, OH, N·C] (forward) or
 * [W, H, N·C] (backward) grids, so that a result is a row-major NCHW tensor. Window bounds follow
 * PyTorch (and the CPU reference, backends/cpu/kernels/pool2d.ts).
 */
import type { KernelThis, PoolConstants, Values } from './types';

/** max_pool2d values: the window's maximum; NaN wins, as in PyTorch. */
export function maxPool2dValues(this: KernelThis<PoolConstants>, x: Values): number {
  const base = this.thread.z * this.constants.H * this.constants.W;
  const h0 = this.thread.y * this.constants.SH - this.constants.PH;
  const w0 = this.thread.x * this.constants.SW - this.constants.PW;
  let m = 0;
  let found = 0;
  for (let kh = 0; kh < this.constants.KH; kh++) {
    const h = h0 + kh * this.constants.DH;
    if (h >= 0 && h < this.constants.H) {
      for (let kw = 0; kw < this.constants.KW; kw++) {
        const w = w0 + kw * this.constants.DW;
        if (w >= 0 && w < this.constants.W) {
          const v = x[base + h * this.constants.W + w]!;
          if (found === 0 || v > m || v !== v) {
            m = v;
            found = 1;
          }
        }
      }
    }
  }
  return m;
}

/** max_pool2d indices: flat h·W + w of the maximum within its input plane (return_indices). */
export function maxPool2dIndices(this: KernelThis<PoolConstants>, x: Values): number {
  const base = this.thread.z * this.constants.H * this.constants.W;
  const h0 = this.thread.y * this.constants.SH - this.constants.PH;
  const w0 = this.thread.x * this.constants.SW - this.constants.PW;
  let m = 0;
  let idx = -1;
  for (let kh = 0; kh < this.constants.KH; kh++) {
    const h = h0 + kh * this.constants.DH;
    if (h >= 0 && h < this.constants.H) {
      for (let kw = 0; kw < this.constants.KW; kw++) {
        const w = w0 + kw * this.constants.DW;
        if (w >= 0 && w < this.constants.W) {
          const v = x[base + h * this.constants.W + w]!;
          if (idx < 0 || v > m || v !== v) {
            m = v;
            idx = h * this.constants.W + w;
          }
        }
      }
    }
  }
  return idx;
}

/**
 * max_pool2d backward (the `scatterPlanes` op for a window the backend made): each input cell sums
 * the gradients of the windows that cover it and chose it.
 */
export function maxPool2dBackward(this: KernelThis<PoolConstants>, dy: Values, indices: Values): number {
  const h = this.thread.y;
  const w = this.thread.x;
  const here = h * this.constants.W + w;
  const obase = this.thread.z * this.constants.OH * this.constants.OW;
  let s = 0;
  for (let kh = 0; kh < this.constants.KH; kh++) {
    const th = h + this.constants.PH - kh * this.constants.DH;
    const oh = Math.floor(th / this.constants.SH);
    if (th >= 0 && oh * this.constants.SH === th && oh < this.constants.OH) {
      for (let kw = 0; kw < this.constants.KW; kw++) {
        const tw = w + this.constants.PW - kw * this.constants.DW;
        const ow = Math.floor(tw / this.constants.SW);
        if (tw >= 0 && ow * this.constants.SW === tw && ow < this.constants.OW) {
          const o = obase + oh * this.constants.OW + ow;
          if (indices[o] === here) s += dy[o]!;
        }
      }
    }
  }
  return s;
}

/** avg_pool2d forward: the window sum over the divisor (override, padded area, or in-image area). */
export function avgPool2dForward(this: KernelThis<PoolConstants>, x: Values): number {
  const base = this.thread.z * this.constants.H * this.constants.W;
  const hs = this.thread.y * this.constants.SH - this.constants.PH;
  const ws = this.thread.x * this.constants.SW - this.constants.PW;
  const he = Math.min(hs + this.constants.KH, this.constants.H + this.constants.PH);
  const we = Math.min(ws + this.constants.KW, this.constants.W + this.constants.PW);
  const h0 = Math.max(hs, 0);
  const w0 = Math.max(ws, 0);
  const h1 = Math.min(he, this.constants.H);
  const w1 = Math.min(we, this.constants.W);
  let s = 0;
  for (let kh = 0; kh < this.constants.KH; kh++) {
    const h = hs + kh;
    if (h >= h0 && h < h1) {
      for (let kw = 0; kw < this.constants.KW; kw++) {
        const w = ws + kw;
        if (w >= w0 && w < w1) s += x[base + h * this.constants.W + w]!;
      }
    }
  }
  let d = (h1 - h0) * (w1 - w0);
  if (this.constants.INCLUDEPAD === 1) d = (he - hs) * (we - ws);
  if (this.constants.DIVISOR !== 0) d = this.constants.DIVISOR;
  if (h0 >= h1 || w0 >= w1) return 0;
  return s / d;
}

/** avg_pool2d backward: each input cell sums dy / divisor over the windows that cover it. */
export function avgPool2dBackward(this: KernelThis<PoolConstants>, dy: Values): number {
  const h = this.thread.y;
  const w = this.thread.x;
  const obase = this.thread.z * this.constants.OH * this.constants.OW;
  let s = 0;
  for (let kh = 0; kh < this.constants.KH; kh++) {
    const th = h + this.constants.PH - kh;
    const oh = Math.floor(th / this.constants.SH);
    if (th >= 0 && oh * this.constants.SH === th && oh < this.constants.OH) {
      const hs = oh * this.constants.SH - this.constants.PH;
      const he = Math.min(hs + this.constants.KH, this.constants.H + this.constants.PH);
      const hn = Math.min(he, this.constants.H) - Math.max(hs, 0);
      for (let kw = 0; kw < this.constants.KW; kw++) {
        const tw = w + this.constants.PW - kw;
        const ow = Math.floor(tw / this.constants.SW);
        if (tw >= 0 && ow * this.constants.SW === tw && ow < this.constants.OW) {
          const ws = ow * this.constants.SW - this.constants.PW;
          const we = Math.min(ws + this.constants.KW, this.constants.W + this.constants.PW);
          let d = hn * (Math.min(we, this.constants.W) - Math.max(ws, 0));
          if (this.constants.INCLUDEPAD === 1) d = (he - hs) * (we - ws);
          if (this.constants.DIVISOR !== 0) d = this.constants.DIVISOR;
          s += dy[obase + oh * this.constants.OW + ow]! / d;
        }
      }
    }
  }
  return s;
}
