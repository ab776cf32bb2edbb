import type { Tensor } from '@gradlens/tensor';
import { flatten } from '@gradlens/tensor';
import { Module } from '../module';

/** Flattens dims startDim..endDim (default 1..−1: keeps the batch dim), as torch.nn.Flatten. */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
}

/** Returns its input, as torch.nn.Identity (a placeholder, e.g. for a removed classifier). */
export class Identity extends Module {
  override forward(x: Tensor): Tensor {
    return x;
  }
}
