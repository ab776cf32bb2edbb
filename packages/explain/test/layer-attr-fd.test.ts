import { Module, withOutputTransform } from '@gradlens/nn';
import { add, conv2d, flatten, Generator, linear, randn, tanh, tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { internalInfluence, layerGradientXActivation, neuronGradient } from '../src';

/** A float64 conv → tanh → linear net (smooth, so central differences are exact to ~1e-9). */
class Conv64 extends Module {
  constructor(
    readonly w: Tensor,
    readonly b: Tensor,
  ) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return conv2d(x, this.w, this.b, { padding: 1 });
  }
}
class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return tanh(x);
  }
}
class Net64 extends Module {
  readonly conv: Conv64;
  readonly act: Tanh;
  constructor(private readonly fcW: Tensor) {
    super();
    const g = new Generator(5);
    const f64 = (t: Tensor): Tensor => tensor(Float64Array.from(t.dataSync(), Number), t.shape, 'float64');
    this.conv = this.registerModule('conv', new Conv64(f64(randn([4, 2, 3, 3], { generator: g })), f64(randn([4], { generator: g }))));
    this.act = this.registerModule('act', new Tanh());
  }
  override forward(x: Tensor): Tensor {
    return linear(flatten(this.act.call(this.conv.call(x)), 1), this.fcW);
  }
}

const quiet = { onWarning: () => undefined };
const h = 1e-6;

describe('float64 finite differences', () => {
  const g = new Generator(7);
  const fcW = tensor(
    Float64Array.from(randn([3, 4 * 5 * 5], { generator: g }).dataSync(), (v) => 0.3 * Number(v)),
    [3, 100],
    'float64',
  );
  const model = new Net64(fcW).eval();
  const x = tensor(Float64Array.from(randn([2, 2, 5, 5], { generator: g }).dataSync(), Number), [2, 2, 5, 5], 'float64');
  const target = [0, 2];
  /** The target scores with `delta` added to the layer's output (or to the input). */
  const scores = (xin: Tensor, delta: Tensor | null): number[] => {
    const run = () => model.call(xin).dataSync();
    const out = delta ? withOutputTransform(model.act, (y) => add(y, delta), run) : run();
    return target.map((c, i) => Number(out[i * 3 + c]));
  };

  test('∂F/∂A of layerGradientXActivation (timesActivation: false) and internalInfluence at α = 1', () => {
    const g1 = layerGradientXActivation(model, x, { layer: 'act', target, timesActivation: false, ...quiet }).attribution.dataSync();
    const g2 = internalInfluence(model, x, { layer: 'act', target, steps: 1, method: 'riemann-right', ...quiet }).attribution.dataSync();
    const per = 100;
    for (const j of [0, 7, 42, 99]) {
      const bump = (s: number): Tensor => {
        const d = new Float64Array(200);
        d[j] = s;
        d[per + j] = s;
        return tensor(d, [2, 4, 5, 5], 'float64');
      };
      const up = scores(x, bump(h));
      const down = scores(x, bump(-h));
      for (let i = 0; i < 2; i++) {
        const fd = (up[i]! - down[i]!) / (2 * h);
        expect(Math.abs(Number(g1[i * per + j]) - fd)).toBeLessThan(1e-8 * Math.max(1, Math.abs(fd)));
        expect(Math.abs(Number(g2[i * per + j]) - fd)).toBeLessThan(1e-8 * Math.max(1, Math.abs(fd)));
        expect(Math.abs(fd)).toBeGreaterThan(1e-4);
      }
    }
  });

  test('neuronGradient: ∂A[1, 2, 3]/∂x', () => {
    const grad = neuronGradient(model, x, { layer: 'act', neuron: [1, 2, 3], ...quiet }).attribution.dataSync();
    const neuron = (xin: Tensor): number[] => {
      const a = tanh(conv2d(xin, model.conv.w, model.conv.b, { padding: 1 })).dataSync();
      return [0, 1].map((i) => Number(a[i * 100 + (1 * 5 + 2) * 5 + 3]));
    };
    const xv = x.dataSync();
    let largest = 0;
    // inside the neuron's 3×3 receptive field in both channels, and one pixel outside it
    for (const j of [7, 13, 19, 32, 38, 44, 0]) {
      const at = (s: number): Tensor => {
        const v = Float64Array.from(xv, Number);
        v[j] = v[j]! + s;
        v[50 + j] = v[50 + j]! + s;
        return tensor(v, x.shape, 'float64');
      };
      const up = neuron(at(h));
      const down = neuron(at(-h));
      for (let i = 0; i < 2; i++) {
        const fd = (up[i]! - down[i]!) / (2 * h);
        largest = Math.max(largest, Math.abs(fd));
        expect(Math.abs(Number(grad[i * 50 + j]) - fd)).toBeLessThan(1e-8 * Math.max(1, Math.abs(fd)));
      }
    }
    expect(largest).toBeGreaterThan(1e-2);
  });
});
