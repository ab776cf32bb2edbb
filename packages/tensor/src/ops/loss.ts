import { arange } from '../creation';
import { fmt, opError } from '../errors';
import { Tensor } from '../tensor';
import { cast, eq, mul, ne, neg, requireFloat, square, sub, div } from './elementwise';
import { logSoftmax } from './activation';
import { mean, sum } from './reduce';
import { reshape } from './shape-ops';

export type Reduction = 'mean' | 'sum' | 'none';

export interface NllLossOptions {
  reduction?: Reduction;
  /** Per-class weights [C]. */
  weight?: Tensor;
  ignoreIndex?: number;
}

function classTargets(op: string, target: Tensor | readonly number[], n: number, classes: number, ignoreIndex: number): Tensor {
  const t = target instanceof Tensor ? target : new Tensor(Int32Array.from(target), [target.length], 'int32');
  if (t.dtype !== 'int32' || t.rank !== 1 || t.shape[0] !== n) {
    throw opError(op, `target must be ${n} int32 class indices [${n}], got ${t.dtype} ${fmt(t.shape)}`);
  }
  for (const c of t.values()) {
    if (c !== ignoreIndex && (c < 0 || c >= classes)) throw opError(op, `target ${c} is out of range for ${classes} classes`);
  }
  return t;
}

/** Negative log-likelihood of class indices under log-probabilities [N, C], as F.nll_loss. */
export function nllLoss(logProbs: Tensor, target: Tensor | readonly number[], options: NllLossOptions = {}): Tensor {
  const op = 'nllLoss';
  requireFloat(op, logProbs);
  if (logProbs.rank !== 2) throw opError(op, `input must be [N, C], got ${fmt(logProbs.shape)}`);
  const [n, c] = logProbs.shape as [number, number];
  const ignoreIndex = options.ignoreIndex ?? -100;
  const t = reshape(classTargets(op, target, n, c, ignoreIndex), [n, 1]);
  // One-hot rows pick each sample's log-probability; built from ordinary ops, so the gradient needs no rule.
  const oneHot = cast(eq(reshape(arange(c, undefined, 1, 'int32'), [1, c]), t), logProbs.dtype);
  let w = mul(oneHot, cast(ne(t, ignoreIndex), logProbs.dtype));
  if (options.weight) {
    if (options.weight.rank !== 1 || options.weight.shape[0] !== c) throw opError(op, `weight must be [${c}], got ${fmt(options.weight.shape)}`);
    w = mul(w, reshape(options.weight, [1, c]));
  }
  const losses = neg(sum(mul(logProbs, w), { dim: 1 }));
  switch (options.reduction ?? 'mean') {
    case 'none': return losses;
    case 'sum': return sum(losses);
    case 'mean': return div(sum(losses), sum(w));
  }
}

/**
 * Cross-entropy of logits [N, C] against class indices (or class probabilities of the same shape),
 * as F.cross_entropy.
 */
export function crossEntropy(logits: Tensor, target: Tensor | readonly number[], options: NllLossOptions = {}): Tensor {
  requireFloat('crossEntropy', logits);
  if (logits.rank !== 2) throw opError('crossEntropy', `input must be [N, C], got ${fmt(logits.shape)}`);
  const logp = logSoftmax(logits, 1);
  if (target instanceof Tensor && (target.dtype === 'float32' || target.dtype === 'float64')) {
    if (target.shape.join() !== logits.shape.join()) throw opError('crossEntropy', `probability targets must be ${fmt(logits.shape)}, got ${fmt(target.shape)}`);
    if (options.ignoreIndex !== undefined) throw opError('crossEntropy', `ignoreIndex (${options.ignoreIndex}) applies to class-index targets, not to probability targets ${fmt(target.shape)}`);
    let terms = mul(logp, target);
    if (options.weight) {
      const c = logits.shape[1]!;
      if (options.weight.rank !== 1 || options.weight.shape[0] !== c) throw opError('crossEntropy', `weight must be [${c}], got ${fmt(options.weight.shape)}`);
      terms = mul(terms, reshape(options.weight, [1, c]));
    }
    const losses = neg(sum(terms, { dim: 1 }));
    const r = options.reduction ?? 'mean';
    // As PyTorch, 'mean' divides by N for probability targets, with or without class weights.
    return r === 'none' ? losses : r === 'sum' ? sum(losses) : mean(losses);
  }
  return nllLoss(logp, target, options);
}

/** Mean squared error, as F.mse_loss. */
export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  requireFloat('mseLoss', input);
  if (input.shape.join() !== target.shape.join()) throw opError('mseLoss', `input ${fmt(input.shape)} and target ${fmt(target.shape)} differ in shape`);
  const e = square(sub(input, target));
  const r = options.reduction ?? 'mean';
  return r === 'none' ? e : r === 'sum' ? sum(e) : mean(e);
}
