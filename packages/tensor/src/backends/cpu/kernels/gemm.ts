/**
 * Packed, cache-blocked GEMM (Goto/BLIS style).
 *
 * C[M,N] = A[M,K] · B[K,N], where A and B are not arrays but packers: each operand copies a block of
 * itself into contiguous panels. That lets convolution pack straight from the image (implicit
 * im2col) and scatter straight into its output (fused col2im), with one GEMM driver for everything.
 *
 * Packed layouts:
 *  - A block (rows i0.., depth p0..p0+kc): panels of MR rows; element (i, p) of panel r at
 *    r*kc*MR + p*MR + (i - r*MR). Rows past the end are zero.
 *  - B block (depth p0..p0+kc, columns j0..): panels of NR columns; element (p, j) of panel s at
 *    s*kc*NR + p*NR + (j - s*NR). Columns past the end are zero.
 * A panel engine multiplies every A panel of a block by every B panel into an (MR·panels)×(NR·panels)
 * workspace; finished workspace blocks go to a store callback, which converts to the output dtype and
 * layout. Two engines:
 *  - float64 panels with a JavaScript micro-kernel (`setMicroKernel`): float64 data, and float32 data
 *    when no float32 engine is installed;
 *  - float32 panels in WebAssembly memory with a SIMD macro-kernel (wasm-gemm.ts), installed by default
 *    for float32 data where WebAssembly SIMD is available (`setFloat32Engine`).
 *
 * Parallel split: an engine with `depth` (the WebAssembly one) runs each row block over all of depth at
 * once and splits its B panels across worker threads sharing its memory (threads/job-pool.ts). The packers and
 * stores are called here, on the calling thread; the WebAssembly ones (conv2d.ts) run their loops as jobs on the
 * threads too, and a packer may hand over A packed and kept by an earlier call (`PackA.packed`).
 */
import { THIN, thinMatmul, type ThinProduct } from './thin';
import { thinMatmulStaged } from './thin-staged';
import { moduleOperands } from './matmul-module';
import type { FloatArray, MatmulOptions } from './types';
import { scratch, SLOT_PACK_A, SLOT_PACK_B, SLOT_TILE } from './scratch';
import { arenaBytesHere, createWasmFloat32Engine, DEFAULT_ARENA_BYTES, MAX_ARENA_BYTES, wasmSimdUnavailableReason } from './wasm-gemm';
import type { TensorArena } from './arena';

/** A register-blocked MR×NR micro-kernel over packed panels. */
export interface MicroKernel {
  readonly mr: number;
  readonly nr: number;
  /**
   * c[cOff + i*ldc + j] (=|+=) Σ_p ap[aOff + p*mr + i] * bp[bOff + p*nr + j] for i < mr, j < nr;
   * assigns when `accumulate` is false, adds otherwise.
   */
  run(
    kc: number,
    ap: Float64Array,
    aOff: number,
    bp: Float64Array,
    bOff: number,
    c: Float64Array,
    cOff: number,
    ldc: number,
    accumulate: boolean,
  ): void;
}

/** Packs a block of the left operand into MR-row panels (see the layout above). */
export interface PackA {
  pack(dst: FloatArray, dstOff: number, i0: number, rows: number, p0: number, kc: number, mr: number): void;
  /**
   * Optional: the byte address in the engine's memory of all of A already packed as `gemm` packs it (depth block p0
   * at p0·mPad, blocks of `depthBlock(K)`), kept from an earlier call; null when it is not (then `pack` runs).
   */
  packed?(mPad: number, KC: number): number | null;
}

/** The depth of gemm's packed blocks for a depth K: K split into equal blocks of at most blocking.kc (576 → 3×192, not 256+256+64). */
export function depthBlock(K: number): number {
  return Math.ceil(K / Math.max(1, Math.ceil(K / blocking.kc)));
}

/** Packs a block of the right operand into NR-column panels (see the layout above). */
export interface PackB {
  pack(dst: FloatArray, dstOff: number, p0: number, kc: number, j0: number, cols: number, nr: number): void;
  /**
   * Optional: the byte address in the engine's memory of all of B (K × N) already packed as `gemm` packs it, kept
   * from an earlier call: column block j0 at j0·K (blocks of `columnBlock(K, nr)` columns), depth block p0 within it
   * at p0·ncPad (blocks of `depthBlock(K)`); null when it is not (then `pack` runs).
   */
  packed?(K: number, N: number): number | null;
}

