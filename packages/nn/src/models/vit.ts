import type { Tensor } from '@gradlens/tensor';
import { add, cat, expand, flatten, permute, reshape, slice, zeros } from '@gradlens/tensor';
import { ReLU } from '../layers/activation';
import { BatchNorm2d } from '../layers/batchnorm';
import { Sequential } from '../layers/container';
import { Conv2d } from '../layers/conv';
import { Dropout } from '../layers/dropout';
import { Linear } from '../layers/linear';
import { GELU, LayerNorm, MultiheadAttention } from '../layers/transformer';
import { constant_, normal_, truncNormal_, xavierUniform_ } from '../init';
import { Module } from '../module';
import { foldInto } from './fold';
import type { ModelOptions } from './common';
import { numClassesOf } from './common';

/** The shape of a vision transformer, as torchvision.models.VisionTransformer's arguments. */
export interface VitConfig {
  imageSize: number;
  patchSize: number;
  numLayers: number;
  numHeads: number;
  hiddenDim: number;
  mlpDim: number;
}

/**
 * One conv of a convolutional stem, as torchvision's ConvStemConfig (Xiao et al. 2021, "Early
 * convolutions help transformers see better"): a Conv2dNormActivation with padding (kernelSize − 1) / 2,
 * no bias when normalised. normLayer 'batchnorm' (torchvision's default BatchNorm2d) or null;
 * activationLayer 'relu' (torchvision's default ReLU) or null.
 */
export interface ConvStemConfig {
  outChannels: number;
  kernelSize: number;
  stride: number;
  normLayer?: 'batchnorm' | null;
  activationLayer?: 'relu' | null;
}

export interface VitOptions extends ModelOptions, Partial<VitConfig> {
  /**
   * A convolutional stem instead of the patchify conv, as torchvision's `conv_stem_configs`:
   * `conv_proj` becomes a Sequential of `conv_bn_relu_<i>` (each a Sequential conv · norm? · activation?,
   * indexed as torchvision's Conv2dNormActivation) and `conv_last`, a 1×1 conv to hiddenDim. Its
   * output must be imageSize / patchSize on a side.
   */
  convStemConfigs?: readonly ConvStemConfig[];
  /** Dropout after the embeddings and in the MLPs (torchvision's default 0). */
  dropout?: number;
  /** Dropout on the attention output (torchvision's default 0). */
  attentionDropout?: number;
}

const LN_EPS = 1e-6;

/** The transformer MLP as torchvision's MLPBlock: Linear, GELU, Dropout, Linear, Dropout (`mlp.0`, `mlp.3`). */
export class MLPBlock extends Sequential {
  constructor(inDim: number, mlpDim: number, dropout: number, options: ModelOptions) {
    const noInit = { init: false };
    super(new Linear(inDim, mlpDim, noInit), new GELU(), new Dropout(dropout), new Linear(mlpDim, inDim, noInit), new Dropout(dropout));
    if (options.init === false) return;
    for (const i of [0, 3]) {
      const m = this.at(i) as Linear;
      xavierUniform_(m.weight, 1, options.generator);
      if (m.bias) normal_(m.bias, 0, 1e-6, options.generator);
    }
  }
}

/** One pre-norm transformer layer, as torchvision's EncoderBlock: x + attn(ln_1(x)), then y + mlp(ln_2(y)). */
export class EncoderBlock extends Module {
  readonly ln_1: LayerNorm;
  readonly self_attention: MultiheadAttention;
  readonly dropout: Dropout;
  readonly ln_2: LayerNorm;
  readonly mlp: MLPBlock;

