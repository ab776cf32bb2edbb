import type { FloatArray } from './types';

/**
 * Layer-norm forward over `rows` contiguous rows of `cols` values: per row, while it is in cache, the
 * mean, then the biased variance as the mean squared deviation from it (two passes, accumulated in
 * float64), then y = (x − mean)/√(var + eps)·weight + bias with per-column weight and bias.
 */
export function layerNormForward(
  x: FloatArray,
  weight: FloatArray | null,
  bias: FloatArray | null,
  eps: number,
  rows: number,
  cols: number,
  y: FloatArray,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let s0 = 0,
      s1 = 0;
    let i = 0;
    for (; i + 1 < cols; i += 2) {
      s0 += x[base + i]!;
      s1 += x[base + i + 1]!;
    }
    if (i < cols) s0 += x[base + i]!;
    const mean = (s0 + s1) / cols;
    let q0 = 0,
      q1 = 0;
    for (i = 0; i + 1 < cols; i += 2) {
      const d0 = x[base + i]! - mean;
      const d1 = x[base + i + 1]! - mean;
      q0 += d0 * d0;
      q1 += d1 * d1;
    }
    if (i < cols) {
      const d = x[base + i]! - mean;
      q0 += d * d;
    }
    const inv = 1 / Math.sqrt((q0 + q1) / cols + eps);
    if (weight && bias) for (let j = 0; j < cols; j++) y[base + j] = (x[base + j]! - mean) * inv * weight[j]! + bias[j]!;
    else if (weight) for (let j = 0; j < cols; j++) y[base + j] = (x[base + j]! - mean) * inv * weight[j]!;
    else if (bias) for (let j = 0; j < cols; j++) y[base + j] = (x[base + j]! - mean) * inv + bias[j]!;
    else for (let j = 0; j < cols; j++) y[base + j] = (x[base + j]! - mean) * inv;
  }
}
