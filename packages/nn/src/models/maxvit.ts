import type { Tensor } from '@gradlens/tensor';
import { constant_, normal_, truncNormal_ } from '../init';
import { Tanh } from '../layers/activation';
import type { BatchNorm2dOptions } from '../layers/batchnorm';
import { Sequential } from '../layers/container';
import { Conv2d } from '../layers/conv';
import { Linear } from '../layers/linear';
import { Flatten } from '../layers/misc';
import { AdaptiveAvgPool2d } from '../layers/pooling';
import { GELU, LayerNorm } from '../layers/transformer';
import { Conv2dNormActivation } from '../layers/vision-ops';
import { Module } from '../module';
import type { ModelOptions } from './common';
import { numClassesOf } from './common';
import { MaxVitMBConv, PartitionAttentionLayer, RelativePositionalMultiHeadAttention } from './maxvit-parts';

/** A 3×3, stride-2, padding-1 conv's output size, as torchvision's _get_conv_output_shape. */
const halved = (n: number) => Math.floor((n - 1) / 2) + 1;

/** MaxViT's BatchNorm: eps 1e-3, momentum 0.99 (torchvision's, in torch's convention). */
const NORM: BatchNorm2dOptions = { eps: 1e-3, momentum: 0.99 };

/** The shape of a MaxViT, as torchvision.models.MaxVit's arguments. */
export interface MaxVitConfig {
  /** The input height and width the partitions are laid out for (torchvision's input_size; it must be square). */
  inputSize: readonly [number, number];
  stemChannels: number;
  partitionSize: number;
  blockChannels: readonly number[];
  blockLayers: readonly number[];
  headDim: number;
  /** Largest stochastic-depth probability, reached by the last layer. */
  stochasticDepthProb: number;
  squeezeRatio?: number;
  expansionRatio?: number;
  mlpRatio?: number;
}

export interface MaxVitOptions extends ModelOptions {
  /** The input size to build for (default 224×224, as torchvision's published weights). */
  inputSize?: readonly [number, number];
}

/** One MaxViT layer, as torchvision's MaxVitLayer: `layers` = MBconv, window_attention, grid_attention. */
export class MaxVitLayer extends Module {
  readonly layers: Sequential;

  constructor(inC: number, outC: number, stride: number, gridSize: readonly [number, number], p: number, c: MaxVitConfig) {
    super();
    const attention = (type: 'window' | 'grid') =>
      new PartitionAttentionLayer(outC, c.headDim, c.partitionSize, type, gridSize, c.mlpRatio ?? 4, p);
    this.layers = this.registerModule(
      'layers',
      new Sequential()
        .append(new MaxVitMBConv(inC, outC, c.expansionRatio ?? 4, c.squeezeRatio ?? 0.25, stride, p, NORM), 'MBconv')
        .append(attention('window'), 'window_attention')
        .append(attention('grid'), 'grid_attention'),
    );
  }

  override forward(x: Tensor): Tensor {
    return this.layers.call(x);
  }
}

/**
 * MaxViT: `stem` (3×3 stride-2 conv-BN-GELU, 3×3 conv with bias), `blocks` (each MaxVitLayers, the first
 * halving the map), `classifier` (global average pool, Flatten, LayerNorm, Linear, Tanh, Linear without bias),
 * as torchvision.models.MaxVit (Tu et al. 2022). Its partitions are laid out at construction for one input
 * size (`inputSize`, default 224×224), as torchvision's: another size is refused in one line. Input
 * [N, 3, H, W] → logits [N, numClasses]; every block's output is [N, C, h, w].
 */
export class MaxVit extends Module {
  readonly config: MaxVitConfig;
  readonly stem: Sequential;
  readonly blocks: Sequential;
  readonly classifier: Sequential;

