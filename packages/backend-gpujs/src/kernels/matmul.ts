/** Batched matmul (and linear) as a gpu.js kernel: four rows of C per thread. */
import type { KernelThis, Values } from './types';

/** Constants of `matmul`: C[b] = op(A[b])·op(B[b]) + bias, row-major; a batch stride of 0 broadcasts. */
export interface MatmulConstants {
  [k: string]: number;
  M: number;
  N: number;
  K: number;
  /** blocks of 4 rows: ceil(M/4) */
  MB: number;
  /** 1 when A[b] is stored [K, M] / B[b] is stored [N, K] */
  TA: number;
  TB: number;
  ASTRIDE: number;
  BSTRIDE: number;
}

/**
 * Output [N, 1, batch·MB] of Array(4): cell (j, 0, b·MB + i) holds C[b][4i … 4i+3][j] + bias[j].
 * The row of B is gathered across lanes (j), the four values of A are uniform.
 */
export function matmul(this: KernelThis<MatmulConstants>, a: Values, b: Values, bias: Values): number[] {
  const j = this.thread.x;
  const batch = Math.floor(this.thread.z / this.constants.MB);
  const i = (this.thread.z - batch * this.constants.MB) * 4;
  const ab = batch * this.constants.ASTRIDE;
  const bb = batch * this.constants.BSTRIDE;
  const bv = bias[j]!;
  let s0 = bv;
  let s1 = bv;
  let s2 = bv;
  let s3 = bv;
  // A[i][k] sits at i·K + k, or at k·M + i when transposed; B[k][j] at k·N + j, or j·K + k.
  let aRow = this.constants.K;
  let aK = 1;
  if (this.constants.TA === 1) {
    aRow = 1;
    aK = this.constants.M;
  }
  let bK = this.constants.N;
  let bCol = 1;
  if (this.constants.TB === 1) {
    bK = 1;
    bCol = this.constants.K;
  }
  const a0 = ab + i * aRow;
  const b0 = bb + j * bCol;
  for (let k = 0; k < this.constants.K; k++) {
    const v = b[b0 + k * bK]!;
    const ao = a0 + k * aK;
    s0 += a[ao]! * v;
    s1 += a[ao + aRow]! * v;
    s2 += a[ao + 2 * aRow]! * v;
    s3 += a[ao + 3 * aRow]! * v;
  }
  return [s0, s1, s2, s3];
}
