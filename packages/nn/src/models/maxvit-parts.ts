import type { Tensor } from '@gradlens/tensor';
import { add, linear, permute, reshape, scaledDotProductAttention, slice, transpose, zeros } from '@gradlens/tensor';
import { SiLU } from '../layers/activation';
import { BatchNorm2d, type BatchNorm2dOptions } from '../layers/batchnorm';
import { Sequential } from '../layers/container';
import { Conv2d } from '../layers/conv';
import { Dropout } from '../layers/dropout';
import { Linear } from '../layers/linear';
import { Identity } from '../layers/misc';
import { AvgPool2d } from '../layers/pooling';
import { GELU, LayerNorm } from '../layers/transformer';
import { Conv2dNormActivation, SqueezeExcitation, StochasticDepth } from '../layers/vision-ops';
import { Module } from '../module';
import { gatherRelativeBias, relativePositionIndex } from './swin-window';

/**
 * MaxViT's MBConv, as torchvision.models.maxvit.MBConv: `proj` (identity, or [AvgPool2d(3, 2, 1) when strided,]
 * 1×1 conv) plus sd(`layers`): `pre_norm` (BatchNorm), `conv_a` (1×1 conv-BN-GELU to out·expansion), `conv_b`
 * (3×3 depthwise conv-BN-GELU, strided), `squeeze_excitation` (to out·squeeze, SiLU), `conv_c` (1×1 conv to out).
 */
export class MaxVitMBConv extends Module {
  readonly proj: Module;
  readonly stochastic_depth: Module;
  readonly layers: Sequential;

  constructor(
    inChannels: number,
    outChannels: number,
    expansionRatio: number,
    squeezeRatio: number,
    stride: number,
    p: number,
    norm: BatchNorm2dOptions,
  ) {
    super();
    const conv1x1 = () => new Conv2d(inChannels, outChannels, 1, { init: false });
    this.proj = this.registerModule(
      'proj',
      stride !== 1 || inChannels !== outChannels
        ? stride === 2
          ? new Sequential(new AvgPool2d(3, { stride, padding: 1 }), conv1x1())
          : new Sequential(conv1x1())
        : new Identity(),
    );
    this.stochastic_depth = this.registerModule('stochastic_depth', p ? new StochasticDepth(p) : new Identity());
    const mid = Math.floor(outChannels * expansionRatio);
    const gelu = () => new GELU();
    this.layers = this.registerModule(
      'layers',
      new Sequential()
        .append(new BatchNorm2d(inChannels, norm), 'pre_norm')
        .append(new Conv2dNormActivation(inChannels, mid, 1, { activation: gelu, norm }), 'conv_a')
        .append(new Conv2dNormActivation(mid, mid, 3, { stride, groups: mid, activation: gelu, norm }), 'conv_b')
        .append(new SqueezeExcitation(mid, Math.floor(outChannels * squeezeRatio), () => new SiLU()), 'squeeze_excitation')
        .append(new Conv2d(mid, outChannels, 1, { init: false }), 'conv_c'),
    );
  }

  override forward(x: Tensor): Tensor {
    return add(this.proj.call(x), this.stochastic_depth.call(this.layers.call(x)));
  }
}

/**
 * MaxViT's attention within a partition of P tokens, as torchvision's RelativePositionalMultiHeadAttention:
 * [B, G, P, D] → `to_qkv`, heads of headDim, scores scaled by D^−½ (torchvision's choice: the feature size, not
 * the head's) plus `relative_position_bias_table` read through `relative_position_index` [P, P], softmax, `merge`.
 */
export class RelativePositionalMultiHeadAttention extends Module {
  readonly to_qkv: Linear;
  readonly merge: Linear;
  readonly relative_position_bias_table: Tensor;
  readonly relative_position_index: Tensor;
  readonly numHeads: number;
  readonly size: number;

  constructor(
    readonly featDim: number,
    readonly headDim: number,
    readonly maxSeqLen: number,
  ) {
    super();
    if (!(headDim >= 1 && featDim % headDim === 0))
      throw new Error(`RelativePositionalMultiHeadAttention: featDim ${featDim} must be divisible by headDim ${headDim}`);
    this.numHeads = featDim / headDim;
    this.size = Math.floor(Math.sqrt(maxSeqLen));
    const s = this.size;
    this.to_qkv = this.registerModule('to_qkv', new Linear(featDim, 3 * featDim, { init: false }));
    this.merge = this.registerModule('merge', new Linear(featDim, featDim, { init: false }));
    this.relative_position_bias_table = this.registerParameter('relative_position_bias_table', zeros([(2 * s - 1) ** 2, this.numHeads]));
    this.relative_position_index = this.registerBuffer('relative_position_index', reshape(relativePositionIndex([s, s]), [s * s, s * s]));
  }

