/**
 * Thin float32 products (a batch-1 linear layer and its backward-to-input) on the WebAssembly engine's
 * threads: the streamed operand is copied into the module's memory a chunk at a time and each chunk is
 * split across the threads (rows of the weight for dot products, output columns for the scaled-row sums).
 * The loops (thin_dot and thin_axpy in packages/tensor/wasm/gemm_f32.c) are thin.ts's, operation for
 * operation, so results are bitwise those of the JavaScript path whatever the thread count.
 */
import type { Staging } from './gemm';
import { WasmJob } from './wasm-gemm';
import { THIN, type ThinProduct } from './thin';

/** Floats of the streamed operand staged per chunk (16 MiB): bounds the module's memory whatever the layer. */
let CHUNK_FLOATS = 1 << 22;

/** Sets the floats staged per chunk (tests use small chunks); returns the previous value. */
export function setThinChunkFloats(n: number): number {
  const prev = CHUNK_FLOATS;
  CHUNK_FLOATS = n;
  return prev;
}
/** Below this many multiply-adds the JavaScript loops are as fast as staging. */
const MIN_MACS = 1 << 16;

const roundUp = (n: number): number => Math.ceil(n / 16) * 16;

/**
 * thin.ts's thinMatmul of t on staged chunks when it can (float32 data, B's rows or columns contiguous, big
 * enough); returns false, having done nothing, when it cannot.
 */
export function thinMatmulStaged(st: Staging, t: ThinProduct): boolean {
  const { a, aOff, aRs, aCs, b, bOff, bRs, bCs, out, outOff, m, n, k } = t;
  if (!(a instanceof Float32Array && b instanceof Float32Array && out instanceof Float32Array) || n * k * m < MIN_MACS) return false;
  if (bRs === 1 && k > THIN) {
    if (bCs !== k) return false;
    // Dot products with B's columns, which are W's contiguous rows (a linear layer's weight).
    const xAt = 0,
      outAt = roundUp(m * k),
      wAt = outAt + roundUp(m * n);
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_FLOATS / k));
    let staged = st.reserve(wAt + Math.min(n, rowsPerChunk) * k);
    for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) staged[xAt + i * k + p] = a[aOff + i * aRs + p * aCs]!;
    for (let j0 = 0; j0 < n; j0 += rowsPerChunk) {
      const rows = Math.min(rowsPerChunk, n - j0);
      staged = st.floats();
      staged.set(b.subarray(bOff + j0 * k, bOff + (j0 + rows) * k), wAt);
      st.job(WasmJob.ThinDot, [st.address(xAt), m, k, st.address(wAt), st.address(outAt + j0), n, rows], rows, m * rows * k);
    }
    out.set(st.floats().subarray(outAt, outAt + m * n), outOff);
    return true;
  }
  if (bCs === 1 && bRs === n && m === 1) {
    // (thin.ts takes this branch too: bRs = 1 with k > THIN went to the dot products above)
    // Sums of B's rows scaled by a's entries; rows whose scale is zero are skipped, as thin.ts does.
    const sAt = 0,
      outAt = roundUp(k),
      wAt = outAt + roundUp(n);
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_FLOATS / n));
    st.reserve(wAt + Math.min(k, rowsPerChunk) * n).fill(0, outAt, outAt + n);
    for (let p0 = 0; p0 < k;) {
      const staged = st.floats();
      let rows = 0;
      for (; p0 < k && rows < rowsPerChunk; p0++) {
        const s = a[aOff + p0 * aCs]!;
        if (s === 0) continue;
        staged[sAt + rows] = s;
        staged.set(b.subarray(bOff + p0 * n, bOff + (p0 + 1) * n), wAt + rows * n);
        rows++;
      }
      if (rows > 0) st.job(WasmJob.ThinAxpy, [st.address(sAt), rows, st.address(wAt), n, st.address(outAt)], n, rows * n);
    }
    out.set(st.floats().subarray(outAt, outAt + n), outOff);
    return true;
  }
  return false;
}
