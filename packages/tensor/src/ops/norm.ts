import { assign } from '../assign';
import { rand } from '../creation';
import { fmt, opError } from '../errors';
import type { Generator } from '../random';
import { Tensor } from '../tensor';
import { lt, mul, requireFloat, cast } from './elementwise';
import { composite, runOp, runOpFull } from './run';

export interface BatchNormOptions {
  /** Normalise with the batch's statistics and update the running ones (default false). */
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Batch normalisation as F.batch_norm over dim 1 of [N, C, …]: one fused op (statistics, normalisation
 * and the affine map in one kernel, and one kernel for its backward pass). In training mode the
 * running statistics are updated in place, as PyTorch does (with the unbiased batch variance).
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight?: Tensor | null,
  bias?: Tensor | null,
  options: BatchNormOptions = {},
): Tensor {
  const op = 'batchNorm';
  requireFloat(op, x);
  if (x.rank < 2) throw opError(op, `input must be [N, C, …], got ${fmt(x.shape)}`);
  const c = x.shape[1]!;
  for (const [name, t] of [
    ['runningMean', runningMean],
    ['runningVar', runningVar],
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== c)) throw opError(op, `${name} must be [${c}] for input ${fmt(x.shape)}, got ${fmt(t.shape)}`);
    if (t && t.dtype !== x.dtype) throw opError(op, `${name} must be ${x.dtype} like the input, got ${t.dtype}`);
    if (t?.isDisposed) throw opError(op, `${name} (${t}) was disposed`);
  }
  if (!runningMean !== !runningVar) {
    throw opError(
      op,
      `runningMean and runningVar must both be given or both be null, got ${runningMean ? 'only runningMean' : 'only runningVar'}`,
    );
  }
  const training = options.training ?? false;
  const eps = options.eps ?? 1e-5;
  if (!(eps >= 0)) throw opError(op, `eps must be a non-negative number, got ${eps}`);
  if (training && x.size / c <= 1) {
    throw opError(op, `expected more than 1 value per channel when training, got input ${fmt(x.shape)}`);
  }
  const affine = [...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const attrs = { training, eps, weight: !!weight, bias: !!bias };
  if (training) {
    const r = runOpFull(op, [x, ...affine], attrs);
    const [batchMean, batchVar] = r.extras as [Tensor, Tensor];
    if (runningMean && runningVar) updateRunningStats(batchMean, batchVar, x.size / c, runningMean, runningVar, options.momentum ?? 0.1);
    // A recording tape keeps the statistics for the backward pass; otherwise they are freed now.
    batchMean.dispose();
    batchVar.dispose();
    return r.out;
  }
  if (!runningMean || !runningVar) {
    throw opError(op, 'evaluation mode (training: false) needs runningMean and runningVar; pass training: true to use batch statistics');
  }
  return runOp(op, [x, runningMean, runningVar, ...affine], attrs);
}

/** running ← (1 − momentum)·running + momentum·batch, with the batch variance made unbiased (count values per channel). */
function updateRunningStats(
  batchMean: Tensor,
  batchVar: Tensor,
  count: number,
  runningMean: Tensor,
  runningVar: Tensor,
  momentum: number,
): void {
  const bm = batchMean.values();
  const bv = batchVar.values();
  const unbias = count > 1 ? count / (count - 1) : 1;
  assign(runningMean, (rm) => {
    for (let i = 0; i < rm.length; i++) rm[i] = (1 - momentum) * rm[i]! + momentum * bm[i]!;
  });
  assign(runningVar, (rv) => {
    for (let i = 0; i < rv.length; i++) rv[i] = (1 - momentum) * rv[i]! + momentum * bv[i]! * unbias;
  });
}

export interface DropoutOptions {
  p?: number;
  training?: boolean;
  generator?: Generator;
}

/** Zeroes each element with probability p and scales the rest by 1/(1 − p) in training; identity otherwise. */
export function dropout(x: Tensor, options: DropoutOptions = {}): Tensor {
  const p = options.p ?? 0.5;
  if (!(p >= 0 && p <= 1)) throw opError('dropout', `p must be in [0, 1], got ${p}`);
  if (!(options.training ?? true) || p === 0) return x;
  requireFloat('dropout', x);
  if (p === 1) return mul(x, 0);
  return composite(() => {
    const keepMask = cast(lt(rand(x.shape, { dtype: x.dtype as 'float32' | 'float64', generator: options.generator }), 1 - p), x.dtype);
    return mul(x, mul(keepMask, 1 / (1 - p)));
  });
}

export interface LayerNormOptions {
  eps?: number;
}

/**
 * Layer normalisation as F.layer_norm: each slice over the last dims (`normalizedShape`) is
 * normalised by its own mean and biased variance, then scaled by `weight` and shifted by `bias`
 * (both of shape normalizedShape). One fused op, so that relevance rules (LRP's LN-rule) can
 * replace its backward pass as a whole.
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  options: LayerNormOptions = {},
): Tensor {
  const op = 'layerNorm';
  if (!(x instanceof Tensor)) throw opError(op, `expected a Tensor input, got ${typeof x}`);
  requireFloat(op, x);
  const shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  if (shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw opError(op, `normalizedShape must be one or more positive integers, got ${fmt(shape)}`);
  }
  if (shape.length > x.rank || shape.some((d, i) => x.shape[x.rank - shape.length + i] !== d)) {
    throw opError(op, `input ${fmt(x.shape)} must end in normalizedShape ${fmt(shape)}`);
  }
  for (const [name, t] of [
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (!t) continue;
    if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i]))
      throw opError(op, `${name} must be ${fmt(shape)}, got ${fmt(t.shape)}`);
    if (t.dtype !== x.dtype) throw opError(op, `${name} must be ${x.dtype} like the input, got ${t.dtype}`);
  }
  const eps = options.eps ?? 1e-5;
  if (!(eps >= 0)) throw opError(op, `eps must be a non-negative number, got ${eps}`);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return runOp(op, inputs, { dims: shape.length, eps, weight: !!weight, bias: !!bias });
}