  constructor(numHeads: number, hiddenDim: number, mlpDim: number, dropout: number, attentionDropout: number, options: ModelOptions) {
    super();
    if (attentionDropout !== 0)
      throw new Error(`EncoderBlock: attentionDropout ${attentionDropout} is not supported (torchvision's ViTs use 0)`);
    this.ln_1 = this.registerModule('ln_1', new LayerNorm(hiddenDim, { eps: LN_EPS }));
    this.self_attention = this.registerModule(
      'self_attention',
      new MultiheadAttention(hiddenDim, numHeads, { generator: options.generator, init: options.init }),
    );
    this.dropout = this.registerModule('dropout', new Dropout(dropout, { generator: options.generator }));
    this.ln_2 = this.registerModule('ln_2', new LayerNorm(hiddenDim, { eps: LN_EPS }));
    this.mlp = this.registerModule('mlp', new MLPBlock(hiddenDim, mlpDim, dropout, options));
  }

  override forward(input: Tensor): Tensor {
    if (input.rank !== 3) throw new Error(`EncoderBlock: expected [N, tokens, hidden], got [${input.shape.join(', ')}]`);
    const x = add(this.dropout.call(this.self_attention.call(this.ln_1.call(input))), input);
    return add(x, this.mlp.call(this.ln_2.call(x)));
  }
}

/** torchvision's Encoder: position embeddings added, dropout, `layers.encoder_layer_i`, final `ln`. */
export class Encoder extends Module {
  readonly pos_embedding: Tensor;
  readonly dropout: Dropout;
  readonly layers: Sequential;
  readonly ln: LayerNorm;

  constructor(seqLength: number, c: VitConfig, dropout: number, attentionDropout: number, options: ModelOptions) {
    super();
    this.pos_embedding = this.registerParameter('pos_embedding', zeros([1, seqLength, c.hiddenDim]));
    if (options.init !== false) normal_(this.pos_embedding, 0, 0.02, options.generator);
    this.dropout = this.registerModule('dropout', new Dropout(dropout, { generator: options.generator }));
    this.layers = this.registerModule('layers', new Sequential());
    for (let i = 0; i < c.numLayers; i++) {
      this.layers.append(new EncoderBlock(c.numHeads, c.hiddenDim, c.mlpDim, dropout, attentionDropout, options), `encoder_layer_${i}`);
    }
    this.ln = this.registerModule('ln', new LayerNorm(c.hiddenDim, { eps: LN_EPS }));
  }

  override forward(x: Tensor): Tensor {
    return this.ln.call(this.layers.call(this.dropout.call(add(x, this.pos_embedding))));
  }
}

/**
 * Vision Transformer as torchvision.models.VisionTransformer (Dosovitskiy et al. 2021): a patchSize-
 * strided conv (`conv_proj`) makes one token per patch, a learned `class_token` is prepended, the
 * encoder runs, and `heads.head` classifies the class token. Parameter names are torchvision's, so
 * its state dicts load with no renaming. Activations inside the encoder are [N, 1 + patches, hidden];
 * `tokenGrid` says how the patch tokens lie on the image (what the CAM reshape uses).
 */
export class VisionTransformer extends Module {
  readonly config: VitConfig;
  readonly class_token: Tensor;
  /** The patchify conv, or with `convStemConfigs` the Sequential `conv_bn_relu_<i>` … `conv_last`. */
  readonly conv_proj: Conv2d | Sequential;
  /** The stem's configs (with defaults filled in), or null for the patchify conv. */
  readonly convStemConfigs: readonly Required<ConvStemConfig>[] | null;
  readonly encoder: Encoder;
  readonly heads: Sequential;

