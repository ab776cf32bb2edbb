import { Generator } from '@gradlens/tensor';
import { topEigenvector } from './eigencam';

/**
 * Largest (algebraic) eigenvalue and its unit eigenvector of a symmetric n×n matrix (row-major,
 * float64) by Lanczos iteration with full reorthogonalisation: O(n²) per step, stopped when the
 * Ritz pair's residual is below 1e-12 of the matrix's scale (at n steps it is exact). For the large
 * kernel matrices of KPCA-CAM, where cyclic Jacobi (O(n³) per sweep) takes minutes.
 */
export function lanczosTopEigen(m: Float64Array, n: number): { vector: Float64Array; value: number } {
  const gen = new Generator(0);
  const basis: Float64Array[] = [];
  const alpha: number[] = [];
  const beta: number[] = [];
  let scale = 0;
  for (const v of m) scale = Math.max(scale, Math.abs(v));
  let q = Float64Array.from({ length: n }, () => gen.normal());
  let qn = Math.hypot(...q);
  q = q.map((v) => v / qn);
  const w = new Float64Array(n);
  let best: { vector: Float64Array; value: number } | null = null;
  for (let j = 0; j < n; j++) {
    basis.push(q);
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let c = 0; c < n; c++) s += m[r * n + c]! * q[c]!;
      w[r] = s;
    }
    let a = 0;
    for (let r = 0; r < n; r++) a += w[r]! * q[r]!;
    alpha.push(a);
    // full reorthogonalisation (twice) against every Lanczos vector so far
    for (let pass = 0; pass < 2; pass++) {
      for (const b of basis) {
        let d = 0;
        for (let r = 0; r < n; r++) d += w[r]! * b[r]!;
        for (let r = 0; r < n; r++) w[r] = w[r]! - d * b[r]!;
      }
    }
    qn = Math.hypot(...w);
    const k = alpha.length;
    const done = j === n - 1 || qn <= 1e-14 * Math.max(scale, 1e-300);
    if (done || k % 8 === 0) {
      const t = new Float64Array(k * k);
      for (let i = 0; i < k; i++) {
        t[i * k + i] = alpha[i]!;
        if (i + 1 < k) t[i * k + i + 1] = t[(i + 1) * k + i] = beta[i]!;
      }
      const { vector: y, value } = topEigenvector(t, k);
      // residual of the Ritz pair: ‖M x − θ x‖ = β_k |y_k|
      const residual = qn * Math.abs(y[k - 1]!);
      if (done || residual <= 1e-12 * Math.max(scale * n, 1e-300)) {
        const x = new Float64Array(n);
        for (let i = 0; i < k; i++) for (let r = 0; r < n; r++) x[r] = x[r]! + y[i]! * basis[i]![r]!;
        const xn = Math.hypot(...x);
        best = { vector: x.map((v) => v / xn), value };
        break;
      }
    }
    beta.push(qn);
    q = w.map((v) => v / qn);
  }
  return best!;
}
