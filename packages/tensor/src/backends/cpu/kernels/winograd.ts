/**
 * Winograd F(2×2, 3×3) convolution (Lavin & Gray 2016) for 3×3, stride-1, undilated, dense float32
 * convolutions: each 2×2 output tile costs 16 multiplications per channel pair instead of 36.
 *
 *   U[ξ, co, ci] = (G g Gᵀ)[ξ]       the 3×3 filter g = W[co, ci] as a 4×4 tile (ξ = 4·row + column)
 *   V[ξ, ci, t]  = (Bᵀ d Bᵀᵀ)[ξ]     the 4×4 input tile d under output tile t, zero outside the image
 *   M[ξ]         = U[ξ] · V[ξ]        16 GEMMs over the whole depth Cin (M=Cout, N=tiles, K=Cin)
 *   y tile       = Aᵀ M A + bias      the 2×2 outputs of tile t
 * All four steps run in the WebAssembly module (packages/tensor/wasm/gemm_f32.c, jobs 1–4) on data staged
 * in its memory, each split across the worker threads (filters and output channels, input channels, ξ ×
 * tile panels), so nothing but the staging copies stays on the calling thread.
 * Layouts (float offsets in the staging region): U[ξ][co panel of MR][ci][lane] (the GEMM's packed A),
 * V[ξ][tile panel of NR][ci][lane] (its packed B), M[ξ][mPad][tp].
 * Tiles run over the whole batch (t = n·tilesH·tilesW + …), in chunks that bound the V and M buffers.
 * Backward-to-input is the same kernel: for stride 1, dx = conv(dy, W flipped and transposed, pad 2 − p).
 * The transforms add and halve only, so the float32 error stays near the direct sum's (tested against float64).
 */
import type { Conv2dGeometry, FloatArray } from './types';
import { currentFloat32Engine, type Staging } from './gemm';
import { WasmJob } from './wasm-gemm';
import { MAX_STAGED_FLOATS } from './limits';

/** Floats of V plus M per chunk of tiles (32 MiB): bounds the extra memory whatever the image size. */
let chunkFloats = 1 << 23;

/** Sets the bound on V plus M floats per chunk of tiles (tests use small chunks); returns the previous one. */
export function setWinogradChunkFloats(n: number): number {
  const prev = chunkFloats;
  chunkFloats = n;
  return prev;
}
/**
 * Below these sizes the transforms cost more than the multiplications saved (one thread, CPU time,
 * 2026-12-04: 32→32 at 56×56, 64→64 at 16×16 and 512→512 at 7×7, batch 1, lost 10–60%; 64→64 at
 * 56×56 and 512→512 at 14×14 gained 1.3–1.5×, batch 32 2.1×; see benchmarks/README.md): at least 64
 * channels each side, 40 output tiles, and Cin · Cout · tiles ≥ 2²⁰ multiply-adds per transformed GEMM.
 */
const MIN_CHANNELS = 64;
const MIN_TILES = 40;
const MIN_GEMM_MACS = 1 << 20;

let enabled = true;

/** Whether 3×3 stride-1 float32 convolutions may use Winograd (default on; setWinograd(false) turns it off, as GRADLENS_WINOGRAD=0 does through the entry points). */
export function winogradEnabled(): boolean {
  return enabled;
}

/** Turns Winograd F(2×2, 3×3) for 3×3 stride-1 float32 convolutions on or off (results differ by float rounding only); returns the previous setting. */
export function setWinograd(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

/** Parses a GRADLENS_WINOGRAD value for an entry point: '1' on, '0' off, or a one-line error naming it. */
export function parseWinograd(value: string, name = 'GRADLENS_WINOGRAD'): boolean {
  if (value !== '0' && value !== '1') throw new Error(`${name} must be '0' or '1', got '${value}'`);
  return value === '1';
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
    g.inChannels >= MIN_CHANNELS &&
    g.outChannels >= MIN_CHANNELS &&
    tilesOf(g) >= MIN_TILES &&
    g.inChannels * g.outChannels * tilesOf(g) >= MIN_GEMM_MACS &&
    stagingPlan(g).total <= MAX_STAGED_FLOATS
  );
}

/** Output tiles of 2×2 over the whole batch. */
function tilesOf(g: Conv2dGeometry): number {
  return g.batch * Math.ceil(g.outHeight / 2) * Math.ceil(g.outWidth / 2);
}

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

/** Tile counts, the chunk of tiles per pass (a multiple of the GEMM's panel width) and where each buffer is staged. */
interface Plan {
  tilesH: number;
  tilesW: number;
  tiles: number;
  chunk: number;
  nr: number;
  mr: number;
  mPad: number;
  /** Float offsets in the staging region of x, the weights, the bias, y, U, V and M; total floats. */
  x: number;
  w: number;
  bias: number;
  y: number;
  u: number;
  v: number;
  m: number;
  total: number;
}