  constructor(config: VitConfig, options: VitOptions = {}) {
    super();
    const c = config;
    for (const [k, v] of Object.entries(c)) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`VisionTransformer: ${k} must be a positive integer, got ${v}`);
    }
    if (c.imageSize % c.patchSize !== 0)
      throw new Error(`VisionTransformer: imageSize ${c.imageSize} must be divisible by patchSize ${c.patchSize}`);
    if (c.hiddenDim % c.numHeads !== 0)
      throw new Error(`VisionTransformer: hiddenDim ${c.hiddenDim} must be divisible by numHeads ${c.numHeads}`);
    this.config = { ...c };
    const numClasses = numClassesOf(options, 'VisionTransformer');
    const dropout = options.dropout ?? 0;
    const init = options.init !== false;
    this.class_token = this.registerParameter('class_token', zeros([1, 1, c.hiddenDim]));
    const grid = c.imageSize / c.patchSize;
    this.convStemConfigs = options.convStemConfigs ? checkConvStem(options.convStemConfigs, c.imageSize, grid) : null;
    this.conv_proj = this.registerModule(
      'conv_proj',
      this.convStemConfigs
        ? convStem(this.convStemConfigs, c.hiddenDim, options)
        : new Conv2d(3, c.hiddenDim, c.patchSize, { stride: c.patchSize, init: false }),
    );
    this.encoder = this.registerModule('encoder', new Encoder(grid * grid + 1, c, dropout, options.attentionDropout ?? 0, options));
    this.heads = this.registerModule('heads', new Sequential());
    const head = new Linear(c.hiddenDim, numClasses, { init: false });
    this.heads.append(head, 'head');
    if (init && this.conv_proj instanceof Conv2d) {
      // torchvision: conv_proj trunc_normal(std √(1/fan_in)), zero bias; zero head.
      truncNormal_(this.conv_proj.weight, 0, Math.sqrt(1 / (3 * c.patchSize * c.patchSize)), -2, 2, options.generator);
      if (this.conv_proj.bias) constant_(this.conv_proj.bias, 0);
    }
  }

  /**
   * torchvision's published ViT checkpoints name the MLP's linears `mlp.linear_1` / `mlp.linear_2`
   * (torchvision's own loader renames them `mlp.0` / `mlp.3`); they load here as they are.
   */
  override checkpointKey(key: string): string {
    return key.replace(/\.mlp\.linear_1\./, '.mlp.0.').replace(/\.mlp\.linear_2\./, '.mlp.3.');
  }

  /** Patch tokens per side: the encoder's tokens after the class token lie on a tokenGrid × tokenGrid grid, row by row. */
  get tokenGrid(): [number, number] {
    const g = this.config.imageSize / this.config.patchSize;
    return [g, g];
  }

  override forward(x: Tensor): Tensor {
    const s = this.config.imageSize;
    if (x.rank !== 4 || x.shape[1] !== 3 || x.shape[2] !== s || x.shape[3] !== s) {
      throw new Error(`VisionTransformer: input must be [N, 3, ${s}, ${s}], got [${x.shape.join(', ')}]`);
    }
    const n = x.shape[0]!;
    // [N, hidden, g, g] (the stem's output size is checked at construction) → [N, g·g, hidden], the class token in front.
    const patches = permute(flatten(this.conv_proj.call(x), 2), [0, 2, 1]);
    const tokens = cat([expand(this.class_token, [n, 1, this.config.hiddenDim]), patches], 1);
    const encoded = this.encoder.call(tokens);
    return this.heads.call(reshape(slice(encoded, 1, 0, 1), [n, this.config.hiddenDim]));
  }
}

/** Fills in torchvision's defaults and checks that the stem ends at grid × grid. */
function checkConvStem(configs: readonly ConvStemConfig[], imageSize: number, grid: number): Required<ConvStemConfig>[] {
  if (configs.length === 0) throw new Error('VisionTransformer: convStemConfigs is empty (leave it out for the patchify conv)');
  let side = imageSize;
  return configs.map((cfg, i) => {
    for (const k of ['outChannels', 'kernelSize', 'stride'] as const) {
      const v = cfg[k];
      if (!Number.isInteger(v) || v < 1)
        throw new Error(`VisionTransformer: convStemConfigs[${i}].${k} must be a positive integer, got ${v}`);
    }
    const normLayer = cfg.normLayer === undefined ? 'batchnorm' : cfg.normLayer;
    const activationLayer = cfg.activationLayer === undefined ? 'relu' : cfg.activationLayer;
    if (normLayer !== 'batchnorm' && normLayer !== null)
      throw new Error(`VisionTransformer: convStemConfigs[${i}].normLayer must be 'batchnorm' or null, got ${String(normLayer)}`);
    if (activationLayer !== 'relu' && activationLayer !== null)
      throw new Error(`VisionTransformer: convStemConfigs[${i}].activationLayer must be 'relu' or null, got ${String(activationLayer)}`);
    const pad = Math.floor((cfg.kernelSize - 1) / 2);
    side = Math.floor((side + 2 * pad - cfg.kernelSize) / cfg.stride) + 1;
    if (i === configs.length - 1 && side !== grid)
      throw new Error(
        `VisionTransformer: the conv stem maps ${imageSize}×${imageSize} to ${side}×${side}, but imageSize / patchSize is ${grid}: the stem's strides must multiply to patchSize`,
      );
    return { outChannels: cfg.outChannels, kernelSize: cfg.kernelSize, stride: cfg.stride, normLayer, activationLayer };
  });
}