/** The columns of gemm's packed B blocks for a depth K: about blocking.bBlock values, whole panels, within bounds. */
export function columnBlock(K: number, nr: number): number {
  const nc = Math.floor(blocking.bBlock / Math.max(K, 1) / nr) * nr;
  return Math.min(blocking.ncMax, Math.max(nr * 4, nc));
}

/** Receives a finished block: C(i0+i, j0+j) = c[i*ldc + j] for i < rows, j < cols. */
export interface GemmStore {
  store(c: FloatArray, ldc: number, i0: number, rows: number, j0: number, cols: number): void;
}

/** The 4×4 JavaScript micro-kernel: 16 accumulators in locals, k innermost over packed panels. */
export const jsMicroKernel4x4: MicroKernel = {
  mr: 4,
  nr: 4,
  run(kc, ap, aOff, bp, bOff, c, cOff, ldc, accumulate) {
    let c00 = 0,
      c01 = 0,
      c02 = 0,
      c03 = 0;
    let c10 = 0,
      c11 = 0,
      c12 = 0,
      c13 = 0;
    let c20 = 0,
      c21 = 0,
      c22 = 0,
      c23 = 0;
    let c30 = 0,
      c31 = 0,
      c32 = 0,
      c33 = 0;
    let ai = aOff;
    let bi = bOff;
    for (let p = 0; p < kc; p++) {
      const a0 = ap[ai]!,
        a1 = ap[ai + 1]!,
        a2 = ap[ai + 2]!,
        a3 = ap[ai + 3]!;
      const b0 = bp[bi]!,
        b1 = bp[bi + 1]!,
        b2 = bp[bi + 2]!,
        b3 = bp[bi + 3]!;
      c00 += a0 * b0;
      c01 += a0 * b1;
      c02 += a0 * b2;
      c03 += a0 * b3;
      c10 += a1 * b0;
      c11 += a1 * b1;
      c12 += a1 * b2;
      c13 += a1 * b3;
      c20 += a2 * b0;
      c21 += a2 * b1;
      c22 += a2 * b2;
      c23 += a2 * b3;
      c30 += a3 * b0;
      c31 += a3 * b1;
      c32 += a3 * b2;
      c33 += a3 * b3;
      ai += 4;
      bi += 4;
    }
    const r0 = cOff,
      r1 = cOff + ldc,
      r2 = r1 + ldc,
      r3 = r2 + ldc;
    if (accumulate) {
      c[r0] = c[r0]! + c00;
      c[r0 + 1] = c[r0 + 1]! + c01;
      c[r0 + 2] = c[r0 + 2]! + c02;
      c[r0 + 3] = c[r0 + 3]! + c03;
      c[r1] = c[r1]! + c10;
      c[r1 + 1] = c[r1 + 1]! + c11;
      c[r1 + 2] = c[r1 + 2]! + c12;
      c[r1 + 3] = c[r1 + 3]! + c13;
      c[r2] = c[r2]! + c20;
      c[r2 + 1] = c[r2 + 1]! + c21;
      c[r2 + 2] = c[r2 + 2]! + c22;
      c[r2 + 3] = c[r2 + 3]! + c23;
      c[r3] = c[r3]! + c30;
      c[r3 + 1] = c[r3 + 1]! + c31;
      c[r3 + 2] = c[r3 + 2]! + c32;
      c[r3 + 3] = c[r3 + 3]! + c33;
    } else {
      c[r0] = c00;
      c[r0 + 1] = c01;
      c[r0 + 2] = c02;
      c[r0 + 3] = c03;
      c[r1] = c10;
      c[r1 + 1] = c11;
      c[r1 + 2] = c12;
      c[r1 + 3] = c13;
      c[r2] = c20;
      c[r2 + 1] = c21;
      c[r2 + 2] = c22;
      c[r2 + 3] = c23;
      c[r3] = c30;
      c[r3 + 1] = c31;
      c[r3 + 2] = c32;
      c[r3 + 3] = c33;
    }
  },
};

let micro: MicroKernel = jsMicroKernel4x4;

/** Replaces the float64 GEMM micro-kernel; returns the previous one. */
export function setMicroKernel(k: MicroKernel): MicroKernel {
  const prev = micro;
  micro = k;
  return prev;
}

