import type { KernelResult } from '../backends/backend';
import { runKernel } from '../backends/registry';
import { recordNode, tidy } from '../autodiff/tape';
import { opError } from '../errors';
import type { Tensor } from '../tensor';
import type { OpAttrs, OpName } from './op-attrs';

/** Runs a primitive op on the active backend and records it on every recording tape. */
export function runOpFull<K extends OpName>(op: K, inputs: readonly Tensor[], attrs: OpAttrs[K]): KernelResult {
  inputs.forEach((t, i) => {
    if (t.isDisposed) throw opError(op, `input ${i} (${t}) was disposed`);
  });
  const result = runKernel(op, inputs, attrs);
  recordNode(op, inputs, attrs, result);
  return result;
}

/**
 * Runs a primitive op and returns its main output. Its extra outputs (max pooling's indices, batch statistics)
 * are freed now, or with the tape that recorded them for the backward pass: no caller can reach them.
 */
export function runOp<K extends OpName>(op: K, inputs: readonly Tensor[], attrs: OpAttrs[K]): Tensor {
  const result = runOpFull(op, inputs, attrs);
  result.extras?.forEach((t) => t.dispose());
  return result.out;
}

/**
 * Runs the body of an op built from other ops in its own scope, so only its result is left: the intermediate
 * tensors are freed at once, or with the tape that recorded them, inside `tidy` or not.
 */
export function composite<T extends Tensor>(body: () => T): T {
  return tidy(body);
}
