import type { Tensor } from '@gradlens/tensor';
import { linear, zeros } from '@gradlens/tensor';
import { defaultLayerInit, type InitOptions } from '../init';
import { Module } from '../module';

export interface LinearOptions extends InitOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/** Fully connected layer as torch.nn.Linear: [*, in] → [*, out] with weight [out, in], bias [out]. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = this.registerParameter('weight', zeros([outFeatures, inFeatures]));
    this.bias = this.registerParameter('bias', (options.bias ?? true) ? zeros([outFeatures]) : null);
    if (options.init ?? true) defaultLayerInit(this.weight, this.bias, options.generator);
  }

  override forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
