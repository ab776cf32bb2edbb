import type { Tensor } from '@gradlens/tensor';
import { assign, Generator, grad, ones, sum, tensor } from '@gradlens/tensor';
import { hardsigmoid, hardswish, Hardsigmoid, silu } from './activation';
import { Conv2dNormActivation, SqueezeExcitation, StochasticDepth } from './vision-ops';

describe('activations of MobileNetV3 and EfficientNet', () => {
  const xs = [-4, -3.5, -2.9, -1, -0.25, 0, 0.4, 1.7, 2.95, 3.2, 5];
  const x = () => tensor(xs, [xs.length], 'float64');
  test.each([
    [
      'hardswish',
      hardswish,
      (v: number) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6,
      (v: number) => (v < -3 ? 0 : v > 3 ? 1 : v / 3 + 0.5),
    ],
    ['hardsigmoid', hardsigmoid, (v: number) => Math.min(Math.max(v + 3, 0), 6) / 6, (v: number) => (v < -3 || v > 3 ? 0 : 1 / 6)],
    [
      'silu',
      silu,
      (v: number) => v / (1 + Math.exp(-v)),
      (v: number) => {
        const s = 1 / (1 + Math.exp(-v));
        return s * (1 + v * (1 - s));
      },
    ],
  ] as const)('%s: values and gradient as torch.nn.functional defines them (float64)', (_, f, value, derivative) => {
    const input = x();
    const y = f(input).dataSync();
    const [dx] = grad((t) => sum(f(t)), [input]);
    const g = dx!.dataSync();
    xs.forEach((v, i) => {
      expect(y[i]).toBeCloseTo(value(v), 12);
      expect(g[i]).toBeCloseTo(derivative(v), 12);
    });
  });
});

describe('StochasticDepth', () => {
  test('identity in eval mode and at p = 0', () => {
    const x = tensor([1, 2, 3, 4], [2, 2]);
    expect(new StochasticDepth(0.3).eval().call(x)).toBe(x);
    expect(new StochasticDepth(0).call(x)).toBe(x);
  });

  test('training: each sample is dropped whole or scaled by 1/(1 − p), about p of them dropped; the gradient is the mask', () => {
    const n = 2000;
    const layer = new StochasticDepth(0.25, { generator: new Generator(7) });
    const x = ones([n, 2, 3, 3]);
    let mask: number[] = [];
    const [dx] = grad(
      (t) => {
        const y = layer.call(t);
        mask = Array.from(y.dataSync());
        return sum(y);
      },
      [x],
    );
    let dropped = 0;
    for (let s = 0; s < n; s++) {
      const sample = mask.slice(s * 18, (s + 1) * 18);
      const v = sample[0]!;
      expect(v === 0 || Math.abs(v - 1 / 0.75) < 1e-6).toBe(true);
      expect(sample.every((u) => u === v)).toBe(true);
      if (v === 0) dropped++;
    }
    expect(dropped / n).toBeGreaterThan(0.2);
    expect(dropped / n).toBeLessThan(0.3);
    expect(Array.from(dx!.dataSync())).toEqual(mask);
  });

  test('p outside [0, 1] is refused', () => {
    expect(() => new StochasticDepth(1.5)).toThrow(/StochasticDepth: p must be in \[0, 1\], got 1.5/);
  });
});

test('SqueezeExcitation: x · gate(fc2(act(fc1(mean of x over H, W)))), computed by hand', () => {
  const se = new SqueezeExcitation(2, 1, undefined, () => new Hardsigmoid());
  // fc1: 2 → 1, fc2: 1 → 2, 1×1 convolutions with biases.
  const set = (t: Tensor, v: number[]) => assign(t, (to) => to.set(v));
  set(se.fc1.weight, [0.5, -1]);
  set(se.fc1.bias!, [0.25]);
  set(se.fc2.weight, [2, -3]);
  set(se.fc2.bias!, [0.5, 1]);
  const x = tensor([1, 2, 3, 4, -1, 0, 1, 0.5], [1, 2, 2, 2]);
  const y = se.call(x).dataSync();
  const m = [2.5, 0.125];
  const h = Math.max(0, 0.5 * m[0]! - 1 * m[1]! + 0.25);
  const gates = [2 * h + 0.5, -3 * h + 1].map((v) => Math.min(Math.max(v + 3, 0), 6) / 6);
  const want = [1, 2, 3, 4, -1, 0, 1, 0.5].map((v, i) => v * gates[Math.floor(i / 4)]!);
  want.forEach((w, i) => expect(y[i]).toBeCloseTo(w, 6));
});

test('Conv2dNormActivation: padding (k − 1)/2 · dilation, no conv bias, optional activation and BatchNorm options', () => {
  const block = new Conv2dNormActivation(3, 4, 5, { dilation: 2, stride: 2, activation: null, norm: { eps: 0.001, momentum: 0.01 } });
  expect(block.length).toBe(2);
  const y = block.eval().call(ones([1, 3, 9, 9]));
  expect(y.shape).toEqual([1, 4, 5, 5]);
  expect(Object.keys(block.stateDict())).toEqual([
    '0.weight',
    '1.weight',
    '1.bias',
    '1.running_mean',
    '1.running_var',
    '1.num_batches_tracked',
  ]);
});