  constructor(config: MaxVitConfig, options: ModelOptions = {}) {
    super();
    const c = config;
    const [h, w] = c.inputSize;
    for (const [k, v] of Object.entries({
      'inputSize[0]': h,
      'inputSize[1]': w,
      stemChannels: c.stemChannels,
      partitionSize: c.partitionSize,
      headDim: c.headDim,
    }))
      if (!Number.isInteger(v) || v < 1) throw new Error(`MaxVit: ${k} must be a positive integer, got ${v}`);
    if (h !== w)
      throw new Error(`MaxVit: inputSize must be square (grid attention cuts both sides by the height's cell count), got ${h}×${w}`);
    if (c.blockChannels.length === 0 || c.blockLayers.length !== c.blockChannels.length)
      throw new Error(
        `MaxVit: blockChannels (${c.blockChannels.length}) and blockLayers (${c.blockLayers.length}) must be non-empty and of one length`,
      );
    c.blockLayers.forEach((v, i) => {
      if (!Number.isInteger(v) || v < 1) throw new Error(`MaxVit: blockLayers[${i}] must be a positive integer, got ${v}`);
    });
    // As torchvision: every block's input map must divide into partitions.
    let size = halved(h);
    const sizes = c.blockChannels.map(() => (size = halved(size)));
    sizes.forEach((s, i) => {
      if (s % c.partitionSize !== 0)
        throw new Error(
          `MaxVit: block ${i}'s ${s}×${s} map is not divisible by partition size ${c.partitionSize} (input ${h}×${w}: block maps ${sizes.join(', ')})`,
        );
    });
    this.config = { ...c, inputSize: [h, w], blockChannels: [...c.blockChannels], blockLayers: [...c.blockLayers] };
    const gelu = () => new GELU();
    this.stem = this.registerModule(
      'stem',
      new Sequential(
        new Conv2dNormActivation(3, c.stemChannels, 3, { stride: 2, activation: gelu, norm: NORM }),
        new Sequential(new Conv2d(c.stemChannels, c.stemChannels, 3, { padding: 1, init: false })),
      ),
    );
    const total = c.blockLayers.reduce((a, b) => a + b, 0);
    // np.linspace(0, p, total).
    const prob = (i: number) => (total > 1 ? (c.stochasticDepthProb * i) / (total - 1) : 0);
    this.blocks = this.registerModule('blocks', new Sequential());
    let id = 0;
    c.blockChannels.forEach((outC, b) => {
      const inC = b === 0 ? c.stemChannels : c.blockChannels[b - 1]!;
      const grid: [number, number] = [sizes[b]!, sizes[b]!];
      const layers = new Sequential();
      for (let i = 0; i < c.blockLayers[b]!; i++)
        layers.append(new MaxVitLayer(i === 0 ? inC : outC, outC, i === 0 ? 2 : 1, grid, prob(id++), c));
      this.blocks.append(new MaxVitBlock(layers));
    });
    const last = c.blockChannels.at(-1)!;
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(
        new AdaptiveAvgPool2d([1, 1]),
        new Flatten(1),
        new LayerNorm(last),
        new Linear(last, last, { init: false }),
        new Tanh(),
        new Linear(last, numClassesOf(options, 'MaxVit'), { bias: false, init: false }),
      ),
    );
    if (options.init !== false) {
      // torchvision: normal(std 0.02) on every conv and Linear, zero biases; the bias tables trunc_normal(std 0.02).
      for (const [, m] of this.namedModules()) {
        if (m instanceof Conv2d || m instanceof Linear) {
          normal_(m.weight, 0, 0.02, options.generator);
          if (m.bias) constant_(m.bias, 0);
        } else if (m instanceof RelativePositionalMultiHeadAttention) {
          truncNormal_(m.relative_position_bias_table, 0, 0.02, -2, 2, options.generator);
        }
      }
    }
  }

  override forward(x: Tensor): Tensor {
    const [h, w] = this.config.inputSize;
    if (x.rank !== 4 || x.shape[1] !== 3) throw new Error(`MaxVit: input must be [N, 3, H, W], got [${x.shape.join(', ')}]`);
    if (x.shape[2] !== h || x.shape[3] !== w)
      throw new Error(
        `MaxVit: input ${x.shape[2]}×${x.shape[3]} is not the ${h}×${w} this model was built for (its partitions are fixed; build it with inputSize)`,
      );
    return this.classifier.call(this.blocks.call(this.stem.call(x)));
  }
}

/** A stage of MaxVitLayers, as torchvision's MaxVitBlock (`layers`, a ModuleList run in order). */
export class MaxVitBlock extends Module {
  constructor(readonly layers: Sequential) {
    super();
    this.registerModule('layers', layers);
  }

  override forward(x: Tensor): Tensor {
    return this.layers.call(x);
  }
}

/** MaxViT-T (31M parameters), as torchvision.models.maxvit_t; `inputSize` (default 224×224) fixes its partitions. */
export function maxvitT(options: MaxVitOptions = {}): MaxVit {
  try {
    const d = options.widthDivisor ?? 1;
    if (!Number.isInteger(d) || d < 1) throw new Error(`widthDivisor must be a positive integer, got ${d}`);
    // widthDivisor narrows every width to a multiple of the head size (32), at least one head.
    const narrow = (ch: number) => Math.max(32, Math.floor(ch / d / 32) * 32);
    return new MaxVit(
      {
        inputSize: options.inputSize ?? [224, 224],
        stemChannels: narrow(64),
        partitionSize: 7,
        blockChannels: [64, 128, 256, 512].map(narrow),
        blockLayers: [2, 2, 5, 2],
        headDim: 32,
        stochasticDepthProb: 0.2,
      },
      options,
    );
  } catch (e) {
    throw new Error(`maxvit_t: ${(e as Error).message}`);
  }
}
