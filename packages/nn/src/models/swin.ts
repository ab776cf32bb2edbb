import type { Tensor } from '@gradlens/tensor';
import { constant_, truncNormal_ } from '../init';
import { Sequential } from '../layers/container';
import { Conv2d } from '../layers/conv';
import { Linear } from '../layers/linear';
import { Flatten } from '../layers/misc';
import { AdaptiveAvgPool2d } from '../layers/pooling';
import { LayerNorm } from '../layers/transformer';
import { Module } from '../module';
import type { ModelOptions } from './common';
import { numClassesOf } from './common';
import { Permute } from './convnext';
import { PatchMerging, ShiftedWindowAttention, SwinTransformerBlock } from './swin-blocks';
import { PatchMergingV2, SwinTransformerBlockV2 } from './swin-v2';

/** The shape of a Swin Transformer, as torchvision.models.SwinTransformer's arguments. */
export interface SwinConfig {
  patchSize: readonly [number, number];
  embedDim: number;
  depths: readonly number[];
  numHeads: readonly number[];
  windowSize: readonly [number, number];
  /** Largest stochastic-depth probability, reached by the last block. */
  stochasticDepthProb: number;
  /** MLP width over block width (default 4). */
  mlpRatio?: number;
  /** 1 (default): Swin v1's blocks and PatchMerging; 2: SwinTransformerBlockV2 and PatchMergingV2, as torchvision's swin_v2_*. */
  version?: 1 | 2;
}

export interface SwinOptions extends ModelOptions {
  /** Overrides the builder's stochastic-depth probability. */
  stochasticDepthProb?: number;
}

/**
 * Swin Transformer, as torchvision.models.SwinTransformer (v1, Liu et al. 2021; v2, Liu et al. 2022, with
 * `version: 2`): `features` (a patchSize-strided conv, Permute to channels-last, LayerNorm; per stage a
 * Sequential of SwinTransformerBlocks (V2) with every second one shifted by half a window, then PatchMerging
 * (V2)), `norm`, `permute` (back to [N, C, h, w]), `avgpool`, `flatten`, `head`. Input [N, 3, H, W] of any size →
 * logits [N, numClasses]. Every activation from `features.0.1` to `norm` is channels-last [N, h, w, C]
 * (`channelsLast(path)` says which; the CAM family reads them through it).
 */
export class SwinTransformer extends Module {
  readonly config: SwinConfig;
  readonly features: Sequential;
  readonly norm: LayerNorm;
  readonly permute: Permute;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly flatten: Flatten;
  readonly head: Linear;

  constructor(config: SwinConfig, options: SwinOptions = {}) {
    super();
    const c = config;
    const positive = (k: string, v: number) => {
      if (!Number.isInteger(v) || v < 1) throw new Error(`SwinTransformer: ${k} must be a positive integer, got ${v}`);
    };
    positive('embedDim', c.embedDim);
    c.patchSize.forEach((v, i) => positive(`patchSize[${i}]`, v));
    c.windowSize.forEach((v, i) => positive(`windowSize[${i}]`, v));
    c.depths.forEach((v, i) => positive(`depths[${i}]`, v));
    if (c.patchSize.length !== 2 || c.windowSize.length !== 2)
      throw new Error('SwinTransformer: patchSize and windowSize must each hold two integers');
    if (c.version !== undefined && c.version !== 1 && c.version !== 2)
      throw new Error(`SwinTransformer: version must be 1 or 2, got ${String(c.version)}`);
    if (c.depths.length === 0 || c.numHeads.length !== c.depths.length)
      throw new Error(
        `SwinTransformer: depths (${c.depths.length}) and numHeads (${c.numHeads.length}) must be non-empty and of one length`,
      );
    this.config = { ...c, patchSize: [...c.patchSize], windowSize: [...c.windowSize], depths: [...c.depths], numHeads: [...c.numHeads] };
    const sdProb = options.stochasticDepthProb ?? c.stochasticDepthProb;
    if (!(sdProb >= 0 && sdProb <= 1)) throw new Error(`SwinTransformer: stochasticDepthProb must be in [0, 1], got ${sdProb}`);
    const [p0, p1] = c.patchSize;
    const stem = new Conv2d(3, c.embedDim, [p0, p1], { stride: [p0, p1], generator: options.generator, init: options.init });
    this.features = this.registerModule(
      'features',
      new Sequential(new Sequential(stem, new Permute([0, 2, 3, 1]), new LayerNorm(c.embedDim))),
    );
    const total = c.depths.reduce((a, b) => a + b, 0);
    let id = 0;
    const [Block, Merging] = c.version === 2 ? [SwinTransformerBlockV2, PatchMergingV2] : [SwinTransformerBlock, PatchMerging];
    c.depths.forEach((depth, s) => {
      const dim = c.embedDim * 2 ** s;
      const stage = new Sequential();
      for (let i = 0; i < depth; i++) {
        const shift: [number, number] = i % 2 === 0 ? [0, 0] : [Math.floor(c.windowSize[0] / 2), Math.floor(c.windowSize[1] / 2)];
        // torchvision divides by (total − 1) (a one-block model would divide by zero there; it gets 0 here).
        const p = total > 1 ? (sdProb * id) / (total - 1) : 0;
        stage.append(new Block(dim, c.numHeads[s]!, c.windowSize, shift, p, c.mlpRatio ?? 4));
        id++;
      }
      this.features.append(stage);
      if (s < c.depths.length - 1) this.features.append(new Merging(dim));
    });
    const numFeatures = c.embedDim * 2 ** (c.depths.length - 1);
    this.norm = this.registerModule('norm', new LayerNorm(numFeatures));
    this.permute = this.registerModule('permute', new Permute([0, 3, 1, 2]));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([1, 1]));
    this.flatten = this.registerModule('flatten', new Flatten(1));
    this.head = this.registerModule('head', new Linear(numFeatures, numClassesOf(options, 'SwinTransformer'), { init: false }));
    if (options.init !== false) {
      // torchvision: trunc_normal(std 0.02) on every Linear (the MLPs' xavier init is overwritten; v2's cpb_mlp too), zero biases,
      // and on v1's bias tables (v2's logit_scale keeps ln 10).
      for (const [, m] of this.namedModules()) {
        if (m instanceof Linear) {
          truncNormal_(m.weight, 0, 0.02, -2, 2, options.generator);
          if (m.bias) constant_(m.bias, 0);
        } else if (m instanceof ShiftedWindowAttention) {
          truncNormal_(m.relative_position_bias_table, 0, 0.02, -2, 2, options.generator);
        }
      }
    }
  }

  /** Whether the module at `path` gives channels-last [N, h, w, C]: everything from the stem's Permute to `norm`. */
  channelsLast(path: string): boolean {
    if (path === 'norm' || path === 'features') return true;
    const m = /^features\.(\d+)(?:\.(.*))?$/.exec(path);
    if (!m) return false;
    return !(m[1] === '0' && (m[2] === '0' || (m[2] ?? '').startsWith('0.')));
  }

  override forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== 3) throw new Error(`SwinTransformer: input must be [N, 3, H, W], got [${x.shape.join(', ')}]`);
    const [, , h, w] = x.shape as [number, number, number, number];
    if (h < this.config.patchSize[0] || w < this.config.patchSize[1])
      throw new Error(`SwinTransformer: input ${h}×${w} is smaller than one ${this.config.patchSize.join('×')} patch`);
    const y = this.norm.call(this.features.call(x));
    return this.head.call(this.flatten.call(this.avgpool.call(this.permute.call(y))));
  }
}