/** Packed panels and the workspace of one GEMM call, in the precision of an engine. */
export interface PanelBuffers {
  a: FloatArray;
  b: FloatArray;
  c: FloatArray;
}

/**
 * A region of a WebAssembly engine's memory below its panels, where a caller stages data (an input,
 * offset tables) for packers and stores that run in the module. Offsets are in elements from the
 * region's start; its contents survive `buffers` calls, but views must be refetched after them
 * (growing the memory detaches old views).
 */
export interface Staging {
  /** Reserves `floats` elements (contents unspecified) and returns a view of them; panels go above. */
  reserve(floats: number): Float32Array;
  /** Fresh float32 and int32 views of the reserved region. */
  floats(): Float32Array;
  ints(): Int32Array;
  /** A fresh float32 view of the whole module memory (element = byte address ÷ 4). */
  memory(): Float32Array;
  /**
   * The byte address of `variant` of `key` (`floats` values) kept resident in the module's memory, made by
   * `fill(address)` on the third call from `use` since the array last changed; null when it is not kept
   * (resident.ts). Call it before `reserve`: keeping a new copy may move the staging region.
   */
  resident(key: Float32Array, variant: string, use: string, floats: number, fill: (address: number) => void): number | null;
  /** im2col.ts's packPanels on staged src and tables, into dst (a view of the engine's panels). */
  packPanels(
    srcAt: number,
    depthAt: number,
    kc: number,
    acrossAt: number,
    width: number,
    dst: FloatArray,
    dstOff: number,
    nr: number,
  ): void;
  /**
   * im2col.ts's scatterAdd into staged dst, from c (the engine's workspace), for a block whose first row is tap i0 of
   * `taps` per input channel: split across the threads by channel (the rows of one channel overlap in dst).
   */
  scatterAdd(
    dstAt: number,
    downAt: number,
    rows: number,
    runsAt: number,
    nRuns: number,
    colStep: number,
    c: FloatArray,
    ldc: number,
    i0: number,
    taps: number,
  ): void;
  /** gemm.ts's stridedA over data at byte address srcAddress (staged or resident): A panels of `mr` rows into dst (a view of the engine's panels). */
  packA(
    srcAddress: number,
    rs: number,
    cs: number,
    i0: number,
    rows: number,
    p0: number,
    kc: number,
    dst: FloatArray,
    dstOff: number,
    mr: number,
  ): void;
  /** The byte address in the module's memory of staged element `at` (for job arguments). */
  address(at: number): number;
  /**
   * Runs one of the module's jobs (wasm-gemm.ts's WasmJob) on staged data with `args` (ints, addresses
   * from `address`), split by its `items` across the threads when `work` is large enough.
   */
  job(id: number, args: readonly number[], items: number, work: number): void;
  /**
   * `job`, started on the worker threads without waiting: returns the function that finishes it (the caller
   * claims the parts left, then waits), to call before the next job. Between the two the caller may stage
   * data the job does not read. Without worker threads (or with too little work) the job runs whole here first.
   */
  startJob(id: number, args: readonly number[], items: number, work: number): () => void;
}

/**
 * Multiplies whole packed blocks: for every B panel s < sPanels and A panel r < rPanels,
 * c[r*mr*ldc + s*nr + i*ldc + j] (=|+=) Σ_p a[aOff + r*kc*mr + p*mr + i] · b[bOff + s*kc*nr + p*nr + j].
 */
export interface PanelEngine {
  readonly name: string;
  readonly mr: number;
  readonly nr: number;
  /** Buffers of at least these sizes (elements); valid until the next call of `buffers`. */
  buffers(aSize: number, bSize: number, cSize: number): PanelBuffers;
  block(kc: number, rPanels: number, sPanels: number, aOff: number, bOff: number, ldc: number, accumulate: boolean): void;
  /** Engines in WebAssembly memory: a staging region for packers that run in the module. */
  readonly staging?: Staging;
  /**
   * Optional: the workspace for A row block i0 (rPanels panels) times every B panel, over all of depth
   * K in blocks of KC — `block` for p0 = 0, KC, … with the same offsets as the driver, so results are
   * the same — possibly on several threads. ldc is the padded column count.
   */
  depth?(
    K: number,
    KC: number,
    mPad: number,
    i0: number,
    rPanels: number,
    sPanels: number,
    ldc: number,
    aAddress?: number,
    bAddress?: number,
  ): void;
  /** Optional: how many threads `depth` uses. */
  threads?(): number;
  /** Engines whose memory worker threads share: where kernel outputs live so that the threads reach them (arena.ts). */
  readonly arena?: TensorArena;
}

