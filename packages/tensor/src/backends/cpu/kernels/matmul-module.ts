/**
 * A float32 matmul's packing and stores as the module's jobs (gemm_f32.c: pack_a, pack_b, dense_store), split across
 * the worker threads, instead of gemm.ts's stridedA / stridedB / denseStore loops on the calling thread (they took
 * as long as the GEMMs themselves in a ViT pass: a linear layer's weight is B, packed again on every call).
 * An operand is read where it lies when it is an arena tensor, from the copy resident.ts keeps from its third use (a
 * weight), else from a copy staged once per call. The jobs move the same values into the same panels and places
 * as the JavaScript loops, so the GEMM's results are bitwise the same.
 */
import { columnBlock, currentFloat32Engine, depthBlock, type GemmStore, type PackA, type PackB, type Staging } from './gemm';
import { WasmJob } from './wasm-gemm';
import { keptCopy } from './resident';
import { inEngineArena } from '../storage-pool';
import type { FloatArray } from './types';

/** Packers for A and B at an element offset with strides (as stridedA / stridedB), and a store into `out` (as denseStore). */
export interface ModuleOperands {
  packA(off: number, rs: number, cs: number): PackA;
  packB(off: number, rs: number, cs: number): PackB;
  store(off: number, ld: number): GemmStore;
  /** Whether the store adds the bias (else the caller adds it after the product). */
  addsBias: boolean;
}

/**
 * Most floats of operands copied into the module per call (64 MiB), and of a B kept packed: its memory never shrinks,
 * so bigger operands not kept there take the JavaScript packers, which read them where they are.
 */
let maxCopiedFloats = 1 << 24;

/** @internal Sets the most floats copied in per call (tests); returns the previous bound. */
export function setMatmulCopyLimit(floats: number): number {
  const prev = maxCopiedFloats;
  maxCopiedFloats = floats;
  return prev;
}

let keepPacked = true;
/** @internal Whether a B used again and again (a weight) is kept packed (A/B benchmarks); returns the previous setting. */
export function setKeepPackedB(on: boolean): boolean {
  const prev = keepPacked;
  keepPacked = on;
  return prev;
}