const builder =
  (name: string, config: SwinConfig) =>
  (options: SwinOptions = {}): SwinTransformer => {
    try {
      // widthDivisor narrows embedDim (a multiple of the first stage's heads; torchvision's heads double per stage as the width does).
      const d = options.widthDivisor ?? 1;
      if (!Number.isInteger(d) || d < 1) throw new Error(`widthDivisor must be a positive integer, got ${d}`);
      const h0 = config.numHeads[0]!;
      const embedDim = Math.max(h0, Math.floor(config.embedDim / d / h0) * h0);
      return new SwinTransformer({ ...config, embedDim }, options);
    } catch (e) {
      throw new Error(`${name}: ${(e as Error).message}`);
    }
  };

/** Swin-T (28M parameters), as torchvision.models.swin_t. */
export const swinT = builder('swin_t', {
  patchSize: [4, 4],
  embedDim: 96,
  depths: [2, 2, 6, 2],
  numHeads: [3, 6, 12, 24],
  windowSize: [7, 7],
  stochasticDepthProb: 0.2,
});
/** Swin-S (50M parameters), as torchvision.models.swin_s. */
export const swinS = builder('swin_s', {
  patchSize: [4, 4],
  embedDim: 96,
  depths: [2, 2, 18, 2],
  numHeads: [3, 6, 12, 24],
  windowSize: [7, 7],
  stochasticDepthProb: 0.3,
});
/** Swin-B (88M parameters), as torchvision.models.swin_b. */
export const swinB = builder('swin_b', {
  patchSize: [4, 4],
  embedDim: 128,
  depths: [2, 2, 18, 2],
  numHeads: [4, 8, 16, 32],
  windowSize: [7, 7],
  stochasticDepthProb: 0.5,
});

/** Swin-V2-T (28M parameters), as torchvision.models.swin_v2_t (input 256×256 for its published weights). */
export const swinV2T = builder('swin_v2_t', {
  patchSize: [4, 4],
  embedDim: 96,
  depths: [2, 2, 6, 2],
  numHeads: [3, 6, 12, 24],
  windowSize: [8, 8],
  stochasticDepthProb: 0.2,
  version: 2,
});
/** Swin-V2-S (50M parameters), as torchvision.models.swin_v2_s. */
export const swinV2S = builder('swin_v2_s', {
  patchSize: [4, 4],
  embedDim: 96,
  depths: [2, 2, 18, 2],
  numHeads: [3, 6, 12, 24],
  windowSize: [8, 8],
  stochasticDepthProb: 0.3,
  version: 2,
});
/** Swin-V2-B (88M parameters), as torchvision.models.swin_v2_b. */
export const swinV2B = builder('swin_v2_b', {
  patchSize: [4, 4],
  embedDim: 128,
  depths: [2, 2, 18, 2],
  numHeads: [4, 8, 16, 32],
  windowSize: [8, 8],
  stochasticDepthProb: 0.5,
  version: 2,
});
