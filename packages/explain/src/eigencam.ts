import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { CamOptions, CamResult } from './cam-core';
import { activationCam, perItem, withLayer } from './cam-core';
import { checkInput } from './common';

export interface EigenCamOptions extends Omit<CamOptions, 'target'> {
  /** Subtract each channel's spatial mean before the decomposition (default true: principal components). */
  center?: boolean;
}

/**
 * Top eigenvector (unit length) and eigenvalue of a symmetric d×d matrix (row-major, float64),
 * by cyclic Jacobi rotations.
 */
export function topEigenvector(m: Float64Array, d: number): { vector: Float64Array; value: number } {
  const a = Float64Array.from(m);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < d; p++) {
      diag += a[p * d + p]! ** 2;
      for (let q = p + 1; q < d; q++) off += a[p * d + q]! ** 2;
    }
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q]!;
        if (apq === 0) continue;
        const app = a[p * d + p]!;
        const aqq = a[q * d + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < d; r++) {
          const arp = a[r * d + p]!;
          const arq = a[r * d + q]!;
          a[r * d + p] = c * arp - s * arq;
          a[r * d + q] = s * arp + c * arq;
        }
        for (let r = 0; r < d; r++) {
          const apr = a[p * d + r]!;
          const aqr = a[q * d + r]!;
          a[p * d + r] = c * apr - s * aqr;
          a[q * d + r] = s * apr + c * aqr;
        }
        for (let r = 0; r < d; r++) {
          const vrp = v[r * d + p]!;
          const vrq = v[r * d + q]!;
          v[r * d + p] = c * vrp - s * vrq;
          v[r * d + q] = s * vrp + c * vrq;
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i < d; i++) if (a[i * d + i]! > a[best * d + best]!) best = i;
  const vector = new Float64Array(d);
  for (let r = 0; r < d; r++) vector[r] = v[r * d + best]!;
  return { vector, value: a[best * d + best]! };
}

/**
 * The projection of one item's (centred) activations M [hw, K] on their first principal direction
 * v (the top right singular vector), M v, with v's sign chosen so that Σₖ vₖ ≥ 0 (the direction in
 * which the channels grow together). Uses the smaller of the two Gram matrices.
 */
export function principalProjection(
  a: Float64Array,
  k: number,
  hw: number,
  center: boolean,
): { map: Float64Array; direction: Float64Array } {
  const m = new Float64Array(hw * k); // row j = position, column c = channel
  for (let c = 0; c < k; c++) {
    let mean = 0;
    if (center) {
      for (let j = 0; j < hw; j++) mean += a[c * hw + j]!;
      mean /= hw;
    }
    for (let j = 0; j < hw; j++) m[j * k + c] = a[c * hw + j]! - mean;
  }
  let v: Float64Array;
  if (k <= hw) {
    const g = new Float64Array(k * k);
    for (let p = 0; p < k; p++) {
      for (let q = p; q < k; q++) {
        let s = 0;
        for (let j = 0; j < hw; j++) s += m[j * k + p]! * m[j * k + q]!;
        g[p * k + q] = s;
        g[q * k + p] = s;
      }
    }
    v = topEigenvector(g, k).vector;
  } else {
    const g = new Float64Array(hw * hw);
    for (let p = 0; p < hw; p++) {
      for (let q = p; q < hw; q++) {
        let s = 0;
        for (let c = 0; c < k; c++) s += m[p * k + c]! * m[q * k + c]!;
        g[p * hw + q] = s;
        g[q * hw + p] = s;
      }
    }
    const u = topEigenvector(g, hw).vector;
    v = new Float64Array(k);
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < hw; j++) s += m[j * k + c]! * u[j]!;
      v[c] = s;
    }
    const norm = Math.hypot(...v);
    if (norm > 0) for (let c = 0; c < k; c++) v[c] = v[c]! / norm;
  }
  let sum = 0;
  for (let c = 0; c < k; c++) sum += v[c]!;
  if (sum < 0) for (let c = 0; c < k; c++) v[c] = -v[c]!;
  const map = new Float64Array(hw);
  for (let j = 0; j < hw; j++) {
    let s = 0;
    for (let c = 0; c < k; c++) s += m[j * k + c]! * v[c]!;
    map[j] = s;
  }
  return { map, direction: v };
}

/**
 * Eigen-CAM (Muhammad & Yeasin 2020): the projection of the target layer's activations on their
 * first principal component, per item; class-agnostic (no target, no gradient), [N, h, w] and
 * [N, H, W]. The singular vector's sign is fixed so its channel loadings sum to ≥ 0. No ReLU by
 * default (`relu: true` adds it). `weights` holds the principal direction [N, K].
 */
export function eigenCam(model: Module, x: Tensor, given: EigenCamOptions = {}): CamResult {
  const method = 'eigenCam';
  checkInput(method, x);
  const options = withLayer(model, x, given);
  const center = options.center ?? true;
  return activationCam(
    method,
    model,
    x,
    options,
    perItem((av, _g, k, hw) => {
      const { map, direction } = principalProjection(av, k, hw, center);
      return { map, weights: direction };
    }),
    options.relu ?? false,
  );
}
