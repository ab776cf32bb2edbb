/**
 * conv2d forward, backward-input and backward-weight, and matmul, with one output value per thread: the
 * form gpu.js's WebGPU mode runs (it cannot take an Array(4) result as another kernel's input, so the
 * four-channel kernels of conv2d.ts and matmul.ts could not be unpacked on the device there). Each
 * result is row-major as it stands: no unpacking.
 */
import type { MatmulConstants } from './matmul';
import type { ConvConstants, KernelThis, Values } from './types';

/** Forward: output [OW, OH, N·CO], i.e. row-major [N, CO, OH, OW]. `bias` has CO entries. */
export function conv2dForwardSingle(this: KernelThis<ConvConstants>, x: Values, w: Values, bias: Values): number {
  const ow = this.thread.x;
  const oh = this.thread.y;
  const n = Math.floor(this.thread.z / this.constants.CO);
  const co = this.thread.z - n * this.constants.CO;
  const g = Math.floor(co / this.constants.COG);
  let s = bias[co]!;
  const h0 = oh * this.constants.SH - this.constants.PH;
  const w0 = ow * this.constants.SW - this.constants.PW;
  for (let ci = 0; ci < this.constants.CIG; ci++) {
    const plane = (n * this.constants.C + g * this.constants.CIG + ci) * this.constants.H;
    for (let kh = 0; kh < this.constants.KH; kh++) {
      const ih = h0 + kh * this.constants.DH;
      if (ih >= 0 && ih < this.constants.H) {
        const row = (plane + ih) * this.constants.W;
        const wrow = ((co * this.constants.CIG + ci) * this.constants.KH + kh) * this.constants.KW;
        for (let kw = 0; kw < this.constants.KW; kw++) {
          const iw = w0 + kw * this.constants.DW;
          if (iw >= 0 && iw < this.constants.W) s += x[row + iw]! * w[wrow + kw]!;
        }
      }
    }
  }
  return s;
}

/** Backward with respect to the input: output [W, H, N·C], i.e. row-major [N, C, H, W] (gather form). */
export function conv2dBackwardInputSingle(this: KernelThis<ConvConstants>, dy: Values, w: Values): number {
  const iw = this.thread.x;
  const ih = this.thread.y;
  const n = Math.floor(this.thread.z / this.constants.C);
  const cAll = this.thread.z - n * this.constants.C;
  const g = Math.floor(cAll / this.constants.CIG);
  const ci = cAll - g * this.constants.CIG;
  let s = 0;
  for (let c = 0; c < this.constants.COG; c++) {
    const co = g * this.constants.COG + c;
    const plane = (n * this.constants.CO + co) * this.constants.OH;
    for (let kh = 0; kh < this.constants.KH; kh++) {
      const th = ih + this.constants.PH - kh * this.constants.DH;
      const oh = Math.floor(th / this.constants.SH);
      if (th >= 0 && oh * this.constants.SH === th && oh < this.constants.OH) {
        const row = (plane + oh) * this.constants.OW;
        const wrow = ((co * this.constants.CIG + ci) * this.constants.KH + kh) * this.constants.KW;
        for (let kw = 0; kw < this.constants.KW; kw++) {
          const tw = iw + this.constants.PW - kw * this.constants.DW;
          const ow = Math.floor(tw / this.constants.SW);
          if (tw >= 0 && ow * this.constants.SW === tw && ow < this.constants.OW) s += dy[row + ow]! * w[wrow + kw]!;
        }
      }
    }
  }
  return s;
}

/** Backward with respect to the weight: output [KH·KW, CIG, CO], i.e. row-major [CO, CIG, KH, KW]. */
export function conv2dBackwardWeightSingle(this: KernelThis<ConvConstants>, x: Values, dy: Values): number {
  const kh = Math.floor(this.thread.x / this.constants.KW);
  const kw = this.thread.x - kh * this.constants.KW;
  const ci = this.thread.y;
  const co = this.thread.z;
  const g = Math.floor(co / this.constants.COG);
  let s = 0;
  for (let n = 0; n < this.constants.N; n++) {
    const plane = (n * this.constants.C + g * this.constants.CIG + ci) * this.constants.H;
    const oplane = (n * this.constants.CO + co) * this.constants.OH;
    for (let oh = 0; oh < this.constants.OH; oh++) {
      const ih = oh * this.constants.SH - this.constants.PH + kh * this.constants.DH;
      if (ih >= 0 && ih < this.constants.H) {
        const row = (plane + ih) * this.constants.W;
        const orow = (oplane + oh) * this.constants.OW;
        for (let ow = 0; ow < this.constants.OW; ow++) {
          const iw = ow * this.constants.SW - this.constants.PW + kw * this.constants.DW;
          if (iw >= 0 && iw < this.constants.W) s += x[row + iw]! * dy[orow + ow]!;
        }
      }
    }
  }
  return s;
}

/** Batched matmul (and linear, with a bias): output [N, M, batch], i.e. row-major [batch, M, N]. */
export function matmulSingle(this: KernelThis<MatmulConstants>, a: Values, b: Values, bias: Values): number {
  const j = this.thread.x;
  const i = this.thread.y;
  const batch = this.thread.z;
  let aRow = this.constants.K;
  let aK = 1;
  if (this.constants.TA === 1) {
    aRow = 1;
    aK = this.constants.M;
  }
  let bK = this.constants.N;
  let bCol = 1;
  if (this.constants.TB === 1) {
    bK = 1;
    bCol = this.constants.K;
  }
  const a0 = batch * this.constants.ASTRIDE + i * aRow;
  const b0 = batch * this.constants.BSTRIDE + j * bCol;
  let s = bias[j]!;
  for (let k = 0; k < this.constants.K; k++) s += a[a0 + k * aK]! * b[b0 + k * bK]!;
  return s;
}