/** The float64 engine: JavaScript panels in scratch buffers, driven through the micro-kernel. */
const float64Engine: PanelEngine = (() => {
  let bufs: PanelBuffers = { a: new Float64Array(0), b: new Float64Array(0), c: new Float64Array(0) };
  return {
    name: 'js-float64',
    get mr() {
      return micro.mr;
    },
    get nr() {
      return micro.nr;
    },
    buffers(aSize, bSize, cSize) {
      bufs = { a: scratch(SLOT_PACK_A, aSize), b: scratch(SLOT_PACK_B, bSize), c: scratch(SLOT_TILE, cSize) };
      return bufs;
    },
    block(kc, rPanels, sPanels, aOff, bOff, ldc, accumulate) {
      const mk = micro;
      const { mr, nr } = mk;
      const ap = bufs.a as Float64Array,
        bp = bufs.b as Float64Array,
        cw = bufs.c as Float64Array;
      for (let s = 0, bo = bOff; s < sPanels; s++, bo += kc * nr) {
        for (let r = 0, ao = aOff, co = s * nr; r < rPanels; r++, ao += kc * mr, co += mr * ldc) {
          mk.run(kc, ap, ao, bp, bo, cw, co, ldc, accumulate);
        }
      }
    },
  };
})();

/** undefined until the first float32 GEMM (or a call below) chooses the default. */
let float32Engine: PanelEngine | null | undefined;
let float32Fallback = '';
/** The WebAssembly engine, made once (its memory and worker threads are kept for the process). */
let wasmEngine: PanelEngine | undefined;
/** What setCpuGemmEngine last chose. */
let chosen: CpuGemmEngine = 'wasm';

/** The default float32 engine: WebAssembly SIMD where the runtime has it (else float32 data uses the float64 engine, and why is kept). */
function defaultFloat32Engine(): PanelEngine | null {
  const reason = wasmSimdUnavailableReason();
  if (reason !== null) {
    float32Fallback = reason;
    return null;
  }
  wasmEngine ??= createWasmFloat32Engine(arenaSize);
  return wasmEngine;
}

let arenaSize = DEFAULT_ARENA_BYTES;

/**
 * Sets the size in bytes of the tensor arena (Node only: float32 and int32 kernel outputs in the WebAssembly memory,
 * where the worker threads reach them; default 1 GiB, virtual until touched; 0: none, every output an ordinary
 * array on the serial paths). It is reserved when the engine starts, so it must be set before the first float32
 * kernel runs (the CLI and tests: GRADLENS_ARENA_MB through applyCpuEnvironment); afterwards only the size the
 * engine has is accepted.
 */
export function setTensorArenaSize(bytes: number): void {
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > MAX_ARENA_BYTES)
    throw new Error(`setTensorArenaSize: expected a whole number of bytes from 0 to ${MAX_ARENA_BYTES} (3 GiB), got ${bytes}`);
  if (wasmEngine !== undefined && tensorArenaSize() !== arenaBytesHere(bytes))
    throw new Error(
      `setTensorArenaSize: the WebAssembly engine already started with a ${Math.round(tensorArenaSize() / 2 ** 20)} MiB arena; set the size before the first float32 kernel runs (GRADLENS_ARENA_MB at start-up)`,
    );
  arenaSize = bytes;
}

/** The tensor arena's size in bytes: the running engine's, else the one it will start with (0 where there is none, as in browsers). */
export function tensorArenaSize(): number {
  return wasmEngine !== undefined ? (wasmEngine.arena?.capacity ?? 0) : arenaBytesHere(arenaSize);
}

/** Parses a GRADLENS_ARENA_MB value for an entry point: whole MiB from 0 to 3072, or a one-line error naming it. */
export function parseArenaMiB(value: string, name = 'GRADLENS_ARENA_MB'): number {
  const mib = Number(value);
  if (!/^\d+$/.test(value.trim()) || mib > MAX_ARENA_BYTES / 2 ** 20)
    throw new Error(`${name} must be a whole number of MiB from 0 to ${MAX_ARENA_BYTES / 2 ** 20}, got '${value}'`);
  return mib * 2 ** 20;
}

