/**
 * Values and gradients of the composed activations at extremes, against float64 definitions: an exponential
 * in a branch that `where` discards must not overflow, or its zeroed gradient becomes NaN (0 · ∞).
 */
import { grad, record, sum, tensor } from '@gradlens/tensor';
import { hardsigmoid, hardswish } from '@gradlens/nn';
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

describe("PyTorch's HardSwish and HardSigmoid run as @gradlens/nn writes them", () => {
  // So guided backprop (which swaps the rule of ReLU-like clamps) and LRP (which needs to see the gate) treat
  // an exported MobileNetV3 as the native one: no clamp with min 0 on the tape, values and gradients equal.
  const x = () => tensor([-4, -2.5, -1, 0, 0.7, 2.9, 3.5], [7], 'float64');
  const opsOf = (f: () => Tensor) => record(f).tape.nodes.map((n) => `${n.op}${n.op === 'clamp' ? JSON.stringify(n.attrs) : ''}`);
  test.each([
    ['HardSwish', {}, hardswish],
    ['HardSigmoid', { alpha: { f: Math.fround(1 / 6) }, beta: { f: 0.5 } }, hardsigmoid],
  ] as const)('%s', (op, attrs, native) => {
    const input = x();
    expect(opsOf(() => runOp(op, [input], attrs)[0] as Tensor)).toEqual(opsOf(() => native(input)));
    expect(opsOf(() => runOp(op, [input], attrs)[0] as Tensor).some((o) => o.startsWith('clamp{"min":0'))).toBe(false);
    expect(Array.from((runOp(op, [input], attrs)[0] as Tensor).values())).toEqual(Array.from(native(input).values()));
  });
  test('HardSigmoid with other alpha and beta keeps ONNX’s clamp(αx + β, 0, 1)', () => {
    const y = Array.from((runOp('HardSigmoid', [x()], { alpha: { f: 0.2 }, beta: { f: 0.5 } })[0] as Tensor).values());
    [-4, -2.5, -1, 0, 0.7, 2.9, 3.5].forEach((v, i) => expect(y[i]).toBeCloseTo(Math.min(Math.max(0.2 * v + 0.5, 0), 1), 7));
  });
});
