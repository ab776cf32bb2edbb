import type { Tensor } from '@gradlens/tensor';
import { adaptiveAvgPool2d, cat, dropout, flatten, relu } from '@gradlens/tensor';
import { kaimingNormal_, constant_ } from '../init';
import { ReLU } from '../layers/activation';
import { BatchNorm2d } from '../layers/batchnorm';
import { Sequential } from '../layers/container';
import { Conv2d } from '../layers/conv';
import { Linear } from '../layers/linear';
import { AvgPool2d, MaxPool2d } from '../layers/pooling';
import { Module } from '../module';
import type { ModelOptions } from './common';
import { applyInit, numClassesOf, widthScaler } from './common';

const noInit = { init: false } as const;

/**
 * One layer of a dense block, as torchvision.models.densenet._DenseLayer: BN, ReLU, 1×1 conv to
 * bnSize·growthRate, BN, ReLU, 3×3 conv to growthRate (then dropout when dropRate > 0). Its input is the
 * concatenation of every earlier feature map of the block; its output is the growthRate new channels.
 */
export class DenseLayer extends Module {
  readonly norm1: BatchNorm2d;
  readonly relu1: ReLU;
  readonly conv1: Conv2d;
  readonly norm2: BatchNorm2d;
  readonly relu2: ReLU;
  readonly conv2: Conv2d;

  constructor(
    inFeatures: number,
    growthRate: number,
    bnSize: number,
    readonly dropRate: number,
  ) {
    super();
    this.norm1 = this.registerModule('norm1', new BatchNorm2d(inFeatures));
    this.relu1 = this.registerModule('relu1', new ReLU());
    this.conv1 = this.registerModule('conv1', new Conv2d(inFeatures, bnSize * growthRate, 1, { bias: false, ...noInit }));
    this.norm2 = this.registerModule('norm2', new BatchNorm2d(bnSize * growthRate));
    this.relu2 = this.registerModule('relu2', new ReLU());
    this.conv2 = this.registerModule('conv2', new Conv2d(bnSize * growthRate, growthRate, 3, { padding: 1, bias: false, ...noInit }));
  }

  override forward(x: Tensor): Tensor {
    const bottleneck = this.conv1.call(this.relu1.call(this.norm1.call(x)));
    const y = this.conv2.call(this.relu2.call(this.norm2.call(bottleneck)));
    return this.dropRate > 0 ? dropout(y, { p: this.dropRate, training: this.training }) : y;
  }
}

/**
 * A dense block, as torchvision.models.densenet._DenseBlock: children `denselayer1`, `denselayer2`, …;
 * each layer reads the concatenation (along channels) of the block's input and every earlier layer's
 * output, and the block returns the concatenation of all of them.
 */
export class DenseBlock extends Module {
  private readonly layers: DenseLayer[] = [];

  constructor(numLayers: number, inFeatures: number, bnSize: number, growthRate: number, dropRate: number) {
    super();
    for (let i = 0; i < numLayers; i++) {
      const layer = new DenseLayer(inFeatures + i * growthRate, growthRate, bnSize, dropRate);
      this.layers.push(this.registerModule(`denselayer${i + 1}`, layer));
    }
  }

  override forward(x: Tensor): Tensor {
    const features = [x];
    for (const layer of this.layers) features.push(layer.call(features.length === 1 ? x : cat(features, 1)));
    return cat(features, 1);
  }
}

/** Between dense blocks, as torchvision.models.densenet._Transition: BN, ReLU, 1×1 conv, 2×2 average pooling. */
export class Transition extends Sequential {
  constructor(inFeatures: number, outFeatures: number) {
    super();
    this.append(new BatchNorm2d(inFeatures), 'norm');
    this.append(new ReLU(), 'relu');
    this.append(new Conv2d(inFeatures, outFeatures, 1, { bias: false, ...noInit }), 'conv');
    this.append(new AvgPool2d(2, { stride: 2 }), 'pool');
  }
}

export interface DenseNetOptions extends ModelOptions {
  /** New channels per dense layer (torchvision's growth_rate; scaled by widthDivisor). */
  growthRate?: number;
  /** Dense layers per block (torchvision's block_config). */
  blockConfig?: readonly number[];
  /** Channels of the stem convolution (torchvision's num_init_features; scaled by widthDivisor). */
  numInitFeatures?: number;
  /** Bottleneck width as a multiple of growthRate (torchvision's bn_size, default 4). */
  bnSize?: number;
  /** Dropout after each dense layer (torchvision's drop_rate, default 0). */
  dropRate?: number;
}