/** The float32 GEMM engines by name: 'wasm' (WebAssembly SIMD, the default where the runtime has it) and 'js' (the float64 TypeScript kernel). */
export type CpuGemmEngine = 'wasm' | 'js';

/**
 * Selects the engine of float32 GEMMs (what the CLI and the tests do with GRADLENS_CPU_GEMM; the core
 * reads no environment): 'js' runs them on the float64 TypeScript kernel, 'wasm' on WebAssembly SIMD
 * (still the float64 kernel, with the reason in getBackendInfo(), where the runtime lacks it). Returns
 * the previous choice.
 */
export function setCpuGemmEngine(name: CpuGemmEngine): CpuGemmEngine {
  const prev = chosen;
  if (name === 'js') {
    float32Engine = null;
    float32Fallback = "set by setCpuGemmEngine('js')";
  } else if (name === 'wasm') float32Engine = defaultFloat32Engine();
  else throw new Error(`setCpuGemmEngine: expected 'wasm' or 'js', got '${String(name)}'`);
  chosen = name;
  return prev;
}

/** Parses a GRADLENS_CPU_GEMM value for an entry point: 'wasm' or 'js', or a one-line error naming it. */
export function parseCpuGemmEngine(value: string, name = 'GRADLENS_CPU_GEMM'): CpuGemmEngine {
  if (value !== 'wasm' && value !== 'js') throw new Error(`${name} must be 'wasm' or 'js', got '${value}'`);
  return value;
}

/** The WebAssembly engine's tensor arena, once that engine is made and has one (views it made are given back to it). */
export function madeTensorArena(): TensorArena | null {
  return wasmEngine?.arena ?? null;
}

/** The engine float32 GEMMs run on now (null: the float64 engine). */
export function currentFloat32Engine(): PanelEngine | null {
  if (float32Engine === undefined) float32Engine = defaultFloat32Engine();
  return float32Engine;
}

/**
 * Sets the engine for float32 GEMMs (null: float32 data goes through the float64 engine, as float64
 * data always does); returns the previous one.
 */
export function setFloat32Engine(e: PanelEngine | null): PanelEngine | null {
  const prev = currentFloat32Engine();
  float32Engine = e;
  float32Fallback = e === null ? 'set by setFloat32Engine(null)' : '';
  return prev;
}

/** The engine float32 GEMMs use, why it is the float64 one when it is, and how many threads it runs on. */
export function float32GemmInfo(): { engine: string; fallback: string; threads: number } {
  const e = currentFloat32Engine();
  return { engine: (e ?? float64Engine).name, fallback: e === null ? float32Fallback : '', threads: e?.threads?.() ?? 1 };
}

/** Options of `gemm`. */
export interface GemmOptions {
  /** The operands and the output are float32: use the float32 engine if one is installed. */
  float32?: boolean;
  /** Column range [jBegin, jEnd) of C to compute (default: all). */
  jBegin?: number;
  jEnd?: number;
}

/** Cache blocking of the GEMM driver (in values: float32 or doubles, as the engine's); see setGemmBlocking. */
export interface GemmBlocking {
  /** Depth of a packed block: one A and one B micro-panel (kc*mr and kc*nr values) stay in L1. */
  kc: number;
  /** Rows of A per block: an mc×kc block of packed A stays in L2. */
  mc: number;
  /**
   * Target size of the packed B column block (K × nc values), kept in L2/L3. Every thread's share of a row block
   * reads that block's whole A (mc × K), so with a deep K a small B block left each share a few columns to
   * amortise that read over: 2¹⁸ rather than 2¹⁷ took ResNet18's batch-1 pass 3–7% faster on 2 threads
   * (benchmarks/README.md).
   */
  bBlock: number;
  /** Upper bound on nc. */
  ncMax: number;
}

const blocking: GemmBlocking = { kc: 256, mc: 128, bBlock: 1 << 18, ncMax: 4096 };

/** Overrides some GEMM blocking parameters (for tuning on a given CPU); returns the previous ones. */
export function setGemmBlocking(b: Partial<GemmBlocking>): GemmBlocking {
  const prev = { ...blocking };
  Object.assign(blocking, b);
  return prev;
}

/**
 * Runs C = A·B (columns [jBegin, jEnd)) through the packers and the store callback.
 * Each block of C is delivered exactly once to `store`; with K = 0 it is delivered as zeros.
 */
