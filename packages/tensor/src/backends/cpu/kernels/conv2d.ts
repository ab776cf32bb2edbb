/**
 * conv2d forward / backward-input / backward-weight on the CPU.
 *
 * Dense and grouped convolutions run through the packed GEMM (gemm.ts) with implicit im2col:
 *  - forward:          out[co, q]  = Σ_r W[co, r] · col[r, q]        (M=Cout/g, N=batch·OH·OW, K=Cin/g·kh·kw)
 *  - backward-input:   dcol[r, q] = Σ_co W[co, r] · dy[co, q]          (M=Cin/g·kh·kw, N=batch·OH·OW, K=Cout/g),
 *                      scattered into dx by the store (fused col2im)
 *  - backward-weight:  dW[co, r]  = Σ_q dy[co, q] · col[r, q]          (M=Cout/g, N=Cin/g·kh·kw, K=batch·OH·OW)
 * where r = ci·kh·kw + i·kw + j is a tap (an im2col row) and q = n·OH·OW + oh·OW + ow runs over the whole
 * batch, so small late-layer images still make big GEMMs.
 * Convolutions with one input channel per group (depthwise, channel multiplier allowed) use direct loops (depthwise.ts).
 * Dense 3×3 stride-1 float32 convolutions wide enough to pay take Winograd, F(2×2, 3×3) or F(4×4, 3×3), forward and
 * backward-to-input (winograd.ts; setWinograd(false) or GRADLENS_WINOGRAD=0 turns it off).
 * On the WebAssembly engine the packers and stores run in the module, on its threads; tensors in the arena
 * (arena.ts) are packed from, scattered into and stored to where they lie, others pass through its staging region.
 */
import type { Conv2dGeometry, FloatArray } from './types';
import { currentFloat32Engine, depthBlock, gemm, stridedA, type GemmStore, type PackA, type PackB, type Staging } from './gemm';
import { WasmJob } from './wasm-gemm';
import {
  offsetTable,
  packPanels,
  padInput,
  padInto,
  paddedGradient,
  paddedPlanes,
  paddedSize,
  pixelOffsets,
  pixelRuns,
  scatterAdd,
  tapOffsets,
  unpadGradient,
  type PaddedPlanes,
} from './im2col';
import { depthwiseBackwardInput, depthwiseBackwardWeight, depthwiseForward, isDepthwise } from './depthwise';
import { MAX_STAGED_FLOATS } from './limits';
import { backwardInputAsForward, useWinograd, winogradConv } from './winograd';
import { keptCopy } from './resident';
import { inEngineArena } from '../storage-pool';
import { padPlanesInModule } from './arena-jobs';

/**
 * Where a packer's two offset tables live and where its loop runs: in JavaScript (`scriptLoops`, over
 * any array) or in the WebAssembly module (`stagedLoops`, over data staged in its memory). `tables`
 * returns the tables for one call; `gather` / `scatter` then run packPanels / scatterAdd with them
 * (depth or down = table 0, across or runs = table 1).
 */
interface PackLoops {
  tables(n0: number, n1: number): [Int32Array, Int32Array];
  gather(kc: number, width: number, dst: FloatArray, dstOff: number, nr: number): void;
  /** Rows are taps i0.. of `taps` per input channel (for splitting by channel across threads). */
  scatter(rows: number, nRuns: number, colStep: number, c: FloatArray, ldc: number, i0: number, taps: number): void;
}

/** The loops in JavaScript over `data`, with reused tables. */
function scriptLoops(data: FloatArray): PackLoops {
  let t0 = offsetTable(0, 0),
    t1 = offsetTable(1, 0);
  return {
    tables(n0, n1) {
      t0 = offsetTable(0, n0);
      t1 = offsetTable(1, n1);
      return [t0, t1];
    },
    gather(kc, width, dst, dstOff, nr) {
      packPanels(data, t0, kc, t1, width, dst, dstOff, nr);
    },
    scatter(rows, nRuns, colStep, c, ldc) {
      scatterAdd(data, t0, rows, t1, nRuns, colStep, c, ldc);
    },
  };
}

