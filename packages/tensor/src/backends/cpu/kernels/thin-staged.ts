/**
 * Thin float32 products (a batch-1 linear layer and its backward-to-input) on the WebAssembly engine's
 * threads: the streamed operand is copied into the module's memory a chunk at a time and each chunk is
 * split across the threads (rows of the weight for dot products, output columns for the scaled-row sums);
 * the next chunk is copied in while the worker threads work on the previous one.
 * A weight the module keeps resident (resident.ts: from its third use) is read in place instead, with no copy.
 * The loops (thin_dot and thin_axpy in packages/tensor/wasm/gemm_f32.c) are thin.ts's, operation for
 * operation, so results are bitwise those of the JavaScript path whatever the thread count.
 */
import type { Staging } from './gemm';
import { WasmJob } from './wasm-gemm';
import { THIN, type ThinProduct } from './thin';
import { keptCopy } from './resident';

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
    const kept = keptCopy(st, b, 'thin dot');
    if (kept !== null) {
      const outAt = roundUp(m * k);
      const staged = st.reserve(outAt + m * n);
      for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) staged[i * k + p] = a[aOff + i * aRs + p * aCs]!;
      st.job(WasmJob.ThinDot, [st.address(0), m, k, kept + bOff * 4, st.address(outAt), n, n], n, m * n * k);
      out.set(st.floats().subarray(outAt, outAt + m * n), outOff);
      return true;
    }
    // Dot products with B's columns, which are W's contiguous rows (a linear layer's weight). Chunks alternate
    // between two regions: the next one is copied in while the worker threads multiply the previous one.
    const xAt = 0,
      outAt = roundUp(m * k),
      rowsPerChunk = Math.max(1, Math.floor(CHUNK_FLOATS / k)),
      chunk = Math.min(n, rowsPerChunk) * k,
      w0 = outAt + roundUp(m * n),
      w1 = w0 + (n > rowsPerChunk ? roundUp(chunk) : 0);
    const staged = st.reserve(w1 + chunk); // reserved once: no growth (which would move views) under a started job
    for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) staged[xAt + i * k + p] = a[aOff + i * aRs + p * aCs]!;
    let finish = (): void => {};
    for (let j0 = 0, second = false; j0 < n; j0 += rowsPerChunk, second = !second) {
      const rows = Math.min(rowsPerChunk, n - j0);
      const wAt = second ? w1 : w0;
      staged.set(b.subarray(bOff + j0 * k, bOff + (j0 + rows) * k), wAt);
      finish();
      finish = st.startJob(WasmJob.ThinDot, [st.address(xAt), m, k, st.address(wAt), st.address(outAt + j0), n, rows], rows, m * rows * k);
    }
    finish();
    out.set(staged.subarray(outAt, outAt + m * n), outOff);
    return true;
  }
  if (bCs === 1 && bRs === n && m === 1) {
    // (thin.ts takes this branch too: bRs = 1 with k > THIN went to the dot products above)
    const kept = keptCopy(st, b, 'thin axpy');
    if (kept !== null) {
      // All k scales at once; thin_axpy skips the zero ones, as the chunks below do.
      const sAt = roundUp(n);
      const staged = st.reserve(sAt + k).fill(0, 0, n);
      for (let p = 0; p < k; p++) staged[sAt + p] = a[aOff + p * aCs]!;
      st.job(WasmJob.ThinAxpy, [st.address(sAt), k, kept + bOff * 4, n, st.address(0)], n, k * n);
      out.set(st.floats().subarray(0, n), outOff);
      return true;
    }
    // Sums of B's rows scaled by a's entries; rows whose scale is zero are skipped, as thin.ts does. Chunks
    // (scales and rows) alternate between two regions, the next staged while the threads add the previous.
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_FLOATS / n)),
      chunkRows = Math.min(k, rowsPerChunk),
      outAt = 0,
      s0 = roundUp(n),
      s1 = s0 + roundUp(chunkRows),
      w0 = s1 + roundUp(chunkRows),
      w1 = w0 + roundUp(chunkRows * n);
    const staged = st.reserve(w1 + chunkRows * n).fill(0, outAt, outAt + n);
    let finish = (): void => {};
    for (let p0 = 0, second = false; p0 < k; second = !second) {
      const [sAt, wAt] = second ? [s1, w1] : [s0, w0];
      let rows = 0;
      for (; p0 < k && rows < rowsPerChunk; p0++) {
        const s = a[aOff + p0 * aCs]!;
        if (s === 0) continue;
        staged[sAt + rows] = s;
        staged.set(b.subarray(bOff + p0 * n, bOff + (p0 + 1) * n), wAt + rows * n);
        rows++;
      }
      finish(); // chunks add into the same sums: one at a time, in order
      if (rows > 0) finish = st.startJob(WasmJob.ThinAxpy, [st.address(sAt), rows, st.address(wAt), n, st.address(outAt)], n, rows * n);
    }
    finish();
    out.set(staged.subarray(outAt, outAt + n), outOff);
    return true;
  }
  return false;
}
