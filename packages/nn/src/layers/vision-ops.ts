import type { Generator, Tensor } from '@gradlens/tensor';
import { adaptiveAvgPool2d, dropout, mul, ones } from '@gradlens/tensor';
import { ReLU, ReLU6, Sigmoid } from './activation';
import { BatchNorm2d, type BatchNorm2dOptions } from './batchnorm';
import { Sequential } from './container';
import { Conv2d } from './conv';
import { FrozenBatchNorm2d } from './frozen-batchnorm';
import { Module } from '../module';

export interface Conv2dNormActivationOptions {
  stride?: number;
  groups?: number;
  dilation?: number;
  /** The activation after the norm, or null for none (default ReLU6, as MobileNetV2). */
  activation?: (() => Module) | null;
  /** The BatchNorm's eps and momentum (default torch's 1e-5, 0.1). */
  norm?: BatchNorm2dOptions;
  /** torchvision's norm_layer=FrozenBatchNorm2d (eps 1e-5; `norm` unused): the detection backbones. */
  frozenNorm?: boolean;
}

/**
 * conv + BatchNorm + activation, as torchvision.ops.Conv2dNormActivation (a Sequential: children '0',
 * '1' and, with an activation, '2'), padding (k − 1) / 2 · dilation and no conv bias.
 */
export class Conv2dNormActivation extends Sequential {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize = 3,
    strideOrOptions: number | Conv2dNormActivationOptions = 1,
    groups = 1,
  ) {
    super();
    const o = typeof strideOrOptions === 'number' ? { stride: strideOrOptions, groups } : strideOrOptions;
    const dilation = o.dilation ?? 1;
    const padding = ((kernelSize - 1) >> 1) * dilation;
    this.append(
      new Conv2d(inChannels, outChannels, kernelSize, {
        stride: o.stride ?? 1,
        padding,
        dilation,
        groups: o.groups ?? 1,
        bias: false,
        init: false,
      }),
    );
    this.append(o.frozenNorm === true ? new FrozenBatchNorm2d(outChannels) : new BatchNorm2d(outChannels, o.norm));
    const activation = o.activation === undefined ? () => new ReLU6() : o.activation;
    if (activation) this.append(activation());
  }
}

/**
 * Squeeze-and-excitation, as torchvision.ops.SqueezeExcitation: global average pool, `fc1` (1×1 conv
 * to squeezeChannels), `activation`, `fc2` (1×1 conv back), `scale_activation`; the input times that
 * per-channel scale.
 */
export class SqueezeExcitation extends Module {
  readonly fc1: Conv2d;
  readonly fc2: Conv2d;
  readonly activation: Module;
  readonly scaleActivation: Module;

  constructor(
    inputChannels: number,
    squeezeChannels: number,
    activation: () => Module = () => new ReLU(),
    scaleActivation: () => Module = () => new Sigmoid(),
  ) {
    super();
    this.fc1 = this.registerModule('fc1', new Conv2d(inputChannels, squeezeChannels, 1, { init: false }));
    this.fc2 = this.registerModule('fc2', new Conv2d(squeezeChannels, inputChannels, 1, { init: false }));
    this.activation = this.registerModule('activation', activation());
    this.scaleActivation = this.registerModule('scale_activation', scaleActivation());
  }

  override forward(x: Tensor): Tensor {
    const s = this.fc2.call(this.activation.call(this.fc1.call(adaptiveAvgPool2d(x, [1, 1]))));
    return mul(this.scaleActivation.call(s), x);
  }
}

/**
 * Stochastic depth ("row" mode), as torchvision.ops.StochasticDepth: in training each sample's residual
 * branch is dropped with probability p and the kept ones scaled by 1/(1 − p); identity in eval.
 */
export class StochasticDepth extends Module {
  /** Where the masks come from (default: the default generator). */
  generator: Generator | undefined;

  constructor(
    readonly p: number,
    options: { generator?: Generator } = {},
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`StochasticDepth: p must be in [0, 1], got ${p}`);
    this.generator = options.generator;
  }

  override forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    // A Bernoulli(1 − p) mask per sample, scaled by 1/(1 − p): dropout of ones of shape [N, 1, …, 1].
    const shape = [x.shape[0] ?? 1, ...x.shape.slice(1).map(() => 1)];
    const keep = dropout(ones(shape, x.dtype), { p: this.p, training: true, generator: this.generator });
    return mul(x, keep);
  }
}
