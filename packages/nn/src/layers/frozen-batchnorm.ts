import type { Tensor } from '@gradlens/tensor';
import { batchNorm } from '@gradlens/tensor';
import { BatchNorm2d } from './batchnorm';
import type { Module } from '../module';

/**
 * torchvision.ops.FrozenBatchNorm2d: batch normalisation with fixed statistics and affine, the detection backbones'
 * norm. Its state dict holds the buffers weight, bias, running_mean and running_var (no num_batches_tracked, no
 * parameters), and it normalises with the running statistics in training mode too. eps 1e-5, as torchvision's.
 */
export class FrozenBatchNorm2d extends BatchNorm2d {
  override readonly numBatchesTracked: Tensor | null = null;

  constructor(numFeatures: number, eps = 1e-5) {
    super(numFeatures, { eps });
    // torchvision registers all four as buffers: move weight and bias there, drop the batch counter.
    this.registerParameter('weight', null);
    this.registerParameter('bias', null);
    this.registerBuffer('weight', this.weight);
    this.registerBuffer('bias', this.bias);
    const counter = super.stateDict().num_batches_tracked;
    this.registerBuffer('num_batches_tracked', null);
    counter?.dispose();
  }

  /** Sets eps in place, as torchvision's overwrite_eps (its published R-CNN and RetinaNet COCO_V1 weights run at 0). */
  setEps(eps: number): this {
    if (!(eps >= 0) || !Number.isFinite(eps)) throw new Error(`FrozenBatchNorm2d: eps must be a finite number ≥ 0, got ${eps}`);
    // eps is readonly for every other norm layer; a frozen one changes it where torchvision does, after building.
    (this as { eps: number }).eps = eps;
    return this;
  }

  override forward(x: Tensor): Tensor {
    if (x.rank !== 4) throw new Error(`FrozenBatchNorm2d: expected input 4-D [N, C, H, W], got [${x.shape.join(', ')}]`);
    if (x.shape[1] !== this.numFeatures) {
      throw new Error(`FrozenBatchNorm2d: expected ${this.numFeatures} channels, got input [${x.shape.join(', ')}]`);
    }
    return batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, { training: false, momentum: 0, eps: this.eps });
  }
}

/** torchvision's overwrite_eps: sets eps of every FrozenBatchNorm2d in `model`; returns how many it changed. */
export function overwriteEps(model: Module, eps: number): number {
  const frozen = model.namedModules().flatMap(([, m]) => (m instanceof FrozenBatchNorm2d ? [m] : []));
  for (const m of frozen) m.setEps(eps);
  return frozen.length;
}