/** Forward B: col[r, q] = xp[tap(r) + pixel(q)] for r in the group's taps, q over batch pixels. */
function im2colB(xp: PaddedPlanes, g: Conv2dGeometry, group: number, loops: PackLoops): PackB {
  const cinG = g.inChannels / g.groups;
  return {
    pack(dst, dstOff, p0, kc, j0, cols, nr) {
      const [taps, pixels] = loops.tables(kc, cols);
      tapOffsets(taps, g, xp, p0, kc);
      inputPixels(pixels, g, xp, group * cinG, j0, cols);
      loops.gather(kc, cols, dst, dstOff, nr);
    },
  };
}

/** Backward-weight B: B(q, r) = col[r, q], q (depth) over batch pixels, r (columns) over taps. */
function im2colTransposedB(xp: PaddedPlanes, g: Conv2dGeometry, group: number, loops: PackLoops): PackB {
  const cinG = g.inChannels / g.groups;
  return {
    pack(dst, dstOff, p0, kc, j0, cols, nr) {
      const [pixels, taps] = loops.tables(kc, cols);
      inputPixels(pixels, g, xp, group * cinG, p0, kc);
      tapOffsets(taps, g, xp, j0, cols);
      loops.gather(kc, cols, dst, dstOff, nr);
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
  const loops = scriptLoops(dy);
  return {
    pack(dst, dstOff, i0, rows, p0, kc, mr) {
      const [pixels, channels] = loops.tables(kc, rows);
      dyPixels(pixels, g, p0, kc);
      channelOffsets(channels, g, group * coutG + i0, rows);
      loops.gather(kc, rows, dst, dstOff, mr);
    },
  };
}

/** dy as the right operand: B(co, q) = dy[n, group*CoutG + co, pix] (backward-input), gathered by `loops` over dy. */
function dyB(g: Conv2dGeometry, group: number, loops: PackLoops): PackB {
  const coutG = g.outChannels / g.groups;
  return {
    pack(dst, dstOff, p0, kc, j0, cols, nr) {
      const [channels, pixels] = loops.tables(kc, cols);
      channelOffsets(channels, g, group * coutG + p0, kc);
      dyPixels(pixels, g, j0, cols);
      loops.gather(kc, cols, dst, dstOff, nr);
    },
  };
}

// ---- Staging in the WebAssembly engine's memory (float32 data on the wasm engine) ----
// The staging region holds the two offset tables, of `t` ints each, at 0 and t, then the padded input
// or gradient at 2t; the loops are packPanels / scatterAdd compiled to wasm (packages/tensor/wasm/gemm_f32.c).

/** A staging region, the length t of each offset table in it, and the padded image's size after them. */
interface StagePlan {
  st: Staging;
  t: number;
  size: number;
}

/**
 * Where conv g stages its padded input or gradient (and `extra` floats after it: the weight) when `arr`
 * (the output) is float32 on an engine with staging and it fits; else null.
 */
function stagePlan(arr: FloatArray, g: Conv2dGeometry, extra: number): StagePlan | null {
  if (!(arr instanceof Float32Array)) return null;
  const st = currentFloat32Engine()?.staging;
  if (st === undefined) return null;
  const t = tableLength(g),
    size = paddedSize(g);
  return 2 * t + size + extra > MAX_STAGED_FLOATS ? null : { st, t, size };
}

/** The weight as a GEMM's left operand, A(i, p) = weight[off + i·rs + p·cs]. */
type WeightA = (off: number, rs: number, cs: number) => PackA;

/**
 * Byte addresses of what the module keeps of a weight for one direction (resident.ts: from its third use in that
 * direction), null where nothing is kept: `packed`, a dense conv's weight packed as the GEMM's A operand (no
 * packing per call), or `raw`, a grouped conv's weight as it is (packed per call from there). With neither, the
 * weight is staged per call.
 */
interface KeptWeight {
  raw: number | null;
  packed: number | null;
}

/** Nothing kept: the weight is staged (or, without staging, packed in JavaScript) per call. */
const NOTHING_KEPT: KeptWeight = { raw: null, packed: null };

let keepPacked = true;
/**
 * @internal Whether dense convs keep their weight packed (else as it is, packed per call); for A/B benchmarks.
 * Returns the previous setting.
 */
export function setPackedWeights(on: boolean): boolean {
  const prev = keepPacked;
  keepPacked = on;
  return prev;
}

/**
 * What the module keeps of `weight` for the forward direction or backward-to-input (A = weight [Cout, kdim] or its
 * transpose). Asked before the staging region is reserved (keeping a new copy may move it).
 */
function keptWeight(st: Staging, weight: FloatArray, g: Conv2dGeometry, forward: boolean): KeptWeight {
  if (!(weight instanceof Float32Array)) return NOTHING_KEPT;
  const use = forward ? 'conv2d forward' : 'conv2d backward-input';
  if (g.groups !== 1 || !keepPacked) return { raw: keptCopy(st, weight, use), packed: null };
  const kdim = g.inChannels * g.kernelHeight * g.kernelWidth;
  const [M, K, rs, cs] = forward ? [g.outChannels, kdim, kdim, 1] : [kdim, g.outChannels, 1, kdim];
  const mr = currentFloat32Engine()!.mr; // stagePlan found the engine
  const mPad = Math.ceil(M / mr) * mr,
    KC = depthBlock(K);
  // The shape and blocking are part of the variant: reshapes share one array, and the panels depend on both.
  const variant = `packed A ${M}×${K} (${rs}, ${cs}) by ${KC}, ${mr} rows`;
  const packed = st.resident(weight, variant, `${use} packed`, mPad * K, (address) => {
    st.reserve(M * K).set(weight.length === M * K ? weight : weight.subarray(0, M * K));
    for (let p0 = 0; p0 < K; p0 += KC) {
      const kc = Math.min(KC, K - p0);
      st.job(WasmJob.PackA, [st.address(0), rs, cs, 0, M, p0, kc, address + 4 * p0 * mPad], mPad / mr, 4 * M * kc);
    }
  });
  return { raw: null, packed };
}

/**
 * The weight packed by the module's threads from what is kept of it or a copy staged at `at` (after the image) when
 * the conv is staged, else by stridedA in JavaScript (the same values in the same panels). A weight kept packed is
 * read where it lies by the GEMM (`packed`); nothing packs it.
 */
function weightPacker(weight: FloatArray, plan: StagePlan | null, at: number, kept: KeptWeight): WeightA {
  if (plan === null) return (off, rs, cs) => stridedA(weight, off, rs, cs);
  const { st } = plan;
  const { packed, raw } = kept;
  if (packed !== null) {
    return () => ({
      pack() {
        throw new Error('conv2d: a weight kept packed was asked to be packed again (the GEMM blocking changed mid-call)');
      },
      packed: () => packed,
    });
  }
  if (raw === null) st.floats().set(weight, at);
  const base = (): number => raw ?? st.address(at);
  return (off, rs, cs) => ({
    pack(dst, dstOff, i0, rows, p0, kc, mr) {
      st.packA(base() + off * 4, rs, cs, i0, rows, p0, kc, dst, dstOff, mr);
    },
  });
}

/** Floats to stage after the image for the weight: none when the module keeps it. */
const stagedWeightFloats = (weight: FloatArray | undefined, kept: KeptWeight): number =>
  weight === undefined || kept.raw !== null || kept.packed !== null ? 0 : weight.length;

/** Length of each offset table: the longest depth (taps, or dy's channels), column count or run triple list any block can have. */
function tableLength(g: Conv2dGeometry): number {
  const kdim = (g.inChannels / g.groups) * g.kernelHeight * g.kernelWidth;
  const t = Math.max(kdim, g.outChannels / g.groups, g.batch * g.outHeight * g.outWidth, 3 * (g.batch * g.outHeight + 2));
  return Math.ceil(t / 16) * 16; // keeps the staged image 64-byte aligned
}

/**
 * The loops in the wasm module over the image staged at 2t, or over `source` (gathers) and `dest` (scatters) where
 * they lie (tensors in the arena: no copy), the tables at 0 and t (views fetched per call: memory growth detaches them).
 */
function stagedLoops({ st, t }: StagePlan, source?: FloatArray, dest?: FloatArray): PackLoops {
  return {
    tables(n0, n1) {
      const ints = st.ints();
      return [ints.subarray(0, n0), ints.subarray(t, t + n1)];
    },
    gather(kc, width, dst, dstOff, nr) {
      const srcAt = source === undefined ? 2 * t : (source.byteOffset - st.address(0)) / 4; // negative: the arena lies below
      st.packPanels(srcAt, 0, kc, t, width, dst, dstOff, nr);
    },
    scatter(rows, nRuns, colStep, c, ldc, i0, taps) {
      const dstAt = dest === undefined ? 2 * t : (dest.byteOffset - st.address(0)) / 4;
      st.scatterAdd(dstAt, 0, rows, t, nRuns, colStep, c, ldc, i0, taps);
    },
  };
}

/**
 * x zero-padded for the packers and the loops that gather from it: staged in the wasm memory when the
 * GEMMs producing `out` run on an engine with staging (stagePlan), else a JavaScript buffer.
 */
function paddedInput(x: FloatArray, g: Conv2dGeometry, out: FloatArray, weight?: FloatArray): [PaddedPlanes, PackLoops, WeightA | null] {
  const plan = stagePlan(out, g, weight?.length ?? 0);
  if (plan === null) {
    const xp = padInput(x, g);
    return [xp, scriptLoops(xp.data), weight === undefined ? null : weightPacker(weight, null, 0, NOTHING_KEPT)];
  }
  const kept = weight === undefined ? NOTHING_KEPT : keptWeight(plan.st, weight, g, true);
  if (g.padH === 0 && g.padW === 0 && inEngineArena(x)) {
    // Nothing to pad and already in the module's memory: the packers read x where it lies.
    const at = 2 * plan.t;
    plan.st.reserve(at + stagedWeightFloats(weight, kept));
    return [paddedPlanes(x, g), stagedLoops(plan, x), weight === undefined ? null : weightPacker(weight, plan, at, kept)];
  }
  const at = 2 * plan.t + plan.size;
  const staged = plan.st.reserve(at + stagedWeightFloats(weight, kept));
  let xp: PaddedPlanes;
  if (inEngineArena(x)) {
    padPlanesInModule(plan.st, x, g, 2 * plan.t, false); // on the module's threads
    xp = paddedPlanes(staged, g);
  } else xp = padInto(x, g, staged, 2 * plan.t);
  return [xp, stagedLoops(plan), weight === undefined ? null : weightPacker(weight, plan, at, kept)];
}

/**
 * The zeroed padded gradient col2imStore scatters into, and the loops that scatter: staged in the wasm
 * memory when the GEMMs producing dx run on an engine with staging (stagePlan), else a JavaScript
 * buffer. Taps that fall in the padding land in its border, unchecked. `unpad` copies its interior into dx after
 * the GEMMs.
 */
function paddedGradientFor(
  dx: FloatArray,
  g: Conv2dGeometry,
  weight: FloatArray,
  dy: FloatArray,
): { dxp: PaddedPlanes; loops: PackLoops; dyLoops: PackLoops; weightA: WeightA; unpad(): void } {
  const plan = stagePlan(dx, g, weight.length);
  if (plan === null) {
    const dxp = paddedGradient(dx, g);
    return {
      dxp,
      loops: scriptLoops(dxp.data),
      dyLoops: scriptLoops(dy),
      weightA: weightPacker(weight, null, 0, NOTHING_KEPT),
      unpad: () => unpadGradient(dxp, g, dx),
    };
  }
  const { st, t, size } = plan;
  const kept = keptWeight(st, weight, g, false);
  const dyLoops = inEngineArena(dy) ? stagedLoops(plan, dy) : scriptLoops(dy);
  if (g.padH === 0 && g.padW === 0 && inEngineArena(dx)) {
    // No border to drop: the module's threads scatter into dx where it lies, and nothing is copied back.
    st.reserve(2 * t + stagedWeightFloats(weight, kept));
    zeroInModule(st, dx.byteOffset, dx.length);
    const dxp = paddedPlanes(dx, g);
    return { dxp, loops: stagedLoops(plan, undefined, dx), dyLoops, weightA: weightPacker(weight, plan, 2 * t, kept), unpad: () => {} };
  }
  const dxp = paddedPlanes(st.reserve(2 * t + size + stagedWeightFloats(weight, kept)), g);
  zeroInModule(st, st.address(2 * t), size);
  const weightA = weightPacker(weight, plan, 2 * t + size, kept);
  // A staged view is fetched again for the copy back: memory growth detaches the old one.
  const unpad = inEngineArena(dx)
    ? () => padPlanesInModule(st, dx, g, 2 * t, true) // on the module's threads
    : () => unpadGradient({ ...dxp, data: st.floats().subarray(2 * t) }, g, dx);
  return { dxp, loops: stagedLoops(plan), dyLoops, weightA, unpad };
}

/** Zeros `n` floats of the module's memory from byte address `at`, on its threads (a big gradient's memset). */
function zeroInModule(st: Staging, at: number, n: number): void {
  st.job(WasmJob.Zero, [at, n], Math.ceil(n / 16), n);
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
          if (bias === null && cnt >= 16) {
            out.set(c.subarray(s, s + cnt), d); // no bias (convolutions before a BatchNorm): a memcpy
            s += cnt;
          } else for (let t = 0; t < cnt; t++) out[d++] = c[s++]! + b;
          q += cnt;
        }
      }
    },
  };
}

