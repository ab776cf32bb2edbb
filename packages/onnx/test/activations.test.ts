/**
 * Values and gradients of the composed activations at extremes, against float64 definitions: an exponential
 * in a branch that `where` discards must not overflow, or its zeroed gradient becomes NaN (0 · ∞).
 */
import { grad, sum, tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { runOp } from './op-harness';

const run = (op: string, x: Tensor) => runOp(op, [x], {}, 18)[0] as Tensor;

const xs = [-1000, -100, -30, -1, 0, 0.5, 19.9, 20.1, 100, 1000];
const softplus = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const cases: [string, (v: number) => number, (v: number) => number][] = [
  ['Softplus', softplus, sigmoid],
  ['Mish', (v) => v * Math.tanh(softplus(v)), (v) => Math.tanh(softplus(v)) + (v * sigmoid(v)) / Math.cosh(softplus(v)) ** 2],
  ['Elu', (v) => (v > 0 ? v : Math.expm1(v)), (v) => (v > 0 ? 1 : Math.exp(v))],
  [
    'Selu',
    (v) => 1.0507009873554805 * (v > 0 ? v : 1.6732632423543772 * Math.expm1(v)),
    (v) => 1.0507009873554805 * (v > 0 ? 1 : 1.6732632423543772 * Math.exp(v)),
  ],
];

describe('composed activations stay finite and exact at extremes (float64)', () => {
  test.each(cases)('%s', (op, value, derivative) => {
    const x = tensor(xs, [xs.length], 'float64');
    const y = Array.from(run(op, x).values());
    const [g] = grad((v) => sum(run(op, v)), [x]);
    const dy = Array.from(g!.values());
    xs.forEach((v, k) => {
      expect(Number.isFinite(y[k]!)).toBe(true);
      expect(Number.isFinite(dy[k]!)).toBe(true);
      expect(Math.abs(y[k]! - value(v))).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(value(v))));
      expect(Math.abs(dy[k]! - derivative(v))).toBeLessThanOrEqual(1e-6);
    });
  });
});
