import type { Tensor } from '@gradlens/tensor';
import { add, cat, expand, flatten, permute, reshape, slice, zeros } from '@gradlens/tensor';
import { Sequential } from '../layers/container';
import { Conv2d } from '../layers/conv';
import { Dropout } from '../layers/dropout';
import { Linear } from '../layers/linear';
import { GELU, LayerNorm, MultiheadAttention } from '../layers/transformer';
import { constant_, normal_, truncNormal_, xavierUniform_ } from '../init';
import { Module } from '../module';
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

export interface VitOptions extends ModelOptions, Partial<VitConfig> {
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
  readonly conv_proj: Conv2d;
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
    this.conv_proj = this.registerModule('conv_proj', new Conv2d(3, c.hiddenDim, c.patchSize, { stride: c.patchSize, init: false }));
    const grid = c.imageSize / c.patchSize;
    this.encoder = this.registerModule('encoder', new Encoder(grid * grid + 1, c, dropout, options.attentionDropout ?? 0, options));
    this.heads = this.registerModule('heads', new Sequential());
    const head = new Linear(c.hiddenDim, numClasses, { init: false });
    this.heads.append(head, 'head');
    if (init) {
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
    // [N, hidden, g, g] → [N, g·g, hidden], the class token in front.
    const patches = permute(flatten(this.conv_proj.call(x), 2), [0, 2, 1]);
    const tokens = cat([expand(this.class_token, [n, 1, this.config.hiddenDim]), patches], 1);
    const encoded = this.encoder.call(tokens);
    return this.heads.call(reshape(slice(encoded, 1, 0, 1), [n, this.config.hiddenDim]));
  }
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

/** ViT-B/16 (86M parameters, 224×224, 197 tokens of 768), as torchvision.models.vit_b_16. */
export const vitB16 = builder('vit_b_16', { imageSize: 224, patchSize: 16, numLayers: 12, numHeads: 12, hiddenDim: 768, mlpDim: 3072 });
/** ViT-B/32 (88M parameters, 50 tokens), as torchvision.models.vit_b_32. */
export const vitB32 = builder('vit_b_32', { imageSize: 224, patchSize: 32, numLayers: 12, numHeads: 12, hiddenDim: 768, mlpDim: 3072 });
/** ViT-L/16 (304M parameters, 24 layers of 1024), as torchvision.models.vit_l_16. */
export const vitL16 = builder('vit_l_16', { imageSize: 224, patchSize: 16, numLayers: 24, numHeads: 16, hiddenDim: 1024, mlpDim: 4096 });
