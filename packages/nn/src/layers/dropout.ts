import type { Generator, Tensor } from '@gradlens/tensor';
import { dropout } from '@gradlens/tensor';
import { Module } from '../module';

/** Zeroes elements with probability p in training (scaling the rest by 1/(1−p)), identity in eval; torch.nn.Dropout. */
export class Dropout extends Module {
  readonly p: number;
  /** Where the masks come from (default: the default generator). */
  generator: Generator | undefined;

  constructor(p = 0.5, options: { generator?: Generator } = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: p must be in [0, 1], got ${p}`);
    this.p = p;
    this.generator = options.generator;
  }

  override forward(x: Tensor): Tensor {
    return dropout(x, { p: this.p, training: this.training, generator: this.generator });
  }
}