/**
 * The forward store on the module's threads, for an output in the arena and a bias that is none or kept resident
 * (at byte address biasAt; 0: none): outStore's values, bit for bit (gemm_f32.c's conv_store).
 */
function arenaOutStore(st: Staging, out: Float32Array, biasAt: number, g: Conv2dGeometry, group: number): GemmStore {
  const P = g.outHeight * g.outWidth;
  const coutG = g.outChannels / g.groups;
  return {
    store(c, ldc, i0, rows, j0, cols) {
      const args = [c.byteOffset, ldc, out.byteOffset, biasAt, group * coutG + i0, j0, cols, P, g.outChannels, rows];
      st.job(WasmJob.ConvStore, args, rows, 4 * rows * cols); // a value moved costs about 4 multiply-adds
    },
  };
}

/**
 * The store of a forward conv into `out`: on the module's threads when out is in the arena and its bias is none or
 * kept resident (from the bias's third use; asked before the staging region is reserved), else outStore here.
 */
function forwardStore(out: FloatArray, bias: FloatArray | null): (g: Conv2dGeometry, group: number) => GemmStore {
  const st = currentFloat32Engine()?.staging;
  if (st !== undefined && out instanceof Float32Array && inEngineArena(out)) {
    const biasAt = bias === null ? 0 : bias instanceof Float32Array ? keptCopy(st, bias, 'conv2d bias') : null;
    if (biasAt !== null) return (g, group) => arenaOutStore(st, out, biasAt, g, group);
  }
  return (g, group) => outStore(out, bias, g, group);
}