export function gemm(M: number, N: number, K: number, a: PackA, b: PackB, out: GemmStore, options: GemmOptions = {}): void {
  const jBegin = options.jBegin ?? 0;
  const jEnd = options.jEnd ?? N;
  if (M <= 0 || jEnd <= jBegin) return;
  const engine = (options.float32 === true ? currentFloat32Engine() : null) ?? float64Engine;
  const mr = engine.mr;
  const nr = engine.nr;
  const mPad = Math.ceil(M / mr) * mr;
  const KC = depthBlock(K);
  const MC = blocking.mc;
  const nc = columnBlock(K, nr);
  const ncPadMax = Math.ceil(Math.min(nc, jEnd - jBegin) / nr) * nr;
  const mc = Math.max(mr, Math.floor(MC / mr) * mr);
  const { a: ap, b: bp, c: cw } = engine.buffers(Math.max(mPad * K, 1), Math.max(K * ncPadMax, 1), Math.min(mc, mPad) * ncPadMax);

  // Pack all of A once (block p0 at p0*mPad); it is reused by every column block. An engine that runs whole depths
  // may read a copy packed and kept by an earlier call instead.
  const packedA = engine.depth !== undefined ? (a.packed?.(mPad, KC) ?? null) : null;
  for (let p0 = 0; p0 < K && packedA === null; p0 += KC) {
    const kc = Math.min(KC, K - p0);
    a.pack(ap, p0 * mPad, 0, M, p0, kc, mr);
  }

  // Likewise all of B, kept packed by an earlier call (whole rows of column blocks only).
  const packedB = engine.depth !== undefined && jBegin === 0 && jEnd === N ? (b.packed?.(K, N) ?? null) : null;
  for (let j0 = jBegin; j0 < jEnd; j0 += nc) {
    const cols = Math.min(nc, jEnd - j0);
    const ncPad = Math.ceil(cols / nr) * nr;
    for (let p0 = 0; p0 < K && packedB === null; p0 += KC) {
      const kc = Math.min(KC, K - p0);
      b.pack(bp, p0 * ncPad, p0, kc, j0, cols, nr);
    }
    const bAddress = packedB === null ? undefined : packedB + 4 * j0 * K;
    for (let i0 = 0; i0 < M; i0 += mc) {
      const rows = Math.min(mc, M - i0);
      const rPanels = Math.ceil(rows / mr);
      if (K === 0) cw.fill(0, 0, rPanels * mr * ncPad);
      else if (engine.depth !== undefined) engine.depth(K, KC, mPad, i0, rPanels, ncPad / nr, ncPad, packedA ?? undefined, bAddress);
      else
        for (let p0 = 0; p0 < K; p0 += KC) {
          const kc = Math.min(KC, K - p0);
          engine.block(kc, rPanels, ncPad / nr, p0 * mPad + i0 * kc, p0 * ncPad, ncPad, p0 > 0);
        }
      out.store(cw, ncPad, i0, rows, j0, cols);
    }
  }
}

/** A packer for a strided matrix: A(i, p) = data[off + i*rs + p*cs]. */
export function stridedA(data: FloatArray, off: number, rs: number, cs: number): PackA {
  return {
    pack(dst, dstOff, i0, rows, p0, kc, mr) {
      const panels = Math.ceil(rows / mr);
      for (let r = 0; r < panels; r++) {
        const base = dstOff + r * kc * mr;
        const valid = Math.min(mr, rows - r * mr);
        const rowStart = off + (i0 + r * mr) * rs + p0 * cs;
        if (valid === 4 && mr === 4) {
          // Four source rows read in step, packed panel written sequentially.
          let s0 = rowStart,
            d = base;
          for (let p = 0; p < kc; p++, s0 += cs, d += 4) {
            dst[d] = data[s0]!;
            dst[d + 1] = data[s0 + rs]!;
            dst[d + 2] = data[s0 + 2 * rs]!;
            dst[d + 3] = data[s0 + 3 * rs]!;
          }
          continue;
        }
        if (valid === mr) {
          for (let p = 0, d = base, s0 = rowStart; p < kc; p++, s0 += cs) {
            for (let ii = 0, s1 = s0; ii < mr; ii++, d++, s1 += rs) dst[d] = data[s1]!;
          }
          continue;
        }
        for (let p = 0, d = base, s0 = rowStart; p < kc; p++, s0 += cs) {
          for (let ii = 0; ii < mr; ii++, d++) dst[d] = ii < valid ? data[s0 + ii * rs]! : 0;
        }
      }
    },
  };
}

