import type { Tensor } from '@gradlens/tensor';
import { add, zeros } from '@gradlens/tensor';
import { Sequential } from '../layers/container';
import { Dropout } from '../layers/dropout';
import { Linear } from '../layers/linear';
import { GELU, LayerNorm } from '../layers/transformer';
import { StochasticDepth } from '../layers/vision-ops';
import { Module } from '../module';
import { mergeNeighbours, relativePositionIndex, type ScoreInputs, WindowAttention } from './swin-window';

/**
 * Swin's patch merging, as torchvision.models.swin_transformer.PatchMerging: the 2×2 neighbours of
 * [N, H, W, C] concatenated (mergeNeighbours), `norm` (LayerNorm of 4C), `reduction` (Linear 4C → 2C, no bias)
 * → [N, ⌈H/2⌉, ⌈W/2⌉, 2C].
 */
export class PatchMerging extends Module {
  readonly reduction: Linear;
  readonly norm: LayerNorm;

  constructor(readonly dim: number) {
    super();
    this.reduction = this.registerModule('reduction', new Linear(4 * dim, 2 * dim, { bias: false, init: false }));
    this.norm = this.registerModule('norm', new LayerNorm(4 * dim));
  }

  override forward(input: Tensor): Tensor {
    return this.reduction.call(this.norm.call(mergeNeighbours(input, this.dim, 'PatchMerging')));
  }
}

/**
 * Window attention with a learned relative position bias, shifted or not, as torchvision's
 * ShiftedWindowAttention (Swin v1): WindowAttention's windows with scaled dot-product scores (d^−½) and the
 * bias `relative_position_bias_table` [(2wh−1)(2ww−1), heads] read through `relative_position_index`.
 */
export class ShiftedWindowAttention extends WindowAttention {
  readonly relative_position_bias_table: Tensor;
  readonly relative_position_index: Tensor;

  constructor(dim: number, windowSize: readonly [number, number], shiftSize: readonly [number, number], numHeads: number) {
    super('ShiftedWindowAttention', dim, windowSize, shiftSize, numHeads);
    const rows = (2 * windowSize[0] - 1) * (2 * windowSize[1] - 1);
    this.relative_position_bias_table = this.registerParameter('relative_position_bias_table', zeros([rows, numHeads]));
    this.relative_position_index = this.registerBuffer('relative_position_index', relativePositionIndex(windowSize));
  }

  protected override relativePositionBias(): Tensor {
    return this.gatherBias(this.relative_position_bias_table, 'relative_position_bias_table');
  }

  protected override scoreInputs(q: Tensor, k: Tensor): ScoreInputs {
    return { q, k, scale: (this.dim / this.numHeads) ** -0.5 };
  }
}

/** Swin's MLP, as torchvision.ops.MLP(dim, [hidden, dim], GELU): Linear, GELU, Dropout, Linear, Dropout (`mlp.0`, `mlp.3`). */
export class SwinMLP extends Sequential {
  constructor(dim: number, hidden: number, dropout: number) {
    super(
      new Linear(dim, hidden, { init: false }),
      new GELU(),
      new Dropout(dropout),
      new Linear(hidden, dim, { init: false }),
      new Dropout(dropout),
    );
  }
}

/** A window attention class a block builds (torchvision's attn_layer). */
export type WindowAttentionLayer = new (
  dim: number,
  windowSize: readonly [number, number],
  shiftSize: readonly [number, number],
  numHeads: number,
) => WindowAttention;

/**
 * One Swin block, as torchvision's SwinTransformerBlock: x + sd(attn(norm1(x))), then y + sd(mlp(norm2(y))),
 * on channels-last [N, H, W, C]; `attnLayer` picks the attention (ShiftedWindowAttention by default).
 */
export class SwinTransformerBlock extends Module {
  readonly norm1: LayerNorm;
  readonly attn: WindowAttention;
  readonly stochastic_depth: StochasticDepth;
  readonly norm2: LayerNorm;
  readonly mlp: SwinMLP;

  constructor(
    dim: number,
    numHeads: number,
    windowSize: readonly [number, number],
    shiftSize: readonly [number, number],
    stochasticDepthProb: number,
    mlpRatio = 4,
    dropout = 0,
    attnLayer: WindowAttentionLayer = ShiftedWindowAttention,
  ) {
    super();
    this.norm1 = this.registerModule('norm1', new LayerNorm(dim));
    this.attn = this.registerModule('attn', new attnLayer(dim, windowSize, shiftSize, numHeads));
    this.stochastic_depth = this.registerModule('stochastic_depth', new StochasticDepth(stochasticDepthProb));
    this.norm2 = this.registerModule('norm2', new LayerNorm(dim));
    this.mlp = this.registerModule('mlp', new SwinMLP(dim, Math.floor(dim * mlpRatio), dropout));
  }

  override forward(input: Tensor): Tensor {
    const x = add(input, this.stochastic_depth.call(this.attn.call(this.norm1.call(input))));
    return add(x, this.stochastic_depth.call(this.mlp.call(this.norm2.call(x))));
  }
}
