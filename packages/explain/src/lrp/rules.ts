import type { AnyTapeNode, GradContext, GradRule, OpName, Tensor } from '@gradlens/tensor';
import {
  add,
  inputsOf,
  conv2d,
  div,
  full,
  gradRules,
  linear,
  mul,
  neg,
  pow,
  relu,
  reshape,
  sum,
  where,
  eq,
  ge,
  minimum,
} from '@gradlens/tensor';

/** How one layer (conv2d or linear) passes relevance to its input. */
export type LrpLayerRule =
  /** LRP-ε: R_in = x ⊙ Wᵀ(R / (z + ε·sign z)); ε = 0 is LRP-0. */
  | { rule: 'epsilon'; epsilon?: number }
  /** LRP-γ: the weights become W + γW⁺, favouring positive contributions. */
  | { rule: 'gamma'; gamma?: number; epsilon?: number }
  /** LRP-αβ (inputs ≥ 0): positive and negative contributions weighted by α and β, α − β = 1. */
  | { rule: 'alphaBeta'; alpha?: number; beta?: number }
  /** zᴮ for the pixel layer: inputs bounded by [low, high] (numbers or tensors broadcastable to the input). */
  | { rule: 'zB'; low: number | Tensor; high: number | Tensor };

/** How a stabiliser is added to a denominator: ε·sign(z) (the paper) or +ε (the reference script). */
export type Stabiliser = (z: Tensor, epsilon: number) => Tensor;
export const signedEpsilon: Stabiliser = (z, e) => add(z, where(ge(z, 0), e, -e));
export const additiveEpsilon: Stabiliser = (z, e) => add(z, e);

/** R / d, with 0 where d = 0: with ε = 0 (LRP-0) a zero output passes no relevance instead of 0/0 = NaN. */
export function quotient(R: Tensor, d: Tensor): Tensor {
  return where(eq(d, 0), 0, div(R, d));
}

const positive = (t: Tensor) => relu(t);
const negative = (t: Tensor) => minimum(t, 0);

/**
 * Wᵀs for the layer of `ctx` with its weight replaced by `weight`: the vanilla gradient rule of the
 * same op is that transpose, so LRP reuses the rule table instead of new kernels.
 */
export function transpose<K extends 'conv2d' | 'linear'>(ctx: GradContext<K>, s: Tensor, weight: Tensor): Tensor {
  const rule = gradRules[ctx.op] as GradRule<K>;
  // The same call with only the weight swapped (slot 1 for both ops; the bias, if any, stays).
  const inputs = ctx.inputs.map((t, i) => (i === 1 ? weight : t));
  return rule(s, { ...ctx, inputs, needsGrad: inputs.map((_, i) => i === 0) })[0]!;
}

/** The layer's forward pass again with other weights and bias (for γ, αβ and zᴮ). */
export function forward<K extends 'conv2d' | 'linear'>(ctx: GradContext<K>, x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  if (ctx.op === 'linear') return linear(x, weight, bias);
  const a = (ctx as GradContext<'conv2d'>).attrs;
  return conv2d(x, weight, bias, { stride: a.stride, padding: a.padding, dilation: a.dilation, groups: a.groups });
}

/** Relevance of a conv2d or linear node's input, for one layer rule. */
export function layerRelevance<K extends 'conv2d' | 'linear'>(
  R: Tensor,
  ctx: GradContext<K>,
  spec: LrpLayerRule,
  stabilise: Stabiliser,
): Tensor {
  const { x, weight: w, bias } = inputsOf(ctx as GradContext<'conv2d' | 'linear'>);
  const b = bias ?? null;
  switch (spec.rule) {
    case 'epsilon': {
      const s = quotient(R, stabilise(ctx.output, spec.epsilon ?? 0));
      return mul(x, transpose(ctx, s, w));
    }
    case 'gamma': {
      const g = spec.gamma ?? 0.25;
      const wg = add(w, mul(positive(w), g));
      const bg = b && add(b, mul(positive(b), g));
      const s = quotient(R, stabilise(forward(ctx, x, wg, bg), spec.epsilon ?? 1e-9));
      return mul(x, transpose(ctx, s, wg));
    }
    case 'alphaBeta': {
      const alpha = spec.alpha ?? 1;
      const beta = spec.beta ?? alpha - 1;
      const wp = positive(w);
      const wn = negative(w);
      const zp = add(forward(ctx, x, wp, b && positive(b)), 1e-9);
      const zn = add(forward(ctx, x, wn, b && negative(b)), -1e-9);
      const cp = transpose(ctx, div(R, zp), wp);
      const cn = transpose(ctx, div(R, zn), wn);
      return mul(x, add(mul(cp, alpha), mul(cn, -beta)));
    }
    case 'zB': {
      const low = typeof spec.low === 'number' ? full(x.shape, spec.low, x.dtype) : spec.low;
      const high = typeof spec.high === 'number' ? full(x.shape, spec.high, x.dtype) : spec.high;
      const wp = positive(w);
      const wn = negative(w);
      const z = add(add(forward(ctx, x, w, null), neg(forward(ctx, low, wp, null))), neg(forward(ctx, high, wn, null)));
      const s = quotient(R, stabilise(z, 1e-9));
      return add(add(mul(x, transpose(ctx, s, w)), neg(mul(low, transpose(ctx, s, wp)))), neg(mul(high, transpose(ctx, s, wn))));
    }
  }
}

