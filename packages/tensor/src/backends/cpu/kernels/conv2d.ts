/**
 * conv2d forward / backward-input / backward-weight on the CPU.
 *
 * Dense and grouped convolutions run through the packed GEMM (gemm.ts) with implicit im2col:
 *  - forward:          out[co, q]  = Σ_kk W[co, kk] · col[kk, q]        (M=Cout/g, N=batch·OH·OW, K=Cin/g·kh·kw)
 *  - backward-input:   dcol[kk, q] = Σ_co W[co, kk] · dy[co, q]          (M=Cin/g·kh·kw, N=batch·OH·OW, K=Cout/g),
 *                      scattered into dx by the store (fused col2im)
 *  - backward-weight:  dW[co, kk]  = Σ_q dy[co, q] · col[kk, q]          (M=Cout/g, N=Cin/g·kh·kw, K=batch·OH·OW)
 * where q = n·OH·OW + oh·OW + ow runs over the whole batch, so small late-layer images still make big GEMMs.
 * Convolutions with one input channel per group (depthwise, channel multiplier allowed) use direct loops.
 */
import type { Conv2dGeometry, FloatArray } from './types';
import { activeFloat32Engine, gemm, stridedA, type GemmStore, type PackA, type PackB, type Staging } from './gemm';
import {
  offsetTable, packPanels, padInput, padInto, paddedGradient, paddedPlanes, paddedSize, pixelOffsets, pixelRuns, scatterAdd, tapOffsets, unpadGradient,
  type PaddedPlanes,
} from './im2col';
import { scratch, SLOT_PLANE } from './scratch';

function isDirect(g: Conv2dGeometry): boolean {
  return g.groups > 1 && g.inChannels === g.groups;
}

/** Forward B: col[kk, q] = xp[tap(kk) + pixel(q)] for kk in the group's taps, q over batch pixels. */
function im2colB(xp: PaddedPlanes, g: Conv2dGeometry, group: number): PackB {
  const cinG = g.inChannels / g.groups;
  return {
    pack(dst, dstOff, p0, kc, j0, cols, nr) {
      const taps = tapOffsets(offsetTable(0, kc), g, xp, p0, kc);
      const pixels = inputPixels(offsetTable(1, cols), g, xp, group * cinG, j0, cols);
      packPanels(xp.data, taps, kc, pixels, cols, dst, dstOff, nr);
    },
  };
}

/** Backward-weight B: B(q, kk) = col[kk, q], q (depth) over batch pixels, kk (columns) over taps. */
function im2colTransposedB(xp: PaddedPlanes, g: Conv2dGeometry, group: number): PackB {
  const cinG = g.inChannels / g.groups;
  return {
    pack(dst, dstOff, p0, kc, j0, cols, nr) {
      const pixels = inputPixels(offsetTable(0, kc), g, xp, group * cinG, p0, kc);
      const taps = tapOffsets(offsetTable(1, cols), g, xp, j0, cols);
      packPanels(xp.data, pixels, kc, taps, cols, dst, dstOff, nr);
    },
  };
}

/** Offsets in the padded input of the top-left tap of batch pixels q0.., channel c0 of each image. */
function inputPixels(t: Int32Array, g: Conv2dGeometry, xp: PaddedPlanes, c0: number, q0: number, count: number): Int32Array {
  return pixelOffsets(t, g, q0, count, c0 * xp.planeLen, g.inChannels * xp.planeLen, g.strideH * xp.rowLen, g.strideW);
}

/** Offsets in dy of batch pixels q0.. (channel 0 of each image). */
function dyPixels(t: Int32Array, g: Conv2dGeometry, q0: number, count: number): Int32Array {
  const P = g.outHeight * g.outWidth;
  return pixelOffsets(t, g, q0, count, 0, g.outChannels * P, g.outWidth, 1);
}

/** Offsets in dy of planes co0 .. co0+count-1: co·OH·OW. */
function channelOffsets(t: Int32Array, g: Conv2dGeometry, co0: number, count: number): Int32Array {
  const P = g.outHeight * g.outWidth;
  for (let i = 0; i < count; i++) t[i] = (co0 + i) * P;
  return t;
}

/** dy as the left operand: A(co, q) = dy[n, group*CoutG + co, pix] (backward-weight). */
function dyA(dy: FloatArray, g: Conv2dGeometry, group: number): PackA {
  const coutG = g.outChannels / g.groups;
  return {
    pack(dst, dstOff, i0, rows, p0, kc, mr) {
      const pixels = dyPixels(offsetTable(0, kc), g, p0, kc);
      const channels = channelOffsets(offsetTable(1, rows), g, group * coutG + i0, rows);
      packPanels(dy, pixels, kc, channels, rows, dst, dstOff, mr);
    },
  };
}

