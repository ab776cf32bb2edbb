import type { Tensor } from '@gradlens/tensor';
import { add, flatten } from '@gradlens/tensor';
import { Hardsigmoid, Hardswish, ReLU } from '../layers/activation';
import type { BatchNorm2dOptions } from '../layers/batchnorm';
import { Sequential } from '../layers/container';
import { Dropout } from '../layers/dropout';
import { Linear } from '../layers/linear';
import { AdaptiveAvgPool2d } from '../layers/pooling';
import { Conv2dNormActivation, SqueezeExcitation } from '../layers/vision-ops';
import { Module } from '../module';
import type { ModelOptions } from './common';
import { applyInit, convKaimingFanOut, linearNormal, numClassesOf } from './common';
import { makeDivisible } from './mobilenet';

/** One row of MobileNetV3's inverted_residual_setting, before width scaling: torchvision's bneck_conf arguments. */
export interface MobileNetV3BlockSetting {
  input: number;
  kernel: number;
  expanded: number;
  out: number;
  useSe: boolean;
  /** 'RE' (ReLU) or 'HS' (Hardswish). */
  activation: 'RE' | 'HS';
  stride: number;
  dilation: number;
  /** FrozenBatchNorm2d (eps 1e-5) instead of BatchNorm2d (eps 0.001): torchvision's detection backbones. */
  frozenNorm?: boolean;
}

const norm: BatchNorm2dOptions = { eps: 0.001, momentum: 0.01 };

/**
 * MobileNetV3's block, as torchvision.models.mobilenetv3.InvertedResidual: `block` holds an optional
 * 1×1 expansion, a depthwise k×k (stride, or dilation), optional squeeze-and-excitation (Hardsigmoid
 * gate, squeeze to makeDivisible(expanded / 4, 8)), and a linear 1×1 projection; the residual add
 * (stride 1, same channels) runs in the block's scope.
 */
export class MobileNetV3Block extends Module {
  readonly block: Sequential;
  readonly useResConnect: boolean;
  /** Output channels. */
  readonly outChannels: number;
  /** Whether the block starts a stage (its configured stride is 2, dilated or not): torchvision's `_is_cn`. */
  readonly isCn: boolean;

  constructor(c: MobileNetV3BlockSetting) {
    super();
    this.useResConnect = c.stride === 1 && c.input === c.out;
    this.outChannels = c.out;
    this.isCn = c.stride > 1;
    const activation = c.activation === 'HS' ? () => new Hardswish() : () => new ReLU();
    const frozenNorm = c.frozenNorm === true;
    this.block = this.registerModule('block', new Sequential());
    if (c.expanded !== c.input) this.block.append(new Conv2dNormActivation(c.input, c.expanded, 1, { norm, frozenNorm, activation }));
    const stride = c.dilation > 1 ? 1 : c.stride;
    this.block.append(
      new Conv2dNormActivation(c.expanded, c.expanded, c.kernel, {
        stride,
        dilation: c.dilation,
        groups: c.expanded,
        norm,
        frozenNorm,
        activation,
      }),
    );
    if (c.useSe) {
      this.block.append(
        new SqueezeExcitation(c.expanded, makeDivisible(Math.floor(c.expanded / 4), 8), undefined, () => new Hardsigmoid()),
      );
    }
    this.block.append(new Conv2dNormActivation(c.expanded, c.out, 1, { norm, frozenNorm, activation: null }));
  }

  override forward(x: Tensor): Tensor {
    const y = this.block.call(x);
    return this.useResConnect ? add(y, x) : y;
  }
}

type Row = [number, number, number, number, boolean, 'RE' | 'HS', number];

// torchvision's _mobilenet_v3_conf: input, kernel, expanded, out, use_se, activation, stride.
const LARGE: Row[] = [
  [16, 3, 16, 16, false, 'RE', 1],
  [16, 3, 64, 24, false, 'RE', 2],
  [24, 3, 72, 24, false, 'RE', 1],
  [24, 5, 72, 40, true, 'RE', 2],
  [40, 5, 120, 40, true, 'RE', 1],
  [40, 5, 120, 40, true, 'RE', 1],
  [40, 3, 240, 80, false, 'HS', 2],
  [80, 3, 200, 80, false, 'HS', 1],
  [80, 3, 184, 80, false, 'HS', 1],
  [80, 3, 184, 80, false, 'HS', 1],
  [80, 3, 480, 112, true, 'HS', 1],
  [112, 3, 672, 112, true, 'HS', 1],
  [112, 5, 672, 160, true, 'HS', 2],
  [160, 5, 960, 160, true, 'HS', 1],
  [160, 5, 960, 160, true, 'HS', 1],
];
const SMALL: Row[] = [
  [16, 3, 16, 16, true, 'RE', 2],
  [16, 3, 72, 24, false, 'RE', 2],
  [24, 3, 88, 24, false, 'RE', 1],
  [24, 5, 96, 40, true, 'HS', 2],
  [40, 5, 240, 40, true, 'HS', 1],
  [40, 5, 240, 40, true, 'HS', 1],
  [40, 5, 120, 48, true, 'HS', 1],
  [48, 5, 144, 48, true, 'HS', 1],
  [48, 5, 288, 96, true, 'HS', 2],
  [96, 5, 576, 96, true, 'HS', 1],
  [96, 5, 576, 96, true, 'HS', 1],
];

