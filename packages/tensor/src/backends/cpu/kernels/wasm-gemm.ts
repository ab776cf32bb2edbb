/**
 * The float32 GEMM engine on WebAssembly SIMD: packed panels and the workspace live in the module's
 * memory (Float32Array views onto it, so the JavaScript packers write straight into it), and one call
 * multiplies a whole packed block (the 4×8 macro-kernel of packages/tensor/wasm/gemm_f32.c).
 * Memory from HEAP_BASE: the tensor arena where the memory is shared (arena.ts: kernel outputs the threads can
 * reach; a fixed stretch, virtual until touched), then weights kept resident (resident.ts), a staging region
 * (conv2d stages its padded input and offset tables there for the module's pack_panels / scatter_add), then the
 * A panels, the B panels and the workspace. Keeping a new weight may grow the resident region, which moves
 * everything above it (never the arena, below it).
 */
import type { PanelBuffers, PanelEngine, Staging } from './gemm';
import { GEMM_F32_WASM } from './wasm-binary';
import { JobPool, PARTS_PER_THREAD, type RunJob } from '../threads/job-pool';
import { threadHost } from '../threads/host';
import { getNumThreads } from '../threads/settings';
import { ResidentCache } from './resident';
import { createTensorArena } from './arena';

interface GemmExports {
  gemm_block(kc: number, rPanels: number, sPanels: number, ap: number, bp: number, c: number, ldc: number, accumulate: number): void;
  gemm_mr(): number;
  gemm_nr(): number;
  /** Everything else (GEMMs over whole depths, packing, scatters, transforms, the arena's kernels) runs as its jobs. */
  run_job: RunJob;
}

/** The module's jobs (run_job in packages/tensor/wasm/gemm_f32.c), each split across threads by its items. */
export const WasmJob = {
  GemmDepth: 0,
  WinogradFilter: 1,
  WinogradInput: 2,
  WinogradGemm: 3,
  WinogradOutput: 4,
  PackPanels: 5,
  ThinDot: 6,
  ThinAxpy: 7,
  PackA: 8,
  DepthwiseForward: 9,
  DepthwiseBackwardInput: 10,
  DepthwiseBackwardWeight: 11,
  GemmTiles: 12,
  Winograd4Filter: 13,
  Winograd4Input: 14,
  Winograd4Output: 15,
  Relu: 16,
  ReluBackward: 17,
  Add: 18,
  BatchNormEval: 19,
  ConvStore: 20,
  ScatterByChannel: 21,
  Zero: 22,
  MaxPool2x2: 23,
  ScatterPlanes: 24,
  MaxPoolWindows: 25,
  PadPlanes: 26,
  Gelu: 27,
  Softmax: 28,
  SoftmaxBackward: 29,
  PackB: 30,
  DenseStore: 31,
  LayerNorm: 32,
  LayerNormBackward: 33,
  LayerNormColumnSums: 34,
} as const;

let tileSplit = true;
/**
 * @internal Whether a GEMM row block with fewer B panels than the pool wants parts (7×7 images) is split by
 * tiles (A panels × B panels) instead of by B panels; for A/B benchmarks. Returns the previous setting.
 */
export function setGemmTileSplit(on: boolean): boolean {
  const prev = tileSplit;
  tileSplit = on;
  return prev;
}

/** What a job observer hears of each job once it is done (started jobs when their finish returns). */
export interface JobRecord {
  /** Its name in WasmJob. */
  job: string;
  /** Whether it was split across the worker threads (else it ran whole on the calling thread). */
  split: boolean;
  items: number;
  /** The work the split was decided on (multiply-adds, or what a value moved counts as). */
  work: number;
  /** Wall milliseconds from its start to its end on the calling thread. */
  ms: number;
}

const JOB_NAMES = new Map<number, string>(Object.entries(WasmJob).map(([name, id]) => [id, name]));
const jobName = (id: number): string => JOB_NAMES.get(id) ?? String(id);
let observer: ((r: JobRecord) => void) | null = null;
/**
 * @internal Hears every job of every engine (benchmarks/op-profile.js --jobs), null: none (the default, and then
 * nothing is timed). Returns the previous observer.
 */
export function setJobObserver(fn: ((r: JobRecord) => void) | null): ((r: JobRecord) => void) | null {
  const prev = observer;
  observer = fn;
  return prev;
}

