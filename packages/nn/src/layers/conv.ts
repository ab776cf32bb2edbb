import type { Tensor } from '@gradlens/tensor';
import { conv2d, zeros } from '@gradlens/tensor';
import { defaultLayerInit, type InitOptions } from '../init';
import { Module } from '../module';

type Pair = number | [number, number];

export interface Conv2dOptions extends InitOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

const asPair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

/**
 * 2-D convolution layer as torch.nn.Conv2d: weight [out, in/groups, kh, kw] and bias [out], both
 * U(±1/√fan_in) initially (PyTorch's kaiming_uniform(a=√5)). Input [N, in, H, W] → [N, out, OH, OW].
 */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: Conv2dOptions = {}) {
    super();
    const groups = options.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1 || inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new Error(
        `Conv2d: groups=${groups} must be a positive integer dividing in_channels=${inChannels} and out_channels=${outChannels}`,
      );
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = asPair(kernelSize);
    this.stride = asPair(options.stride ?? 1);
    this.padding = asPair(options.padding ?? 0);
    this.dilation = asPair(options.dilation ?? 1);
    this.groups = groups;
    this.weight = this.registerParameter('weight', zeros([outChannels, inChannels / groups, ...this.kernelSize]));
    this.bias = this.registerParameter('bias', (options.bias ?? true) ? zeros([outChannels]) : null);
    if (options.init ?? true) defaultLayerInit(this.weight, this.bias, options.generator);
  }

  override forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}