/**
 * torchvision's conv stem: `conv_bn_relu_<i>` = Sequential(Conv2d, BatchNorm2d?, ReLU?) with PyTorch's
 * default conv init, then `conv_last` Conv2d 1×1 → hidden, N(0, √(2 / hidden)) with a zero bias.
 */
function convStem(configs: readonly Required<ConvStemConfig>[], hiddenDim: number, options: ModelOptions): Sequential {
  const stem = new Sequential();
  let prev = 3;
  configs.forEach((cfg, i) => {
    const { outChannels, kernelSize, stride, normLayer, activationLayer } = cfg;
    const padding = Math.floor((kernelSize - 1) / 2);
    const conv = new Conv2d(prev, outChannels, kernelSize, {
      stride,
      padding,
      bias: normLayer === null,
      generator: options.generator,
      init: options.init,
    });
    stem.append(
      new Sequential(conv, ...(normLayer ? [new BatchNorm2d(outChannels)] : []), ...(activationLayer ? [new ReLU()] : [])),
      `conv_bn_relu_${i}`,
    );
    prev = outChannels;
  });
  const last = new Conv2d(prev, hiddenDim, 1, { init: false });
  stem.append(last, 'conv_last');
  if (options.init !== false) {
    normal_(last.weight, 0, Math.sqrt(2 / hiddenDim), options.generator);
    if (last.bias) constant_(last.bias, 0);
  }
  return stem;
}

const builder =
  (name: string, defaults: VitConfig) =>
  (options: VitOptions = {}): VisionTransformer => {
    const config: VitConfig = { ...defaults };
    // widthDivisor narrows the hidden and MLP widths (same structure and names), as for the CNNs.
    const d = options.widthDivisor ?? 1;
    if (!Number.isInteger(d) || d < 1) throw new Error(`${name}: widthDivisor must be a positive integer, got ${d}`);
    config.hiddenDim = Math.max(defaults.numHeads, Math.floor(defaults.hiddenDim / d / defaults.numHeads) * defaults.numHeads);
    config.mlpDim = Math.max(1, Math.floor(defaults.mlpDim / d));
    for (const key of Object.keys(defaults) as (keyof VitConfig)[]) {
      const v = options[key];
      if (v !== undefined) config[key] = v;
    }
    try {
      return new VisionTransformer(config, options);
    } catch (e) {
      throw new Error(`${name}: ${(e as Error).message}`);
    }
  };

/**
 * The image side a ViT state dict was trained at, read from its position embeddings `encoder.pos_embedding`
 * [1, 1 + (side / patchSize)², hidden] (torchvision's SWAG weights: vit_b_16 at 384, vit_l_16 at 512, vit_h_14 at
 * 518); null when the dict has none (or under DataParallel's `module.` prefix, none either). A token count that is
 * not one class token plus a square grid is an error naming it.
 */
