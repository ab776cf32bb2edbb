import { isFloat } from '../dtype';
import { fmt, opError } from '../errors';
import { Tensor } from '../tensor';
import { normalizeDim, sameShape } from '../shape';
import { requireFloat } from './elementwise';
import { runOp } from './run';

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

/**
 * The vanilla gradient of relu in one pass: `dy` where `x > 0`, else +0, as PyTorch's
 * threshold_backward; dy and x have one shape (no broadcasting) and one float dtype. Unlike the
 * `dy · (x > 0)` it replaces, the result is 0 where x ≤ 0 or x is NaN even when dy is NaN or ±Infinity
 * (the product gave NaN there).
 */
export function reluBackward(dy: Tensor, x: Tensor): Tensor {
  if (!(dy instanceof Tensor) || !(x instanceof Tensor)) {
    throw opError('reluBackward', `expected two Tensors (dy, x), got ${typeof dy} and ${typeof x}`);
  }
  if (!sameShape(dy.shape, x.shape)) {
    throw opError('reluBackward', `dy ${fmt(dy.shape)} and x ${fmt(x.shape)} must have the same shape (no broadcasting)`);
  }
  if (!isFloat(dy.dtype) || dy.dtype !== x.dtype) {
    throw opError('reluBackward', `dy and x must have one float dtype (float32 or float64), got dy ${dy.dtype} and x ${x.dtype}`);
  }
  return runOp('reluBackward', [dy, x], {});
}

export interface GeluOptions {
  /** 'none' (default): x·Φ(x) with the exact normal CDF; 'tanh': PyTorch's tanh approximation. */
  approximate?: 'none' | 'tanh';
}

/** x·Φ(x), as F.gelu: Φ exact by default, or 0.5·(1 + tanh(√(2/π)·(x + 0.044715x³))) with approximate 'tanh'. */
export function gelu(x: Tensor, options: GeluOptions = {}): Tensor {
  requireFloat('gelu', x);
  const approximate = options.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') {
    throw opError('gelu', `approximate must be 'none' or 'tanh', got ${JSON.stringify(approximate)}`);
  }
  return runOp('gelu', [x], { approximate });
}
