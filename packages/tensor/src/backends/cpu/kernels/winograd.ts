/**
 * Winograd convolution (Lavin & Gray 2016) for 3×3, stride-1, undilated, dense float32 convolutions, in two
 * sizes: F(2×2, 3×3) (4×4 input tiles, 16 multiplications per 2×2 outputs and channel pair instead of 36)
 * and F(4×4, 3×3) (6×6 input tiles, 36 per 4×4 outputs instead of 144: 1.78× fewer than F(2×2)).
 *
 *   U[ξ, co, ci] = (G g Gᵀ)[ξ]       the 3×3 filter g = W[co, ci] as an α×α tile (α = 4 or 6, ξ = α·row + column)
 *   V[ξ, ci, t]  = (Bᵀ d B)[ξ]       the α×α input tile d under output tile t, zero outside the image
 *   M[ξ]         = U[ξ] · V[ξ]        α² GEMMs over the whole depth Cin (M=Cout, N=tiles, K=Cin)
 *   y tile       = Aᵀ M A + bias      the outputs of tile t (2×2 or 4×4)
 * All four steps run in the WebAssembly module (packages/tensor/wasm/gemm_f32.c: jobs 1, 2 and 4 transform for
 * F(2×2), 13–15 for F(4×4), job 3 multiplies for both) on data staged in its memory, each split across the worker
 * threads (filters and output channels, input channels, ξ × tile panels), so nothing but the staging copies stays
 * on the calling thread.
 * Layouts (float offsets in the staging region): U[ξ][co panel of MR][ci][lane] (the GEMM's packed A),
 * V[ξ][tile panel of NR][ci][lane] (its packed B), M[ξ][mPad][tp], with U's, V's and M's ξ blocks an odd number of
 * cache lines apart (blockStride).
 * Tiles run over the whole batch (t = n·tilesH·tilesW + …), in chunks that bound the V and M buffers.
 * Backward-to-input is the same kernel: for stride 1, dx = conv(dy, W flipped and transposed, pad 2 − p).
 * F(2×2)'s transforms add and halve only, so its float32 error stays near the direct sum's. F(4×4)'s multiply by
 * up to 8 and make the products larger than the result; with the points 0, ±1, ½, −2 and its products summed in
 * 16-channel blocks its error is 3–7× im2col's (10–30× with the usual points and whole-depth sums; both tested
 * against float64). F(4×4) is taken where its fewer multiplications pay for the wider transforms and the padding
 * of partial tiles (chooseTile).
 */
import type { Conv2dGeometry, FloatArray } from './types';
import { currentFloat32Engine, type Staging } from './gemm';
import { WasmJob } from './wasm-gemm';
import { MAX_STAGED_FLOATS } from './limits';
import { inEngineArena } from '../storage-pool';

/** Floats of V plus M per chunk of tiles (32 MiB): bounds the extra memory whatever the image size. */
let chunkFloats = 1 << 23;

/** Sets the bound on V plus M floats per chunk of tiles (tests use small chunks); returns the previous one. */
export function setWinogradChunkFloats(n: number): number {
  const prev = chunkFloats;
  chunkFloats = n;
  return prev;
}

/**
 * Floats of input plus output staged at once (64 MiB): a bigger batch runs in groups of images, so the module's
 * memory (which never shrinks) holds a group's activations, not the batch's (a batch of 32 at 224×224 with 64
 * channels stages 411 MB each way), and a batch of any size can take Winograd.
 */
let groupFloats = 1 << 24;

/**
 * What one transformed value costs in the GEMM's multiply-adds, for the threads' split (jobs under 2¹⁸ multiply-adds
 * run whole on the calling thread): about 4 ns a value (strided tile loads) against 0.04 ns a multiply-add. Counted
 * as one, the input and output transforms of ResNet50's 14×14 and 7×7 layers ran on one thread (18 ms a pass).
 */
const TRANSFORM_COST = 64;