let enabled = true;
/** @internal Whether matmuls pack and store with the module's jobs (tests, A/B benchmarks); returns the previous setting. */
export function setModuleMatmulPacking(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

/** One B for every product of a matmul (batch 1 or a shared B): [k, n] as B(p, j) = b[p·rs + j·cs]. */
export interface OneB {
  k: number;
  n: number;
  rs: number;
  cs: number;
}

/** gemm.ts's stridedB as a job: panels of 8 columns j0 .. j0 + cols over depths p0 .. p0 + kc from `src` into `dst` (addresses). */
function packPanelsOfB(
  st: Staging,
  src: number,
  rs: number,
  cs: number,
  p0: number,
  kc: number,
  j0: number,
  cols: number,
  dst: number,
  nr: number,
): void {
  if (nr !== 8) throw new Error(`matmul: B panels of ${nr} columns asked, the module packs 8`);
  st.job(WasmJob.PackB, [src, rs, cs, p0, kc, j0, cols, dst], Math.ceil(cols / nr), 4 * kc * cols); // a move costs about 4 multiply-adds
}

/**
 * The byte address of all of B packed as gemm packs it (column blocks of columnBlock(k, 8) at j0·k, depth blocks of
 * depthBlock(k) within each), kept by resident.ts from the third use of this array as this B (a linear layer's
 * weight), or null. Packed from a copy staged here when it is first kept.
 */
function keptPackedB(st: Staging, b: Float32Array, { k, n, rs, cs }: OneB): number | null {
  // Within the copy bound (the packing stages B once): a bigger weight (VGG's 411 MB classifier) would take that much
  // more of a memory that never shrinks, beside the raw copy its batch-1 products keep.
  if (b.length > maxCopiedFloats || b.length < (k - 1) * rs + (n - 1) * cs + 1) return null;
  const nc = columnBlock(k, 8),
    KC = depthBlock(k);
  let floats = 0;
  for (let j0 = 0; j0 < n; j0 += nc) floats += k * Math.ceil(Math.min(nc, n - j0) / 8) * 8;
  // The layout is part of the variant: reshapes share one array, and the panels depend on the blocking.
  const variant = `packed B ${k}×${n} (${rs}, ${cs}) by ${nc} columns, ${KC} deep`;
  return st.resident(b, variant, 'matmul B packed', floats, (address) => {
    st.reserve(b.length).set(b);
    const src = st.address(0);
    for (let j0 = 0; j0 < n; j0 += nc) {
      const cols = Math.min(nc, n - j0),
        ncPad = Math.ceil(cols / 8) * 8;
      for (let p0 = 0; p0 < k; p0 += KC)
        packPanelsOfB(st, src, rs, cs, p0, Math.min(KC, k - p0), j0, cols, address + 4 * (j0 * k + p0 * ncPad), 8);
    }
  });
}

/** The byte address in the module's memory of a view the engine handed out (its panel buffers). */
const addressOf = (view: FloatArray, off: number): number => view.byteOffset + 4 * off;

/**
 * Module packers for a matmul of a and b into out, or null (then the JavaScript ones run): no engine with threads'
 * staging, an operand not float32, or copies too big to stage. Call once per matmul, before its GEMMs (it may
 * stage a and b).
 */
export function moduleOperands(
  a: FloatArray,
  b: FloatArray,
  out: FloatArray,
  bias: FloatArray | null,
  oneB: OneB | null,
): ModuleOperands | null {
  const st: Staging | undefined = currentFloat32Engine()?.staging;
  if (!enabled || st === undefined || !(a instanceof Float32Array && b instanceof Float32Array && out instanceof Float32Array)) return null;
  // What is read in place or kept, asked before the staging region is reserved (keeping a new copy may move it).
  const aKept = inEngineArena(a) ? a.byteOffset : keptCopy(st, a, 'matmul A');
  const bPacked = keepPacked && oneB !== null && !inEngineArena(b) ? keptPackedB(st, b, oneB) : null;
  const bKept = bPacked !== null ? 0 : inEngineArena(b) ? b.byteOffset : keptCopy(st, b, 'matmul B');
  // The store adds the bias where it writes the arena in place (a float32 add, as the caller's loop).
  const storeInPlace = inEngineArena(out);
  const addsBias = storeInPlace && bias instanceof Float32Array;
  const biasKept = addsBias ? (inEngineArena(bias) ? bias.byteOffset : keptCopy(st, bias, 'matmul bias')) : null;
  const roundUp = (n: number): number => Math.ceil(n / 16) * 16;
  const aFloats = aKept === null ? roundUp(a.length) : 0,
    bFloats = bKept === null ? roundUp(b.length) : 0,
    biasFloats = addsBias && biasKept === null ? bias.length : 0;
  if (aFloats + bFloats + biasFloats > maxCopiedFloats) return null;
  if (aFloats + bFloats + biasFloats > 0) {
    const staged = st.reserve(aFloats + bFloats + biasFloats);
    if (aKept === null) staged.set(a, 0);
    if (bKept === null) staged.set(b, aFloats);
    if (biasFloats > 0) staged.set(bias!, aFloats + bFloats);
  }
  const aAt = (): number => aKept ?? st.address(0);
  const bAt = (): number => bKept ?? st.address(aFloats);
  const biasAt = (): number => (addsBias ? (biasKept ?? st.address(aFloats + bFloats)) : 0);
  return {
    packA: (off, rs, cs) => ({
      pack(dst, dstOff, i0, rows, p0, kc, mr) {
        st.packA(aAt() + 4 * off, rs, cs, i0, rows, p0, kc, dst, dstOff, mr);
      },
    }),
    packB: (off, rs, cs) => ({
      pack(dst, dstOff, p0, kc, j0, cols, nr) {
        if (bPacked !== null) throw new Error('matmul: a B kept packed was asked to be packed again');
        packPanelsOfB(st, bAt() + 4 * off, rs, cs, p0, kc, j0, cols, addressOf(dst, dstOff), nr);
      },
      packed: (K, N) => {
        if (bPacked === null) return null;
        if (K !== oneB!.k || N !== oneB!.n) throw new Error(`matmul: B kept packed as ${oneB!.k}×${oneB!.n}, asked as ${K}×${N}`);
        return bPacked;
      },
    }),
    store: (off, ld) => ({
      store(c, ldc, i0, rows, j0, cols) {
        if (storeInPlace) {
          const args = [addressOf(c, 0), ldc, addressOf(out, off + i0 * ld + j0), ld, rows, cols, addsBias ? biasAt() + 4 * j0 : 0];
          st.job(WasmJob.DenseStore, args, rows, 4 * rows * cols);
          return;
        }
        for (let i = 0; i < rows; i++) out.set(c.subarray(i * ldc, i * ldc + cols), off + (i0 + i) * ld + j0);
      },
    }),
    addsBias,
  };
}
