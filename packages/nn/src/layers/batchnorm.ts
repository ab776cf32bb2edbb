import type { Tensor } from '@gradlens/tensor';
import { assign, batchNorm, ones, scalar, zeros } from '@gradlens/tensor';
import { Module } from '../module';

export interface BatchNorm2dOptions {
  eps?: number;
  /** Weight of the newest batch in the running statistics (default 0.1); null: a cumulative average. */
  momentum?: number | null;
  /** Learn a per-channel weight and bias (default true). */
  affine?: boolean;
  /** Keep running statistics for evaluation (default true). */
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation over channels (dim 1), the state and the forward pass that torch.nn.BatchNorm1d
 * and BatchNorm2d share; they differ only in the input ranks they accept. Parameters weight (1) and
 * bias (0); buffers running_mean (0), running_var (1) and num_batches_tracked (0), so state dicts
 * match PyTorch's. Training mode normalises with the batch statistics and updates the running ones
 * (unbiased variance) in place; eval mode uses the running statistics.
 */
export abstract class BatchNorm extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  /** Batches seen in training (int32 here; int64 in PyTorch, loaded by value). */
  readonly numBatchesTracked: Tensor | null;

  /** The class name and the input layouts it accepts, for errors. */
  protected abstract readonly layout: { name: string; ranks: readonly number[]; shape: string };

  constructor(numFeatures: number, options: BatchNorm2dOptions = {}) {
    super();
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    const affine = options.affine ?? true;
    const track = options.trackRunningStats ?? true;
    this.weight = this.registerParameter('weight', affine ? ones([numFeatures]) : null);
    this.bias = this.registerParameter('bias', affine ? zeros([numFeatures]) : null);
    this.runningMean = this.registerBuffer('running_mean', track ? zeros([numFeatures]) : null);
    this.runningVar = this.registerBuffer('running_var', track ? ones([numFeatures]) : null);
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', track ? scalar(0, 'int32') : null);
  }

  override forward(x: Tensor): Tensor {
    const { name, ranks, shape } = this.layout;
    if (!ranks.includes(x.rank)) throw new Error(`${name}: expected input ${shape}, got [${x.shape.join(', ')}]`);
    if (x.shape[1] !== this.numFeatures) {
      throw new Error(`${name}: expected ${this.numFeatures} channels, got input [${x.shape.join(', ')}]`);
    }
    let momentum = this.momentum ?? 0;
    if (this.training && this.numBatchesTracked) {
      const n = assign(this.numBatchesTracked, (v) => (v[0] = (v[0] ?? 0) + 1)).values();
      if (this.momentum === null) momentum = 1 / (n[0] ?? 1);
    }
    // Batch statistics in training, or whenever there are no running statistics (as PyTorch); the op
    // updates the running statistics in place when it gets them in training mode. Eval mode is one
    // fused per-channel scale and shift; gradients still reach x, weight and bias.
    return batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, {
      training: this.training || this.runningMean === null,
      momentum,
      eps: this.eps,
    });
  }
}

/** Batch normalisation as torch.nn.BatchNorm2d, input [N, C, H, W]; see BatchNorm. */
export class BatchNorm2d extends BatchNorm {
  protected readonly layout = { name: 'BatchNorm2d', ranks: [4], shape: '4-D [N, C, H, W]' };
}

/**
 * Batch normalisation as torch.nn.BatchNorm1d, input [N, C] (features, e.g. after a Linear) or
 * [N, C, L]; statistics over N (and L) per channel C. See BatchNorm.
 */
export class BatchNorm1d extends BatchNorm {
  protected readonly layout = { name: 'BatchNorm1d', ranks: [2, 3], shape: '[N, C] or [N, C, L]' };
}
