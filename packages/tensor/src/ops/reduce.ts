import { fmt, opError } from '../errors';
import type { Shape } from '../shape';
import { normalizeDim, normalizeDims } from '../shape';
import type { Tensor } from '../tensor';
import { requireFloat, sqrt } from './elementwise';
import { composite, runOp } from './run';
import { reshape } from './shape-ops';

export interface ReduceOptions {
  /** One dim or several; all dims when omitted. Negative dims count from the end. */
  dim?: number | readonly number[];
  keepdim?: boolean;
}

function reduction(op: 'sum' | 'mean' | 'max' | 'min', x: Tensor, options: ReduceOptions): Tensor {
  const dims = normalizeDims(op, options.dim, x.rank);
  if ((op === 'max' || op === 'min') && dims.some((d) => x.shape[d] === 0)) {
    throw opError(op, `cannot reduce an empty dimension of shape ${fmt(x.shape)}`);
  }
  if (op === 'mean') requireFloat(op, x);
  return runOp(op, [x], { dims, keepdim: options.keepdim ?? false });
}

/** Sum over `dim` (all dims by default). */
export const sum = (x: Tensor, options: ReduceOptions = {}) => reduction('sum', x, options);
/** Mean over `dim` (all dims by default). */
export const mean = (x: Tensor, options: ReduceOptions = {}) => reduction('mean', x, options);
/** Maximum over `dim`; its gradient is shared evenly between tied maxima. */
export const max = (x: Tensor, options: ReduceOptions = {}) => reduction('max', x, options);
/** Minimum over `dim`; its gradient is shared evenly between tied minima. */
export const min = (x: Tensor, options: ReduceOptions = {}) => reduction('min', x, options);

export interface ArgReduceOptions {
  /** The dim to search; the flattened tensor when omitted. */
  dim?: number;
  keepdim?: boolean;
}

function argReduction(op: 'argmax' | 'argmin', x: Tensor, options: ArgReduceOptions): Tensor {
  const dim = options.dim === undefined ? null : normalizeDim(op, options.dim, x.rank);
  if (x.size === 0) throw opError(op, `cannot search an empty tensor of shape ${fmt(x.shape)}`);
  return runOp(op, [x], { dim, keepdim: options.keepdim ?? false });
}

/** Index (int32) of the first maximum along `dim`, or in the flattened tensor. */
export const argmax = (x: Tensor, options: ArgReduceOptions = {}) => argReduction('argmax', x, options);
/** Index (int32) of the first minimum along `dim`, or in the flattened tensor. */
export const argmin = (x: Tensor, options: ArgReduceOptions = {}) => argReduction('argmin', x, options);

export interface VarOptions extends ReduceOptions {
  /** Bessel's correction: 1 (the default, unbiased) divides by n − 1, 0 by n. */
  correction?: number;
}

/** Variance over `dim`, unbiased by default as torch.var. */
export function variance(x: Tensor, options: VarOptions = {}): Tensor {
  requireFloat('var', x);
  const dims = normalizeDims('var', options.dim, x.rank);
  return runOp('var', [x], { dims, keepdim: options.keepdim ?? false, correction: options.correction ?? 1 });
}

/** Standard deviation over `dim`, unbiased by default as torch.std. */
export function std(x: Tensor, options: VarOptions = {}): Tensor {
  return composite(() => sqrt(variance(x, options)));
}

export { variance as var };

/** Sums `g` down to `shape`, undoing broadcasting (the single place gradients are unbroadcast). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  const lead = g.rank - shape.length;
  if (lead < 0) throw new Error(`sumTo: cannot sum ${fmt(g.shape)} to the larger rank of ${fmt(shape)}`);
  const dims: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    const target = i < lead ? 1 : shape[i - lead]!;
    if (i < lead || (target === 1 && g.shape[i] !== 1)) dims.push(i);
    else if (target !== g.shape[i]) throw new Error(`sumTo: ${fmt(g.shape)} is not a broadcast of ${fmt(shape)}`);
  }
  const summed = dims.length ? runOp('sum', [g], { dims, keepdim: true }) : g;
  return reshape(summed, shape);
}

/** softmax along `dim`, computed stably (max subtracted). */
export function softmax(x: Tensor, dim: number): Tensor {
  requireFloat('softmax', x);
  return runOp('softmax', [x], { dim: normalizeDim('softmax', dim, x.rank) });
}

/** log(softmax(x)) along `dim`, computed without forming the softmax. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  requireFloat('logSoftmax', x);
  return runOp('logSoftmax', [x], { dim: normalizeDim('logSoftmax', dim, x.rank) });
}
