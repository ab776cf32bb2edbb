import type { Tensor } from '@gradlens/tensor';
import { add, layerNorm, mul, ones, permute } from '@gradlens/tensor';
import { constant_, truncNormal_ } from '../init';
import { Sequential } from '../layers/container';
import { Conv2d } from '../layers/conv';
import { Flatten } from '../layers/misc';
import { Linear } from '../layers/linear';
import { AdaptiveAvgPool2d } from '../layers/pooling';
import { GELU, LayerNorm } from '../layers/transformer';
import { StochasticDepth } from '../layers/vision-ops';
import { Module } from '../module';
import type { ModelOptions } from './common';
import { numClassesOf, widthScaler } from './common';

/** Reorders a tensor's dims, as torchvision.ops.Permute (ConvNeXt's switch to channels-last and back). */
export class Permute extends Module {
  constructor(readonly dims: readonly number[]) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return permute(x, this.dims);
  }
}

/** LayerNorm over the channels of [N, C, H, W] (eps 1e-6), as torchvision.models.convnext.LayerNorm2d. */
export class LayerNorm2d extends LayerNorm {
  constructor(channels: number) {
    super(channels, { eps: 1e-6 });
  }

  override forward(x: Tensor): Tensor {
    const y = layerNorm(permute(x, [0, 2, 3, 1]), this.normalizedShape, this.weight, this.bias, { eps: this.eps });
    return permute(y, [0, 3, 1, 2]);
  }
}

/**
 * ConvNeXt's block, as torchvision.models.convnext.CNBlock: `block` = depthwise 7×7 conv, permute to
 * channels-last, LayerNorm (eps 1e-6), Linear to 4·dim, GELU, Linear back, permute; the result times
 * `layer_scale` [dim, 1, 1], through stochastic depth, plus the input.
 */
export class CNBlock extends Module {
  readonly block: Sequential;
  readonly layerScale: Tensor;
  readonly stochasticDepth: StochasticDepth;

  constructor(dim: number, layerScale: number, stochasticDepthProb: number) {
    super();
    this.block = this.registerModule(
      'block',
      new Sequential(
        new Conv2d(dim, dim, 7, { padding: 3, groups: dim, init: false }),
        new Permute([0, 2, 3, 1]),
        new LayerNorm(dim, { eps: 1e-6 }),
        new Linear(dim, 4 * dim, { init: false }),
        new GELU(),
        new Linear(4 * dim, dim, { init: false }),
        new Permute([0, 3, 1, 2]),
      ),
    );
    this.layerScale = this.registerParameter('layer_scale', constant_(ones([dim, 1, 1]), layerScale));
    this.stochasticDepth = this.registerModule('stochastic_depth', new StochasticDepth(stochasticDepthProb));
  }

  override forward(x: Tensor): Tensor {
    return add(this.stochasticDepth.call(mul(this.layerScale, this.block.call(x))), x);
  }
}

/** One ConvNeXt stage: channels, the next stage's channels (null for the last), blocks. */
export type ConvNeXtStage = readonly [number, number | null, number];

export interface ConvNeXtOptions extends ModelOptions {
  /** Largest stochastic-depth probability, reached by the last block (torchvision's default per size). */
  stochasticDepthProb?: number;
  /** Initial value of every block's layer_scale (default 1e-6). */
  layerScale?: number;
}

/**
 * ConvNeXt, as torchvision.models.ConvNeXt: `features` (a 4×4/4 conv + LayerNorm2d stem; per stage a
 * Sequential of CNBlocks, then LayerNorm2d + 2×2/2 conv to the next width), `avgpool`, `classifier`
 * (LayerNorm2d, Flatten, Linear). Input [N, 3, H, W] → logits [N, numClasses].
 */
export class ConvNeXt extends Module {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly classifier: Sequential;

  constructor(stages: readonly ConvNeXtStage[], stochasticDepthProb: number, options: ConvNeXtOptions = {}) {
    super();
    const w = widthScaler(options, 'ConvNeXt');
    const first = stages[0];
    if (!first) throw new Error('ConvNeXt: needs at least one stage');
    const layerScale = options.layerScale ?? 1e-6;
    const sdProb = options.stochasticDepthProb ?? stochasticDepthProb;
    this.features = this.registerModule(
      'features',
      new Sequential(new Sequential(new Conv2d(3, w(first[0]), 4, { stride: 4, init: false }), new LayerNorm2d(w(first[0])))),
    );
    const total = stages.reduce((n, s) => n + s[2], 0);
    let id = 0;
    let last = w(first[0]);
    for (const [channels, next, blocks] of stages) {
      const stage = new Sequential();
      for (let i = 0; i < blocks; i++) {
        // torchvision divides by (total − 1): the last block gets the whole probability.
        stage.append(new CNBlock(w(channels), layerScale, total > 1 ? (sdProb * id) / (total - 1) : 0));
        id++;
      }
      this.features.append(stage);
      last = w(channels);
      if (next !== null) {
        this.features.append(new Sequential(new LayerNorm2d(w(channels)), new Conv2d(w(channels), w(next), 2, { stride: 2, init: false })));
        last = w(next);
      }
    }
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([1, 1]));
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(new LayerNorm2d(last), new Flatten(1), new Linear(last, numClassesOf(options, 'ConvNeXt'), { init: false })),
    );
    if (options.init !== false) {
      for (const [, m] of this.namedModules()) {
        if (m instanceof Conv2d || m instanceof Linear) {
          truncNormal_(m.weight, 0, 0.02, -2, 2, options.generator);
          if (m.bias) constant_(m.bias, 0);
        }
      }
    }
  }

  override forward(x: Tensor): Tensor {
    return this.classifier.call(this.avgpool.call(this.features.call(x)));
  }
}

const TINY: ConvNeXtStage[] = [
  [96, 192, 3],
  [192, 384, 3],
  [384, 768, 9],
  [768, null, 3],
];
const deep = (c: number): ConvNeXtStage[] => [
  [c, 2 * c, 3],
  [2 * c, 4 * c, 3],
  [4 * c, 8 * c, 27],
  [8 * c, null, 3],
];

/** ConvNeXt-Tiny, as torchvision.models.convnext_tiny. */
export const convnextTiny = (o: ConvNeXtOptions = {}) => new ConvNeXt(TINY, 0.1, o);
/** ConvNeXt-Small, as torchvision.models.convnext_small. */
export const convnextSmall = (o: ConvNeXtOptions = {}) => new ConvNeXt(deep(96), 0.4, o);
/** ConvNeXt-Base, as torchvision.models.convnext_base. */
export const convnextBase = (o: ConvNeXtOptions = {}) => new ConvNeXt(deep(128), 0.5, o);
/** ConvNeXt-Large, as torchvision.models.convnext_large. */
export const convnextLarge = (o: ConvNeXtOptions = {}) => new ConvNeXt(deep(192), 0.5, o);