/** Sets the bound on input plus output floats staged per group of images (tests use small groups); returns the previous one. */
export function setWinogradGroupFloats(n: number): number {
  const prev = groupFloats;
  groupFloats = n;
  return prev;
}
/**
 * Below these sizes the transforms cost more than the multiplications saved. Re-measured on the final kernels
 * (benchmarks/winograd-layers.js, forward + backward-input, batch 1, 1 and 2 threads, 2026-12-06): F(2×2) beat
 * im2col at every shape with 16 or more channels each side, down to 512→512 at 7×7 (21.3 → 11.3 ms on 1 thread,
 * 15.7 → 6.5 on 2), 64→64 at 7×7 and 512→512 at 3×3 (4 tiles); it lost at 3→64 (a first layer: 21.9 → 35.1 ms)
 * and tied at 32→32 on 14×14 (50 K multiply-adds per transformed GEMM). The thresholds of 2026-12-04 (64
 * channels, 40 tiles, 2²⁰ multiply-adds), set before the transforms became jobs on the threads, kept ResNet's
 * 7×7 layers on im2col.
 */
const MIN_CHANNELS = 16;
const MIN_TILES = 4;
const MIN_GEMM_MACS = 1 << 16;
/** The thresholds of 2026-12-04, for A/B benchmarks (setSmallLayerWinograd(false)). */
const OLD_MINIMUMS = { channels: 64, tiles: 40, macs: 1 << 20 };
let minimums = { channels: MIN_CHANNELS, tiles: MIN_TILES, macs: MIN_GEMM_MACS };

/**
 * @internal Whether the small layers the current thresholds added (16–63 channels, 4–39 tiles, GEMMs from 2¹⁶
 * multiply-adds) take Winograd; off restores the thresholds of 2026-12-04. For benchmarks/ab.js. Returns the
 * previous setting.
 */
export function setSmallLayerWinograd(on: boolean): boolean {
  const prev = minimums.channels === MIN_CHANNELS;
  minimums = on ? { channels: MIN_CHANNELS, tiles: MIN_TILES, macs: MIN_GEMM_MACS } : OLD_MINIMUMS;
  return prev;
}

let enabled = true;

/** Whether 3×3 stride-1 float32 convolutions may use Winograd (default on; setWinograd(false) turns it off, as GRADLENS_WINOGRAD=0 does through the entry points; setWinogradTile picks the size). */
export function winogradEnabled(): boolean {
  return enabled;
}

