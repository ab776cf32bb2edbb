/** Named inputs: what `inputsOf` and the kernel tables read, for every layout an op's inputs can take. */
import {
  batchNorm,
  cat,
  gradRules,
  gradsByName,
  inputsOf,
  layerNorm,
  nameInputs,
  needsGradOf,
  opInputNames,
  record,
  tensor,
} from '@gradlens/tensor';
import type { GradContext, OpAttrs, OpName, Tensor } from '@gradlens/tensor';

const t = (v: number) => tensor([v]);
const [x, w, b, m, v] = [1, 2, 3, 4, 5].map(t) as [Tensor, Tensor, Tensor, Tensor, Tensor];
const bn = (training: boolean, weight: boolean, bias: boolean): OpAttrs['batchNorm'] => ({ training, eps: 1e-5, weight, bias });

describe('nameInputs', () => {
  const rows: [string, OpName, Tensor[], object, Record<string, Tensor | Tensor[]>][] = [
    ['a binary op', 'sub', [x, w], {}, { a: x, b: w }],
    ['conv2d with a bias', 'conv2d', [x, w, b], {}, { x, weight: w, bias: b }],
    ['conv2d without one', 'conv2d', [x, w], {}, { x, weight: w }],
    ['batchNorm, eval, weight and bias', 'batchNorm', [x, m, v, w, b], bn(false, true, true), { x, mean: m, var: v, weight: w, bias: b }],
    ['batchNorm, eval, bias only', 'batchNorm', [x, m, v, b], bn(false, false, true), { x, mean: m, var: v, bias: b }],
    ['batchNorm, training, bias only', 'batchNorm', [x, b], bn(true, false, true), { x, bias: b }],
    ['batchNorm, training, neither', 'batchNorm', [x], bn(true, false, false), { x }],
    ['layerNorm, bias only', 'layerNorm', [x, b], { dims: 1, eps: 1e-5, weight: false, bias: true }, { x, bias: b }],
    ['batchNormBackward without a weight', 'batchNormBackward', [x, w, m, v], { eps: 1e-5 }, { dy: x, x: w, mean: m, var: v }],
    ['cat, the rest', 'cat', [x, w, b], { dim: 0 }, { xs: [x, w, b] }],
  ];
  it.each(rows)('%s', (_what, op, inputs, attrs, expected) => {
    expect(nameInputs(op, inputs, attrs as OpAttrs[typeof op])).toEqual(expected);
  });

  it('lists inputs for exactly the ops that have rules', () => {
    expect(Object.keys(opInputNames).sort()).toEqual(Object.keys(gradRules).sort());
  });
});

describe('inputsOf, needsGradOf, gradsByName on a recorded node', () => {
  it('read a batchNorm node whose weight is absent by name and give gradients back in its input order', () => {
    const input = tensor([1, 2, 3, 4], [2, 2]);
    const bias = tensor([0.5, -0.5]);
    const { output, tape } = record(() => batchNorm(input, null, null, null, bias, { training: true }));
    try {
      const node = tape.nodes.find((n) => n.op === 'batchNorm')!;
      expect(node.op).toBe('batchNorm');
      if (node.op !== 'batchNorm') return;
      expect(inputsOf(node)).toEqual({ x: input, bias });
      const ctx: GradContext<'batchNorm'> = { ...node, needsGrad: [false, true] };
      expect(needsGradOf(ctx)).toEqual({ x: false, bias: true });
      expect(gradsByName(ctx, { bias: output, weight: input })).toEqual([null, output]);
    } finally {
      tape.dispose();
    }
  });

  it('name each part of a cat', () => {
    const parts = [tensor([1]), tensor([2, 3])];
    const { tape } = record(() => cat(parts, 0));
    try {
      const node = tape.nodes[0]!;
      if (node.op !== 'cat') throw new Error(`expected a cat node, got ${node.op}`);
      expect(inputsOf(node).xs).toEqual(parts);
    } finally {
      tape.dispose();
    }
  });

  it('read layerNorm with only a bias', () => {
    const input = tensor([1, 2, 3, 4], [2, 2]);
    const bias = tensor([0.5, -0.5]);
    const { tape } = record(() => layerNorm(input, 2, null, bias));
    try {
      const node = tape.nodes.find((n) => n.op === 'layerNorm')!;
      if (node.op !== 'layerNorm') throw new Error(`expected a layerNorm node, got ${node.op}`);
      expect(inputsOf(node)).toEqual({ x: input, bias });
    } finally {
      tape.dispose();
    }
  });
});