let overlap = true;
/**
 * @internal Whether `startJob` returns before the job is done (so the caller stages the next chunk meanwhile) or
 * runs it whole first, as `job` does; for A/B benchmarks. Returns the previous setting.
 */
export function setStagingOverlap(on: boolean): boolean {
  const prev = overlap;
  overlap = on;
  return prev;
}

const PAGE = 65536;
/** What a job that has already run returns for its finish. */
const done = (): void => {};
/** The module's memory is shared (WebAssembly threads) and may grow to 4 GiB, as declared by build.sh. */
const MAX_PAGES = 65536;
/** A job is split across threads only when it has at least this much work (multiply-adds or values moved; a dispatch costs tens of µs). */
const PARALLEL_MIN_WORK = 1 << 18;
/** Byte address of run_job's arguments (ints), between the module's stack and HEAP_BASE (as gemm_f32.c's JOB_ARGS). */
const JOB_ARGS = 69632;
const MAX_JOB_ARGS = 24;
/** Bytes below this address are left to the module (its stack sits under 64 KiB + 1 KiB). */
const HEAP_BASE = 2 * PAGE;
/** Each region starts on a 64-byte boundary (a cache line), so vector loads never split lines. */
const ALIGN = 16;
/**
 * Bytes reserved for the tensor arena (arena.ts) in Node, where the memory is shared, unless the engine is made with
 * another size (gemm.ts's setTensorArenaSize): a batch-1 pass of the big torchvision models keeps well under this
 * live; outputs past it are ordinary arrays (the serial kernels). Browsers get none: a page would commit the address
 * space up front, and WebGL refuses views of shared memory.
 */
export const DEFAULT_ARENA_BYTES = 1 << 30;
/** The most an arena may take of the 4 GiB memory: the engine's panels, staging and kept weights need the rest. */
export const MAX_ARENA_BYTES = 3 * 2 ** 30;

/** The bytes an engine made here reserves for an arena of `size`: whole 64 KiB pages in Node with shared memory, else 0. */
export function arenaBytesHere(size: number): number {
  return wasmThreadsUnavailableReason() === '' && isNode() ? Math.ceil(Math.min(size, MAX_ARENA_BYTES) / PAGE) * PAGE : 0;
}

/** Whether this runtime is Node (the arena's home; see DEFAULT_ARENA_BYTES). */
function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof p?.versions?.node === 'string';
}