/**
 * DenseNet, as torchvision.models.DenseNet: `features` (conv0 7×7/2, norm0, relu0, pool0 3×3/2, then
 * denseblock1, transition1, …, denseblockK, norm5) and `classifier` (Linear); forward applies a
 * functional ReLU to `features`' output, global average pooling and the classifier. The activation
 * recorded as `features` is norm5's output, before that ReLU. Input [N, 3, H, W] → logits [N, numClasses].
 */
export class DenseNet extends Module {
  readonly features: Sequential;
  readonly classifier: Linear;

  constructor(options: DenseNetOptions = {}) {
    super();
    const w = widthScaler(options, 'DenseNet');
    const growthRate = w(options.growthRate ?? 32);
    const blockConfig = options.blockConfig ?? [6, 12, 24, 16];
    const bnSize = options.bnSize ?? 4;
    const dropRate = options.dropRate ?? 0;
    if (blockConfig.length === 0 || blockConfig.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new Error(`DenseNet: blockConfig must list positive integers, got [${blockConfig.join(', ')}]`);
    }
    let features = w(options.numInitFeatures ?? 64);
    this.features = this.registerModule('features', new Sequential());
    this.features.append(new Conv2d(3, features, 7, { stride: 2, padding: 3, bias: false, ...noInit }), 'conv0');
    this.features.append(new BatchNorm2d(features), 'norm0');
    this.features.append(new ReLU(), 'relu0');
    this.features.append(new MaxPool2d(3, { stride: 2, padding: 1 }), 'pool0');
    blockConfig.forEach((numLayers, i) => {
      this.features.append(new DenseBlock(numLayers, features, bnSize, growthRate, dropRate), `denseblock${i + 1}`);
      features += numLayers * growthRate;
      if (i !== blockConfig.length - 1) {
        this.features.append(new Transition(features, Math.floor(features / 2)), `transition${i + 1}`);
        features = Math.floor(features / 2);
      }
    });
    this.features.append(new BatchNorm2d(features), 'norm5');
    this.classifier = this.registerModule(
      'classifier',
      new Linear(features, numClassesOf(options, 'DenseNet'), { generator: options.generator, init: options.init }),
    );
    // torchvision: kaiming_normal_ (fan_in) convolutions, BN 1/0, the classifier's bias 0.
    applyInit(this, options, {
      conv: (m, g) => kaimingNormal_(m.weight, { generator: g }),
      linear: (m) => {
        if (m.bias) constant_(m.bias, 0);
      },
    });
  }

  /**
   * Checkpoints saved before torchvision 0.3 (its published DenseNet weights among them) name a dense
   * layer's modules `norm.1`, `conv.2`, …; torchvision renames them on load to `norm1`, `conv2`, and so does this.
   */
  override checkpointKey(key: string): string {
    return key.replace(/^(.*denselayer\d+\.(?:norm|relu|conv))\.([12]\.(?:weight|bias|running_mean|running_var))$/, '$1$2');
  }

  override forward(x: Tensor): Tensor {
    const y = relu(this.features.call(x));
    return this.classifier.call(flatten(adaptiveAvgPool2d(y, [1, 1]), 1));
  }
}

/** DenseNet-121, as torchvision.models.densenet121. */
export const densenet121 = (o: DenseNetOptions = {}) =>
  new DenseNet({ growthRate: 32, blockConfig: [6, 12, 24, 16], numInitFeatures: 64, ...o });
/** DenseNet-161, as torchvision.models.densenet161. */
export const densenet161 = (o: DenseNetOptions = {}) =>
  new DenseNet({ growthRate: 48, blockConfig: [6, 12, 36, 24], numInitFeatures: 96, ...o });
/** DenseNet-169, as torchvision.models.densenet169. */
export const densenet169 = (o: DenseNetOptions = {}) =>
  new DenseNet({ growthRate: 32, blockConfig: [6, 12, 32, 32], numInitFeatures: 64, ...o });
/** DenseNet-201, as torchvision.models.densenet201. */
export const densenet201 = (o: DenseNetOptions = {}) =>
  new DenseNet({ growthRate: 32, blockConfig: [6, 12, 48, 32], numInitFeatures: 64, ...o });
