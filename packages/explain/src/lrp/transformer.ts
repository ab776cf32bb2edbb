import type { GradRule, Tensor } from '@gradlens/tensor';
import { gradRules, inputsOf, mean, mul, pow, add, sub, sum } from '@gradlens/tensor';
import type { Stabiliser } from './rules';
import { quotient } from './rules';

/** How relevance crosses attention: Ali et al.'s AH-rule, or AttnLRP's softmax and matrix-product rules. */
export type AttentionRule = 'ah' | 'attnlrp';

/**
 * The LN-rule (Ali et al. 2022): layer norm with its division by the standard deviation held
 * constant is linear in x (centring, scaling, the affine weight), and relevance follows that linear
 * map by the ε-rule: R_x = x ⊙ Jᵀ(R / y) with J the Jacobian at fixed σ. The bias's share is dropped,
 * as for conv2d and linear; on a bias-free net relevance is conserved.
 */
export const layerNormRelevance =
  (stabilise: Stabiliser, epsilon: number): GradRule<'layerNorm'> =>
  (R, ctx) => {
    const { x, weight } = inputsOf(ctx);
    const axes = x.shape.map((_, i) => i).slice(x.rank - ctx.attrs.dims);
    const centred = sub(x, mean(x, { dim: axes, keepdim: true }));
    const inv = pow(add(mean(mul(centred, centred), { dim: axes, keepdim: true }), ctx.attrs.eps), -0.5);
    const s = quotient(R, stabilise(ctx.output, epsilon));
    const ws = weight ? mul(s, weight) : s;
    const g = mul(inv, sub(ws, mean(ws, { dim: axes, keepdim: true })));
    return ctx.inputs.map((_, i) => (i === 0 && ctx.needsGrad[0] ? mul(x, g) : null));
  };

/**
 * Matrix products. With one constant operand (a weight), the ε-rule to the other. Between two
 * input-dependent operands: the AH-rule (Ali et al. 2022) holds the attention probabilities (an
 * operand that a softmax made) constant, so the product is linear in the values and only they get
 * relevance; AttnLRP's uniform rule (Achtibat et al. 2024) gives each operand half of its ε-rule share.
 */
export const matmulRelevance =
  (mode: AttentionRule, stabilise: Stabiliser, epsilon: number, probabilities: ReadonlySet<Tensor>): GradRule<'matmul'> =>
  (R, ctx) => {
    const [a, b] = ctx.inputs as [Tensor, Tensor];
    const s = quotient(R, stabilise(ctx.output, epsilon));
    const [ga, gb] = gradRules.matmul(s, { ...ctx, needsGrad: [true, true] });
    const share = (x: Tensor, g: Tensor, f: number) => (f === 1 ? mul(x, g) : mul(mul(x, g), f));
    if (!ctx.needsGrad[0] || !ctx.needsGrad[1])
      return [ctx.needsGrad[0] ? share(a, ga!, 1) : null, ctx.needsGrad[1] ? share(b, gb!, 1) : null];
    if (mode === 'attnlrp') return [share(a, ga!, 0.5), share(b, gb!, 0.5)];
    if (probabilities.has(a)) return [null, share(b, gb!, 1)];
    if (probabilities.has(b)) return [share(a, ga!, 1), null];
    throw new Error(
      `LRP: a matrix product of two input-dependent tensors${ctx.scope ? ` in module '${ctx.scope}'` : ''} that are not attention probabilities has no AH-rule; use { attention: 'attnlrp' }`,
    );
  };

/**
 * Softmax: AttnLRP's rule R_x = x ⊙ (R − s ⊙ Σ R) along the softmax's dim (s its output), its
 * Taylor decomposition at x with the bias term dropped. Under the AH-rule no relevance reaches a
 * softmax that feeds an attention product; one elsewhere is an error.
 */
export const softmaxRelevance =
  (mode: AttentionRule): GradRule<'softmax'> =>
  (R, ctx) => {
    if (mode !== 'attnlrp') {
      throw new Error(
        `LRP: softmax${ctx.scope ? ` in module '${ctx.scope}'` : ''} has no rule under the AH-rule (only attention probabilities, held constant, are supported); use { attention: 'attnlrp' }`,
      );
    }
    const dim = ctx.attrs.dim;
    return [mul(inputsOf(ctx).x, sub(R, mul(ctx.output, sum(R, { dim, keepdim: true }))))];
  };