/** Backward-input store: fused col2im, dxp[tap(r) + pixel(q)] += dcol[r, q] in the padded gradient. */
function col2imStore(dxp: PaddedPlanes, g: Conv2dGeometry, group: number, loops: PackLoops): GemmStore {
  const cinG = g.inChannels / g.groups;
  return {
    store(c, ldc, i0, rows, j0, cols) {
      // Contiguous runs along output rows: the inner loop then steps by strideW with no table reads.
      const [taps, runs] = loops.tables(rows, 3 * (Math.ceil(cols / g.outWidth) + 2));
      tapOffsets(taps, g, dxp, i0, rows);
      const nRuns = pixelRuns(
        runs,
        g,
        j0,
        cols,
        group * cinG * dxp.planeLen,
        g.inChannels * dxp.planeLen,
        g.strideH * dxp.rowLen,
        g.strideW,
      );
      loops.scatter(rows, nRuns, g.strideW, c, ldc, i0, g.kernelHeight * g.kernelWidth);
    },
  };
}

/** Backward-weight store: dw[group*CoutG + co, r] = C(co, r). */
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

/** Writes conv2d(x, weight, bias) into out [N, Cout, OH, OW] (overwritten); x [N, Cin, H, W], weight [Cout, Cin/groups, kh, kw]. */
export function conv2dForward(x: FloatArray, weight: FloatArray, bias: FloatArray | null, g: Conv2dGeometry, out: FloatArray): void {
  const P = g.outHeight * g.outWidth;
  if (isDepthwise(g)) {
    depthwiseForward(x, weight, bias, g, out);
    return;
  }
  if (useWinograd(g, out)) {
    winogradConv(x, weight, bias, g, out);
    return;
  }
  const cinG = g.inChannels / g.groups;
  const coutG = g.outChannels / g.groups;
  const kdim = cinG * g.kernelHeight * g.kernelWidth;
  const store = forwardStore(out, bias); // before paddedInput reserves the staging region (a kept bias may move it)
  const [xp, loops, weightA] = paddedInput(x, g, out, weight);
  for (let group = 0; group < g.groups; group++) {
    gemm(coutG, g.batch * P, kdim, weightA!(group * coutG * kdim, kdim, 1), im2colB(xp, g, group, loops), store(g, group), {
      float32: out instanceof Float32Array,
    });
  }
}

