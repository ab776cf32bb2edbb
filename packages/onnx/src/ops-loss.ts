import * as t from '@gradlens/tensor';
import { Tensor } from '@gradlens/tensor';
import type { OpContext, OpTable } from './op-context';
import { float, input, requiredInts } from './op-context';
import type { Value } from './values';
import { asTensor, stridesOf } from './values';

// The losses a training graph exports (a model saved with its loss, or explained through it): negative log
// likelihood and softmax cross entropy, composed of an index selection of the input at the targets, so the
// input (and a weight tensor) differentiate; the targets are integers read when the node runs.

/**
 * −input[n, target, d…] · weight[target] per position (0 where the target is ignore_index), reduced by `reduction`:
 * 'none', 'sum', or 'mean' (the sum divided by the summed weights of the positions not ignored).
 */
function nll(x: Tensor, targets: number[], weight: Tensor | null, reduction: string, ignoreIndex: number | null): Tensor {
  if (x.rank < 2) throw new Error(`the loss needs an input of [N, C, …], got [${x.shape.join(', ')}]`);
  const c = x.shape[1]!;
  const outShape = [x.shape[0]!, ...x.shape.slice(2)];
  const positions = outShape.reduce((a, b) => a * b, 1);
  if (targets.length !== positions) throw new Error(`${targets.length} targets for the ${positions} positions of [${outShape.join(', ')}]`);
  const inner = stridesOf(x.shape)[1]!;
  const kept = targets.map((k) => k !== ignoreIndex);
  const safe = targets.map((k, i) => {
    if (!kept[i]) return 0;
    if (k < 0 || k >= c) throw new Error(`target ${k} is outside the ${c} classes`);
    return k;
  });
  // Flat position of input[n, target, d…] for output position i = n·inner + d.
  const flat = safe.map((k, i) => (Math.floor(i / inner) * c + k) * inner + (i % inner));
  const picked = t.reshape(t.indexSelect(t.reshape(x, [-1]), 0, flat), outShape);
  const mask = new Tensor(
    Float32Array.from(kept, (k) => (k ? 1 : 0)),
    outShape,
    'float32',
  );
  const maskX = x.dtype === 'float32' ? mask : t.cast(mask, x.dtype);
  const w = weight ? t.mul(t.reshape(t.indexSelect(weight, 0, safe), outShape), maskX) : maskX;
  const loss = t.neg(t.mul(picked, w));
  if (reduction === 'none') return loss;
  if (reduction === 'sum') return t.sum(loss);
  if (reduction === 'mean') return t.div(t.sum(loss), t.sum(w));
  throw new Error(`reduction '${reduction}' is not none, sum or mean`);
}

function targetsOf(v: Value): number[] {
  return requiredInts(v, 'the loss targets');
}

function ignoreIndexOf(ctx: OpContext): number | null {
  return ctx.attrs.has('ignore_index') ? ctx.attrs.int('ignore_index', 0) : null;
}

export const lossOps: OpTable = {
  NegativeLogLikelihoodLoss: {
    since: 12,
    run: (ctx) => {
      const x = float(input(ctx.values, 0));
      const weight = ctx.values[2] ? asTensor(ctx.values[2], x) : null;
      return [nll(x, targetsOf(input(ctx.values, 1)), weight, ctx.attrs.string('reduction', 'mean'), ignoreIndexOf(ctx))];
    },
  },
  // The loss of log softmax over the class axis, and (a second output) that log softmax.
  SoftmaxCrossEntropyLoss: {
    since: 12,
    run: (ctx) => {
      const x = float(input(ctx.values, 0));
      const logProb = t.logSoftmax(x, 1);
      const weight = ctx.values[2] ? asTensor(ctx.values[2], x) : null;
      const loss = nll(logProb, targetsOf(input(ctx.values, 1)), weight, ctx.attrs.string('reduction', 'mean'), ignoreIndexOf(ctx));
      return ctx.outputs > 1 ? [loss, logProb] : [loss];
    },
  },
};
