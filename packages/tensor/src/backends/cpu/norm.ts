import type { FloatDType } from '../../dtype';
import { batchNormSlots } from '../../ops/op-attrs';
import { sizeOf } from '../../shape';
import type { Tensor } from '../../tensor';
import type { KernelTable } from '../backend';
import type { BatchNormGeometry } from './kernels/batchnorm';
import { batchNormBackward, batchNormForward, batchNormTrainForward } from './kernels/batchnorm';
import { layerNormForward } from './kernels/layernorm';
import { floats, output } from './util';

function batchNormGeometry(x: readonly number[]): BatchNormGeometry {
  return { batch: x[0]!, channels: x[1]!, spatial: sizeOf(x.slice(2)) };
}

const dtypeOf = (x: Tensor) => x.dtype as FloatDType;

/** The normalisation ops (mirrors autodiff/rules/norm.ts). */
export const normKernels = {
  batchNorm: (inputs, a) => {
    const x = inputs[0]!;
    const slots = batchNormSlots(a);
    const dtype = dtypeOf(x);
    const weight = slots.weight >= 0 ? floats(inputs[slots.weight]!) : null;
    const bias = slots.bias >= 0 ? floats(inputs[slots.bias]!) : null;
    const { t, v } = output(x.shape, dtype);
    if (!a.training) {
      batchNormForward(
        floats(x),
        floats(inputs[slots.mean]!),
        floats(inputs[slots.var]!),
        weight,
        bias,
        a.eps,
        batchNormGeometry(x.shape),
        v,
      );
      return { out: t };
    }
    const mean = output([x.shape[1]!], dtype);
    const variance = output([x.shape[1]!], dtype);
    batchNormTrainForward(floats(x), weight, bias, a.eps, batchNormGeometry(x.shape), v, mean.v, variance.v);
    return { out: t, extras: [mean.t, variance.t] };
  },
  batchNormBackward: ([dy, x, mean, variance, weight], { eps }) => {
    const dtype = dtypeOf(x!);
    const { t, v } = output(x!.shape, dtype);
    const sumDy = output([x!.shape[1]!], dtype);
    const sumDyXhat = output([x!.shape[1]!], dtype);
    batchNormBackward(
      floats(dy!),
      floats(x!),
      floats(mean!),
      floats(variance!),
      weight ? floats(weight) : null,
      eps,
      batchNormGeometry(x!.shape),
      v,
      sumDy.v,
      sumDyXhat.v,
    );
    return { out: t, extras: [sumDy.t, sumDyXhat.t] };
  },
  layerNorm: (inputs, a) => {
    const x = inputs[0]!;
    const cols = sizeOf(x.shape.slice(x.rank - a.dims));
    const weight = a.weight ? floats(inputs[1]!) : null;
    const bias = a.bias ? floats(inputs[a.weight ? 2 : 1]!) : null;
    const { t, v } = output(x.shape, dtypeOf(x));
    layerNormForward(floats(x), weight, bias, a.eps, cols === 0 ? 0 : x.size / cols, cols, v);
    return { out: t };
  },
} satisfies Partial<KernelTable>;
