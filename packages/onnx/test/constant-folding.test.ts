/**
 * Trigonometric ops fold on load-time constants (the sinusoidal position encodings vision models compute from
 * the input's size) and run the tensor core's differentiable op on a value computed from the input; Exp, Log,
 * Sigmoid and Tanh on constants stay constants, so such chains fold whole.
 */
import { grad, sum, Tensor, tensor } from '@gradlens/tensor';
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

  test('a trigonometric op on a tensor is the tensor core’s (its gradient with it)', () => {
    const x = tensor([0.5, 1], [2], 'float64');
    const y = run('Cos', x);
    expect(y).toBeInstanceOf(Tensor);
    expect(Array.from((y as Tensor).dataSync())).toEqual([Math.cos(0.5), Math.cos(1)]);
    const [g] = grad((v) => sum(run('Atanh', v!) as Tensor), [tensor([0.5, -0.25], [2], 'float64')]);
    expect(Array.from(g!.dataSync())).toEqual([1 / (1 - 0.25), 1 / (1 - 0.0625)]);
  });
});
