import type { Tensor } from '@gradlens/tensor';
import { add, cat, indexSelect, linear, pad, permute, reshape, scaledDotProductAttention, slice, tensor, zeros } from '@gradlens/tensor';
import { constant_, truncNormal_ } from '../init';
import { Sequential } from '../layers/container';
import { Conv2d } from '../layers/conv';
import { Dropout } from '../layers/dropout';
import { Linear } from '../layers/linear';
import { Flatten } from '../layers/misc';
import { AdaptiveAvgPool2d } from '../layers/pooling';
import { GELU, LayerNorm } from '../layers/transformer';
import { StochasticDepth } from '../layers/vision-ops';
import { Module } from '../module';
import type { ModelOptions } from './common';
import { numClassesOf } from './common';
import { Permute } from './convnext';

/** torch.roll of `x` by `shift` along `dim`, as two slices joined (so the tape differentiates it). */
export function roll(x: Tensor, shift: number, dim: number): Tensor {
  const n = x.shape[dim]!;
  const s = ((shift % n) + n) % n;
  if (s === 0) return x;
  return cat([slice(x, dim, n - s, n), slice(x, dim, 0, n - s)], dim);
}

/**
 * Swin's patch merging, as torchvision.models.swin_transformer.PatchMerging: [N, H, W, C] padded to
 * even H and W, the four 2×2 neighbours concatenated on channels (x0, x1, x2, x3 as torchvision), `norm`
 * (LayerNorm of 4C), `reduction` (Linear 4C → 2C, no bias) → [N, ⌈H/2⌉, ⌈W/2⌉, 2C].
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
    if (input.rank !== 4 || input.shape[3] !== this.dim)
      throw new Error(`PatchMerging: expected channels-last [N, H, W, ${this.dim}], got [${input.shape.join(', ')}]`);
    const [, h, w] = input.shape as [number, number, number, number];
    const x = pad(input, [0, 0, 0, w % 2, 0, h % 2]);
    const at = (dh: number, dw: number) => slice(slice(x, 1, dh, undefined, 2), 2, dw, undefined, 2);
    return this.reduction.call(this.norm.call(cat([at(0, 0), at(1, 0), at(0, 1), at(1, 1)], -1)));
  }
}

/** Python's slice a[start:end] of a length-n axis as [from, to) (negative indices count from the end). */
function pyRange(start: number, end: number | null, n: number): [number, number] {
  const norm = (i: number) => Math.min(n, Math.max(0, i < 0 ? i + n : i));
  return [norm(start), end === null ? n : norm(end)];
}

/**
 * The additive mask of shifted windows, as torchvision builds it: the padded map split into 3 × 3 regions
 * by the window and the shift, each window's token pairs from different regions −100, others 0 → [1, windows, 1, T, T].
 */
function shiftedWindowMask(ph: number, pw: number, win: readonly [number, number], shift: readonly [number, number]): Float32Array {
  const label = new Int32Array(ph * pw);
  let count = 0;
  const hs = [pyRange(0, -win[0], ph), pyRange(-win[0], -shift[0], ph), pyRange(-shift[0], null, ph)];
  const ws = [pyRange(0, -win[1], pw), pyRange(-win[1], -shift[1], pw), pyRange(-shift[1], null, pw)];
  for (const [h0, h1] of hs) {
    for (const [w0, w1] of ws) {
      for (let i = h0; i < h1; i++) for (let j = w0; j < w1; j++) label[i * pw + j] = count;
      count++;
    }
  }
  const nh = ph / win[0],
    nw = pw / win[1],
    t = win[0] * win[1];
  const mask = new Float32Array(nh * nw * t * t);
  for (let wi = 0; wi < nh; wi++) {
    for (let wj = 0; wj < nw; wj++) {
      const base = (wi * nw + wj) * t * t;
      const lab = (p: number) => label[(wi * win[0] + Math.floor(p / win[1])) * pw + wj * win[1] + (p % win[1])]!;
      for (let p = 0; p < t; p++) for (let q = 0; q < t; q++) mask[base + p * t + q] = lab(p) === lab(q) ? 0 : -100;
    }
  }
  return mask;
}

/** Each window token pair's row in the relative position bias table, as torchvision's relative_position_index [T·T]. */
function relativePositionIndex(win: readonly [number, number]): Tensor {
  const t = win[0] * win[1];
  const index = new Int32Array(t * t);
  for (let p = 0; p < t; p++) {
    for (let q = 0; q < t; q++) {
      const dh = Math.floor(p / win[1]) - Math.floor(q / win[1]) + win[0] - 1;
      const dw = (p % win[1]) - (q % win[1]) + win[1] - 1;
      index[p * t + q] = dh * (2 * win[1] - 1) + dw;
    }
  }
  return tensor(index, [t * t], 'int32');
}

