/** ScatterND and ScatterElements against the spec's loops, for each reduction, with a position updated twice. */
import { Generator, randn } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { Const, onnxOps } from '@gradlens/onnx';
import { Attrs } from '../src/attrs';
import type { NodeMessage } from '../src/proto';

const g = new Generator(13);
const rn = (...shape: number[]) => randn(shape, { dtype: 'float64', generator: g });
const attrs = (a: Record<string, { i: number } | { s: string }>) =>
  new Attrs(
    {
      opType: 'x',
      input: [],
      output: [],
      attribute: Object.entries(a).map(([name, v]) => ({
        name,
        ints: [],
        floats: [],
        ...('i' in v ? { i: v.i } : { s: Buffer.from(v.s) }),
      })),
    } as unknown as NodeMessage,
    { baseDir: null },
  );
const combine: Record<string, (a: number, b: number) => number> = {
  none: (_a, b) => b,
  add: (a, b) => a + b,
  mul: (a, b) => a * b,
  max: Math.max,
  min: Math.min,
};

describe.each(Object.keys(combine))('reduction %s', (reduction) => {
  test('ScatterND writes whole rows, in order', () => {
    const data = rn(4, 3);
    const updates = rn(3, 3);
    const rows = reduction === 'none' ? [3, 0, 2] : [1, 3, 1];
    const y = onnxOps.ScatterND!.run({
      values: [data, new Const(rows, [3, 1], 'int'), updates],
      attrs: attrs({ reduction: { s: reduction } }),
      opset: 18,
      outputs: 1,
    })[0] as Tensor;
    const expected = Array.from(data.values());
    rows.forEach((r, j) => {
      for (let c = 0; c < 3; c++) expected[r * 3 + c] = combine[reduction]!(expected[r * 3 + c]!, updates.values()[j * 3 + c]!);
    });
    expect(Array.from(y.values())).toEqual(expected);
  });

  test('ScatterElements writes along the axis', () => {
    const data = rn(3, 4);
    const updates = rn(3, 2);
    const index = reduction === 'none' ? [3, 0, 1, 2, 2, 1] : [3, 3, 1, 1, 0, 2];
    const y = onnxOps.ScatterElements!.run({
      values: [data, new Const(index, [3, 2], 'int'), updates],
      attrs: attrs({ axis: { i: 1 }, reduction: { s: reduction } }),
      opset: 18,
      outputs: 1,
    })[0] as Tensor;
    const expected = Array.from(data.values());
    index.forEach((k, j) => {
      const p = Math.floor(j / 2) * 4 + k;
      expected[p] = combine[reduction]!(expected[p]!, updates.values()[j]!);
    });
    expect(Array.from(y.values())).toEqual(expected);
  });
});
