import { adaptiveAvgPool2d, avgPool2d, maxPool2d } from '@gradlens/tensor';
import type { AvgPool2dOptions, MaxPool2dOptions, Tensor } from '@gradlens/tensor';
import { Module } from '../module';

type Pair = number | [number, number];

/** Max pooling layer as torch.nn.MaxPool2d(kernelSize, stride = kernelSize, padding, dilation, ceilMode). */
export class MaxPool2d extends Module {
  readonly options: MaxPool2dOptions;

  constructor(kernelSize: Pair, options: Omit<MaxPool2dOptions, 'kernelSize'> = {}) {
    super();
    this.options = { ...options, kernelSize };
  }

  override forward(x: Tensor): Tensor {
    return maxPool2d(x, this.options);
  }
}

/** Average pooling layer as torch.nn.AvgPool2d (countIncludePad defaults to true). */
export class AvgPool2d extends Module {
  readonly options: AvgPool2dOptions;

  constructor(kernelSize: Pair, options: Omit<AvgPool2dOptions, 'kernelSize'> = {}) {
    super();
    this.options = { ...options, kernelSize };
  }

  override forward(x: Tensor): Tensor {
    return avgPool2d(x, this.options);
  }
}

/** Adaptive average pooling to a fixed [h, w] (null keeps that size), as torch.nn.AdaptiveAvgPool2d. */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: number | readonly (number | null)[];

  constructor(outputSize: number | readonly (number | null)[]) {
    super();
    this.outputSize = outputSize;
  }

  override forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}
