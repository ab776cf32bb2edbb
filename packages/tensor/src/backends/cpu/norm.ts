import type { FloatDType } from '../../dtype';
import { sizeOf } from '../../shape';
import type { Tensor } from '../../tensor';
import type { NamedKernelTable } from '../backend';
import type { BatchNormGeometry } from './kernels/batchnorm';
import { batchNormBackward, batchNormForward, batchNormTrainForward } from './kernels/batchnorm';
import { layerNormForward } from './kernels/layernorm';
import { layerNormInArena } from './kernels/arena-jobs';
import { floats, output, outputToFill } from './util';

function batchNormGeometry(x: readonly number[]): BatchNormGeometry {
  return { batch: x[0]!, channels: x[1]!, spatial: sizeOf(x.slice(2)) };
}

const dtypeOf = (x: Tensor) => x.dtype as FloatDType;

/** The normalisation ops (mirrors autodiff/rules/norm.ts). */
export const normKernels = {
  batchNorm: ({ x, mean, var: variance, weight, bias }, a) => {
    const dtype = dtypeOf(x);
    const { t, v } = outputToFill(x.shape, dtype); // every element written
    const [w, b] = [weight ? floats(weight) : null, bias ? floats(bias) : null];
    // Eval mode: the running statistics are inputs (attrs.training says which form the node has).
    if (mean && variance) {
      batchNormForward(floats(x), floats(mean), floats(variance), w, b, a.eps, batchNormGeometry(x.shape), v);
      return { out: t };
    }
    const batchMean = output([x.shape[1]!], dtype);
    const batchVar = output([x.shape[1]!], dtype);
    batchNormTrainForward(floats(x), w, b, a.eps, batchNormGeometry(x.shape), v, batchMean.v, batchVar.v);
    return { out: t, extras: [batchMean.t, batchVar.t] };
  },
  batchNormBackward: ({ dy, x, mean, var: variance, weight }, { eps }) => {
    const dtype = dtypeOf(x);
    const { t, v } = outputToFill(x.shape, dtype); // every element written
    const sumDy = output([x.shape[1]!], dtype);
    const sumDyXhat = output([x.shape[1]!], dtype);
    batchNormBackward(
      floats(dy),
      floats(x),
      floats(mean),
      floats(variance),
      weight ? floats(weight) : null,
      eps,
      batchNormGeometry(x.shape),
      v,
      sumDy.v,
      sumDyXhat.v,
    );
    return { out: t, extras: [sumDy.t, sumDyXhat.t] };
  },
  layerNorm: ({ x, weight, bias }, a) => {
    const cols = sizeOf(x.shape.slice(x.rank - a.dims));
    const { t, v } = outputToFill(x.shape, dtypeOf(x)); // every path writes every value
    const args = [
      floats(x),
      weight ? floats(weight) : null,
      bias ? floats(bias) : null,
      a.eps,
      cols === 0 ? 0 : x.size / cols,
      cols,
      v,
    ] as const;
    if (!layerNormInArena(...args)) layerNormForward(...args); // float32 in the arena: on the module's threads
    return { out: t };
  },
} satisfies Partial<NamedKernelTable>;
