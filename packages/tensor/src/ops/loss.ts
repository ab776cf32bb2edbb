import { arange } from '../creation';
import { fmt, opError } from '../errors';
import { Tensor } from '../tensor';
import { cast, eq, mul, ne, neg, requireFloat, square, sub, div } from './elementwise';
import { logSoftmax, mean, sum } from './reduce';
import { composite } from './run';
import { reshape } from './shape-ops';

export type Reduction = 'mean' | 'sum' | 'none';

export interface NllLossOptions {
  reduction?: Reduction;
  /** Per-class weights [C]. */
  weight?: Tensor;
  ignoreIndex?: number;
}

function classTargets(op: string, target: Tensor | readonly number[], n: number, classes: number, ignoreIndex: number): Tensor {
  if (!(target instanceof Tensor)) {
    const bad = target.find((c) => !Number.isInteger(c));
    if (bad !== undefined) throw opError(op, `target must hold integer class indices, got ${bad}`);
  } else if (target.isDisposed) {
    throw opError(op, `target (${target}) was disposed`);
  }
  const t = target instanceof Tensor ? target : new Tensor(Int32Array.from(target), [target.length], 'int32');
  if (t.dtype !== 'int32' || t.rank !== 1 || t.shape[0] !== n) {
    throw opError(op, `target must be ${n} int32 class indices [${n}], got ${t.dtype} ${fmt(t.shape)}`);
  }
  for (const c of t.values()) {
    if (c !== ignoreIndex && (c < 0 || c >= classes)) throw opError(op, `target ${c} is out of range for ${classes} classes`);
  }
  return t;
}

function checkWeight(op: string, weight: Tensor, input: Tensor): void {
  const c = input.shape[1]!;
  if (weight.rank !== 1 || weight.shape[0] !== c) throw opError(op, `weight must be [${c}], got ${fmt(weight.shape)}`);
  if (weight.dtype !== input.dtype) throw opError(op, `weight must be ${input.dtype} like the input, got ${weight.dtype}`);
}

/** The reduction, checked: JavaScript callers can pass any string. */
function reductionOf(op: string, r: Reduction | undefined): Reduction {
  const reduction = r ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw opError(op, `reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(reduction)}`);
  }
  return reduction;
}

/** Negative log-likelihood of class indices under log-probabilities [N, C], as F.nll_loss. */
export function nllLoss(logProbs: Tensor, target: Tensor | readonly number[], options: NllLossOptions = {}): Tensor {
  return composite(() => nll('nllLoss', logProbs, target, options));
}

/** nllLoss, with errors naming `op` (crossEntropy calls it too). */
function nll(op: string, logProbs: Tensor, target: Tensor | readonly number[], options: NllLossOptions): Tensor {
  requireFloat(op, logProbs);
  const reduction = reductionOf(op, options.reduction);
  if (logProbs.rank !== 2) throw opError(op, `input must be [N, C], got ${fmt(logProbs.shape)}`);
  const [n, c] = logProbs.shape as [number, number];
  const ignoreIndex = options.ignoreIndex ?? -100;
  const t = reshape(classTargets(op, target, n, c, ignoreIndex), [n, 1]);
  // One-hot rows pick each sample's log-probability; built from ordinary ops, so the gradient needs no rule.
  const oneHot = cast(eq(reshape(arange(c, undefined, 1, 'int32'), [1, c]), t), logProbs.dtype);
  let w = mul(oneHot, cast(ne(t, ignoreIndex), logProbs.dtype));
  if (options.weight) {
    checkWeight(op, options.weight, logProbs);
    w = mul(w, reshape(options.weight, [1, c]));
  }
  const losses = neg(sum(mul(logProbs, w), { dim: 1 }));
  switch (reduction) {
    case 'none':
      return losses;
    case 'sum':
      return sum(losses);
    case 'mean':
      return div(sum(losses), sum(w));
  }
}

/**
 * Cross-entropy of logits [N, C] against class indices (or class probabilities of the same shape),
 * as F.cross_entropy.
 */
export function crossEntropy(logits: Tensor, target: Tensor | readonly number[], options: NllLossOptions = {}): Tensor {
  return composite(() => crossEntropyTerms(logits, target, options));
}

function crossEntropyTerms(logits: Tensor, target: Tensor | readonly number[], options: NllLossOptions): Tensor {
  requireFloat('crossEntropy', logits);
  if (logits.rank !== 2) throw opError('crossEntropy', `input must be [N, C], got ${fmt(logits.shape)}`);
  const r = reductionOf('crossEntropy', options.reduction);
  if (target instanceof Tensor && (target.dtype === 'float32' || target.dtype === 'float64')) {
    if (target.shape.join() !== logits.shape.join()) {
      throw opError(
        'crossEntropy',
        `probability targets must be ${fmt(logits.shape)}, got ${target.dtype} ${fmt(target.shape)} (class-index targets must be int32 [${logits.shape[0]}])`,
      );
    }
    if (options.ignoreIndex !== undefined)
      throw opError(
        'crossEntropy',
        `ignoreIndex (${options.ignoreIndex}) applies to class-index targets, not to probability targets ${fmt(target.shape)}`,
      );
    let terms = mul(logSoftmax(logits, 1), target);
    if (options.weight) {
      const c = logits.shape[1]!;
      checkWeight('crossEntropy', options.weight, logits);
      terms = mul(terms, reshape(options.weight, [1, c]));
    }
    const losses = neg(sum(terms, { dim: 1 }));
    // As PyTorch, 'mean' divides by N for probability targets, with or without class weights.
    return r === 'none' ? losses : r === 'sum' ? sum(losses) : mean(losses);
  }
  return nll('crossEntropy', logSoftmax(logits, 1), target, options);
}

/** Mean squared error, as F.mse_loss. */
export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  requireFloat('mseLoss', input);
  requireFloat('mseLoss', target, 'target');
  const r = reductionOf('mseLoss', options.reduction);
  if (input.shape.join() !== target.shape.join())
    throw opError('mseLoss', `input ${fmt(input.shape)} and target ${fmt(target.shape)} differ in shape`);
  return composite(() => {
    const e = square(sub(input, target));
    return r === 'none' ? e : r === 'sum' ? sum(e) : mean(e);
  });
}
