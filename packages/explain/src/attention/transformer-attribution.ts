import type { GradContext, GradRule, OpName, RuleOverrides, Tensor } from '@gradlens/tensor';
import { abs, add, div, eq, gradRules, inputsOf, minimum, mul, relu, sum, where } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { checkEval, checkInput, disposePass, passGrad, recordPass, Warnings } from '../common';
import { forward, transpose } from '../lrp/rules';
import type { AttentionMapResult, AttentionMethodOptions } from './core';
import { attentionLayers, attentionResult, headMatrices, identity, matmulSquare, positiveProductMean, tokenLayout } from './core';

export interface TransformerAttributionOptions extends AttentionMethodOptions {
  /** The first attention layer of the product (default 0). */
  startLayer?: number;
}

/** a / (b + 1e-9) where b ≠ 0, else 0: the authors' safe_divide, written out. */
function safeDivide(a: Tensor, b: Tensor): Tensor {
  return where(eq(b, 0), 0, div(a, add(b, 1e-9)));
}

/** Σ over every dim but the batch, keeping dims ([N, 1, …]). */
const itemSum = (t: Tensor) => sum(t, { dim: t.shape.map((_, i) => i).slice(1), keepdim: true });

/**
 * LRP-αβ with α = 1, β = 0 on signed inputs (eq. 6): only the positive contributions x⁺w⁺ and x⁻w⁻
 * share the relevance, z = x⁺·w⁺ + x⁻·w⁻ without bias.
 */
const alphaOneBetaZero: GradRule<'conv2d' | 'linear'> = (R, ctx) => {
  const { x, weight: w } = inputsOf(ctx as GradContext<'conv2d' | 'linear'>);
  const px = relu(x),
    nx = minimum(x, 0),
    pw = relu(w),
    nw = minimum(w, 0);
  const z = add(forward(ctx, px, pw, null), forward(ctx, nx, nw, null));
  const s = safeDivide(R, z);
  const relevance = add(mul(px, transpose(ctx, s, pw)), mul(nx, transpose(ctx, s, nw)));
  return ctx.inputs.map((_, i) => (i === 0 ? relevance : null));
};

/**
 * Two tensors mixed (skip connections, matrix products): each operand's relevance by the generic rule
 * (eq. 5, x ⊙ ∂L/∂x ⊙ R/L), then rescaled per item so that the two share Σ R in proportion to their
 * absolute sums (eq. 8).
 */
const binaryNormalised =
  <K extends 'add' | 'matmul'>(): GradRule<K> =>
  (R, ctx) => {
    const s = safeDivide(R, ctx.output);
    const rule = gradRules[ctx.op] as GradRule<K>;
    const [ga, gb] = rule(s, { ...ctx, needsGrad: [true, true] });
    const [a, b] = ctx.inputs as [Tensor, Tensor];
    const ra = mul(a, ga!),
      rb = mul(b, gb!);
    const sa = itemSum(ra),
      sb = itemSum(rb),
      total = itemSum(R);
    const aa = abs(sa),
      ab = abs(sb);
    const share = (r: Tensor, own: Tensor, ownAbs: Tensor) => mul(r, safeDivide(mul(safeDivide(ownAbs, add(aa, ab)), total), own));
    return [ctx.needsGrad[0] ? share(ra, sa, aa) : null, ctx.needsGrad[1] ? share(rb, sb, ab) : null];
  };

const identityRule =
  <K extends OpName>(): GradRule<K> =>
  (R, ctx) =>
    ctx.inputs.map((_, i) => (i === 0 ? R : null));

/** The relevance rules of Chefer et al. (2021, CVPR) as overrides of the backward rules. */
export function transformerAttributionRules(): RuleOverrides {
  const fail =
    (op: OpName): GradRule<OpName> =>
    (_R, ctx) => {
      throw new Error(`transformerAttribution: no relevance rule for op '${op}'${ctx.scope ? ` (module '${ctx.scope}')` : ''}`);
    };
  const rules: Partial<Record<OpName, GradRule<OpName>>> = {};
  for (const op of Object.keys(gradRules) as OpName[]) rules[op] = fail(op);
  const moves: OpName[] = ['reshape', 'permute', 'expand', 'slice', 'unslice', 'pad', 'cat', 'indexSelect', 'indexAdd'];
  for (const op of moves) rules[op] = gradRules[op] as GradRule<OpName>;
  // Non-parametric layers pass relevance on unchanged, as in the authors' implementation.
  for (const op of ['softmax', 'gelu', 'layerNorm', 'relu', 'cast', 'clamp'] as OpName[]) rules[op] = identityRule();
  // A product with a constant (the attention scale, dropout masks) keeps the relevance with the tensor.
  rules.mul = ((R, ctx) =>
    ctx.needsGrad[0] && ctx.needsGrad[1]
      ? binaryNormalised<'add'>()(R, ctx as never)
      : ctx.needsGrad[0]
        ? [R, null]
        : [null, R]) as GradRule<OpName>;
  rules.linear = alphaOneBetaZero as GradRule<OpName>;
  rules.conv2d = alphaOneBetaZero as GradRule<OpName>;
  rules.add = binaryNormalised<'add'>() as GradRule<OpName>;
  rules.matmul = binaryNormalised<'matmul'>() as GradRule<OpName>;
  return rules as RuleOverrides;
}

/**
 * Transformer attribution (Chefer, Gur & Wolf 2021, CVPR): relevance propagated from the target
 * (one-hot) with LRP-αβ (α = 1) for linear layers and the normalised generic rule for skip connections
 * and matrix products, read at each layer's attention probabilities A as R_A; per layer
 * Ā = I + mean over heads of max(0, ∇A ⊙ R_A), multiplied from `startLayer` up. The map is the class
 * token's row over the patches, [N, h, w] and [N, H, W].
 */
export function transformerAttribution(model: Module, x: Tensor, options: TransformerAttributionOptions = {}): AttentionMapResult {
  const method = 'transformerAttribution';
  checkInput(method, x);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const pass = recordPass(method, model, x, options.target);
  try {
    const layers = attentionLayers(method, model, pass.tape);
    const start = options.startLayer ?? 0;
    if (!Number.isInteger(start) || start < 0 || start >= layers.length) {
      throw new Error(
        `${method}: startLayer must be an integer in [0, ${layers.length - 1}] (the model has ${layers.length} attention layers), got ${start}`,
      );
    }
    const t = layers[0]!.probs.shape[layers[0]!.probs.rank - 1]!;
    const layout = tokenLayout(method, model, t, options);
    const wrt = layers.map((l) => l.probs);
    const grads = passGrad(pass, wrt);
    const relevance = passGrad(pass, wrt, transformerAttributionRules());
    try {
      const gs = grads.map(headMatrices);
      const rs = relevance.map(headMatrices);
      const finals = gs[0]!.map((_, i) => {
        let joint: Float64Array | null = null;
        for (let l = start; l < layers.length; l++) {
          const abar = positiveProductMean(gs[l]![i]!, rs[l]![i]!);
          for (let d = 0; d < t; d++) abar[d * t + d] = abar[d * t + d]! + 1;
          joint = joint ? matmulSquare(abar, joint, t) : abar;
        }
        return joint ?? identity(t);
      });
      return attentionResult(finals, { method, layout, x, layers, target: pass.target, scores: pass.scores, warnings });
    } finally {
      [...grads, ...relevance].forEach((g) => g.dispose());
    }
  } finally {
    disposePass(pass);
  }
}
