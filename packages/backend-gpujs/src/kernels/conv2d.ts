/**
 * conv2d forward, backward-input and backward-weight as gpu.js kernels.
 *
 * Each thread computes four channels of one output position and returns them as an Array(4): the
 * value it gathers from the activation (the costly, lane-varying read) is reused for four weights,
 * which are uniform across the SIMD lanes of gpu.js's WebAssembly backend (lanes run along x) and
 * across neighbouring fragments on a GPU. Channels of the last block past the group's count read
 * neighbouring (or clamped) values and are dropped when the blocks are unpacked (see pack.ts).
 */
import type { ConvConstants, KernelThis, Values } from './types';

/**
 * Forward: output [OW, OH, N·G·B] of Array(4); cell (ow, oh, (n·G + g)·B + b) holds output channels
 * g·COG + 4b … 4b+3 at (oh, ow). `bias` has CO entries (zeros when the layer has none).
 */
export function conv2dForward(this: KernelThis<ConvConstants>, x: Values, w: Values, bias: Values): number[] {
  const ow = this.thread.x;
  const oh = this.thread.y;
  const z = this.thread.z;
  const gb = this.constants.G * this.constants.B;
  const n = Math.floor(z / gb);
  const r = z - n * gb;
  const g = Math.floor(r / this.constants.B);
  const co = g * this.constants.COG + (r - g * this.constants.B) * 4;
  const wst = this.constants.CIG * this.constants.KH * this.constants.KW;
  let s0 = bias[co]!;
  let s1 = bias[co + 1]!;
  let s2 = bias[co + 2]!;
  let s3 = bias[co + 3]!;
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
          let v = 0;
          if (iw >= 0 && iw < this.constants.W) v = x[row + iw]!;
          const wi = wrow + kw;
          s0 += v * w[wi]!;
          s1 += v * w[wi + wst]!;
          s2 += v * w[wi + 2 * wst]!;
          s3 += v * w[wi + 3 * wst]!;
        }
      }
    }
  }
  return [s0, s1, s2, s3];
}

/**
 * Backward with respect to the input: output [W, H, N·G·B] of Array(4) (B = ceil(CIG/4)); cell
 * (iw, ih, (n·G + g)·B + b) holds dx for input channels g·CIG + 4b … 4b+3. Gather form: each input
 * position sums the outputs whose window covers it.
 */
export function conv2dBackwardInput(this: KernelThis<ConvConstants>, dy: Values, w: Values): number[] {
  const iw = this.thread.x;
  const ih = this.thread.y;
  const z = this.thread.z;
  const gb = this.constants.G * this.constants.B;
  const n = Math.floor(z / gb);
  const r = z - n * gb;
  const g = Math.floor(r / this.constants.B);
  const ci = (r - g * this.constants.B) * 4;
  // the weights of input channels ci … ci+3 for one tap are one kernel area apart
  const kernelArea = this.constants.KH * this.constants.KW;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
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
          let v = 0;
          if (tw >= 0 && ow * this.constants.SW === tw && ow < this.constants.OW) v = dy[row + ow]!;
          const wi = wrow + kw;
          s0 += v * w[wi]!;
          s1 += v * w[wi + kernelArea]!;
          s2 += v * w[wi + 2 * kernelArea]!;
          s3 += v * w[wi + 3 * kernelArea]!;
        }
      }
    }
  }
  return [s0, s1, s2, s3];
}

/**
 * Backward with respect to the weight: output [CIG, KH·KW, G·B] of Array(4); cell (ci, kh·KW + kw,
 * g·B + b) holds dw for output channels g·COG + 4b … 4b+3. Each thread reduces over the batch and the
 * output plane; the gradient it reads is uniform across lanes (which run along ci), the input is gathered.
 */
export function conv2dBackwardWeight(this: KernelThis<ConvConstants>, x: Values, dy: Values): number[] {
  const ci = this.thread.x;
  const kh = Math.floor(this.thread.y / this.constants.KW);
  const kw = this.thread.y - kh * this.constants.KW;
  const g = Math.floor(this.thread.z / this.constants.B);
  const co = g * this.constants.COG + (this.thread.z - g * this.constants.B) * 4;
  const ost = this.constants.OH * this.constants.OW;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
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
          if (iw >= 0 && iw < this.constants.W) {
            const v = x[row + iw]!;
            const o = orow + ow;
            s0 += v * dy[o]!;
            s1 += v * dy[o + ost]!;
            s2 += v * dy[o + 2 * ost]!;
            s3 += v * dy[o + 3 * ost]!;
          }
        }
      }
    }
  }
  return [s0, s1, s2, s3];
}
