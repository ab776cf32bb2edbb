import { zeros } from '../../creation';
import { add, mean, mul, neg, pow, reshape, sub, sum } from '../../ops';
import { inputsOf } from '../../ops/op-inputs';
import { runOp, runOpFull } from '../../ops/run';
import type { Tensor } from '../../tensor';
import { isRecording } from '../tape';
import { fusable } from './elementwise';
import { gradsByName, needsGradOf } from './named';
import type { GradRuleTable } from './types';

/** A per-channel [C] tensor as [1, C, 1, …], to broadcast over x. */
const spread = (t: Tensor, x: Tensor) =>
  reshape(
    t,
    x.shape.map((d, i) => (i === 1 ? d : 1)),
  );
/** Σ over every dim but the channel: [N, C, …] → [C]. */
const channelSum = (t: Tensor) => sum(t, { dim: t.shape.map((_, i) => i).filter((i) => i !== 1) });
const invStd = (variance: Tensor, eps: number) => pow(add(variance, eps), -0.5);
/**
 * Σdy and Σdy·x̂ per channel with x̂ = (x − mean)/√(var + eps): the extra outputs of the backward
 * kernel, one pass over dy and x (its dx, the training-mode one, is dropped).
 */
function channelSums(dy: Tensor, x: Tensor, mean: Tensor, variance: Tensor, eps: number): [Tensor, Tensor] {
  const r = runOpFull('batchNormBackward', [dy, x, mean, variance], { eps });
  r.out.dispose();
  return r.extras as [Tensor, Tensor];
}

/**
 * channelSums with ordinary ops, for a backward pass that is itself recorded (createGraph): the kernel's extra
 * outputs have no rule, so the sums would be constants to the next backward pass.
 */
function composedChannelSums(dy: Tensor, x: Tensor, mean: Tensor, variance: Tensor, eps: number): [Tensor, Tensor] {
  const xhat = mul(sub(x, spread(mean, x)), spread(invStd(variance, eps), x));
  return [channelSum(dy), channelSum(mul(dy, xhat))];
}

/** The sums the next backward pass can differentiate when one is recording, else the kernel's. */
const sumsFor = (dy: Tensor, x: Tensor, mean: Tensor, variance: Tensor, eps: number): [Tensor, Tensor] =>
  (isRecording() ? composedChannelSums : channelSums)(dy, x, mean, variance, eps);

/**
 * Training-mode batch-norm gradients composed of ordinary ops, with the batch statistics recomputed from x so that
 * a recorded backward pass (createGraph) differentiates through them: dx = k·(dy − mean(dy) − x̂·mean(dy·x̂)).
 */
function composedTrainingGrads(
  dy: Tensor,
  x: Tensor,
  weight: Tensor | undefined,
  eps: number,
  wantDx: boolean,
): [Tensor | null, Tensor, Tensor] {
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const channelMean = (t: Tensor) => mean(t, { dim: axes, keepdim: true });
  const centred = sub(x, channelMean(x));
  const inv = pow(add(channelMean(mul(centred, centred)), eps), -0.5);
  const xhat = mul(centred, inv);
  const k = weight ? mul(spread(weight, x), inv) : inv;
  const dx = wantDx ? mul(k, sub(sub(dy, channelMean(dy)), mul(xhat, channelMean(mul(dy, xhat))))) : null;
  return [dx, channelSum(dy), channelSum(mul(dy, xhat))];
}

/** dy·weight/√(var + eps) per channel: the eval-mode forward kernel run on dy with zero mean and no bias. */
function scaleChannels(dy: Tensor, variance: Tensor, weight: Tensor | null, eps: number): Tensor {
  const inputs = [dy, zeros(variance.shape, variance.dtype), variance, ...(weight ? [weight] : [])];
  return runOp('batchNorm', inputs, { training: false, eps, weight: !!weight, bias: false });
}

/**
 * Rules of batch normalisation. Training mode differentiates through the batch statistics with the
 * batchNormBackward kernel (one op for dx; its extra outputs are the bias and weight gradients).
 * Eval mode is a per-channel affine map of x: dx is dy scaled per channel, and the parameters' and
 * running statistics' gradients come from the same two channel sums. The rule of batchNormBackward
 * is the second derivative, written with ordinary ops, so that every entry of the table can be
 * checked by finite differences.
 */
/**
 * x̂ = (x − mean)/√(var + eps) over the last `dims` dims of x, and the 1/√(var + eps) it divided by,
 * recomputed with ordinary ops so that the layer-norm rule has a rule of its own (double backward).
 */
export function layerNormParts(x: Tensor, dims: number, eps: number): { xhat: Tensor; inv: Tensor; axes: number[] } {
  const axes = x.shape.map((_, i) => i).slice(x.rank - dims);
  const centred = sub(x, mean(x, { dim: axes, keepdim: true }));
  const inv = pow(add(mean(mul(centred, centred), { dim: axes, keepdim: true }), eps), -0.5);
  return { xhat: mul(centred, inv), inv, axes };
}