function stagingPlan(g: Conv2dGeometry): Plan {
  const { mr, nr } = currentFloat32Engine()!; // useWinograd checks there is one
  const { inChannels: CI, outChannels: CO } = g;
  const tilesH = Math.ceil(g.outHeight / 2),
    tilesW = Math.ceil(g.outWidth / 2);
  const tiles = g.batch * tilesH * tilesW;
  const mPad = Math.ceil(CO / mr) * mr;
  const perTile = 16 * (CI + mPad);
  const chunk = Math.min(Math.max(nr, Math.floor(chunkFloats / perTile / nr) * nr), Math.ceil(tiles / nr) * nr);
  const sizes = [
    g.batch * CI * g.inHeight * g.inWidth,
    CO * CI * 9,
    CO,
    g.batch * CO * g.outHeight * g.outWidth,
    16 * mPad * CI,
    16 * CI * chunk,
    16 * mPad * chunk,
  ];
  const at: number[] = [];
  let total = 0;
  for (const n of sizes) {
    at.push(total);
    total += Math.ceil(n / 16) * 16; // 64-byte aligned regions
  }
  const [x, w, bias, y, u, v, m] = at as [number, number, number, number, number, number, number];
  return { tilesH, tilesW, tiles, chunk, nr, mr, mPad, x, w, bias, y, u, v, m, total };
}

/**
 * The byte address of the transformed filter U kept resident in the module's memory (resident.ts: from the
 * weight's third use in the same direction), transformed there once; null: transform it per call. Asked
 * before the call reserves its staging region (keeping a new U may move it).
 */
function keptFilter(st: Staging, weight: FloatArray, g: Conv2dGeometry, flip: boolean, mPad: number): number | null {
  if (!(weight instanceof Float32Array)) return null;
  const { inChannels: CI, outChannels: CO } = g;
  // The shape is part of the variant: reshapes share one array (U depends on how it splits into CO × CI).
  const variant = `winograd U ${CO}×${CI}${flip ? ' flipped' : ''}`;
  const use = flip ? 'winograd backward-input' : 'winograd forward';
  return st.resident(weight, variant, use, 16 * mPad * CI, (address) => {
    st.reserve(CO * CI * 9).set(head(weight, CO * CI * 9));
    st.job(WasmJob.WinogradFilter, [st.address(0), CO, CI, flip ? 1 : 0, address, mPad], mPad, 16 * mPad * CI);
  });
}

/** The first `n` elements of a (n may be shorter than the array it views). */
const head = (a: FloatArray, n: number): FloatArray => (a.length === n ? a : a.subarray(0, n));

/**
 * Writes conv2d(x, weight, bias) into out [N, Cout, OH, OW] by Winograd F(2×2, 3×3); g must pass
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
  const p = stagingPlan(g);
  const { mPad, nr, tilesH, tilesW } = p;
  const at = (off: number): number => st.address(off);
  const yLen = g.batch * CO * OH * OW;
  const kept = keptFilter(st, weight, g, flip, mPad);
  const staged = st.reserve(p.total);
  const u = kept ?? at(p.u);
  let filterDone = (): void => {};
  if (kept === null) {
    staged.set(head(weight, CO * CI * 9), p.w);
    // The worker threads transform the filter while this thread copies the input in (disjoint regions).
    filterDone = st.startJob(WasmJob.WinogradFilter, [at(p.w), CO, CI, flip ? 1 : 0, u, mPad], mPad, 16 * mPad * CI);
  }
  staged.set(head(x, g.batch * CI * H * W), p.x);
  if (bias !== null) staged.set(head(bias, CO), p.bias);
  filterDone();
  for (let t0 = 0; t0 < p.tiles; t0 += p.chunk) {
    const count = Math.min(p.chunk, p.tiles - t0);
    const tp = Math.ceil(count / nr) * nr;
    st.job(WasmJob.WinogradInput, [at(p.x), CI, H, W, g.padH, g.padW, tilesH, tilesW, t0, count, at(p.v), tp], CI, 16 * CI * tp);
    st.job(WasmJob.WinogradGemm, [u, at(p.v), at(p.m), mPad, CI, tp], (16 * tp) / nr, 16 * mPad * CI * tp);
    const args = [at(p.m), bias === null ? 0 : at(p.bias), at(p.y), CO, OH, OW, tilesH, tilesW, t0, count, tp, mPad];
    st.job(WasmJob.WinogradOutput, args, CO, 16 * CO * tp);
  }
  out.set(st.floats().subarray(p.y, p.y + yLen));
}