  override forward(x: Tensor): Tensor {
    const t = this.maxSeqLen;
    if (x.rank !== 4 || x.shape[2] !== t || x.shape[3] !== this.featDim)
      throw new Error(`RelativePositionalMultiHeadAttention: expected [B, G, ${t}, ${this.featDim}], got [${x.shape.join(', ')}]`);
    const [b, g] = x.shape as [number, number];
    const d = this.featDim;
    const part = (i: number) => {
      const bias = this.to_qkv.bias ? slice(this.to_qkv.bias, 0, i * d, (i + 1) * d) : null;
      const y = linear(x, slice(this.to_qkv.weight, 0, i * d, (i + 1) * d), bias);
      return permute(reshape(y, [b, g, t, this.numHeads, this.headDim]), [0, 1, 3, 2, 4]);
    };
    const bias = gatherRelativeBias(
      this.relative_position_bias_table,
      this.relative_position_index,
      t,
      'RelativePositionalMultiHeadAttention: relative_position_index',
      'relative_position_bias_table',
    );
    const attended = scaledDotProductAttention(part(0), part(1), part(2), { mask: bias, scale: d ** -0.5 });
    return linear(reshape(permute(attended, [0, 1, 3, 2, 4]), [b, g, t, d]), this.merge.weight, this.merge.bias);
  }
}

/** [B, C, H, W] → [B, (H/p)·(W/p), p·p, C]: p×p windows, as torchvision's WindowPartition. */
function partition(x: Tensor, p: number): Tensor {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  return reshape(permute(reshape(x, [b, c, h / p, p, w / p, p]), [0, 2, 4, 3, 5, 1]), [b, (h / p) * (w / p), p * p, c]);
}

/** The inverse of partition, as torchvision's WindowDepartition: [B, hp·wp, p·p, C] → [B, C, hp·p, wp·p]. */
function departition(x: Tensor, p: number, hp: number, wp: number): Tensor {
  const [b, , , c] = x.shape as [number, number, number, number];
  return reshape(permute(reshape(x, [b, hp, wp, p, p, c]), [0, 5, 1, 3, 2, 4]), [b, c, hp * p, wp * p]);
}

/**
 * MaxViT's block attention (`window`: p×p windows of neighbours) or grid attention (`grid`: the map cut into
 * partitionSize × partitionSize cells, each token attending to the ones at its place in every cell), as
 * torchvision's PartitionAttentionLayer: x + sd(`attn_layer`(x)) (LayerNorm, attention, Dropout), then
 * x + sd(`mlp_layer`(x)) (LayerNorm, Linear, GELU, Linear, Dropout) on the partitions; [B, C, H, W] in and out,
 * H × W being the gridSize it was built for.
 */
export class PartitionAttentionLayer extends Module {
  readonly attn_layer: Sequential;
  readonly mlp_layer: Sequential;
  readonly stochastic_dropout: StochasticDepth;
  /** The partition size torchvision's WindowPartition is called with (window: partitionSize; grid: the number of cells). */
  readonly p: number;

  constructor(
    readonly channels: number,
    headDim: number,
    partitionSize: number,
    readonly partitionType: 'window' | 'grid',
    readonly gridSize: readonly [number, number],
    mlpRatio: number,
    p: number,
  ) {
    super();
    const cells = Math.floor(gridSize[0] / partitionSize);
    this.p = partitionType === 'window' ? partitionSize : cells;
    if (!(this.p >= 1 && gridSize[0] % this.p === 0 && gridSize[1] % this.p === 0))
      throw new Error(`PartitionAttentionLayer: grid ${gridSize.join('×')} is not divisible by partition size ${this.p}`);
    this.attn_layer = this.registerModule(
      'attn_layer',
      new Sequential(
        new LayerNorm(channels),
        new RelativePositionalMultiHeadAttention(channels, headDim, partitionSize ** 2),
        new Dropout(0),
      ),
    );
    this.mlp_layer = this.registerModule(
      'mlp_layer',
      new Sequential(
        new LayerNorm(channels),
        new Linear(channels, channels * mlpRatio, { init: false }),
        new GELU(),
        new Linear(channels * mlpRatio, channels, { init: false }),
        new Dropout(0),
      ),
    );
    this.stochastic_dropout = this.registerModule('stochastic_dropout', new StochasticDepth(p));
  }

  override forward(input: Tensor): Tensor {
    const [gh, gw] = this.gridSize;
    if (input.rank !== 4 || input.shape[1] !== this.channels || input.shape[2] !== gh || input.shape[3] !== gw)
      throw new Error(`PartitionAttentionLayer: expected [N, ${this.channels}, ${gh}, ${gw}], got [${input.shape.join(', ')}]`);
    const grid = this.partitionType === 'grid';
    let x = partition(input, this.p);
    if (grid) x = transpose(x, -2, -3);
    x = add(x, this.stochastic_dropout.call(this.attn_layer.call(x)));
    x = add(x, this.stochastic_dropout.call(this.mlp_layer.call(x)));
    if (grid) x = transpose(x, -2, -3);
    return departition(x, this.p, gh / this.p, gw / this.p);
  }
}
