import { assign } from '@gradlens/tensor';
import type { BatchNorm } from '../layers/batchnorm';
import type { Conv2d } from '../layers/conv';
import type { Linear } from '../layers/linear';

/** Writes `layer` followed by `bn` (or alone) into `target`, a layer of the same kind and size with a bias. */
export function foldInto(layer: Conv2d | Linear, bn: BatchNorm | null, target: Conv2d | Linear): void {
  const w = layer.weight.values(),
    b = layer.bias?.values();
  if (target.weight.size !== w.length || target.constructor !== layer.constructor)
    throw new Error(
      `foldBatchNorm: ${layer.constructor.name} [${layer.weight.shape.join(', ')}] does not match the plain model's ${target.constructor.name} [${target.weight.shape.join(', ')}]`,
    );
  const outputs = layer.weight.shape[0]!;
  const per = w.length / outputs;
  const tw = new Float64Array(w.length),
    tb = new Float64Array(outputs);
  for (let o = 0; o < outputs; o++) {
    let scale = 1,
      shift = 0;
    if (bn) {
      const mean = Number(bn.runningMean!.values()[o]),
        v = Number(bn.runningVar!.values()[o]);
      const gamma = bn.weight ? Number(bn.weight.values()[o]) : 1,
        beta = bn.bias ? Number(bn.bias.values()[o]) : 0;
      scale = gamma / Math.sqrt(v + bn.eps);
      shift = beta - mean * scale;
    }
    for (let j = 0; j < per; j++) tw[o * per + j] = Number(w[o * per + j]) * scale;
    tb[o] = (b ? Number(b[o]) : 0) * scale + shift;
  }
  assign(target.weight, tw);
  assign(target.bias!, tb);
}
