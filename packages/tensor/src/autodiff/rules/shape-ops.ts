import type { Tensor } from '../../tensor';
import { runOp } from '../../ops/run';
import { reshape } from '../../ops';
import type { GradRuleTable } from './types';

const plane = (shape: readonly number[]): [number, number] => [shape[2]!, shape[3]!];

export const shapeRules = {
  reshape: (dy, { inputs: [x] }) => [reshape(dy, x!.shape)],
  permute: (dy, { attrs: { dims } }) => {
    const inverse = new Array<number>(dims.length);
    dims.forEach((d, i) => (inverse[d] = i));
    return [runOp('permute', [dy], { dims: inverse })];
  },
  // Broadcasting is undone centrally (fitGradient), so expand passes dy through.
  expand: (dy) => [dy],
  slice: (dy, { inputs: [x], attrs }) => [runOp('unslice', [dy], { ...attrs, shape: [...x!.shape] })],
  unslice: (dy, { attrs: { begin, end, step } }) => [runOp('slice', [dy], { begin, end, step })],
  pad: (dy, { inputs: [x], attrs: { pads } }) => [
    runOp('slice', [dy], { begin: pads.map((p) => p[0]), end: pads.map((p, i) => p[0] + x!.shape[i]!), step: pads.map(() => 1) }),
  ],
  cat: (dy, { inputs, attrs: { dim } }) => {
    let offset = 0;
    return inputs.map((x: Tensor) => {
      const begin = dy.shape.map((_, i) => (i === dim ? offset : 0));
      offset += x.shape[dim]!;
      const end = dy.shape.map((d, i) => (i === dim ? offset : d));
      return runOp('slice', [dy], { begin, end, step: dy.shape.map(() => 1) });
    });
  },
  indexSelect: (dy, { inputs: [x, index], attrs: { dim } }) => [runOp('indexAdd', [dy, index!], { dim, size: x!.shape[dim]! }), null],
  indexAdd: (dy, { inputs: [, index], attrs: { dim } }) => [runOp('indexSelect', [dy, index!], { dim }), null],
  gatherPlanes: (dy, { inputs: [x, indices] }) => [runOp('scatterPlanes', [dy, indices!], { planeShape: plane(x!.shape) }), null],
  scatterPlanes: (g, { inputs: [, indices] }) => [runOp('gatherPlanes', [g, indices!], {}), null],
} satisfies Partial<GradRuleTable>;
