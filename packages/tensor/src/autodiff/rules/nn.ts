import { reshape, sum } from '../../ops';
import type { ConvAttrs, PoolAttrs } from '../../ops/op-attrs';
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

/**
 * Rules of the layer ops. Each backward kernel is an op of its own whose rule is the forward op
 * (they are adjoint linear maps), so every entry can be checked by finite differences.
 */
export const nnRules = {
  // C = op(A)·op(B): each operand's gradient is another product with flipped transposes.
  matmul: (dy, { inputs: [a, b], attrs: { transA, transB }, needsGrad }) => [
    needsGrad[0]
      ? transA
        ? runOp('matmul', [b!, dy], { transA: transB, transB: true })
        : runOp('matmul', [dy, b!], { transA: false, transB: !transB })
      : null,
    needsGrad[1]
      ? transB
        ? runOp('matmul', [dy, a!], { transA: true, transB: transA })
        : runOp('matmul', [a!, dy], { transA: !transA, transB: false })
      : null,
  ],
  linear: (dy, { inputs: [x, w, b], needsGrad }) => {
    const rows = x!.size / x!.shape[x!.rank - 1]!;
    const dy2 = reshape(dy, [rows, w!.shape[0]!]);
    return [
      needsGrad[0] ? runOp('matmul', [dy, w!], { transA: false, transB: false }) : null,
      needsGrad[1] ? runOp('matmul', [dy2, reshape(x!, [rows, w!.shape[1]!])], { transA: true, transB: false }) : null,
      b && needsGrad[2] ? sum(dy2, { dim: 0 }) : null,
    ];
  },
  conv2d: (dy, { inputs: [x, w, b], attrs, needsGrad }) => [
    needsGrad[0] ? runOp('conv2dBackwardInput', [dy, w!], { ...attrs, inputShape: [...x!.shape] }) : null,
    needsGrad[1] ? runOp('conv2dBackwardWeight', [x!, dy], { ...attrs, weightShape: [...w!.shape] }) : null,
    b && needsGrad[2] ? sum(dy, { dim: [0, 2, 3] }) : null,
  ],
  conv2dBackwardInput: (g, { inputs: [dy, w], attrs, needsGrad }) => [
    needsGrad[0] ? runOp('conv2d', [g, w!], baseConvAttrs(attrs)) : null,
    needsGrad[1] ? runOp('conv2dBackwardWeight', [g, dy!], { ...baseConvAttrs(attrs), weightShape: [...w!.shape] }) : null,
  ],
  conv2dBackwardWeight: (g, { inputs: [x, dy], attrs, needsGrad }) => [
    needsGrad[0] ? runOp('conv2dBackwardInput', [dy!, g], { ...baseConvAttrs(attrs), inputShape: [...x!.shape] }) : null,
    needsGrad[1] ? runOp('conv2d', [x!, g], baseConvAttrs(attrs)) : null,
  ],
  maxPool2d: (dy, { inputs: [x], extras: [indices] }) => [runOp('scatterPlanes', [dy, indices!], { planeShape: plane(x!.shape) })],
  adaptiveMaxPool2d: (dy, { inputs: [x], extras: [indices] }) => [runOp('scatterPlanes', [dy, indices!], { planeShape: plane(x!.shape) })],
  avgPool2d: (dy, { inputs: [x], attrs }) => [runOp('avgPool2dBackward', [dy], { ...attrs, inputShape: [...x!.shape] })],
  avgPool2dBackward: (g, { attrs }) => [
    runOp('avgPool2d', [g], { ...basePoolAttrs(attrs), countIncludePad: attrs.countIncludePad, divisorOverride: attrs.divisorOverride }),
  ],
  adaptiveAvgPool2d: (dy, { inputs: [x] }) => [runOp('adaptiveAvgPool2dBackward', [dy], { inputShape: [...x!.shape] })],
  adaptiveAvgPool2dBackward: (g, { inputs: [dy] }) => [runOp('adaptiveAvgPool2d', [g], { outSize: plane(dy!.shape) })],
  upsampleNearest2d: (dy, { inputs: [x], attrs }) => [runOp('upsampleNearest2dBackward', [dy], { ...attrs, inputShape: [...x!.shape] })],
  upsampleNearest2dBackward: (g, { attrs: { outSize, scale, alignCorners } }) => [
    runOp('upsampleNearest2d', [g], { outSize, scale, alignCorners }),
  ],
  upsampleBilinear2d: (dy, { inputs: [x], attrs }) => [runOp('upsampleBilinear2dBackward', [dy], { ...attrs, inputShape: [...x!.shape] })],
  upsampleBilinear2dBackward: (g, { attrs: { outSize, scale, alignCorners } }) => [
    runOp('upsampleBilinear2d', [g], { outSize, scale, alignCorners }),
  ],
} satisfies Partial<GradRuleTable>;
