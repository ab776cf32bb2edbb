import type { Tensor } from '@gradlens/tensor';
import { add, flatten } from '@gradlens/tensor';
import { uniform_, constant_ } from '../init';
import { SiLU } from '../layers/activation';
import type { BatchNorm2dOptions } from '../layers/batchnorm';
import { Sequential } from '../layers/container';
import { Dropout } from '../layers/dropout';
import { Linear } from '../layers/linear';
import { AdaptiveAvgPool2d } from '../layers/pooling';
import { Conv2dNormActivation, SqueezeExcitation, StochasticDepth } from '../layers/vision-ops';
import { Module } from '../module';
import type { ModelOptions } from './common';
import { applyInit, convKaimingFanOut, numClassesOf } from './common';
import { makeDivisible } from './mobilenet';

/** One stage of an EfficientNet, after width and depth scaling: torchvision's MBConvConfig / FusedMBConvConfig. */
export interface EfficientNetStage {
  /** 'mb' (MBConv: depthwise + squeeze-and-excitation) or 'fused' (FusedMBConv, EfficientNetV2's early stages). */
  block: 'mb' | 'fused';
  expandRatio: number;
  kernel: number;
  stride: number;
  input: number;
  out: number;
  layers: number;
}

const silu = () => new SiLU();

/**
 * EfficientNet's block, as torchvision.models.efficientnet.MBConv: `block` holds an optional 1×1
 * expansion, a depthwise k×k (stride), squeeze-and-excitation (SiLU, sigmoid gate, squeeze to
 * max(1, input / 4)), and a linear 1×1 projection; with a residual (stride 1, same channels) the block's
 * output passes `stochastic_depth` before the add.
 */
export class MBConv extends Module {
  readonly block: Sequential;
  readonly stochasticDepth: StochasticDepth;
  readonly useResConnect: boolean;

  constructor(c: EfficientNetStage, stochasticDepthProb: number, norm: BatchNorm2dOptions) {
    super();
    this.useResConnect = c.stride === 1 && c.input === c.out;
    const expanded = makeDivisible(c.input * c.expandRatio, 8);
    this.block = this.registerModule('block', new Sequential());
    if (c.block === 'mb') {
      if (expanded !== c.input) this.block.append(new Conv2dNormActivation(c.input, expanded, 1, { norm, activation: silu }));
      this.block.append(
        new Conv2dNormActivation(expanded, expanded, c.kernel, { stride: c.stride, groups: expanded, norm, activation: silu }),
      );
      this.block.append(new SqueezeExcitation(expanded, Math.max(1, Math.floor(c.input / 4)), silu));
      this.block.append(new Conv2dNormActivation(expanded, c.out, 1, { norm, activation: null }));
    } else if (expanded !== c.input) {
      // FusedMBConv: one k×k conv does the expansion (and the stride), then the 1×1 projection.
      this.block.append(new Conv2dNormActivation(c.input, expanded, c.kernel, { stride: c.stride, norm, activation: silu }));
      this.block.append(new Conv2dNormActivation(expanded, c.out, 1, { norm, activation: null }));
    } else {
      this.block.append(new Conv2dNormActivation(c.input, c.out, c.kernel, { stride: c.stride, norm, activation: silu }));
    }
    this.stochasticDepth = this.registerModule('stochastic_depth', new StochasticDepth(stochasticDepthProb));
  }

  override forward(x: Tensor): Tensor {
    const y = this.block.call(x);
    return this.useResConnect ? add(this.stochasticDepth.call(y), x) : y;
  }
}

export interface EfficientNetOptions extends ModelOptions {
  /** Largest stochastic-depth probability, reached by the last block (torchvision's stochastic_depth_prob, default 0.2). */
  stochasticDepthProb?: number;
}

/**
 * EfficientNet (B0–B7) and EfficientNetV2 (S, M, L), as torchvision.models.EfficientNet: `features` (a
 * 3×3/2 SiLU stem, one Sequential of blocks per stage, a 1×1 SiLU conv to `lastChannel` or 4× the last
 * stage's channels), `avgpool`, flatten, `classifier` (Dropout, Linear). Block i of n drops its residual
 * branch with probability stochasticDepthProb · i / n in training. Input [N, 3, H, W] → logits [N, numClasses].
 */
export class EfficientNet extends Module {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly classifier: Sequential;

  constructor(
    stages: readonly EfficientNetStage[],
    dropout: number,
    options: EfficientNetOptions & { lastChannel?: number; norm?: BatchNorm2dOptions } = {},
  ) {
    super();
    if (options.widthDivisor !== undefined && options.widthDivisor !== 1) {
      throw new Error('EfficientNet: reduce width with the stages (efficientNetStages(widthMult, depthMult)), not widthDivisor');
    }
    const norm = options.norm ?? {};
    const first = stages[0];
    const last = stages[stages.length - 1];
    if (!first || !last) throw new Error('EfficientNet: needs at least one stage');
    this.features = this.registerModule(
      'features',
      new Sequential(new Conv2dNormActivation(3, first.input, 3, { stride: 2, norm, activation: silu })),
    );
    const total = stages.reduce((n, s) => n + s.layers, 0);
    const sdProb = options.stochasticDepthProb ?? 0.2;
    let id = 0;
    for (const stage of stages) {
      const seq = new Sequential();
      for (let i = 0; i < stage.layers; i++) {
        const c = i === 0 ? stage : { ...stage, input: stage.out, stride: 1 };
        seq.append(new MBConv(c, (sdProb * id) / total, norm));
        id++;
      }
      this.features.append(seq);
    }
    const lastConv = options.lastChannel ?? 4 * last.out;
    this.features.append(new Conv2dNormActivation(last.out, lastConv, 1, { norm, activation: silu }));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([1, 1]));
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(
        new Dropout(options.dropout ?? dropout, { generator: options.generator }),
        new Linear(lastConv, numClassesOf(options, 'EfficientNet'), { init: false }),
      ),
    );
    applyInit(this, options, {
      conv: convKaimingFanOut,
      linear: (m, g) => {
        const r = 1 / Math.sqrt(m.outFeatures);
        uniform_(m.weight, -r, r, g);
        if (m.bias) constant_(m.bias, 0);
      },
    });
  }

  override forward(x: Tensor): Tensor {
    return this.classifier.call(flatten(this.avgpool.call(this.features.call(x)), 1));
  }
}

