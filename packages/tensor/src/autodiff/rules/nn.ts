import { reshape, sum } from '../../ops';
import type { Tensor } from '../../tensor';
import type { ConvAttrs, PoolAttrs } from '../../ops/op-attrs';
import { inputsOf } from '../../ops/op-inputs';
import { runOp } from '../../ops/run';
import type { GradRuleTable } from './types';

/** The attributes of a conv or pool op without a backward op's extra shape fields. */
const baseConvAttrs = ({ stride, padding, dilation, groups }: ConvAttrs): ConvAttrs => ({ stride, padding, dilation, groups });
const basePoolAttrs = ({ kernel, stride, padding, dilation, outSize }: PoolAttrs): PoolAttrs => ({
  kernel,
  stride,
  padding,
  dilation,
  outSize,
});
const plane = (shape: readonly number[]): [number, number] => [shape[2]!, shape[3]!];
/** The argmax indices a max-pooling node recorded as its extra output. */
function poolIndices(extras: readonly Tensor[]): Tensor {
  const [indices] = extras;
  if (!indices) throw new Error('gradient rule of max pooling: the node has no indices output');
  return indices;
}

/**
 * Rules of the layer ops. Each backward kernel is an op of its own whose rule is the forward op
 * (they are adjoint linear maps), so every entry can be checked by finite differences.
 */
export const nnRules = {
  // C = op(A)·op(B): each operand's gradient is another product with flipped transposes.
  matmul: (dy, ctx) => {
    const { a, b } = inputsOf(ctx);
    const { transA, transB } = ctx.attrs;
    return [
      ctx.needsGrad[0]
        ? transA
          ? runOp('matmul', [b, dy], { transA: transB, transB: true })
          : runOp('matmul', [dy, b], { transA: false, transB: !transB })
        : null,
      ctx.needsGrad[1]
        ? transB
          ? runOp('matmul', [dy, a], { transA: true, transB: transA })
          : runOp('matmul', [a, dy], { transA: !transA, transB: false })
        : null,
    ];
  },
  linear: (dy, ctx) => {
    const { x, weight, bias } = inputsOf(ctx);
    const rows = x.size / x.shape[x.rank - 1]!;
    const dy2 = reshape(dy, [rows, weight.shape[0]!]);
    return [
      ctx.needsGrad[0] ? runOp('matmul', [dy, weight], { transA: false, transB: false }) : null,
      ctx.needsGrad[1] ? runOp('matmul', [dy2, reshape(x, [rows, weight.shape[1]!])], { transA: true, transB: false }) : null,
      bias && ctx.needsGrad[2] ? sum(dy2, { dim: 0 }) : null,
    ];
  },
  conv2d: (dy, ctx) => {
    const { x, weight, bias } = inputsOf(ctx);
    const { attrs, needsGrad } = ctx;
    return [
      needsGrad[0] ? runOp('conv2dBackwardInput', [dy, weight], { ...attrs, inputShape: [...x.shape] }) : null,
      needsGrad[1] ? runOp('conv2dBackwardWeight', [x, dy], { ...attrs, weightShape: [...weight.shape] }) : null,
      bias && needsGrad[2] ? sum(dy, { dim: [0, 2, 3] }) : null,
    ];
  },
  conv2dBackwardInput: (g, ctx) => {
    const { dy, weight } = inputsOf(ctx);
    const attrs = baseConvAttrs(ctx.attrs);
    return [
      ctx.needsGrad[0] ? runOp('conv2d', [g, weight], attrs) : null,
      ctx.needsGrad[1] ? runOp('conv2dBackwardWeight', [g, dy], { ...attrs, weightShape: [...weight.shape] }) : null,
    ];
  },
  conv2dBackwardWeight: (g, ctx) => {
    const { x, dy } = inputsOf(ctx);
    const attrs = baseConvAttrs(ctx.attrs);
    return [
      ctx.needsGrad[0] ? runOp('conv2dBackwardInput', [dy, g], { ...attrs, inputShape: [...x.shape] }) : null,
      ctx.needsGrad[1] ? runOp('conv2d', [x, g], attrs) : null,
    ];
  },
  maxPool2d: (dy, ctx) => [runOp('scatterPlanes', [dy, poolIndices(ctx.extras)], { planeShape: plane(inputsOf(ctx).x.shape) })],
  adaptiveMaxPool2d: (dy, ctx) => [runOp('scatterPlanes', [dy, poolIndices(ctx.extras)], { planeShape: plane(inputsOf(ctx).x.shape) })],
  avgPool2d: (dy, ctx) => [runOp('avgPool2dBackward', [dy], { ...ctx.attrs, inputShape: [...inputsOf(ctx).x.shape] })],
  avgPool2dBackward: (g, { attrs }) => [
    runOp('avgPool2d', [g], { ...basePoolAttrs(attrs), countIncludePad: attrs.countIncludePad, divisorOverride: attrs.divisorOverride }),
  ],
  adaptiveAvgPool2d: (dy, ctx) => [runOp('adaptiveAvgPool2dBackward', [dy], { inputShape: [...inputsOf(ctx).x.shape] })],
  adaptiveAvgPool2dBackward: (g, ctx) => [runOp('adaptiveAvgPool2d', [g], { outSize: plane(inputsOf(ctx).dy.shape) })],
  upsampleNearest2d: (dy, ctx) => [runOp('upsampleNearest2dBackward', [dy], { ...ctx.attrs, inputShape: [...inputsOf(ctx).x.shape] })],
  upsampleNearest2dBackward: (g, { attrs: { outSize, scale, alignCorners } }) => [
    runOp('upsampleNearest2d', [g], { outSize, scale, alignCorners }),
  ],
  upsampleBilinear2d: (dy, ctx) => [runOp('upsampleBilinear2dBackward', [dy], { ...ctx.attrs, inputShape: [...inputsOf(ctx).x.shape] })],
  upsampleBilinear2dBackward: (g, { attrs: { outSize, scale, alignCorners } }) => [
    runOp('upsampleBilinear2d', [g], { outSize, scale, alignCorners }),
  ],
  roiAlign: (dy, ctx) => [runOp('roiAlignBackward', [dy], { ...ctx.attrs, inputShape: [...inputsOf(ctx).x.shape] })],
  roiAlignBackward: (g, { attrs: { inputShape: _, ...attrs } }) => [runOp('roiAlign', [g], attrs)],
} satisfies Partial<GradRuleTable>;
