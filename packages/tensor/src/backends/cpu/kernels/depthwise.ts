/**
 * Depthwise convolutions (one input channel per group, channel multiplier Cout / Cin allowed) as direct
 * loops: forward, backward-input and backward-weight. Float32 data on the WebAssembly engine runs them in
 * the module (dw_forward, dw_backward_input, dw_backward_weight in packages/tensor/wasm/gemm_f32.c: SIMD
 * over output columns, planes or channels split across the threads) on a zero-padded copy staged in its
 * memory; float64 data, the TypeScript engine and convolutions too big to stage take the loops below.
 */
import type { Conv2dGeometry, FloatArray } from './types';
import { currentFloat32Engine, type Staging } from './gemm';
import { padInto, paddedPlanes, paddedSize, unpadGradient } from './im2col';
import { MAX_STAGED_FLOATS } from './limits';
import { scratch, SLOT_PLANE } from './scratch';
import { WasmJob } from './wasm-gemm';

/** True when conv g has one input channel per group (the direct loops of this file run it). */
export function isDepthwise(g: Conv2dGeometry): boolean {
  return g.groups > 1 && g.inChannels === g.groups;
}

/** Writes the depthwise conv2d(x, w, bias) into out [N, Cout, OH, OW] (overwritten). */
export function depthwiseForward(x: FloatArray, w: FloatArray, bias: FloatArray | null, g: Conv2dGeometry, out: FloatArray): void {
  const outLen = g.batch * g.outChannels * g.outHeight * g.outWidth;
  const plan = stage(out, g, outLen + w.length + (bias?.length ?? 0));
  if (plan === null) {
    forwardLoops(x, w, bias, g, out);
    return;
  }
  const { st, xpAt, at } = plan;
  const view = st.reserve(at + outLen + w.length + (bias?.length ?? 0));
  const xp = padInto(x, g, view, xpAt);
  const wAt = at + outLen,
    bAt = wAt + w.length;
  view.set(w, wAt);
  if (bias !== null) view.set(bias, bAt);
  const args = [st.address(xpAt), st.address(wAt), bias === null ? 0 : st.address(bAt), st.address(at)];
  runJob(st, WasmJob.DepthwiseForward, args, xp.rowLen, xp.planeLen, g, g.batch * g.outChannels, outLen);
  out.set(st.floats().subarray(at, at + outLen));
}

/** Writes the gradient of a depthwise conv2d with respect to its input into dx [N, Cin, H, W] (overwritten). */
export function depthwiseBackwardInput(dy: FloatArray, w: FloatArray, g: Conv2dGeometry, dx: FloatArray): void {
  const dyLen = g.batch * g.outChannels * g.outHeight * g.outWidth;
  const plan = stage(dx, g, dyLen + w.length);
  if (plan === null) {
    backwardInputLoops(dy, w, g, dx);
    return;
  }
  const { st, xpAt, at } = plan;
  const view = st.reserve(at + dyLen + w.length).fill(0, xpAt, at);
  const dxp = paddedPlanes(view, g);
  view.set(dy.subarray(0, dyLen), at);
  view.set(w, at + dyLen);
  const args = [st.address(at), st.address(at + dyLen), 0, st.address(xpAt)];
  runJob(st, WasmJob.DepthwiseBackwardInput, args, dxp.rowLen, dxp.planeLen, g, g.batch * g.inChannels, dyLen);
  unpadGradient({ ...dxp, data: st.floats().subarray(xpAt) }, g, dx);
}

/** Writes the gradient of a depthwise conv2d with respect to its weight into dw [Cout, 1, kh, kw] (overwritten). */
export function depthwiseBackwardWeight(x: FloatArray, dy: FloatArray, g: Conv2dGeometry, dw: FloatArray): void {
  const dyLen = g.batch * g.outChannels * g.outHeight * g.outWidth;
  const dwLen = g.outChannels * g.kernelHeight * g.kernelWidth;
  const plan = stage(dw, g, dyLen + dwLen);
  if (plan === null) {
    backwardWeightLoops(x, dy, g, dw);
    return;
  }
  const { st, xpAt, at } = plan;
  const view = st.reserve(at + dyLen + dwLen);
  const xp = padInto(x, g, view, xpAt);
  view.set(dy.subarray(0, dyLen), at);
  const args = [st.address(xpAt), st.address(at), 0, st.address(at + dyLen)];
  runJob(st, WasmJob.DepthwiseBackwardWeight, args, xp.rowLen, xp.planeLen, g, g.outChannels, dyLen);
  dw.set(st.floats().subarray(at + dyLen, at + dyLen + dwLen));
}

/** Floats past the padded image that the module's stride-2 vector loads may read (never used). */
const SLACK = 16;

/**
 * Where a depthwise conv stages its padded image (at xpAt = 0) and, from `at`, `extra` floats: when
 * `arr` (the result) is float32 on an engine with staging and everything fits; else null (the loops).
 */
function stage(arr: FloatArray, g: Conv2dGeometry, extra: number): { st: Staging; xpAt: number; at: number } | null {
  if (!(arr instanceof Float32Array)) return null;
  const st = currentFloat32Engine()?.staging;
  if (st === undefined) return null;
  const at = Math.ceil((paddedSize(g) + SLACK) / 16) * 16;
  return at + extra > MAX_STAGED_FLOATS ? null : { st, xpAt: 0, at };
}

