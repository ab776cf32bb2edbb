import type { Tensor } from '@gradlens/tensor';
import { add, clamp, div, exp, mul, reshape, sigmoid, sqrt, square, sum, tensor } from '@gradlens/tensor';
import { ReLU } from '../layers/activation';
import { Sequential } from '../layers/container';
import { Linear } from '../layers/linear';
import { LayerNorm } from '../layers/transformer';
import { Module } from '../module';
import { SwinTransformerBlock } from './swin-blocks';
import { mergeNeighbours, relativePositionIndex, type ScoreInputs, WindowAttention } from './swin-window';

/**
 * Swin V2's patch merging, as torchvision's PatchMergingV2: the 2×2 neighbours of [N, H, W, C] concatenated
 * (mergeNeighbours), `reduction` (Linear 4C → 2C, no bias), then `norm` (LayerNorm of 2C) → [N, ⌈H/2⌉, ⌈W/2⌉, 2C].
 */
export class PatchMergingV2 extends Module {
  readonly reduction: Linear;
  readonly norm: LayerNorm;

  constructor(readonly dim: number) {
    super();
    this.reduction = this.registerModule('reduction', new Linear(4 * dim, 2 * dim, { bias: false, init: false }));
    this.norm = this.registerModule('norm', new LayerNorm(2 * dim));
  }

  override forward(input: Tensor): Tensor {
    return this.norm.call(this.reduction.call(mergeNeighbours(input, this.dim, 'PatchMergingV2')));
  }
}

/**
 * The log-spaced relative coordinates torchvision's ShiftedWindowAttentionV2 feeds its cpb_mlp:
 * (Δh / (wh − 1), Δw / (ww − 1)) · 8 → sign · log2(|·| + 1) / 3, as [1, 2wh−1, 2ww−1, 2].
 */
export function relativeCoordsTable(win: readonly [number, number]): Tensor {
  const [wh, ww] = win;
  const rows = 2 * wh - 1,
    cols = 2 * ww - 1;
  const out = new Float32Array(rows * cols * 2);
  // Float32 steps, as torch computes the buffer in float32.
  const f = Math.fround;
  const logSpaced = (delta: number, side: number) => {
    const v = f(f(f(delta) / f(side - 1)) * 8);
    return f(f(Math.sign(v) * f(Math.log2(f(Math.abs(v) + 1)))) / 3);
  };
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      out[(i * cols + j) * 2] = logSpaced(i - (wh - 1), wh);
      out[(i * cols + j) * 2 + 1] = logSpaced(j - (ww - 1), ww);
    }
  }
  return tensor(out, [1, rows, cols, 2]);
}

/** x / max(‖x‖₂, 1e-12) over the last dim, as F.normalize (the clamp on ‖x‖² keeps a zero row's gradient 0, not NaN). */
function normalizeLast(x: Tensor): Tensor {
  return div(x, sqrt(clamp(sum(square(x), { dim: -1, keepdim: true }), { min: 1e-24 })));
}

/**
 * Swin V2's window attention, as torchvision's ShiftedWindowAttentionV2: WindowAttention's windows with cosine
 * scores (q and k normalised, times exp(min(logit_scale, ln 100)) per head), the bias 16·sigmoid of
 * `cpb_mlp` (Linear 2 → 512, ReLU, Linear 512 → heads, no bias) over `relative_coords_table`, read through
 * `relative_position_index`, and no bias on k (torchvision zeroes that third of qkv.bias in every pass).
 */
export class ShiftedWindowAttentionV2 extends WindowAttention {
  readonly logit_scale: Tensor;
  readonly relative_coords_table: Tensor;
  readonly relative_position_index: Tensor;
  readonly cpb_mlp: Sequential;

  constructor(dim: number, windowSize: readonly [number, number], shiftSize: readonly [number, number], numHeads: number) {
    super('ShiftedWindowAttentionV2', dim, windowSize, shiftSize, numHeads);
    // torchvision divides the coordinates by windowSize − 1: a one-token side gives NaN there.
    if (!(windowSize[0] >= 2 && windowSize[1] >= 2))
      throw new Error(`ShiftedWindowAttentionV2: windowSize must be at least 2×2, got ${windowSize.join('×')}`);
    this.logit_scale = this.registerParameter('logit_scale', tensor(new Float32Array(numHeads).fill(Math.log(10)), [numHeads, 1, 1]));
    this.relative_coords_table = this.registerBuffer('relative_coords_table', relativeCoordsTable(windowSize));
    this.relative_position_index = this.registerBuffer('relative_position_index', relativePositionIndex(windowSize));
    this.cpb_mlp = this.registerModule(
      'cpb_mlp',
      new Sequential(new Linear(2, 512, { init: false }), new ReLU(), new Linear(512, numHeads, { bias: false, init: false })),
    );
  }

  protected override relativePositionBias(): Tensor {
    const table = this.cpb_mlp.call(this.relative_coords_table);
    const rows = table.size / this.numHeads;
    return mul(sigmoid(this.gatherBias(reshape(table, [rows, this.numHeads]), 'relative_coords_table')), 16);
  }

  protected override qkvBias(part: number): Tensor | null {
    return part === 1 ? null : super.qkvBias(part);
  }

  protected override scoreInputs(q: Tensor, k: Tensor): ScoreInputs {
    // cos(q, k) · s per head, written as (q̂ · s) · k̂ with scale 1; s = exp(min(logit_scale, ln 100)) [heads, 1, 1].
    const s = exp(clamp(this.logit_scale, { max: Math.log(100) }));
    return { q: mul(normalizeLast(q), s), k: normalizeLast(k), scale: 1 };
  }
}

/**
 * One Swin V2 block, as torchvision's SwinTransformerBlockV2 (post-norm): x + sd(norm1(attn(x))), then
 * y + sd(norm2(mlp(y))), on channels-last [N, H, W, C], with ShiftedWindowAttentionV2.
 */
export class SwinTransformerBlockV2 extends SwinTransformerBlock {
  constructor(
    dim: number,
    numHeads: number,
    windowSize: readonly [number, number],
    shiftSize: readonly [number, number],
    stochasticDepthProb: number,
    mlpRatio = 4,
    dropout = 0,
  ) {
    super(dim, numHeads, windowSize, shiftSize, stochasticDepthProb, mlpRatio, dropout, ShiftedWindowAttentionV2);
  }

  override forward(input: Tensor): Tensor {
    const x = add(input, this.stochastic_depth.call(this.norm1.call(this.attn.call(input))));
    return add(x, this.stochastic_depth.call(this.norm2.call(this.mlp.call(x))));
  }
}