/**
 * Window attention with relative position bias, shifted or not, as torchvision's ShiftedWindowAttention
 * (Swin v1): [N, H, W, C] padded to whole windows, cyclically shifted by −shift (no shift along a side
 * that one window covers), split into windows of T tokens, multi-head attention with the learned bias
 * (`relative_position_bias_table` [(2wh−1)(2ww−1), heads] read through `relative_position_index`) and,
 * when shifted, the mask that keeps tokens from different regions apart; `proj`, windows joined, the
 * shift undone, the padding cut → [N, H, W, C]. The attention probabilities are the softmax node under this module's path.
 */
export class ShiftedWindowAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly relative_position_bias_table: Tensor;
  readonly relative_position_index: Tensor;
  /** Shifted-window masks by padded size, as host values (a tensor per pass, so nothing outlives the pass). */
  private readonly masks = new Map<string, Float32Array>();

  constructor(
    readonly dim: number,
    readonly windowSize: readonly [number, number],
    readonly shiftSize: readonly [number, number],
    readonly numHeads: number,
  ) {
    super();
    if (!Number.isInteger(numHeads) || numHeads < 1 || dim % numHeads !== 0)
      throw new Error(`ShiftedWindowAttention: dim ${dim} must be divisible by numHeads ${numHeads}`);
    this.qkv = this.registerModule('qkv', new Linear(dim, 3 * dim, { init: false }));
    this.proj = this.registerModule('proj', new Linear(dim, dim, { init: false }));
    const rows = (2 * windowSize[0] - 1) * (2 * windowSize[1] - 1);
    this.relative_position_bias_table = this.registerParameter('relative_position_bias_table', zeros([rows, numHeads]));
    this.relative_position_index = this.registerBuffer('relative_position_index', relativePositionIndex(windowSize));
  }

  /** The bias every window's scores get: [1, 1, heads, T, T]. */
  private relativePositionBias(): Tensor {
    const t = this.windowSize[0] * this.windowSize[1];
    // A loaded index is copied by value: one made for another window would read the wrong rows, or none.
    const size = this.relative_position_bias_table.shape[0]!;
    const bad = this.relative_position_index.dataSync().find((i) => !(i >= 0 && i < size));
    if (bad !== undefined)
      throw new Error(
        `ShiftedWindowAttention: relative_position_index holds ${bad}, outside the ${size} rows of relative_position_bias_table (a state dict for another window size?)`,
      );
    const rows = indexSelect(this.relative_position_bias_table, 0, this.relative_position_index);
    return reshape(permute(reshape(rows, [t, t, this.numHeads]), [2, 0, 1]), [1, 1, this.numHeads, t, t]);
  }

  /** The shifted-window mask of a padded map [1, windows, 1, T, T], its values computed once per size. */
  private mask(ph: number, pw: number, shift: readonly [number, number]): Tensor {
    const key = `${ph},${pw},${shift.join(',')}`;
    let m = this.masks.get(key);
    if (!m) {
      m = shiftedWindowMask(ph, pw, this.windowSize, shift);
      this.masks.set(key, m);
    }
    const t = this.windowSize[0] * this.windowSize[1];
    return tensor(m, [1, m.length / (t * t), 1, t, t]);
  }

  override forward(input: Tensor): Tensor {
    if (input.rank !== 4 || input.shape[3] !== this.dim)
      throw new Error(`ShiftedWindowAttention: expected channels-last [N, H, W, ${this.dim}], got [${input.shape.join(', ')}]`);
    const [b, h, w, c] = input.shape as [number, number, number, number];
    const [wh, ww] = this.windowSize;
    const x0 = pad(input, [0, 0, 0, (ww - (w % ww)) % ww, 0, (wh - (h % wh)) % wh]);
    const [, ph, pw] = x0.shape as [number, number, number, number];
    // As torchvision: no shift along a side that a single window already covers.
    const shift: [number, number] = [wh >= ph ? 0 : this.shiftSize[0], ww >= pw ? 0 : this.shiftSize[1]];
    const shifted = shift[0] + shift[1] > 0;
    const x1 = shifted ? roll(roll(x0, -shift[0], 1), -shift[1], 2) : x0;
    const nh = ph / wh,
      nw = pw / ww,
      t = wh * ww,
      heads = this.numHeads,
      d = c / heads;
    // [B, nh, wh, nw, ww, C] → [B, nh, nw, wh, ww, C] → [B·windows, T, C]
    const windows = reshape(permute(reshape(x1, [b, nh, wh, nw, ww, c]), [0, 1, 3, 2, 4, 5]), [b * nh * nw, t, c]);
    const part = (i: number) => {
      const wgt = slice(this.qkv.weight, 0, i * c, (i + 1) * c);
      const bias = this.qkv.bias ? slice(this.qkv.bias, 0, i * c, (i + 1) * c) : null;
      // [B·windows, T, C] → [B, windows, heads, T, d]
      return permute(reshape(linear(windows, wgt, bias), [b, nh * nw, t, heads, d]), [0, 1, 3, 2, 4]);
    };
    const bias = this.relativePositionBias();
    const mask = shifted ? add(bias, this.mask(ph, pw, shift)) : bias;
    const attended = scaledDotProductAttention(part(0), part(1), part(2), { mask, scale: d ** -0.5 });
    const merged = reshape(permute(attended, [0, 1, 3, 2, 4]), [b * nh * nw, t, c]);
    const projected = linear(merged, this.proj.weight, this.proj.bias);
    // [B, nh, nw, wh, ww, C] → [B, nh, wh, nw, ww, C] → [B, pH, pW, C]
    const joined = reshape(permute(reshape(projected, [b, nh, nw, wh, ww, c]), [0, 1, 3, 2, 4, 5]), [b, ph, pw, c]);
    const back = shifted ? roll(roll(joined, shift[0], 1), shift[1], 2) : joined;
    return slice(slice(back, 1, 0, h), 2, 0, w);
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

/**
 * One Swin block, as torchvision's SwinTransformerBlock: x + sd(attn(norm1(x))), then y + sd(mlp(norm2(y))),
 * on channels-last [N, H, W, C].
 */
export class SwinTransformerBlock extends Module {
  readonly norm1: LayerNorm;
  readonly attn: ShiftedWindowAttention;
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
  ) {
    super();
    this.norm1 = this.registerModule('norm1', new LayerNorm(dim));
    this.attn = this.registerModule('attn', new ShiftedWindowAttention(dim, windowSize, shiftSize, numHeads));
    this.stochastic_depth = this.registerModule('stochastic_depth', new StochasticDepth(stochasticDepthProb));
    this.norm2 = this.registerModule('norm2', new LayerNorm(dim));
    this.mlp = this.registerModule('mlp', new SwinMLP(dim, Math.floor(dim * mlpRatio), dropout));
  }

  override forward(input: Tensor): Tensor {
    const x = add(input, this.stochastic_depth.call(this.attn.call(this.norm1.call(input))));
    return add(x, this.stochastic_depth.call(this.mlp.call(this.norm2.call(x))));
  }
}

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
}

