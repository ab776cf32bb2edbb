import { cast, div, eq, exp, expand, mul, reshape, sub, sum } from '../../ops';
import { inputsOf } from '../../ops/op-inputs';
import { runOp } from '../../ops/run';
import { fusable } from './elementwise';
import type { Tensor } from '../../tensor';
import type { GradRuleTable } from './types';

/** dy of a reduction, reshaped with the reduced dims kept and broadcast back over the input. */
function spread(dy: Tensor, x: Tensor, dims: readonly number[]): Tensor {
  const kept = x.shape.map((d, i) => (dims.includes(i) ? 1 : d));
  return expand(reshape(dy, kept), x.shape);
}

const count = (x: Tensor, dims: readonly number[]) => dims.reduce((n, d) => n * x.shape[d]!, 1);

/** Gradient of max/min: shared evenly between the elements equal to the result. */
function extremum(dy: Tensor, x: Tensor, output: Tensor, dims: readonly number[]): Tensor {
  const hit = cast(eq(x, spread(output, x, dims)), dy.dtype);
  const ties = sum(hit, { dim: dims as number[], keepdim: true });
  return div(mul(hit, spread(dy, x, dims)), ties);
}

export const reduceRules = {
  sum: (dy, ctx) => [spread(dy, inputsOf(ctx).x, ctx.attrs.dims)],
  mean: (dy, ctx) => {
    const { x } = inputsOf(ctx);
    return [div(spread(dy, x, ctx.attrs.dims), count(x, ctx.attrs.dims))];
  },
  max: (dy, ctx) => [extremum(dy, inputsOf(ctx).x, ctx.output, ctx.attrs.dims)],
  min: (dy, ctx) => [extremum(dy, inputsOf(ctx).x, ctx.output, ctx.attrs.dims)],
  argmax: () => [null],
  argmin: () => [null],
  var: (dy, ctx) => {
    const { x } = inputsOf(ctx);
    const { dims, correction } = ctx.attrs;
    const centred = sub(x, mul(sum(x, { dim: dims, keepdim: true }), 1 / count(x, dims)));
    return [mul(spread(dy, x, dims), mul(centred, 2 / Math.max(0, count(x, dims) - correction)))];
  },
  // One fused op (softmaxBackward) where dy fits the output, the composed y·(dy − Σ dy·y) otherwise.
  softmax: (dy, { output, attrs: { dim } }) =>
    fusable('softmaxBackward', dy, output)
      ? [runOp('softmaxBackward', [dy, output], { dim })]
      : [mul(output, sub(dy, sum(mul(dy, output), { dim, keepdim: true })))],
  // out = y·(dy − s), s = Σ dy·y: linear in dy (the same op on g), and g·(dy − s) − dy·Σ g·y in y.
  softmaxBackward: (g, ctx) => {
    const { dy, y } = inputsOf(ctx);
    const { dim } = ctx.attrs;
    const s = (a: Tensor, b: Tensor) => sum(mul(a, b), { dim, keepdim: true });
    return [
      ctx.needsGrad[0] ? (fusable('softmaxBackward', g, y) ? runOp('softmaxBackward', [g, y], { dim }) : mul(y, sub(g, s(g, y)))) : null,
      ctx.needsGrad[1] ? sub(mul(g, sub(dy, s(dy, y))), mul(dy, s(g, y))) : null,
    ];
  },
  logSoftmax: (dy, { output, attrs: { dim } }) => [sub(dy, mul(exp(output), sum(dy, { dim, keepdim: true })))],
} satisfies Partial<GradRuleTable>;
