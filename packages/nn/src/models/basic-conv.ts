import type { Tensor } from '@gradlens/tensor';
import { add, cat, mul, narrow, relu } from '@gradlens/tensor';
import { BatchNorm2d } from '../layers/batchnorm';
import { Conv2d, type Conv2dOptions } from '../layers/conv';
import { Module } from '../module';

/**
 * conv (no bias) + BatchNorm (eps 0.001) + functional ReLU, as torchvision's BasicConv2d in
 * googlenet.py and inception.py (children `conv` and `bn`).
 */
export class BasicConv2d extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;

  constructor(
    inChannels: number,
    readonly outChannels: number,
    kernelSize: number | [number, number],
    options: Pick<Conv2dOptions, 'stride' | 'padding'> = {},
  ) {
    super();
    this.conv = this.registerModule('conv', new Conv2d(inChannels, outChannels, kernelSize, { ...options, bias: false, init: false }));
    this.bn = this.registerModule('bn', new BatchNorm2d(outChannels, { eps: 0.001 }));
  }

  override forward(x: Tensor): Tensor {
    return relu(this.bn.call(this.conv.call(x)));
  }
}

/** Throws unless x is [N, 3, H, W] with H and W at least minSide (the smallest input the model's strides allow). */
export function checkImageInput(x: Tensor, model: string, minSide: number, expected: string): void {
  const [, c, h, w] = x.shape;
  if (x.rank !== 4 || c !== 3 || h === undefined || w === undefined || h < minSide || w < minSide) {
    throw new Error(`${model}: expected input [N, 3, H, W] with H and W at least ${minSide} (${expected}), got [${x.shape.join(', ')}]`);
  }
}

// Per channel: scale std / 0.5 and shift (mean − 0.5) / 0.5 of ImageNet's normalisation.
const SCALE = [0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5];
const SHIFT = [(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5];

/**
 * GoogLeNet's and Inception v3's transform_input: turns an ImageNet-normalised [N, 3, H, W] input into
 * the (x − 0.5) / 0.5 normalisation their ported TensorFlow weights expect, channel by channel.
 */
export function transformInput(x: Tensor, model: string): Tensor {
  if (x.rank !== 4 || x.shape[1] !== 3) {
    throw new Error(`${model}: transformInput expects input [N, 3, H, W], got [${x.shape.join(', ')}]`);
  }
  return cat(
    [0, 1, 2].map((c) => add(mul(narrow(x, 1, c, 1), SCALE[c]!), SHIFT[c]!)),
    1,
  );
}