/** The layer-norm gradients composed of ordinary ops (for a dy that does not fit x). */
function composedLayerNormGrads(dy: Tensor, ctx: Parameters<GradRuleTable['layerNorm']>[1]): (Tensor | null)[] {
  const { x, weight, bias } = inputsOf(ctx);
  const needs = needsGradOf(ctx);
  const { xhat, inv, axes } = layerNormParts(x, ctx.attrs.dims, ctx.attrs.eps);
  let dx: Tensor | null = null;
  if (needs.x) {
    const g = weight ? mul(dy, weight) : dy;
    const rowMean = (t: Tensor) => mean(t, { dim: axes, keepdim: true });
    dx = mul(inv, sub(sub(g, rowMean(g)), mul(xhat, rowMean(mul(g, xhat)))));
  }
  return gradsByName(ctx, { x: dx, weight: weight && needs.weight ? mul(dy, xhat) : null, bias: bias && needs.bias ? dy : null });
}

export const normRules = {
  // y = x̂·weight + bias per row: dx = inv·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·weight; the
  // parameters' gradients keep x's shape and are summed over the rows by the central unbroadcast.
  // One fused op (layerNormBackward) for dx and the weight gradient where dy fits x. Its weight
  // gradient is a non-differentiable extra output, so under a recording tape (a backward that will be
  // differentiated again) the weight gradient is composed of ordinary ops instead.
  layerNorm: (dy, ctx) => {
    const { x, weight, bias } = inputsOf(ctx);
    const needs = needsGradOf(ctx);
    const { dims, eps } = ctx.attrs;
    const wantWeight = !!weight && needs.weight;
    if (!fusable('layerNormBackward', dy, x)) return composedLayerNormGrads(dy, ctx);
    let dx: Tensor | null = null,
      dw: Tensor | null = null;
    if (needs.x || wantWeight) {
      const r = runOpFull('layerNormBackward', weight ? [dy, x, weight] : [dy, x], { dims, eps });
      const [sumDyXhat] = r.extras as [Tensor];
      if (needs.x) dx = r.out;
      else r.out.dispose();
      if (wantWeight && !isRecording()) dw = sumDyXhat;
      else {
        sumDyXhat.dispose();
        if (wantWeight) dw = mul(dy, layerNormParts(x, dims, eps).xhat);
      }
    }
    return gradsByName(ctx, { x: dx, weight: dw, bias: bias && needs.bias ? dy : null });
  },
  // dx = J·g with g = dy·weight and J = inv·(I − 11ᵀ/n − x̂x̂ᵀ/n) symmetric: for an upstream G, J·G is the
  // same op on G (no weight), so d/ddy = weight·J·G and d/dweight = Σ dy·J·G. In x, with a = mean(g·x̂),
  // b = mean(G·x̂), ḡ, Ḡ the row means: inv²·((3ab − mean(G·g) + Ḡ·ḡ)·x̂ − b·(g − ḡ) − a·(G − Ḡ)).
  layerNormBackward: (G, ctx) => {
    const { dy, x, weight } = inputsOf(ctx);
    const { dims, eps } = ctx.attrs;
    const needs = needsGradOf(ctx);
    const { xhat, inv, axes } = layerNormParts(x, dims, eps);
    const rowMean = (t: Tensor) => mean(t, { dim: axes, keepdim: true });
    let jg: Tensor | null = null;
    if (needs.dy || (weight && needs.weight)) {
      if (fusable('layerNormBackward', G, x)) {
        const r = runOpFull('layerNormBackward', [G, x], { dims, eps });
        r.extras?.forEach((e) => e.dispose());
        jg = r.out;
      } else jg = mul(inv, sub(sub(G, rowMean(G)), mul(xhat, rowMean(mul(G, xhat)))));
    }
    let gx: Tensor | null = null;
    if (needs.x) {
      const g = weight ? mul(dy, weight) : dy;
      const [gm, Gm] = [rowMean(g), rowMean(G)];
      const [a, b] = [rowMean(mul(g, xhat)), rowMean(mul(G, xhat))];
      const c = add(sub(mul(mul(a, b), 3), rowMean(mul(G, g))), mul(Gm, gm));
      gx = mul(mul(inv, inv), sub(sub(mul(c, xhat), mul(b, sub(g, gm))), mul(a, sub(G, Gm))));
    }
    return gradsByName(ctx, {
      dy: needs.dy ? (weight ? mul(jg!, weight) : jg) : null,
      x: gx,
      weight: weight && needs.weight ? mul(dy, jg!) : null,
    });
  },
  batchNorm: (dy, ctx) => {
    const { x, weight, mean, var: variance } = inputsOf(ctx);
    const { eps } = ctx.attrs;
    const needs = needsGradOf(ctx);
    if (!mean || !variance) {
      // Training mode: the batch statistics are the node's extra outputs.
      if (isRecording()) {
        const [dx, sumDy, sumDyXhat] = composedTrainingGrads(dy, x, weight, eps, needs.x === true);
        return gradsByName(ctx, { x: dx, bias: needs.bias ? sumDy : null, weight: needs.weight ? sumDyXhat : null });
      }
      const [batchMean, batchVar] = ctx.extras as [Tensor, Tensor];
      let dx: Tensor | null = null;
      let sums: [Tensor, Tensor] | null = null;
      if (needs.x) {
        const r = runOpFull('batchNormBackward', weight ? [dy, x, batchMean, batchVar, weight] : [dy, x, batchMean, batchVar], { eps });
        dx = r.out;
        sums = r.extras as [Tensor, Tensor];
      } else if (needs.weight || needs.bias) sums = channelSums(dy, x, batchMean, batchVar, eps);
      return gradsByName(ctx, { x: dx, bias: needs.bias ? sums![0] : null, weight: needs.weight ? sums![1] : null });
    }
    // y = (x − mean)·k + bias with k = weight/√(var + eps).
    const dx = needs.x ? scaleChannels(dy, variance, weight ?? null, eps) : null;
    if (!needs.weight && !needs.bias && !needs.mean && !needs.var) return gradsByName(ctx, { x: dx });
    const [sumDy, sumDyXhat] = sumsFor(dy, x, mean, variance, eps);
    const inv = invStd(variance, eps);
    const k = weight ? mul(weight, inv) : inv;
    return gradsByName(ctx, {
      x: dx,
      bias: needs.bias ? sumDy : null,
      weight: needs.weight ? sumDyXhat : null,
      mean: needs.mean ? neg(mul(k, sumDy)) : null,
      var: needs.var ? mul(mul(k, inv), mul(sumDyXhat, -0.5)) : null,
    });
  },
  // dx = k·(dy − D − x̂·A) with k = weight·invstd, x̂ = (x − mean)·invstd, D = mean(dy), A = mean(dy·x̂)
  // per channel; mean and var are inputs of their own here. For an upstream gradient G, with
  // B = mean(G·x̂): d/ddy = k·(G − mean(G) − x̂·B) (the same kernel: the map is symmetric),
  // d/dx̂ = −k·(G·A + dy·B), d/dinvstd = weight·Σ G·(dy − D − 3x̂·A), d/dweight = invstd·Σ G·(dy − D − x̂·A).
  batchNormBackward: (G, ctx) => {
    const { dy, x, mean, var: variance, weight } = inputsOf(ctx);
    const { eps } = ctx.attrs;
    const needs = needsGradOf(ctx);
    const count = x.size / x.shape[1]!;
    const inv = invStd(variance, eps);
    const k = weight ? mul(weight, inv) : inv;
    const r = runOpFull('batchNormBackward', weight ? [G, x, mean, variance, weight] : [G, x, mean, variance], { eps });
    // The kernel's sums have no rule: a recorded backward pass (createGraph) needs them from ordinary ops.
    const recording = isRecording();
    const [sumG, sumGXhat] = recording ? composedChannelSums(G, x, mean, variance, eps) : (r.extras as [Tensor, Tensor]);
    const [sumDy, sumDyXhat] = recording ? composedChannelSums(dy, x, mean, variance, eps) : (ctx.extras as [Tensor, Tensor]);
    if (recording) r.extras?.forEach((e) => e.dispose());
    const A = mul(sumDyXhat, 1 / count);
    const B = mul(sumGXhat, 1 / count);
    const D = mul(sumDy, 1 / count);
    // Σ G·dy − D·ΣG − c·A·ΣG·x̂, for c = 1 (weight) and c = 3 (invstd).
    const sumGDy = needs.var || needs.weight ? channelSum(mul(G, dy)) : null;
    const partial = (c: number) => sub(sub(sumGDy!, mul(D, sumG)), mul(mul(A, sumGXhat), c));
    const kInv = mul(k, inv);
    return gradsByName(ctx, {
      dy: needs.dy ? r.out : null,
      x: needs.x ? neg(mul(spread(kInv, x), add(mul(G, spread(A, x)), mul(dy, spread(B, x))))) : null,
      mean: needs.mean ? mul(kInv, add(mul(A, sumG), mul(B, sumDy))) : null,
      var: needs.var ? mul(mul(kInv, mul(inv, -0.5)), partial(3)) : null,
      weight: weight && needs.weight ? mul(inv, partial(1)) : null,
    });
  },
} satisfies Partial<GradRuleTable>;
