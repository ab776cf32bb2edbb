/** ScatterND and ScatterElements against the spec's loops, for each reduction, with a position updated twice. */
import { Generator, randn } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { Const } from '@gradlens/onnx';
import { runOp } from './op-harness';

const g = new Generator(13);
const rn = (...shape: number[]) => randn(shape, { dtype: 'float64', generator: g });
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
    const y = runOp('ScatterND', [data, new Const(rows, [3, 1], 'int'), updates], { reduction: { s: reduction } }, 18)[0] as Tensor;
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
    const y = runOp(
      'ScatterElements',
      [data, new Const(index, [3, 2], 'int'), updates],
      { axis: { i: 1 }, reduction: { s: reduction } },
      18,
    )[0] as Tensor;
    const expected = Array.from(data.values());
    index.forEach((k, j) => {
      const p = Math.floor(j / 2) * 4 + k;
      expected[p] = combine[reduction]!(expected[p]!, updates.values()[j]!);
    });
    expect(Array.from(y.values())).toEqual(expected);
  });
});