/** Ops whose relevance passes through unchanged (ReLU, clipping, casts). */
export const passThrough =
  <K extends OpName>(): GradRule<K> =>
  (R, ctx) =>
    ctx.inputs.map((_, i) => (i === 0 ? R : null));

/** Parameter-free linear ops (average pooling, sums, means): the ε-rule with the op's own transpose. */
export const proportional =
  <K extends OpName>(stabilise: Stabiliser, epsilon: number): GradRule<K> =>
  (R, ctx) => {
    const s = quotient(R, stabilise(ctx.output, epsilon));
    const rule = gradRules[ctx.op] as GradRule<K>;
    const grads = rule(s, ctx);
    return ctx.inputs.map((x, i) => (i === 0 && grads[0] ? mul(x, grads[0]) : null));
  };

/** a ± b (residual additions, bias additions of batch norm): each operand takes its share of the sum. */
export const shareSum =
  (stabilise: Stabiliser, epsilon: number, subtract: boolean): GradRule<'add' | 'sub'> =>
  (R, ctx) => {
    const s = quotient(R, stabilise(ctx.output, epsilon));
    const [a, b] = ctx.inputs as [Tensor, Tensor];
    return [ctx.needsGrad[0] ? mul(a, s) : null, ctx.needsGrad[1] ? mul(subtract ? neg(b) : b, s) : null];
  };

/**
 * a·c or a/c with c constant (batch-norm scaling, dropout masks): the relevance stays with a. A product
 * of two input-dependent operands where one is a gate (see `gateOutputs`: SiLU's x·σ(x), Hardswish's
 * x·hardsigmoid(x), a squeeze-and-excitation's channel scale) gives it all to the signal and none to the
 * gate, the signal-take-all rule of Arras et al. (2017) for gated units; an elementwise activation
 * x·g(x) then passes relevance through unchanged, as ReLU does.
 */
export const scaleByConstant =
  (op: 'mul' | 'div', gates: ReadonlySet<Tensor> = new Set()): GradRule<'mul' | 'div'> =>
  (R, ctx) => {
    const both = ctx.needsGrad[0] && ctx.needsGrad[1];
    if (op === 'mul' && both) {
      if (gates.has(ctx.inputs[1]!)) return [R, null];
      if (gates.has(ctx.inputs[0]!)) return [null, R];
    }
    if (both || (op === 'div' && ctx.needsGrad[1])) {
      throw new Error(
        `LRP: ${op} with an input-dependent ${both ? 'pair of operands, neither of them a gate (a sigmoid or hardsigmoid output),' : 'divisor'}${ctx.scope ? ` in module '${ctx.scope}'` : ''} has no relevance rule`,
      );
    }
    return ctx.needsGrad[0] ? [R, null] : [null, R];
  };

/**
 * The gates of a recorded pass: outputs of `sigmoid`, of a clamp to [0, 1] (ONNX's HardSigmoid), and of
 * nn's hardsigmoid, (clamp(x, −3, 3) + 3) / 6 — values in [0, 1] that scale another tensor.
 */
export function gateOutputs(nodes: readonly AnyTapeNode[]): Set<Tensor> {
  const producer = new Map<Tensor, AnyTapeNode>(nodes.map((n) => [n.output, n]));
  const isClamp = (n: AnyTapeNode | undefined, min: number, max: number): boolean =>
    n?.op === 'clamp' && n.attrs.min === min && n.attrs.max === max;
  const gates = new Set<Tensor>();
  for (const n of nodes) {
    if (n.op === 'sigmoid' || isClamp(n, 0, 1)) gates.add(n.output);
    if (n.op === 'div') {
      const shifted = producer.get(n.inputs[0]!);
      if (shifted?.op === 'add' && isClamp(producer.get(shifted.inputs[0]!), -3, 3)) gates.add(n.output);
    }
  }
  return gates;
}

/**
 * Batch norm in eval mode, y = x·scale + shift per channel with scale = weight/√(running var + eps):
 * x·scale takes its share x·scale·R/y of the output's relevance and the shift's share is dropped, as
 * for the bias of conv2d and linear (zennit's and the reference scripts' treatment). Training mode
 * normalises with statistics of the batch itself and has no rule.
 */
export const batchNormRelevance =
  (stabilise: Stabiliser, epsilon: number): GradRule<'batchNorm'> =>
  (R, ctx) => {
    if (ctx.attrs.training) {
      throw new Error(
        `LRP: batch norm in training mode (batch statistics)${ctx.scope ? ` in module '${ctx.scope}'` : ''} has no relevance rule; put the model in eval mode`,
      );
    }
    const { x, var: variance, weight } = inputsOf(ctx);
    if (!variance) throw new Error(`LRP: batch norm${ctx.scope ? ` in module '${ctx.scope}'` : ''} in eval mode has no running variance`);
    const inv = pow(add(variance, ctx.attrs.eps), -0.5);
    const scale = weight ? mul(weight, inv) : inv;
    const scaled = mul(
      x,
      reshape(
        scale,
        x.shape.map((d, i) => (i === 1 ? d : 1)),
      ),
    );
    return ctx.inputs.map((_, i) => (i === 0 && ctx.needsGrad[0] ? mul(scaled, quotient(R, stabilise(ctx.output, epsilon))) : null));
  };

/** The sum of relevance per batch item. */
export function relevancePerItem(r: Tensor): number[] {
  const dims = r.shape.map((_, i) => i).slice(1);
  return Array.from(sum(r, { dim: dims }).dataSync());
}
