import { inputsOf } from '../../ops/op-inputs';
import { runOp } from '../../ops/run';
import { reshape } from '../../ops';
import type { GradRuleTable } from './types';

const plane = (shape: readonly number[]): [number, number] => [shape[2]!, shape[3]!];

export const shapeRules = {
  reshape: (dy, ctx) => [reshape(dy, inputsOf(ctx).x.shape)],
  permute: (dy, { attrs: { dims } }) => {
    const inverse = new Array<number>(dims.length);
    dims.forEach((d, i) => (inverse[d] = i));
    return [runOp('permute', [dy], { dims: inverse })];
  },
  // Broadcasting is undone centrally (fitGradient), so expand passes dy through.
  expand: (dy) => [dy],
  slice: (dy, ctx) => [runOp('unslice', [dy], { ...ctx.attrs, shape: [...inputsOf(ctx).x.shape] })],
  unslice: (dy, { attrs: { begin, end, step } }) => [runOp('slice', [dy], { begin, end, step })],
  pad: (dy, ctx) => {
    const { x } = inputsOf(ctx);
    const { pads } = ctx.attrs;
    return [runOp('slice', [dy], { begin: pads.map((p) => p[0]), end: pads.map((p, i) => p[0] + x.shape[i]!), step: pads.map(() => 1) })];
  },
  cat: (dy, ctx) => {
    const { dim } = ctx.attrs;
    let offset = 0;
    return inputsOf(ctx).xs.map((x) => {
      const begin = dy.shape.map((_, i) => (i === dim ? offset : 0));
      offset += x.shape[dim]!;
      const end = dy.shape.map((d, i) => (i === dim ? offset : d));
      return runOp('slice', [dy], { begin, end, step: dy.shape.map(() => 1) });
    });
  },
  indexSelect: (dy, ctx) => {
    const { x, index } = inputsOf(ctx);
    const { dim } = ctx.attrs;
    return [runOp('indexAdd', [dy, index], { dim, size: x.shape[dim]! }), null];
  },
  indexAdd: (dy, ctx) => [runOp('indexSelect', [dy, inputsOf(ctx).index], { dim: ctx.attrs.dim }), null],
  gatherPlanes: (dy, ctx) => {
    const { x, indices } = inputsOf(ctx);
    return [runOp('scatterPlanes', [dy, indices], { planeShape: plane(x.shape) }), null];
  },
  scatterPlanes: (g, ctx) => [runOp('gatherPlanes', [g, inputsOf(ctx).indices], {}), null],
} satisfies Partial<GradRuleTable>;
