import type { Tensor } from '@gradlens/tensor';
import { gelu, layerNorm, linear, ones, permute, reshape, scaledDotProductAttention, slice, zeros } from '@gradlens/tensor';
import { type InitOptions, constant_, xavierUniform_ } from '../init';
import { Module } from '../module';
import { Linear } from './linear';

export interface LayerNormOptions {
  eps?: number;
  /** Learn a per-element weight and bias (default true). */
  elementwiseAffine?: boolean;
}

/** Layer normalisation over the last dims, as torch.nn.LayerNorm (weight 1, bias 0 to start). */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = options.eps ?? 1e-5;
    const affine = options.elementwiseAffine ?? true;
    this.weight = this.registerParameter('weight', affine ? ones(this.normalizedShape) : null);
    this.bias = this.registerParameter('bias', affine ? zeros(this.normalizedShape) : null);
  }

  override forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, { eps: this.eps });
  }
}

/** x·Φ(x) as torch.nn.GELU (approximate 'none' or 'tanh'). */
export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
  }

  override forward(x: Tensor): Tensor {
    return gelu(x, { approximate: this.approximate });
  }
}

export interface MultiheadAttentionOptions extends InitOptions {
  /** Biases on the input and output projections (default true). */
  bias?: boolean;
}

/**
 * Self-attention as torch.nn.MultiheadAttention(batch_first=True) called as attn(x, x, x): one packed
 * input projection (`in_proj_weight` [3E, E], `in_proj_bias` [3E]), heads of E/numHeads features,
 * scaled dot-product attention, and `out_proj`. Input and output are [N, L, E]. The attention
 * probabilities are the softmax node recorded under this module's path.
 */
export class MultiheadAttention extends Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly in_proj_weight: Tensor;
  readonly in_proj_bias: Tensor | null;
  readonly out_proj: Linear;

  constructor(embedDim: number, numHeads: number, options: MultiheadAttentionOptions = {}) {
    super();
    if (!Number.isInteger(numHeads) || numHeads < 1 || embedDim % numHeads !== 0) {
      throw new Error(`MultiheadAttention: embedDim ${embedDim} must be divisible by numHeads ${numHeads}`);
    }
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    const bias = options.bias ?? true;
    this.in_proj_weight = this.registerParameter('in_proj_weight', zeros([3 * embedDim, embedDim]));
    this.in_proj_bias = this.registerParameter('in_proj_bias', bias ? zeros([3 * embedDim]) : null);
    this.out_proj = this.registerModule('out_proj', new Linear(embedDim, embedDim, { bias, ...options }));
    if (options.init ?? true) {
      // torch's _reset_parameters: xavier_uniform_ on the packed projection, zero biases.
      xavierUniform_(this.in_proj_weight, 1, options.generator);
      if (this.out_proj.bias) constant_(this.out_proj.bias, 0);
    }
  }

  override forward(x: Tensor): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.embedDim) {
      throw new Error(`MultiheadAttention: input must be [N, L, ${this.embedDim}], got [${x.shape.join(', ')}]`);
    }
    const [n, l] = x.shape as [number, number, number];
    const e = this.embedDim,
      h = this.numHeads;
    // q, k and v each from its rows of the packed projection ([E, E] slices of the weight, not [N, L, E]
    // slices of a [N, L, 3E] activation: the same products, without copying the activations twice more
    // forwards and backwards), then [N, L, E] → [N, H, L, E/H].
    const bias = this.in_proj_bias;
    const heads = (i: number) => {
      const w = slice(this.in_proj_weight, 0, i * e, (i + 1) * e);
      const b = bias ? slice(bias, 0, i * e, (i + 1) * e) : null;
      return permute(reshape(linear(x, w, b), [n, l, h, e / h]), [0, 2, 1, 3]);
    };
    const out = scaledDotProductAttention(heads(0), heads(1), heads(2));
    return this.out_proj.call(reshape(permute(out, [0, 2, 1, 3]), [n, l, e]));
  }
}