/** dy as the right operand: B(co, q) = dy[n, group*CoutG + co, pix] (backward-input). */
function dyB(dy: FloatArray, g: Conv2dGeometry, group: number): PackB {
  const coutG = g.outChannels / g.groups;
  return {
    pack(dst, dstOff, p0, kc, j0, cols, nr) {
      const channels = channelOffsets(offsetTable(0, kc), g, group * coutG + p0, kc);
      const pixels = dyPixels(offsetTable(1, cols), g, j0, cols);
      packPanels(dy, channels, kc, pixels, cols, dst, dstOff, nr);
    },
  };
}

// ---- Packers and stores that run in the WebAssembly engine's memory (float32 on the wasm engine) ----
// The staging region holds two offset tables of `t` ints at 0 and t, then the padded input or gradient
// at 2t; the loops are packPanels / scatterAdd compiled to wasm (packages/tensor/wasm/gemm_f32.c).

/**
 * Largest staged input (offset tables included, in floats) a conv puts in the wasm memory: 256 Mi
 * floats = 1 GiB. wasm32 memory cannot pass 4 GiB and cannot shrink, so a bigger input takes the
 * JavaScript packers (same results) instead of failing in memory.grow.
 */
export const MAX_STAGED_FLOATS = 1 << 28;

/** The wasm engine's staging region when the GEMMs for `arr` (the output) will run on it and `floats` fit, else null. */
function stagingFor(arr: FloatArray, floats: number): Staging | null {
  if (!(arr instanceof Float32Array) || floats > MAX_STAGED_FLOATS) return null;
  return activeFloat32Engine()?.staging ?? null;
}

/** Length of each offset table: the longest depth, column count or run triple list any block can have. */
function tableLength(g: Conv2dGeometry): number {
  const kdim = (g.inChannels / g.groups) * g.kernelHeight * g.kernelWidth;
  const t = Math.max(kdim, g.batch * g.outHeight * g.outWidth, 3 * (g.batch * g.outHeight + 2));
  return Math.ceil(t / 16) * 16; // keeps the staged image 64-byte aligned
}

/** Forward B from the staged padded input at 2t (see im2colB). */
function stagedIm2colB(st: Staging, t: number, xp: PaddedPlanes, g: Conv2dGeometry, group: number): PackB {
  const cinG = g.inChannels / g.groups;
  return {
    pack(dst, dstOff, p0, kc, j0, cols, nr) {
      const ints = st.ints();
      tapOffsets(ints, g, xp, p0, kc);
      inputPixels(ints.subarray(t, t + cols), g, xp, group * cinG, j0, cols);
      st.packPanels(2 * t, 0, kc, t, cols, dst, dstOff, nr);
    },
  };
}

/** Backward-weight B from the staged padded input at 2t (see im2colTransposedB). */
function stagedIm2colTransposedB(st: Staging, t: number, xp: PaddedPlanes, g: Conv2dGeometry, group: number): PackB {
  const cinG = g.inChannels / g.groups;
  return {
    pack(dst, dstOff, p0, kc, j0, cols, nr) {
      const ints = st.ints();
      inputPixels(ints, g, xp, group * cinG, p0, kc);
      tapOffsets(ints.subarray(t, t + cols), g, xp, j0, cols);
      st.packPanels(2 * t, 0, kc, t, cols, dst, dstOff, nr);
    },
  };
}

/** Backward-input store into the staged padded gradient at 2t (see col2imStore). */
function stagedCol2imStore(st: Staging, t: number, dxp: PaddedPlanes, g: Conv2dGeometry, group: number): GemmStore {
  const cinG = g.inChannels / g.groups;
  return {
    store(c, ldc, i0, rows, j0, cols) {
      const ints = st.ints();
      tapOffsets(ints, g, dxp, i0, rows);
      const nRuns = pixelRuns(ints.subarray(t), g, j0, cols, group * cinG * dxp.planeLen, g.inChannels * dxp.planeLen, g.strideH * dxp.rowLen, g.strideW);
      st.scatterAdd(2 * t, 0, rows, t, nRuns, g.strideW, c, ldc);
    },
  };
}