function decodeBase64(s: string): Uint8Array {
  if (typeof Buffer !== 'undefined') return new Uint8Array(Buffer.from(s, 'base64'));
  const bin = atob(s);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

let moduleBytes: Uint8Array | null = null;
let unavailable: string | null | undefined; // undefined until checked once

/** The module's bytes, decoded once. */
function wasmBytes(): Uint8Array {
  moduleBytes ??= decodeBase64(GEMM_F32_WASM);
  return moduleBytes;
}

/** Why the WebAssembly SIMD engine cannot run here, or null when it can (checked once). */
export function wasmSimdUnavailableReason(): string | null {
  if (unavailable !== undefined) return unavailable;
  if (typeof WebAssembly === 'undefined') unavailable = 'this runtime has no WebAssembly';
  else {
    try {
      unavailable = WebAssembly.validate(wasmBytes()) ? null : 'this runtime does not support WebAssembly SIMD';
    } catch (e) {
      unavailable = `WebAssembly SIMD check failed: ${(e as Error).message}`;
    }
  }
  return unavailable;
}

/** The memory import's limits as build.sh declares them: flags 3 (maximum, shared), 2 pages, 65536 pages. */
const SHARED_MEMORY_IMPORT = [0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x03, 0x02, 0x80, 0x80, 0x04];

/**
 * The same module importing an unshared memory (limits flag 3 → 1), for runtimes without SharedArrayBuffer
 * (browser pages that are not cross-origin isolated): the code is unchanged, it just runs on one thread.
 */
function unsharedBytes(bytes: Uint8Array): Uint8Array {
  const pat = SHARED_MEMORY_IMPORT;
  for (let i = 0; i + pat.length <= bytes.length; i++) {
    if (pat.every((b, j) => bytes[i + j] === b)) {
      const copy = bytes.slice();
      copy[i + 8] = 0x01;
      return copy;
    }
  }
  throw new Error('wasm-simd GEMM engine: the module does not import a shared memory as packages/tensor/wasm/build.sh declares it');
}

/** Why the engine runs on one thread whatever setNumThreads says, or '' when its memory is shared. */
export function wasmThreadsUnavailableReason(): string {
  return typeof SharedArrayBuffer === 'undefined'
    ? 'no SharedArrayBuffer (in browsers: the page is not cross-origin isolated; serve it with COOP/COEP headers)'
    : '';
}

/**
 * Instantiates the engine (synchronously: the module is 5 KB). Throws if WebAssembly SIMD is unavailable.
 * Its memory is shared where SharedArrayBuffer exists (threads can join), else unshared (one thread); in Node a
 * shared memory starts with a tensor arena of `arenaSize` bytes (rounded up to whole 64 KiB pages; 0: none).
 */
export function createWasmFloat32Engine(arenaSize = DEFAULT_ARENA_BYTES): PanelEngine {
  const reason = wasmSimdUnavailableReason();
  if (reason !== null) throw new Error(`wasm-simd GEMM engine: ${reason}`);
  const shared = wasmThreadsUnavailableReason() === '';
  const arenaBytes = arenaBytesHere(arenaSize);
  /** Where the engine's own regions start: above the arena. */
  const workBase = HEAP_BASE + arenaBytes;
  const memory = new WebAssembly.Memory({ initial: workBase / PAGE + 16, maximum: MAX_PAGES, shared });
  const module = new WebAssembly.Module(shared ? wasmBytes() : unsharedBytes(wasmBytes()));
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const k = instance.exports as unknown as GemmExports;
  const mr = k.gemm_mr();
  const nr = k.gemm_nr();
  let aAt = 0,
    bAt = 0,
    cAt = 0; // element offsets of the regions in the float32 view
  let stageLen = 0; // elements of the staging region at stageBase(), below the panels
  let residentBytes = 0; // bytes of the resident region at workBase, below the staging region
  /** Byte address of the staging region (moves when the resident region grows). */
  const stageBase = (): number => workBase + residentBytes;
  let view = new Float32Array(memory.buffer);
  let bufs: PanelBuffers = { a: view.subarray(0, 0), b: view.subarray(0, 0), c: view.subarray(0, 0) };
  const roundUp = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;
  /** Grows the memory to at least `bytes` and refreshes the view (growing detaches the old buffer). */
  const ensure = (bytes: number): void => {
    if (bytes > memory.buffer.byteLength) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
    if (view.buffer !== memory.buffer) view = new Float32Array(memory.buffer);
  };
  /** Byte address of element `off` of a view onto this memory (checked: a foreign array would be silently wrong). */
  const address = (a: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number }, off: number): number => {
    if (a.buffer !== memory.buffer) throw new Error('wasm-simd GEMM engine: array is not in the module memory');
    return a.byteOffset + off * 4;
  };
  const resident = new ResidentCache({
    base: workBase,
    grow(bytes) {
      try {
        ensure(workBase + bytes);
      } catch {
        return false; // the memory cannot grow that far (a RangeError): the weight is copied per call instead
      }
      residentBytes = bytes;
      return true;
    },
  });
  const staging: Staging = {
    reserve(floats) {
      stageLen = roundUp(floats);
      ensure(stageBase() + stageLen * 4);
      return view.subarray(stageBase() / 4, stageBase() / 4 + floats);
    },
    floats() {
      ensure(0);
      return view.subarray(stageBase() / 4, stageBase() / 4 + stageLen);
    },
    ints() {
      ensure(0);
      return new Int32Array(memory.buffer, stageBase(), stageLen);
    },
    memory() {
      ensure(0);
      return view;
    },
    resident: (key, variant, use, floats, fill) => resident.lookup(key, variant, use, floats, fill),
    packPanels(srcAt, depthAt, kc, acrossAt, width, dst, dstOff, nr) {
      const base = stageBase();
      const args = [base + srcAt * 4, base + depthAt * 4, kc, base + acrossAt * 4, width, address(dst, dstOff), nr];
      job(WasmJob.PackPanels, args, Math.ceil(width / nr), 4 * kc * width); // a move costs about 4 multiply-adds
    },
    packA(srcAddress, rs, cs, i0, rows, p0, kc, dst, dstOff, panelRows) {
      if (panelRows !== mr) throw new Error(`wasm-simd engine: A panels of ${panelRows} rows asked, the module packs ${mr}`);
      const args = [srcAddress, rs, cs, i0, rows, p0, kc, address(dst, dstOff)];
      job(WasmJob.PackA, args, Math.ceil(rows / mr), 4 * rows * kc); // a move costs about 4 multiply-adds
    },
    address: (at) => stageBase() + at * 4,
    job: (id, args, items, work) => job(id, args, items, work),
    startJob: (id, args, items, work) => job(id, args, items, work, overlap),
    scatterAdd(dstAt, downAt, rows, runsAt, nRuns, colStep, c, ldc, i0, taps) {
      const base = stageBase();
      const args = [base + dstAt * 4, base + downAt * 4, rows, base + runsAt * 4, nRuns, colStep, address(c, 0), ldc, i0, taps];
      const channels = Math.floor((i0 + rows - 1) / taps) - Math.floor(i0 / taps) + 1;
      job(WasmJob.ScatterByChannel, args, channels, 4 * rows * ldc); // an add moved costs about 4 multiply-adds
    },
  };

  let pool: JobPool | null = null;
  /** The pool for the current thread count (remade when it changes), or null for one thread. */
  const poolFor = (threads: number): JobPool | null => {
    if (pool !== null && pool.threads === threads) return pool;
    pool?.close();
    pool = null;
    const host = shared ? threadHost() : null;
    if (threads > 1 && host !== null) pool = new JobPool(host, module, memory, threads, k.run_job);
    return pool;
  };
  /**
   * Writes a job's arguments and runs it: split across the threads when it has `items` to split and enough
   * `work`, else whole here. With `detach`, returns once the workers have it (the returned function finishes it).
   */
  function job(id: number, args: readonly number[], items: number, work: number, detach = false): () => void {
    if (args.length > MAX_JOB_ARGS) throw new Error(`wasm-simd engine: job ${id} has ${args.length} arguments, room for ${MAX_JOB_ARGS}`);
    // Its parts read the arguments as they start: overwriting them under a started job would corrupt it.
    if (pool?.busy() === true) throw new Error(`wasm-simd engine: job ${id} asked while a started job is unfinished`);
    new Int32Array(memory.buffer, JOB_ARGS, args.length).set(args);
    const threads = Math.min(getNumThreads(), items);
    const p = threads > 1 && work >= PARALLEL_MIN_WORK ? poolFor(threads) : null;
    const t0 = observer === null ? 0 : performance.now();
    if (p === null) k.run_job(id, 0, 1);
    else if (!detach) p.run(id, items);
    else {
      p.start(id, items);
      return () => {
        p.finish();
        observer?.({ job: jobName(id), split: true, items, work, ms: performance.now() - t0 });
      };
    }
    observer?.({ job: jobName(id), split: p !== null, items, work, ms: performance.now() - t0 });
    return done;
  }

  return {
    name: `wasm-simd-float32 (${mr}×${nr})`,
    mr,
    nr,
    staging,
    buffers(aSize, bSize, cSize) {
      aAt = stageBase() / 4 + stageLen;
      bAt = aAt + roundUp(aSize);
      cAt = bAt + roundUp(bSize);
      ensure((cAt + roundUp(cSize)) * 4);
      bufs = { a: view.subarray(aAt, aAt + aSize), b: view.subarray(bAt, bAt + bSize), c: view.subarray(cAt, cAt + cSize) };
      return bufs;
    },
    block(kc, rPanels, sPanels, aOff, bOff, ldc, accumulate) {
      k.gemm_block(kc, rPanels, sPanels, (aAt + aOff) * 4, (bAt + bOff) * 4, cAt * 4, ldc, accumulate ? 1 : 0);
    },
    depth(K, KC, mPad, i0, rPanels, sPanels, ldc, aAddress, bAddress) {
      const args = [K, KC, mPad, i0, rPanels, sPanels, aAddress ?? aAt * 4, bAddress ?? bAt * 4, cAt * 4, ldc];
      const work = rPanels * mr * sPanels * nr * K;
      // Few B panels (a 7×7 image has 7) leave threads idle or unequal: split by tiles so every thread gets a share.
      if (tileSplit && sPanels < PARTS_PER_THREAD * getNumThreads() && rPanels > 1) job(WasmJob.GemmTiles, args, rPanels * sPanels, work);
      else job(WasmJob.GemmDepth, args, sPanels, work);
    },
    threads: () => (!shared || threadHost() === null ? 1 : getNumThreads()),
    arena: arenaBytes > 0 ? createTensorArena(() => memory.buffer, HEAP_BASE, arenaBytes) : undefined,
  };
}