export interface MobileNetV3Options extends ModelOptions {
  /** torchvision's width_mult: every channel count × widthMult, rounded by makeDivisible(·, 8) (default 1). */
  widthMult?: number;
  /**
   * torchvision's `dilated` (`_mobilenet_v3_conf`): the last stage's three blocks dilate their depthwise conv by 2
   * instead of striding (output stride 16), as its segmentation backbones (default false).
   */
  dilated?: boolean;
  /**
   * torchvision's norm_layer=FrozenBatchNorm2d (the detection models' backbones): its default eps 1e-5 replaces
   * MobileNetV3's 0.001, and no num_batches_tracked.
   */
  frozenBatchNorm?: boolean;
}

/**
 * MobileNetV3, as torchvision.models.MobileNetV3: `features` (a 3×3/2 Hardswish stem, the inverted
 * residual blocks, a 1×1 Hardswish conv to 6× the last block's channels), `avgpool`, flatten,
 * `classifier` (Linear, Hardswish, Dropout, Linear). BatchNorm eps 0.001, momentum 0.01. Width
 * reduction uses torchvision's widthMult (not widthDivisor). Input [N, 3, H, W] → logits [N, numClasses].
 */
export class MobileNetV3 extends Module {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly classifier: Sequential;

  constructor(arch: 'large' | 'small', options: MobileNetV3Options = {}) {
    super();
    if (options.widthDivisor !== undefined && options.widthDivisor !== 1) {
      throw new Error("MobileNetV3: use widthMult (torchvision's width_mult) to reduce width, not widthDivisor");
    }
    const wm = options.widthMult ?? 1;
    if (!(wm > 0)) throw new Error(`MobileNetV3: widthMult must be positive, got ${wm}`);
    const adjust = (c: number) => makeDivisible(c * wm, 8);
    const rows = arch === 'large' ? LARGE : SMALL;
    const frozenNorm = options.frozenBatchNorm === true;
    // The last three rows (C4 and after) are the ones `dilated` changes.
    const dilation = (i: number) => (options.dilated === true && i >= rows.length - 3 ? 2 : 1);
    const settings = rows.map(([input, kernel, expanded, out, useSe, activation, stride], i): MobileNetV3BlockSetting => ({
      input: adjust(input),
      kernel,
      expanded: adjust(expanded),
      out: adjust(out),
      useSe,
      activation,
      stride,
      dilation: dilation(i),
      frozenNorm,
    }));
    const first = settings[0]!;
    const last = settings[settings.length - 1]!;
    const lastConv = 6 * last.out;
    const lastChannel = adjust(arch === 'large' ? 1280 : 1024);
    this.features = this.registerModule(
      'features',
      new Sequential(new Conv2dNormActivation(3, first.input, 3, { stride: 2, norm, frozenNorm, activation: () => new Hardswish() })),
    );
    for (const s of settings) this.features.append(new MobileNetV3Block(s));
    this.features.append(new Conv2dNormActivation(last.out, lastConv, 1, { norm, frozenNorm, activation: () => new Hardswish() }));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([1, 1]));
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(
        new Linear(lastConv, lastChannel, { init: false }),
        new Hardswish(),
        new Dropout(options.dropout ?? 0.2, { generator: options.generator }),
        new Linear(lastChannel, numClassesOf(options, 'MobileNetV3'), { init: false }),
      ),
    );
    applyInit(this, options, { conv: convKaimingFanOut, linear: linearNormal });
  }

  override forward(x: Tensor): Tensor {
    return this.classifier.call(flatten(this.avgpool.call(this.features.call(x)), 1));
  }
}

/** MobileNetV3-Large, as torchvision.models.mobilenet_v3_large. */
export const mobilenetV3Large = (o: MobileNetV3Options = {}) => new MobileNetV3('large', o);
/** MobileNetV3-Small, as torchvision.models.mobilenet_v3_small. */
export const mobilenetV3Small = (o: MobileNetV3Options = {}) => new MobileNetV3('small', o);