/** Forward store: out[n, group*CoutG + co, pix] = C(co, q) + bias. */
function outStore(out: FloatArray, bias: FloatArray | null, g: Conv2dGeometry, group: number): GemmStore {
  const P = g.outHeight * g.outWidth;
  const coutG = g.outChannels / g.groups;
  return {
    store(c, ldc, i0, rows, j0, cols) {
      for (let i = 0; i < rows; i++) {
        const co = group * coutG + i0 + i;
        const b = bias === null ? 0 : bias[co]!;
        let q = j0;
        const qEnd = j0 + cols;
        let s = i * ldc;
        while (q < qEnd) {
          const n = (q / P) | 0;
          const pix = q - n * P;
          const cnt = Math.min(P - pix, qEnd - q);
          let d = (n * g.outChannels + co) * P + pix;
          for (let t = 0; t < cnt; t++) out[d++] = c[s++]! + b;
          q += cnt;
        }
      }
    },
  };
}

/** Backward-input store: fused col2im, dxp[tap(kk) + pixel(q)] += dcol[kk, q] in the padded gradient. */
function col2imStore(dxp: PaddedPlanes, g: Conv2dGeometry, group: number): GemmStore {
  const cinG = g.inChannels / g.groups;
  return {
    store(c, ldc, i0, rows, j0, cols) {
      const taps = tapOffsets(offsetTable(0, rows), g, dxp, i0, rows);
      // Contiguous runs along output rows: the inner loop then steps by strideW with no table reads.
      const runs = offsetTable(1, 3 * (Math.ceil(cols / g.outWidth) + 2));
      const nRuns = pixelRuns(runs, g, j0, cols, group * cinG * dxp.planeLen, g.inChannels * dxp.planeLen, g.strideH * dxp.rowLen, g.strideW);
      scatterAdd(dxp.data, taps, rows, runs, nRuns, g.strideW, c, ldc);
    },
  };
}

/** Backward-weight store: dw[group*CoutG + co, kk] = C(co, kk). */
function dwStore(dw: FloatArray, g: Conv2dGeometry, group: number): GemmStore {
  const kdim = (g.inChannels / g.groups) * g.kernelHeight * g.kernelWidth;
  const coutG = g.outChannels / g.groups;
  return {
    store(c, ldc, i0, rows, j0, cols) {
      for (let i = 0; i < rows; i++) {
        let d = (group * coutG + i0 + i) * kdim + j0;
        let s = i * ldc;
        for (let j = 0; j < cols; j++) dw[d++] = c[s++]!;
      }
    },
  };
}

/** Valid output-column range [lo, hi) for which ow*stride + off lies in [0, size). */
function validRange(off: number, stride: number, size: number, outSize: number): [number, number] {
  const lo = off >= 0 ? 0 : Math.ceil(-off / stride);
  const hi = size - 1 - off < 0 ? 0 : Math.floor((size - 1 - off) / stride) + 1;
  return [Math.min(lo, outSize), Math.min(hi, outSize)];
}

/** Writes conv2d(x, weight, bias) into out [N, Cout, OH, OW] (overwritten); x [N, Cin, H, W], weight [Cout, Cin/groups, kh, kw]. */
export function conv2dForward(x: FloatArray, weight: FloatArray, bias: FloatArray | null, g: Conv2dGeometry, out: FloatArray): void {
  const P = g.outHeight * g.outWidth;
  if (isDirect(g)) {
    depthwiseForward(x, weight, bias, g, out);
    return;
  }
  const cinG = g.inChannels / g.groups;
  const coutG = g.outChannels / g.groups;
  const kdim = cinG * g.kernelHeight * g.kernelWidth;
  const st = stagingFor(out, 2 * tableLength(g) + paddedSize(g));
  if (st !== null) {
    // Stage the padded input in the engine's memory once; the packers then run in wasm.
    const t = tableLength(g);
    const xs = padInto(x, g, st.reserve(2 * t + paddedSize(g)), 2 * t);
    for (let group = 0; group < g.groups; group++) {
      gemm(coutG, g.batch * P, kdim, stridedA(weight, group * coutG * kdim, kdim, 1), stagedIm2colB(st, t, xs, g, group), outStore(out, bias, g, group), { float32: true });
    }
    return;
  }
  const xp = padInput(x, g);
  for (let group = 0; group < g.groups; group++) {
    gemm(coutG, g.batch * P, kdim, stridedA(weight, group * coutG * kdim, kdim, 1), im2colB(xp, g, group), outStore(out, bias, g, group), { float32: out instanceof Float32Array });
  }
}