/** torchvision's B0 stages: expand ratio, kernel, stride, input, output channels, layers. */
const B0: readonly (readonly [number, number, number, number, number, number])[] = [
  [1, 3, 1, 32, 16, 1],
  [6, 3, 2, 16, 24, 2],
  [6, 5, 2, 24, 40, 2],
  [6, 3, 2, 40, 80, 3],
  [6, 5, 1, 80, 112, 3],
  [6, 5, 2, 112, 192, 4],
  [6, 3, 1, 192, 320, 1],
];

/** B0's stages scaled as torchvision's MBConvConfig: channels × widthMult (makeDivisible by 8), layers ⌈n · depthMult⌉. */
export function efficientNetStages(widthMult: number, depthMult: number): EfficientNetStage[] {
  const ch = (c: number) => makeDivisible(c * widthMult, 8);
  return B0.map(([expandRatio, kernel, stride, input, out, layers]) => ({
    block: 'mb',
    expandRatio,
    kernel,
    stride,
    input: ch(input),
    out: ch(out),
    layers: Math.ceil(layers * depthMult),
  }));
}

type V2Row = readonly ['mb' | 'fused', number, number, number, number, number, number];
const v2 = (rows: readonly V2Row[]): EfficientNetStage[] =>
  rows.map(([block, expandRatio, kernel, stride, input, out, layers]) => ({ block, expandRatio, kernel, stride, input, out, layers }));

const V2_S: V2Row[] = [
  ['fused', 1, 3, 1, 24, 24, 2],
  ['fused', 4, 3, 2, 24, 48, 4],
  ['fused', 4, 3, 2, 48, 64, 4],
  ['mb', 4, 3, 2, 64, 128, 6],
  ['mb', 6, 3, 1, 128, 160, 9],
  ['mb', 6, 3, 2, 160, 256, 15],
];
const V2_M: V2Row[] = [
  ['fused', 1, 3, 1, 24, 24, 3],
  ['fused', 4, 3, 2, 24, 48, 5],
  ['fused', 4, 3, 2, 48, 80, 5],
  ['mb', 4, 3, 2, 80, 160, 7],
  ['mb', 6, 3, 1, 160, 176, 14],
  ['mb', 6, 3, 2, 176, 304, 18],
  ['mb', 6, 3, 1, 304, 512, 5],
];
const V2_L: V2Row[] = [
  ['fused', 1, 3, 1, 32, 32, 4],
  ['fused', 4, 3, 2, 32, 64, 7],
  ['fused', 4, 3, 2, 64, 96, 7],
  ['mb', 4, 3, 2, 96, 192, 10],
  ['mb', 6, 3, 1, 192, 224, 19],
  ['mb', 6, 3, 2, 224, 384, 25],
  ['mb', 6, 3, 1, 384, 640, 7],
];

// B5–B7 were ported from TensorFlow: their BatchNorm has eps 0.001 and momentum 0.01; V2's eps 0.001.
const tfNorm: BatchNorm2dOptions = { eps: 0.001, momentum: 0.01 };
const b =
  (w: number, d: number, dropout: number, norm?: BatchNorm2dOptions) =>
  (o: EfficientNetOptions = {}) =>
    new EfficientNet(efficientNetStages(w, d), dropout, { ...o, norm });

/** EfficientNet-B0, as torchvision.models.efficientnet_b0; B1–B7 below scale its width and depth. */
export const efficientnetB0 = b(1.0, 1.0, 0.2);
export const efficientnetB1 = b(1.0, 1.1, 0.2);
export const efficientnetB2 = b(1.1, 1.2, 0.3);
export const efficientnetB3 = b(1.2, 1.4, 0.3);
export const efficientnetB4 = b(1.4, 1.8, 0.4);
export const efficientnetB5 = b(1.6, 2.2, 0.4, tfNorm);
export const efficientnetB6 = b(1.8, 2.6, 0.5, tfNorm);
export const efficientnetB7 = b(2.0, 3.1, 0.5, tfNorm);
/** EfficientNetV2-S, as torchvision.models.efficientnet_v2_s; M and L below. */
export const efficientnetV2S = (o: EfficientNetOptions = {}) =>
  new EfficientNet(v2(V2_S), 0.2, { ...o, lastChannel: 1280, norm: { eps: 1e-3 } });
export const efficientnetV2M = (o: EfficientNetOptions = {}) =>
  new EfficientNet(v2(V2_M), 0.3, { ...o, lastChannel: 1280, norm: { eps: 1e-3 } });
export const efficientnetV2L = (o: EfficientNetOptions = {}) =>
  new EfficientNet(v2(V2_L), 0.4, { ...o, lastChannel: 1280, norm: { eps: 1e-3 } });