/** A packer for a strided matrix: B(p, j) = data[off + p*rs + j*cs]. */
export function stridedB(data: FloatArray, off: number, rs: number, cs: number): PackB {
  return {
    pack(dst, dstOff, p0, kc, j0, cols, nr) {
      const panels = Math.ceil(cols / nr);
      for (let s = 0; s < panels; s++) {
        const base = dstOff + s * kc * nr;
        for (let jj = 0; jj < nr; jj++) {
          const j = s * nr + jj;
          let d = base + jj;
          if (j < cols) {
            let src = off + p0 * rs + (j0 + j) * cs;
            for (let p = 0; p < kc; p++, d += nr, src += rs) dst[d] = data[src]!;
          } else {
            for (let p = 0; p < kc; p++, d += nr) dst[d] = 0;
          }
        }
      }
    },
  };
}

/** A store into a row-major matrix with leading dimension ld: out[off + i*ld + j] = C(i, j). */
export function denseStore(out: FloatArray, off: number, ld: number): GemmStore {
  return {
    store(c, ldc, i0, rows, j0, cols) {
      for (let i = 0; i < rows; i++) {
        let src = i * ldc;
        let d = off + (i0 + i) * ld + j0;
        for (let j = 0; j < cols; j++) out[d++] = c[src++]!;
      }
    },
  };
}

/**
 * Batched matmul: out[b] (contiguous [batch, m, n], overwritten) = op(A[b]) · op(B[b]), where A[b]
 * starts at b*aBatchStride (0 broadcasts), is [m, k] or with transA [k, m]; B likewise [k, n] / [n, k].
 */
export function matmul(a: FloatArray, b: FloatArray, out: FloatArray, o: MatmulOptions): void {
  const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = o;
  const aRs = transA ? 1 : k;
  const aCs = transA ? m : 1;
  const bRs = transB ? 1 : n;
  const bCs = transB ? k : 1;
  const float32 = out instanceof Float32Array;
  const stacked = batch > 1 && bBatchStride === 0 && !transA && aBatchStride === m * k;
  // The module's jobs pack and store where the GEMM runs there (not for the thin products below).
  // One B for every product (batch 1 or shared): a weight the module may keep packed.
  const oneB = batch === 1 || bBatchStride === 0 ? { k, n, rs: bRs, cs: bCs } : null;
  const ops = float32 && (stacked || (m > THIN && k > THIN)) ? moduleOperands(a, b, out, o.bias ?? null, oneB) : null;
  const packA = (off: number): PackA => ops?.packA(off, aRs, aCs) ?? stridedA(a, off, aRs, aCs);
  const packB = (off: number): PackB => ops?.packB(off, bRs, bCs) ?? stridedB(b, off, bRs, bCs);
  const store = (off: number): GemmStore => ops?.store(off, n) ?? denseStore(out, off, n);
  if (stacked) {
    // One shared B and stacked A rows: a single GEMM with M = batch*m.
    gemm(batch * m, n, k, packA(0), packB(0), store(0), { float32 });
    if (ops?.addsBias !== true) addBias(out, o.bias, batch * m, n);
    return;
  }
  for (let bi = 0; bi < batch; bi++) {
    if (m <= THIN || k <= THIN) {
      const t: ThinProduct = {
        a,
        aOff: bi * aBatchStride,
        aRs,
        aCs,
        b,
        bOff: bi * bBatchStride,
        bRs,
        bCs,
        out,
        outOff: bi * m * n,
        m,
        n,
        k,
      };
      const st = float32 ? currentFloat32Engine()?.staging : undefined;
      if (st === undefined || !thinMatmulStaged(st, t)) thinMatmul(t);
      continue;
    }
    gemm(m, n, k, packA(bi * aBatchStride), packB(bi * bBatchStride), store(bi * m * n), { float32 });
  }
  if (ops?.addsBias !== true) addBias(out, o.bias, batch * m, n);
}

/** out[r·n + j] += bias[j] for rows r (nothing without a bias); in float32 storage, a float32 add. */
function addBias(out: FloatArray, bias: FloatArray | null | undefined, rows: number, n: number): void {
  if (!bias) return;
  for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) out[r * n + j] = out[r * n + j]! + bias[j]!;
}