/** Writes the gradient of conv2d with respect to its input into dx [N, Cin, H, W] (overwritten) from dy [N, Cout, OH, OW]. */
export function conv2dBackwardInput(dy: FloatArray, weight: FloatArray, g: Conv2dGeometry, dx: FloatArray): void {
  if (isDirect(g)) {
    dx.fill(0, 0, g.batch * g.inChannels * g.inHeight * g.inWidth);
    depthwiseBackwardInput(dy, weight, g, dx);
    return;
  }
  const P = g.outHeight * g.outWidth;
  const cinG = g.inChannels / g.groups;
  const coutG = g.outChannels / g.groups;
  const kdim = cinG * g.kernelHeight * g.kernelWidth;
  const st = stagingFor(dx, 2 * tableLength(g) + paddedSize(g));
  if (st !== null) {
    // Scatter in wasm into a zeroed padded gradient staged in the engine's memory, then copy it out.
    const t = tableLength(g);
    const size = paddedSize(g);
    const dxs = paddedPlanes(st.reserve(2 * t + size).fill(0, 2 * t, 2 * t + size), g);
    for (let group = 0; group < g.groups; group++) {
      gemm(kdim, g.batch * P, coutG, stridedA(weight, group * coutG * kdim, 1, kdim), dyB(dy, g, group), stagedCol2imStore(st, t, dxs, g, group), { float32: true });
    }
    unpadGradient({ ...dxs, data: st.floats().subarray(2 * t) }, g, dx);
    return;
  }
  // Scatter into a zero-bordered buffer: taps that fall in the padding land in the border, unchecked.
  const dxp = paddedGradient(dx, g);
  for (let group = 0; group < g.groups; group++) {
    gemm(kdim, g.batch * P, coutG, stridedA(weight, group * coutG * kdim, 1, kdim), dyB(dy, g, group), col2imStore(dxp, g, group), { float32: dx instanceof Float32Array });
  }
  unpadGradient(dxp, g, dx);
}

/** Writes the gradient of conv2d with respect to its weight into dw [Cout, Cin/groups, kh, kw] (overwritten). */
export function conv2dBackwardWeight(x: FloatArray, dy: FloatArray, g: Conv2dGeometry, dw: FloatArray): void {
  if (isDirect(g)) {
    depthwiseBackwardWeight(x, dy, g, dw);
    return;
  }
  const P = g.outHeight * g.outWidth;
  const cinG = g.inChannels / g.groups;
  const coutG = g.outChannels / g.groups;
  const kdim = cinG * g.kernelHeight * g.kernelWidth;
  const st = stagingFor(dw, 2 * tableLength(g) + paddedSize(g));
  if (st !== null) {
    const t = tableLength(g);
    const xs = padInto(x, g, st.reserve(2 * t + paddedSize(g)), 2 * t);
    for (let group = 0; group < g.groups; group++) {
      gemm(coutG, kdim, g.batch * P, dyA(dy, g, group), stagedIm2colTransposedB(st, t, xs, g, group), dwStore(dw, g, group), { float32: true });
    }
    return;
  }
  const xp = padInput(x, g);
  for (let group = 0; group < g.groups; group++) {
    gemm(coutG, kdim, g.batch * P, dyA(dy, g, group), im2colTransposedB(xp, g, group), dwStore(dw, g, group), { float32: dw instanceof Float32Array });
  }
}

// ---- Direct loops for one input channel per group (depthwise, with channel multiplier) ----

function depthwiseForward(x: FloatArray, w: FloatArray, bias: FloatArray | null, g: Conv2dGeometry, out: FloatArray): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, kernelHeight: kh, kernelWidth: kw, strideH: sH, strideW: sW } = g;
  const P = OH * OW, HW = H * W, mult = g.outChannels / g.groups;
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

function depthwiseBackwardInput(dy: FloatArray, w: FloatArray, g: Conv2dGeometry, dx: FloatArray): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, kernelHeight: kh, kernelWidth: kw, strideH: sH, strideW: sW } = g;
  const P = OH * OW, HW = H * W, mult = g.outChannels / g.groups;
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

function depthwiseBackwardWeight(x: FloatArray, dy: FloatArray, g: Conv2dGeometry, dw: FloatArray): void {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, kernelHeight: kh, kernelWidth: kw, strideH: sH, strideW: sW } = g;
  const P = OH * OW, HW = H * W, mult = g.outChannels / g.groups;
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