/** Turns Winograd (F(2×2, 3×3) or F(4×4, 3×3), chosen per layer) for 3×3 stride-1 float32 convolutions on or off (results differ by float rounding only); returns the previous setting. */
export function setWinograd(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

/** Output tile size: 2 for F(2×2, 3×3), 4 for F(4×4, 3×3). */
export type WinogradTile = 2 | 4;
let forcedTile: WinogradTile | null = null;

/**
 * Which Winograd size every Winograd convolution takes: null (the default) chooses per layer (chooseTile), 2
 * keeps to F(2×2, 3×3), whose float32 error is near im2col's, 4 takes F(4×4, 3×3) wherever Winograd runs (tests,
 * A/B benchmarks). Returns the previous setting.
 */
export function setWinogradTile(tile: WinogradTile | null): WinogradTile | null {
  if (tile !== null && tile !== 2 && tile !== 4) throw new Error(`setWinogradTile: expected 2, 4 or null, got ${String(tile)}`);
  const prev = forcedTile;
  forcedTile = tile;
  return prev;
}

/** Fewest 4×4 output tiles for F(4×4): below it F(2×2)'s smaller tiles waste less padding (batch 1 below 13×13 outputs). */
const MIN_TILES4 = 16;

/**
 * The tile size for a convolution that passes useWinograd. F(4×4) ran 1.2–1.5× faster than F(2×2) on VGG16's
 * layers and 1.1–1.3× on ResNet's 56×56 to 14×14 ones (14×14 pads to 16 in 4×4 tiles), 1 and 2 threads,
 * 2026-12-05 (benchmarks/winograd-layers.js); with fewer than 16 tiles F(2×2) is kept.
 */
export function chooseTile(g: Conv2dGeometry): WinogradTile {
  if (forcedTile !== null) return forcedTile;
  return tilesOf(g, 4) >= MIN_TILES4 ? 4 : 2;
}

/** A GRADLENS_WINOGRAD setting: off, on (sizes chosen per layer), or on with one size. */
export interface WinogradSetting {
  on: boolean;
  tile: WinogradTile | null;
}

/**
 * Parses a GRADLENS_WINOGRAD value for an entry point: '0' off, '1' on (F(4×4) or F(2×2) per layer), '2' F(2×2)
 * only, '4' F(4×4) wherever Winograd runs; else a one-line error naming it.
 */
export function parseWinograd(value: string, name = 'GRADLENS_WINOGRAD'): WinogradSetting {
  switch (value) {
    case '0':
      return { on: false, tile: null };
    case '1':
      return { on: true, tile: null };
    case '2':
      return { on: true, tile: 2 };
    case '4':
      return { on: true, tile: 4 };
    default:
      throw new Error(`${name} must be '0' (off), '1' (on), '2' (F(2×2) only) or '4' (F(4×4) only), got '${value}'`);
  }
}

/** Whether conv g (as a forward convolution writing `out`) runs on Winograd: enabled, 3×3, stride 1, undilated, dense, float32 on the float32 GEMM engine, wide enough. */
export function useWinograd(g: Conv2dGeometry, out: FloatArray): boolean {
  return (
    out instanceof Float32Array &&
    winogradEnabled() &&
    currentFloat32Engine()?.staging !== undefined &&
    g.kernelHeight === 3 &&
    g.kernelWidth === 3 &&
    g.strideH === 1 &&
    g.strideW === 1 &&
    g.dilationH === 1 &&
    g.dilationW === 1 &&
    g.groups === 1 &&
    g.inChannels >= minimums.channels &&
    g.outChannels >= minimums.channels &&
    tilesOf(g) >= minimums.tiles &&
    g.inChannels * g.outChannels * tilesOf(g) >= minimums.macs &&
    stagingPlan(g, VARIANTS[chooseTile(g)]).total <= MAX_STAGED_FLOATS
  );
}

/** Output tiles of `m`×`m` over the whole batch (2×2 unless said). */
function tilesOf(g: Conv2dGeometry, m: WinogradTile = 2): number {
  return g.batch * Math.ceil(g.outHeight / m) * Math.ceil(g.outWidth / m);
}

/**
 * One Winograd size: its output tile, its α² transformed positions, the channels its products sum before adding
 * to the running total (gemm_f32.c wino_gemm; 0: the whole depth) and the module's jobs for its transforms.
 */
interface Variant {
  m: WinogradTile;
  xis: number;
  depthBlock: number;
  filterJob: number;
  inputJob: number;
  outputJob: number;
}
const VARIANTS: Record<WinogradTile, Variant> = {
  2: {
    m: 2,
    xis: 16,
    depthBlock: 0,
    filterJob: WasmJob.WinogradFilter,
    inputJob: WasmJob.WinogradInput,
    outputJob: WasmJob.WinogradOutput,
  },
  4: {
    m: 4,
    xis: 36,
    depthBlock: 16,
    filterJob: WasmJob.Winograd4Filter,
    inputJob: WasmJob.Winograd4Input,
    outputJob: WasmJob.Winograd4Output,
  },
};

/** The geometry of backward-to-input as a forward convolution of dy (stride 1, pad 2 − p), or null when a padding above 2 makes it no convolution. */
export function backwardInputAsForward(g: Conv2dGeometry): Conv2dGeometry | null {
  if (g.padH > 2 || g.padW > 2) return null;
  return {
    ...g,
    inChannels: g.outChannels,
    outChannels: g.inChannels,
    inHeight: g.outHeight,
    inWidth: g.outWidth,
    padH: 2 - g.padH,
    padW: 2 - g.padW,
    outHeight: g.inHeight,
    outWidth: g.inWidth,
  };
}

/**
 * Images per group, tile counts, the chunk of tiles per pass (a multiple of the GEMM's panel width), U's ξ stride
 * and where each buffer is staged.
 */
interface Plan {
  group: number;
  tilesH: number;
  tilesW: number;
  chunk: number;
  nr: number;
  mr: number;
  mPad: number;
  uStride: number;
  /** Float offsets in the staging region of a group's x, the weights, the bias, a group's y, U, V and M; total floats. */
  x: number;
  w: number;
  bias: number;
  y: number;
  u: number;
  v: number;
  m: number;
  total: number;
}

function stagingPlan(g: Conv2dGeometry, { m: tile, xis }: Variant): Plan {
  const { mr, nr } = currentFloat32Engine()!; // useWinograd checks there is one
  const { inChannels: CI, outChannels: CO } = g;
  const perImage = CI * g.inHeight * g.inWidth + CO * g.outHeight * g.outWidth;
  const group = Math.max(1, Math.min(g.batch, Math.floor(groupFloats / perImage)));
  const tilesH = Math.ceil(g.outHeight / tile),
    tilesW = Math.ceil(g.outWidth / tile);
  const tiles = group * tilesH * tilesW;
  const mPad = Math.ceil(CO / mr) * mr;
  const uStride = blockStride(mPad * CI);
  const perTile = xis * (CI + mPad);
  const chunk = Math.min(Math.max(nr, Math.floor(chunkFloats / perTile / nr) * nr), Math.ceil(tiles / nr) * nr);
  const sizes = [
    group * CI * g.inHeight * g.inWidth,
    CO * CI * 9,
    CO,
    group * CO * g.outHeight * g.outWidth,
    xis * uStride,
    xis * (CI * chunk + 32),
    xis * (mPad * chunk + 32),
  ];
  const at: number[] = [];
  let total = 0;
  for (const n of sizes) {
    at.push(total);
    total += Math.ceil(n / 16) * 16; // 64-byte aligned regions
  }
  const [x, w, bias, y, u, v, m] = at as [number, number, number, number, number, number, number];
  return { group, tilesH, tilesW, chunk, nr, mr, mPad, uStride, x, w, bias, y, u, v, m, total };
}

/**
 * The byte address of the transformed filter U kept resident in the module's memory (resident.ts: from the
 * weight's third use in the same direction), transformed there once; null: transform it per call. Asked
 * before the call reserves its staging region (keeping a new U may move it).
 */
function keptFilter(st: Staging, weight: FloatArray, g: Conv2dGeometry, flip: boolean, { mPad, uStride }: Plan, v: Variant): number | null {
  if (!(weight instanceof Float32Array)) return null;
  const { inChannels: CI, outChannels: CO } = g;
  // The shape is part of the variant: reshapes share one array (U depends on how it splits into CO × CI).
  const variant = `winograd F(${v.m}×${v.m}) U ${CO}×${CI}${flip ? ' flipped' : ''}`;
  const use = flip ? 'winograd backward-input' : 'winograd forward';
  return st.resident(weight, variant, use, v.xis * uStride, (address) => {
    st.reserve(CO * CI * 9).set(head(weight, CO * CI * 9));
    st.job(v.filterJob, [st.address(0), CO, CI, flip ? 1 : 0, address, mPad, uStride], mPad, v.xis * mPad * CI);
  });
}

/**
 * Floats from one ξ's block of U, V or M to the next for blocks of n floats: 64-byte aligned and an odd number of
 * 64-byte lines, so the α² streams the transforms read or write at once fall in different cache sets (at a
 * multiple of 4 KiB, as 64 channels × 8k tiles is, F(4×4)'s 36 streams evicted each other: its output
 * transform ran 4× slower on two threads than on one).
 */
function blockStride(n: number): number {
  const lines = Math.ceil(n / 16);
  return 16 * (lines % 2 === 1 ? lines : lines + 1);
}

/** The first `n` elements of a (n may be shorter than the array it views). */
const head = (a: FloatArray, n: number): FloatArray => (a.length === n ? a : a.subarray(0, n));

/**
 * Writes conv2d(x, weight, bias) into out [N, Cout, OH, OW] by Winograd (F(2×2) or F(4×4): chooseTile); g must pass
 * useWinograd. With `flip`, weight is the forward convolution's [Cin′ = Cout, Cout′ = Cin, 3, 3]
 * (backward-to-input: see backwardInputAsForward) and is read flipped and transposed.
 */
export function winogradConv(
  x: FloatArray,
  weight: FloatArray,
  bias: FloatArray | null,
  g: Conv2dGeometry,
  out: FloatArray,
  flip = false,
): void {
  const { inChannels: CI, outChannels: CO, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const st: Staging = currentFloat32Engine()!.staging!;
  const v = VARIANTS[chooseTile(g)];
  const p = stagingPlan(g, v);
  const { mPad, nr, tilesH, tilesW, uStride } = p;
  const { xis } = v;
  const at = (off: number): number => st.address(off);
  const kept = keptFilter(st, weight, g, flip, p, v);
  const staged = st.reserve(p.total);
  const u = kept ?? at(p.u);
  let filterDone = (): void => {};
  if (kept === null) {
    staged.set(head(weight, CO * CI * 9), p.w);
    // The worker threads transform the filter while this thread copies the input in (disjoint regions).
    filterDone = st.startJob(v.filterJob, [at(p.w), CO, CI, flip ? 1 : 0, u, mPad, uStride], mPad, xis * mPad * CI);
  }
  if (bias !== null) staged.set(head(bias, CO), p.bias);
  // Each group of images: staged in, its tiles in chunks, copied out. Tiles are independent, so results do not
  // depend on the grouping. A tensor in the arena is read or written where it lies instead (no copy on this thread).
  const xImage = CI * H * W,
    yImage = CO * OH * OW;
  const xInPlace = inEngineArena(x),
    yInPlace = inEngineArena(out);
  for (let n0 = 0; n0 < g.batch; n0 += p.group) {
    const images = Math.min(p.group, g.batch - n0);
    if (!xInPlace) staged.set(x.subarray(n0 * xImage, (n0 + images) * xImage), p.x);
    const xAt = xInPlace ? x.byteOffset + 4 * n0 * xImage : at(p.x),
      yAt = yInPlace ? out.byteOffset + 4 * n0 * yImage : at(p.y);
    filterDone(); // the first group's input was copied in while the threads transformed the filter
    filterDone = () => {};
    const tiles = images * tilesH * tilesW;
    for (let t0 = 0; t0 < tiles; t0 += p.chunk) {
      const count = Math.min(p.chunk, tiles - t0);
      const tp = Math.ceil(count / nr) * nr;
      const vStride = blockStride(CI * tp),
        mStride = blockStride(mPad * tp);
      st.job(
        v.inputJob,
        [xAt, CI, H, W, g.padH, g.padW, tilesH, tilesW, t0, count, at(p.v), tp, vStride],
        CI,
        TRANSFORM_COST * xis * CI * tp,
      );
      const gemmArgs = [u, at(p.v), at(p.m), mPad, CI, tp, xis, uStride, vStride, mStride, v.depthBlock || CI];
      st.job(WasmJob.WinogradGemm, gemmArgs, (xis * tp) / nr, xis * mPad * CI * tp);
      const args = [at(p.m), bias === null ? 0 : at(p.bias), yAt, CO, OH, OW, tilesH, tilesW, t0, count, tp, mStride];
      st.job(v.outputJob, args, CO, TRANSFORM_COST * xis * CO * tp);
    }
    if (!yInPlace) out.set(st.floats().subarray(p.y, p.y + images * yImage), n0 * yImage);
  }
}