/** Writes the gradient of conv2d with respect to its input into dx [N, Cin, H, W] (overwritten) from dy [N, Cout, OH, OW]. */
export function conv2dBackwardInput(dy: FloatArray, weight: FloatArray, g: Conv2dGeometry, dx: FloatArray): void {
  if (isDepthwise(g)) {
    depthwiseBackwardInput(dy, weight, g, dx);
    return;
  }
  const asForward = backwardInputAsForward(g);
  if (asForward !== null && useWinograd(asForward, dx)) {
    winogradConv(dy, weight, null, asForward, dx, true);
    return;
  }
  const P = g.outHeight * g.outWidth;
  const cinG = g.inChannels / g.groups;
  const coutG = g.outChannels / g.groups;
  const kdim = cinG * g.kernelHeight * g.kernelWidth;
  const { dxp, loops, dyLoops, weightA, unpad } = paddedGradientFor(dx, g, weight, dy);
  for (let group = 0; group < g.groups; group++) {
    gemm(kdim, g.batch * P, coutG, weightA(group * coutG * kdim, 1, kdim), dyB(g, group, dyLoops), col2imStore(dxp, g, group, loops), {
      float32: dx instanceof Float32Array,
    });
  }
  unpad();
}

/** Writes the gradient of conv2d with respect to its weight into dw [Cout, Cin/groups, kh, kw] (overwritten). */
export function conv2dBackwardWeight(x: FloatArray, dy: FloatArray, g: Conv2dGeometry, dw: FloatArray): void {
  if (isDepthwise(g)) {
    depthwiseBackwardWeight(x, dy, g, dw);
    return;
  }
  const P = g.outHeight * g.outWidth;
  const cinG = g.inChannels / g.groups;
  const coutG = g.outChannels / g.groups;
  const kdim = cinG * g.kernelHeight * g.kernelWidth;
  const [xp, loops] = paddedInput(x, g, dw);
  for (let group = 0; group < g.groups; group++) {
    gemm(coutG, kdim, g.batch * P, dyA(dy, g, group), im2colTransposedB(xp, g, group, loops), dwStore(dw, g, group), {
      float32: dw instanceof Float32Array,
    });
  }
}
