/**
 * Trigonometric ops fold on load-time constants (the sinusoidal position encodings vision models compute from
 * the input's size) and refuse, in one line, a value computed from the input, whose gradient gradlens could not
 * give; Exp, Log, Sigmoid and Tanh on constants stay constants, so such chains fold whole.
 */
import { tensor } from '@gradlens/tensor';
import { Const } from '@gradlens/onnx';
import type { Value } from '@gradlens/onnx';
import { runOp } from './op-harness';

const run = (op: string, x: Value) => runOp(op, [x])[0]!;
const angles = [0, 0.3, -1.2, 0.7];

describe('constant folding', () => {
  test.each([
    ['Sin', Math.sin],
    ['Cos', Math.cos],
    ['Tan', Math.tan],
    ['Atan', Math.atan],
    ['Sinh', Math.sinh],
    ['Cosh', Math.cosh],
    ['Asinh', Math.asinh],
    ['Exp', Math.exp],
    ['Tanh', Math.tanh],
  ] as [string, (v: number) => number][])('%s folds a constant into a constant', (op, fn) => {
    const y = run(op, new Const(angles, [4], 'float64'));
    expect(y).toBeInstanceOf(Const);
    expect(Array.from((y as Const).data)).toEqual(angles.map(fn));
  });

  test('a trigonometric op on a tensor is refused in one line', () => {
    expect(() => run('Cos', tensor([0.5, 1], [2]))).toThrow(
      /^Cos of a value computed from the input is not supported \(gradlens folds it on constants only\)$/,
    );
  });
});
