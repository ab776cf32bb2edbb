import { batchNormInArena } from './arena-jobs';
import type { FloatArray } from './types';

/**
 * A batch-norm input seen as [batch, channels, spatial]: spatial is the product of the dims after the
 * channel (1 for [N, C]). Channel c's values are `batch` runs of `spatial` contiguous elements.
 */
export interface BatchNormGeometry {
  batch: number;
  channels: number;
  spatial: number;
}

/**
 * Training-mode forward. Per channel, while its values are in cache: the mean, then the biased
 * variance as the mean squared deviation from it (two passes, accumulated in float64), then
 * y = (x − mean)·weight/√(var + eps) + bias. The statistics are stored in `mean` and `variance` [C]
 * (the input's precision) and the output is computed from the stored values, so that a backward
 * pass reading them back sees exactly the statistics the forward pass used.
 */
export function batchNormTrainForward(
  x: FloatArray,
  weight: FloatArray | null,
  bias: FloatArray | null,
  eps: number,
  g: BatchNormGeometry,
  y: FloatArray,
  mean: FloatArray,
  variance: FloatArray,
): void {
  const { batch, channels, spatial } = g;
  const count = batch * spatial;
  for (let c = 0; c < channels; c++) {
    // Four partial sums per pass: one running sum is a chain of dependent adds, four run in parallel.
    let s0 = 0,
      s1 = 0,
      s2 = 0,
      s3 = 0;
    for (let n = 0; n < batch; n++) {
      const base = (n * channels + c) * spatial;
      const end = base + spatial;
      let i = base;
      for (; i + 3 < end; i += 4) {
        s0 += x[i]!;
        s1 += x[i + 1]!;
        s2 += x[i + 2]!;
        s3 += x[i + 3]!;
      }
      for (; i < end; i++) s0 += x[i]!;
    }
    mean[c] = (s0 + s1 + (s2 + s3)) / count;
    const m = mean[c]!;
    let q0 = 0,
      q1 = 0,
      q2 = 0,
      q3 = 0;
    for (let n = 0; n < batch; n++) {
      const base = (n * channels + c) * spatial;
      const end = base + spatial;
      let i = base;
      for (; i + 3 < end; i += 4) {
        const d0 = x[i]! - m,
          d1 = x[i + 1]! - m,
          d2 = x[i + 2]! - m,
          d3 = x[i + 3]! - m;
        q0 += d0 * d0;
        q1 += d1 * d1;
        q2 += d2 * d2;
        q3 += d3 * d3;
      }
      for (; i < end; i++) {
        const d = x[i]! - m;
        q0 += d * d;
      }
    }
    variance[c] = (q0 + q1 + (q2 + q3)) / count;
    const k = (weight ? weight[c]! : 1) / Math.sqrt(variance[c]! + eps);
    affineChannel(x, y, g, c, m, k, bias ? bias[c]! : 0);
  }
}

/** Eval-mode forward: y = (x − mean)·weight/√(var + eps) + bias with the given per-channel statistics. */
export function batchNormForward(
  x: FloatArray,
  mean: FloatArray,
  variance: FloatArray,
  weight: FloatArray | null,
  bias: FloatArray | null,
  eps: number,
  g: BatchNormGeometry,
  y: FloatArray,
): void {
  if (batchNormInArena(x, mean, variance, weight, bias, eps, g, y)) return;
  for (let c = 0; c < g.channels; c++) {
    const k = (weight ? weight[c]! : 1) / Math.sqrt(variance[c]! + eps);
    affineChannel(x, y, g, c, mean[c]!, k, bias ? bias[c]! : 0);
  }
}

/** y = (x − m)·k + b over channel c. */
function affineChannel(x: FloatArray, y: FloatArray, g: BatchNormGeometry, c: number, m: number, k: number, b: number): void {
  const { batch, channels, spatial } = g;
  for (let n = 0; n < batch; n++) {
    const base = (n * channels + c) * spatial;
    for (let i = base, end = base + spatial; i < end; i++) y[i] = (x[i]! - m) * k + b;
  }
}

/**
 * Training-mode backward, given the batch statistics the forward pass used. Per channel, with
 * x̂ = (x − mean)·invstd, invstd = 1/√(var + eps), M = batch·spatial and k = weight·invstd: one pass
 * for Σdy and Σdy·x̂ (float64), a second while the channel is in cache for
 * dx = k·(dy − Σdy/M − x̂·Σdy·x̂/M). The sums are the bias and weight gradients (written to
 * `sumDy` and `sumDyXhat` [C]).
 */
export function batchNormBackward(
  dy: FloatArray,
  x: FloatArray,
  mean: FloatArray,
  variance: FloatArray,
  weight: FloatArray | null,
  eps: number,
  g: BatchNormGeometry,
  dx: FloatArray,
  sumDy: FloatArray,
  sumDyXhat: FloatArray,
): void {
  const { batch, channels, spatial } = g;
  const count = batch * spatial;
  for (let c = 0; c < channels; c++) {
    const m = mean[c]!;
    const invstd = 1 / Math.sqrt(variance[c]! + eps);
    // Two partial sums each, as in the forward pass.
    let a0 = 0,
      a1 = 0,
      b0 = 0,
      b1 = 0;
    for (let n = 0; n < batch; n++) {
      const base = (n * channels + c) * spatial;
      const end = base + spatial;
      let i = base;
      for (; i + 1 < end; i += 2) {
        const d0 = dy[i]!,
          d1 = dy[i + 1]!;
        a0 += d0;
        a1 += d1;
        b0 += d0 * (x[i]! - m);
        b1 += d1 * (x[i + 1]! - m);
      }
      if (i < end) {
        a0 += dy[i]!;
        b0 += dy[i]! * (x[i]! - m);
      }
    }
    const s0 = a0 + a1;
    const s1 = (b0 + b1) * invstd;
    sumDy[c] = s0;
    sumDyXhat[c] = s1;
    const k = (weight ? weight[c]! : 1) * invstd;
    // dx = k·dy − kx·(x − m) − shift, the two sums folded into per-channel constants.
    const kx = (k * invstd * s1) / count;
    const shift = (k * s0) / count;
    for (let n = 0; n < batch; n++) {
      const base = (n * channels + c) * spatial;
      for (let i = base, end = base + spatial; i < end; i++) dx[i] = k * dy[i]! - kx * (x[i]! - m) - shift;
    }
  }
}
