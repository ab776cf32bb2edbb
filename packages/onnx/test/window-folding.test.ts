/**
 * Window ops on more than two spatial axes fold the axes the window leaves alone into the batch: a 3-D Conv
 * with a depth kernel of 1, and a 3-D pool over one axis, equal the 2-D op on each slice (1-D as unit height).
 */
import * as T from '@gradlens/tensor';
import { Generator, randn } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { runOp } from './op-harness';

const g = new Generator(11);
const rn = (...shape: number[]) => randn(shape, { dtype: 'float64', generator: g });
/** One op run alone, its attributes all integer lists. */
const run = (op: string, values: Tensor[], a: Record<string, number[]>) =>
  runOp(op, values, Object.fromEntries(Object.entries(a).map(([name, v]) => [name, { ints: v }])))[0] as Tensor;

describe('window ops fold the axes they leave alone', () => {
  test('3-D Conv with depth kernel 1 is a 2-D Conv on each depth slice', () => {
    const x = rn(2, 3, 4, 5, 6);
    const w = rn(2, 3, 1, 3, 2);
    const y = run('Conv', [x, w], { strides: [1, 2, 1], pads: [0, 1, 0, 0, 1, 1] });
    const w2 = T.reshape(w, [2, 3, 3, 2]);
    for (let d = 0; d < 4; d++) {
      const slice = T.reshape(T.slice(x, 2, d, d + 1), [2, 3, 5, 6]);
      const expected = run('Conv', [slice, w2], { strides: [2, 1], pads: [1, 0, 1, 1] });
      const got = T.reshape(T.slice(y, 2, d, d + 1), expected.shape);
      expect(Array.from(got.values())).toEqual(Array.from(expected.values()));
    }
  });

  test('3-D AveragePool over the first spatial axis is a 1-D pool along it', () => {
    const x = rn(1, 2, 6, 3, 4);
    const y = run('AveragePool', [x], { kernel_shape: [3, 1, 1], strides: [2, 1, 1], pads: [1, 0, 0, 1, 0, 0] });
    expect(y.shape).toEqual([1, 2, 3, 3, 4]);
    const xv = x.values();
    const at = (c: number, d: number, h: number, w: number) => (d < 0 || d >= 6 ? 0 : xv[((c * 6 + d) * 3 + h) * 4 + w]!);
    const yv = y.values();
    for (let c = 0; c < 2; c++)
      for (let o = 0; o < 3; o++)
        for (let h = 0; h < 3; h++)
          for (let w = 0; w < 4; w++) {
            const taps = [-1, 0, 1].map((k) => 2 * o + k).filter((d) => d >= 0 && d < 6);
            const mean = taps.reduce((a, d) => a + at(c, d, h, w), 0) / taps.length;
            expect(Math.abs(yv[((c * 3 + o) * 3 + h) * 4 + w]! - mean)).toBeLessThan(1e-12);
          }
  });

  test('a window over three axes is refused in one line', () => {
    expect(() => run('MaxPool', [rn(1, 1, 4, 4, 4)], { kernel_shape: [2, 2, 2] })).toThrow(
      /^MaxPool windows 3 spatial axes of \[1, 1, 4, 4, 4\]: gradlens supports windows over one or two axes$/,
    );
  });
});
