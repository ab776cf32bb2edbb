import { Tensor } from '../tensor';
import { normalizeDim } from '../shape';
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
