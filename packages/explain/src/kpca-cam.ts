import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { CamOptions, CamResult } from './cam-core';
import { activationCam, perItem, withLayer } from './cam-core';
import { checkInput } from './common';
import { topEigenvector } from './eigencam';
import { lanczosTopEigen } from './lanczos';

/** Kernels of scikit-learn's KernelPCA (coef0 = 1, degree 3). */
export type KpcaKernel = 'rbf' | 'sigmoid' | 'poly' | 'linear' | 'cosine';

export interface KpcaCamOptions extends Omit<CamOptions, 'target'> {
  /** The kernel (default 'sigmoid', pytorch-grad-cam's KPCA_CAM default). */
  kernel?: KpcaKernel;
  /** γ of the rbf, sigmoid and poly kernels (default 1 / channels, as scikit-learn). */
  gamma?: number;
}

/** Most positions (h·w) of the layer's map that KPCA-CAM takes: a 64 × 64 map (a 32 M-value kernel matrix). */
const MAX_POSITIONS = 4096;

const KERNELS: readonly KpcaKernel[] = ['rbf', 'sigmoid', 'poly', 'linear', 'cosine'];

/**
 * One item's kernel-PCA projection: rows of M [hw, K] (activations centred per channel) → the kernel
 * matrix, centred in feature space (K − 1K − K1 + 1K1), its top eigenvector v (largest eigenvalue λ)
 * with scikit-learn's sign (the largest |vᵢ| positive), and the projection v·√λ (KernelPCA.fit_transform).
 */
export function kernelProjection(a: Float64Array, k: number, hw: number, kernel: KpcaKernel, gamma: number): Float64Array {
  const m = new Float64Array(hw * k);
  for (let c = 0; c < k; c++) {
    let mean = 0;
    for (let j = 0; j < hw; j++) mean += a[c * hw + j]!;
    mean /= hw;
    for (let j = 0; j < hw; j++) m[j * k + c] = a[c * hw + j]! - mean;
  }
  const dot = (p: number, q: number) => {
    let s = 0;
    for (let c = 0; c < k; c++) s += m[p * k + c]! * m[q * k + c]!;
    return s;
  };
  const norms = Float64Array.from({ length: hw }, (_, p) => Math.sqrt(dot(p, p)));
  const g = new Float64Array(hw * hw);
  for (let p = 0; p < hw; p++) {
    for (let q = p; q < hw; q++) {
      const d = dot(p, q);
      let v: number;
      if (kernel === 'linear') v = d;
      else if (kernel === 'rbf') v = Math.exp(-gamma * Math.max(0, norms[p]! ** 2 + norms[q]! ** 2 - 2 * d));
      else if (kernel === 'sigmoid') v = Math.tanh(gamma * d + 1);
      else if (kernel === 'poly') v = (gamma * d + 1) ** 3;
      else v = norms[p]! > 0 && norms[q]! > 0 ? d / (norms[p]! * norms[q]!) : 0;
      g[p * hw + q] = v;
      g[q * hw + p] = v;
    }
  }
  const rowMean = new Float64Array(hw);
  let all = 0;
  for (let p = 0; p < hw; p++) {
    for (let q = 0; q < hw; q++) rowMean[p] = rowMean[p]! + g[p * hw + q]! / hw;
    all += rowMean[p]! / hw;
  }
  for (let p = 0; p < hw; p++) for (let q = 0; q < hw; q++) g[p * hw + q] = g[p * hw + q]! - rowMean[p]! - rowMean[q]! + all;
  // Jacobi for small maps (exact to rounding); Lanczos where Jacobi's O(hw³) sweeps would take minutes
  const { vector, value } = hw <= 256 ? topEigenvector(g, hw) : lanczosTopEigen(g, hw);
  let big = 0;
  for (let j = 1; j < hw; j++) if (Math.abs(vector[j]!) > Math.abs(vector[big]!)) big = j;
  const sign = vector[big]! < 0 ? -1 : 1;
  const scale = Math.sqrt(Math.max(value, 0)) * sign;
  return Float64Array.from(vector, (v) => v * scale);
}

/**
 * KPCA-CAM (Karmani et al. 2024, pytorch-grad-cam's `KPCA_CAM`): Eigen-CAM with kernel PCA — the
 * target layer's activations (positions as samples, channels as features, centred) projected on the
 * first kernel principal component (`kernelProjection`). Class-agnostic; no ReLU unless `relu: true`
 * (as `eigenCam`). The kernel matrix is (h·w)², so keep the layer's map small.
 */
export function kpcaCam(model: Module, x: Tensor, given: KpcaCamOptions = {}): CamResult {
  const method = 'kpcaCam';
  checkInput(method, x);
  const options = withLayer(model, x, given);
  const kernel = options.kernel ?? 'sigmoid';
  if (!KERNELS.includes(kernel)) throw new Error(`${method}: kernel must be one of ${KERNELS.join(', ')}, got '${String(kernel)}'`);
  if (options.gamma !== undefined && !(options.gamma > 0)) throw new Error(`${method}: gamma must be > 0, got ${options.gamma}`);
  return activationCam(
    method,
    model,
    x,
    options,
    perItem((a, _g, k, hw) => {
      // the kernel matrix is hw² float64 and its eigen-decomposition O(hw³): refuse what would not finish
      if (hw > MAX_POSITIONS)
        throw new Error(
          `${method}: layer '${options.layer}' has ${hw} positions; the kernel matrix would be ${hw}×${hw} (at most ${MAX_POSITIONS} positions: choose a coarser layer)`,
        );
      return { map: kernelProjection(a, k, hw, kernel, options.gamma ?? 1 / k), weights: null };
    }),
    options.relu ?? false,
  );
}