export interface SwinOptions extends ModelOptions {
  /** Overrides the builder's stochastic-depth probability. */
  stochasticDepthProb?: number;
}

/**
 * Swin Transformer (v1), as torchvision.models.SwinTransformer (Liu et al. 2021): `features` (a
 * patchSize-strided conv, Permute to channels-last, LayerNorm; per stage a Sequential of
 * SwinTransformerBlocks with every second one shifted by half a window, then PatchMerging), `norm`,
 * `permute` (back to [N, C, h, w]), `avgpool`, `flatten`, `head`. Input [N, 3, H, W] of any size →
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
    c.depths.forEach((depth, s) => {
      const dim = c.embedDim * 2 ** s;
      const stage = new Sequential();
      for (let i = 0; i < depth; i++) {
        const shift: [number, number] = i % 2 === 0 ? [0, 0] : [Math.floor(c.windowSize[0] / 2), Math.floor(c.windowSize[1] / 2)];
        // torchvision divides by (total − 1) (a one-block model would divide by zero there; it gets 0 here).
        const p = total > 1 ? (sdProb * id) / (total - 1) : 0;
        stage.append(new SwinTransformerBlock(dim, c.numHeads[s]!, c.windowSize, shift, p, c.mlpRatio ?? 4));
        id++;
      }
      this.features.append(stage);
      if (s < c.depths.length - 1) this.features.append(new PatchMerging(dim));
    });
    const numFeatures = c.embedDim * 2 ** (c.depths.length - 1);
    this.norm = this.registerModule('norm', new LayerNorm(numFeatures));
    this.permute = this.registerModule('permute', new Permute([0, 3, 1, 2]));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([1, 1]));
    this.flatten = this.registerModule('flatten', new Flatten(1));
    this.head = this.registerModule('head', new Linear(numFeatures, numClassesOf(options, 'SwinTransformer'), { init: false }));
    if (options.init !== false) {
      // torchvision: trunc_normal(std 0.02) on every Linear (the MLPs' xavier init is overwritten), zero biases, and on the bias tables.
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
