import type { KernelResult } from '../backends/backend';
import { runKernel } from '../backends/registry';
import { recordNode } from '../autodiff/tape';
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

/** Runs a primitive op and returns its main output. */
export function runOp<K extends OpName>(op: K, inputs: readonly Tensor[], attrs: OpAttrs[K]): Tensor {
  return runOpFull(op, inputs, attrs).out;
}
