import type { FloatArray } from './types';

/** Products with at most this many rows of A (or this inner size) skip packing: it cannot pay off. */
export const THIN = 4;

/**
 * A thin product C = A·B (m ≤ THIN or k ≤ THIN), e.g. a batch-1 linear layer whose weight is streamed
 * once: A[i, p] is a[aOff + i·aRs + p·aCs], B[p, j] is b[bOff + p·bRs + j·bCs], C is dense [m, n] at
 * outOff. One description for both paths (thinMatmul here, thinMatmulStaged on the module's threads).
 */
export interface ThinProduct {
  a: FloatArray;
  aOff: number;
  aRs: number;
  aCs: number;
  b: FloatArray;
  bOff: number;
  bRs: number;
  bCs: number;
  out: FloatArray;
  outOff: number;
  m: number;
  n: number;
  k: number;
}

/** Computes the thin product t in JavaScript; each shape streams the operand that is contiguous. */
export function thinMatmul(t: ThinProduct): void {
  const { a, aOff, aRs, aCs, b, bOff, bRs, bCs, out, outOff, m, n, k } = t;
  if (bRs === 1 && k > THIN) {
    // Bᵀ is row-major [n, k] (a linear layer's weight): one dot product per output.
    const row = new Float64Array(k);
    for (let i = 0; i < m; i++) {
      for (let p = 0; p < k; p++) row[p] = a[aOff + i * aRs + p * aCs]!;
      for (let j = 0; j < n; j++) out[outOff + i * n + j] = dot(row, b, bOff + j * bCs, k);
    }
    return;
  }
  out.fill(0, outOff, outOff + m * n);
  if (bCs === 1) {
    // Rows of B are contiguous: accumulate scaled rows into each output row.
    for (let i = 0; i < m; i++) {
      const o = outOff + i * n;
      for (let p = 0; p < k; p++) {
        const s = a[aOff + i * aRs + p * aCs]!;
        if (s === 0) continue;
        const r = bOff + p * bRs;
        for (let j = 0; j < n; j++) out[o + j] = out[o + j]! + s * b[r + j]!;
      }
    }
    return;
  }
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const s = a[aOff + i * aRs + p * aCs]!;
      const r = bOff + p * bRs;
      for (let j = 0; j < n; j++) out[outOff + i * n + j] = out[outOff + i * n + j]! + s * b[r + j * bCs]!;
    }
  }
}

/** Σ x[i]·y[off + i] with four accumulators, so the loop is not one long dependency chain. */
function dot(x: Float64Array, y: FloatArray, off: number, k: number): number {
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0;
  let i = 0;
  for (; i + 3 < k; i += 4) {
    s0 += x[i]! * y[off + i]!;
    s1 += x[i + 1]! * y[off + i + 1]!;
    s2 += x[i + 2]! * y[off + i + 2]!;
    s3 += x[i + 3]! * y[off + i + 3]!;
  }
  for (; i < k; i++) s0 += x[i]! * y[off + i]!;
  return s0 + s1 + s2 + s3;
}
