import type { Tensor } from '@gradlens/tensor';
import { adaptiveAvgPool2d, add, flatten } from '@gradlens/tensor';
import { BatchNorm2d } from '../layers/batchnorm';
import { Sequential } from '../layers/container';
import { Conv2d } from '../layers/conv';
import { Dropout } from '../layers/dropout';
import { Linear } from '../layers/linear';
import { Module } from '../module';
import { Conv2dNormActivation } from '../layers/vision-ops';
import type { ModelOptions } from './common';
import { applyInit, convKaimingFanOut, linearNormal, numClassesOf } from './common';

/** torchvision's _make_divisible: v rounded to a multiple of `divisor`, never down by more than 10%. */
export function makeDivisible(v: number, divisor: number, minValue?: number): number {
  const min = minValue ?? divisor;
  let out = Math.max(min, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}

/**
 * MobileNetV2's block, as torchvision.models.mobilenetv2.InvertedResidual: `conv` holds an optional
 * 1×1 expansion (Conv2dNormActivation), a depthwise 3×3 (groups = channels), and a linear 1×1
 * projection + BN; the residual add (stride 1, same channels) runs in the block's scope.
 */
export class InvertedResidual extends Module {
  readonly conv: Sequential;
  readonly useResConnect: boolean;

  constructor(inp: number, oup: number, stride: number, expandRatio: number) {
    super();
    if (stride !== 1 && stride !== 2) throw new Error(`InvertedResidual: stride should be 1 or 2, got ${stride}`);
    const hidden = Math.round(inp * expandRatio);
    this.useResConnect = stride === 1 && inp === oup;
    this.conv = new Sequential();
    if (expandRatio !== 1) this.conv.append(new Conv2dNormActivation(inp, hidden, 1));
    this.conv.append(new Conv2dNormActivation(hidden, hidden, 3, stride, hidden));
    this.conv.append(new Conv2d(hidden, oup, 1, { bias: false, init: false }));
    this.conv.append(new BatchNorm2d(oup));
    this.registerModule('conv', this.conv);
  }

  override forward(x: Tensor): Tensor {
    const y = this.conv.call(x);
    return this.useResConnect ? add(x, y) : y;
  }
}

export interface MobileNetV2Options extends ModelOptions {
  /** torchvision's width_mult: scales channels, rounded by makeDivisible (default 1). */
  widthMult?: number;
  /** torchvision's round_nearest: channel counts are multiples of this (default 8). */
  roundNearest?: number;
  /** torchvision's inverted_residual_setting: rows [t, c, n, s] (expansion, channels, repeats, stride). */
  invertedResidualSetting?: readonly (readonly [number, number, number, number])[];
}

const DEFAULT_SETTING = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
] as const;

/**
 * MobileNetV2 as torchvision.models.MobileNetV2: `features` (Conv2dNormActivation, 17 inverted
 * residual blocks, a final 1×1 Conv2dNormActivation to 1280 channels), global average pool, flatten,
 * `classifier` (Dropout 0.2, Linear). Width reduction uses torchvision's own widthMult/roundNearest
 * (widthDivisor is not used). Input [N, 3, H, W] → logits [N, numClasses].
 */
export class MobileNetV2 extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;
  readonly lastChannel: number;

  constructor(options: MobileNetV2Options = {}) {
    super();
    if (options.widthDivisor !== undefined && options.widthDivisor !== 1) {
      throw new Error("MobileNetV2: use widthMult (torchvision's width_mult) to reduce width, not widthDivisor");
    }
    const nc = numClassesOf(options, 'MobileNetV2');
    const wm = options.widthMult ?? 1;
    const rn = options.roundNearest ?? 8;
    const setting = options.invertedResidualSetting ?? DEFAULT_SETTING;
    let input = makeDivisible(32 * wm, rn);
    this.lastChannel = makeDivisible(1280 * Math.max(1, wm), rn);
    this.features = new Sequential(new Conv2dNormActivation(3, input, 3, 2));
    for (const [t, c, n, s] of setting) {
      const out = makeDivisible(c * wm, rn);
      for (let i = 0; i < n; i++) {
        this.features.append(new InvertedResidual(input, out, i === 0 ? s : 1, t));
        input = out;
      }
    }
    this.features.append(new Conv2dNormActivation(input, this.lastChannel, 1));
    this.registerModule('features', this.features);
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(
        new Dropout(options.dropout ?? 0.2, { generator: options.generator }),
        new Linear(this.lastChannel, nc, { init: false }),
      ),
    );
    applyInit(this, options, {
      conv: (m, g) => convKaimingFanOut(m, g),
      linear: linearNormal,
    });
  }

  override forward(x: Tensor): Tensor {
    const f = adaptiveAvgPool2d(this.features.call(x), [1, 1]);
    return this.classifier.call(flatten(f, 1));
  }
}

/** MobileNetV2, as torchvision.models.mobilenet_v2; `features.18` is the last conv block. */
export const mobilenetV2 = (o: MobileNetV2Options = {}) => new MobileNetV2(o);