export function vitImageSizeOf(dict: Readonly<Record<string, { shape: readonly number[] }>>, patchSize: number): number | null {
  const entry = dict['encoder.pos_embedding'] ?? dict['module.encoder.pos_embedding'];
  if (entry === undefined) return null;
  const tokens = entry.shape.length === 3 ? entry.shape[1]! : NaN;
  const grid = Math.round(Math.sqrt(tokens - 1));
  if (!(grid >= 1 && grid * grid === tokens - 1)) {
    throw new Error(
      `encoder.pos_embedding has shape [${entry.shape.join(', ')}]: expected [1, 1 + g², hidden] (a class token and a g × g grid of patches)`,
    );
  }
  return grid * patchSize;
}

/** ViT-B/16 (86M parameters, 224×224, 197 tokens of 768), as torchvision.models.vit_b_16. */
export const vitB16 = builder('vit_b_16', { imageSize: 224, patchSize: 16, numLayers: 12, numHeads: 12, hiddenDim: 768, mlpDim: 3072 });
/** ViT-B/32 (88M parameters, 50 tokens), as torchvision.models.vit_b_32. */
export const vitB32 = builder('vit_b_32', { imageSize: 224, patchSize: 32, numLayers: 12, numHeads: 12, hiddenDim: 768, mlpDim: 3072 });
/** ViT-L/16 (304M parameters, 24 layers of 1024), as torchvision.models.vit_l_16. */
export const vitL16 = builder('vit_l_16', { imageSize: 224, patchSize: 16, numLayers: 24, numHeads: 16, hiddenDim: 1024, mlpDim: 4096 });
/** ViT-L/32 (306M parameters, 50 tokens of 1024), as torchvision.models.vit_l_32. */
export const vitL32 = builder('vit_l_32', { imageSize: 224, patchSize: 32, numLayers: 24, numHeads: 16, hiddenDim: 1024, mlpDim: 4096 });
/**
 * ViT-H/14 (632M parameters, 32 layers of 1280), as torchvision.models.vit_h_14 at its default 224×224; its published
 * SWAG weights were trained at 518×518 (`imageSize: 518`, 1370 tokens) or 224 (the linear-probe ones).
 */
export const vitH14 = builder('vit_h_14', { imageSize: 224, patchSize: 14, numLayers: 32, numHeads: 16, hiddenDim: 1280, mlpDim: 5120 });

/**
 * Returns a copy of a VisionTransformer whose conv stem was trained with BatchNorm, with every stem
 * BatchNorm folded into the conv before it (eval-mode statistics), as a VisionTransformer with
 * `normLayer: null` stems (convs with biases) and the same outputs in eval mode: torchvision's
 * VisionTransformer with ConvStemConfig(norm_layer=None) loads it. A model without stem BatchNorms is copied.
 */
export function foldConvStemBatchNorm(model: VisionTransformer): VisionTransformer {
  const stemConfigs = model.convStemConfigs;
  const plain = new VisionTransformer(model.config, {
    numClasses: (model.heads.at(0) as Linear).weight.shape[0]!,
    ...(stemConfigs ? { convStemConfigs: stemConfigs.map((c) => ({ ...c, normLayer: null })) } : {}),
    init: false,
  });
  const stemKey = /^conv_proj\.conv_bn_relu_\d+\./;
  const state = Object.fromEntries(Object.entries(model.stateDict()).filter(([k]) => !stemKey.test(k)));
  plain.loadStateDict(state, { strict: false });
  if (stemConfigs && model.conv_proj instanceof Sequential && plain.conv_proj instanceof Sequential) {
    for (let i = 0; i < stemConfigs.length; i++) {
      const src = model.conv_proj.getModule(`conv_bn_relu_${i}`) as Sequential;
      const dst = plain.conv_proj.getModule(`conv_bn_relu_${i}`) as Sequential;
      const bn = src.children().find(([, m]) => m instanceof BatchNorm2d)?.[1] as BatchNorm2d | undefined;
      foldInto(src.at(0) as Conv2d, bn ?? null, dst.at(0) as Conv2d);
    }
  }
  const missing = Object.keys(plain.stateDict()).filter((k) => !(k in state) && !stemKey.test(k));
  if (missing.length) throw new Error(`foldConvStemBatchNorm: no value for ${missing.join(', ')}`);
  return plain;
}