/** Runs one of the module's depthwise jobs over `items` planes or channels; `outputs` elements of dy or out set the work. */
function runJob(
  st: Staging,
  id: number,
  addresses: number[],
  rowLen: number,
  planeLen: number,
  g: Conv2dGeometry,
  items: number,
  outputs: number,
): void {
  const geometry = [g.batch, g.inChannels, g.outChannels, planeLen / rowLen, rowLen, g.outHeight, g.outWidth];
  const taps = [g.kernelHeight, g.kernelWidth, g.strideH, g.strideW, g.dilationH, g.dilationW];
  st.job(id, [...addresses, ...geometry, ...taps], items, outputs * g.kernelHeight * g.kernelWidth);
}

// ---- The loops in TypeScript (float64 data, the TypeScript engine, convolutions too big to stage) ----

/** Valid output-column range [lo, hi) for which ow*stride + off lies in [0, size). */
function validRange(off: number, stride: number, size: number, outSize: number): [number, number] {
  const lo = off >= 0 ? 0 : Math.ceil(-off / stride);
  const hi = size - 1 - off < 0 ? 0 : Math.floor((size - 1 - off) / stride) + 1;
  return [Math.min(lo, outSize), Math.min(hi, outSize)];
}

function forwardLoops(x: FloatArray, w: FloatArray, bias: FloatArray | null, g: Conv2dGeometry, out: FloatArray): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, kernelHeight: kh, kernelWidth: kw, strideH: sH, strideW: sW } = g;
  const P = OH * OW,
    HW = H * W,
    mult = g.outChannels / g.groups;
  const acc = scratch(SLOT_PLANE, P);
  for (let n = 0; n < g.batch; n++) {
    for (let co = 0; co < g.outChannels; co++) {
      const plane = (n * g.inChannels + ((co / mult) | 0)) * HW;
      acc.fill(bias === null ? 0 : bias[co]!, 0, P);
      for (let ky = 0; ky < kh; ky++) {
        const offH = ky * g.dilationH - g.padH;
        const [ohLo, ohHi] = validRange(offH, sH, H, OH);
        for (let kx = 0; kx < kw; kx++) {
          const wv = w[(co * kh + ky) * kw + kx]!;
          const offW = kx * g.dilationW - g.padW;
          const [owLo, owHi] = validRange(offW, sW, W, OW);
          for (let oh = ohLo; oh < ohHi; oh++) {
            let si = plane + (oh * sH + offH) * W + owLo * sW + offW;
            const a = oh * OW;
            for (let ow = owLo; ow < owHi; ow++, si += sW) acc[a + ow] = acc[a + ow]! + wv * x[si]!;
          }
        }
      }
      const o = (n * g.outChannels + co) * P;
      for (let t = 0; t < P; t++) out[o + t] = acc[t]!;
    }
  }
}

function backwardInputLoops(dy: FloatArray, w: FloatArray, g: Conv2dGeometry, dx: FloatArray): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, kernelHeight: kh, kernelWidth: kw, strideH: sH, strideW: sW } = g;
  const P = OH * OW,
    HW = H * W,
    mult = g.outChannels / g.groups;
  const acc = scratch(SLOT_PLANE, HW);
  for (let n = 0; n < g.batch; n++) {
    for (let ci = 0; ci < g.inChannels; ci++) {
      acc.fill(0, 0, HW);
      for (let m = 0; m < mult; m++) {
        const co = ci * mult + m;
        const dyPlane = (n * g.outChannels + co) * P;
        for (let ky = 0; ky < kh; ky++) {
          const offH = ky * g.dilationH - g.padH;
          const [ohLo, ohHi] = validRange(offH, sH, H, OH);
          for (let kx = 0; kx < kw; kx++) {
            const wv = w[(co * kh + ky) * kw + kx]!;
            const offW = kx * g.dilationW - g.padW;
            const [owLo, owHi] = validRange(offW, sW, W, OW);
            for (let oh = ohLo; oh < ohHi; oh++) {
              let di = (oh * sH + offH) * W + owLo * sW + offW;
              let si = dyPlane + oh * OW + owLo;
              for (let ow = owLo; ow < owHi; ow++, di += sW) acc[di] = acc[di]! + wv * dy[si++]!;
            }
          }
        }
      }
      const o = (n * g.inChannels + ci) * HW;
      for (let t = 0; t < HW; t++) dx[o + t] = acc[t]!;
    }
  }
}

function backwardWeightLoops(x: FloatArray, dy: FloatArray, g: Conv2dGeometry, dw: FloatArray): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, kernelHeight: kh, kernelWidth: kw, strideH: sH, strideW: sW } = g;
  const P = OH * OW,
    HW = H * W,
    mult = g.outChannels / g.groups;
  for (let co = 0; co < g.outChannels; co++) {
    const ci = (co / mult) | 0;
    for (let ky = 0; ky < kh; ky++) {
      const offH = ky * g.dilationH - g.padH;
      const [ohLo, ohHi] = validRange(offH, sH, H, OH);
      for (let kx = 0; kx < kw; kx++) {
        const offW = kx * g.dilationW - g.padW;
        const [owLo, owHi] = validRange(offW, sW, W, OW);
        let sum = 0;
        for (let n = 0; n < g.batch; n++) {
          const plane = (n * g.inChannels + ci) * HW;
          const dyPlane = (n * g.outChannels + co) * P;
          for (let oh = ohLo; oh < ohHi; oh++) {
            let xi = plane + (oh * sH + offH) * W + owLo * sW + offW;
            let si = dyPlane + oh * OW + owLo;
            for (let ow = owLo; ow < owHi; ow++, xi += sW) sum += dy[si++]! * x[xi]!;
          }
        }
        dw[(co * kh + ky) * kw + kx] = sum;
      }
    }
  }
}
