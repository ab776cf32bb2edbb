import * as path from 'path';
import type { Tensor } from '@gradlens/tensor';
import { clamp, Generator, linear, numTensors, randn, relu6, tensor } from '@gradlens/tensor';
import { loadWeights, Module } from '@gradlens/nn';
import {
  ablationCam,
  cam,
  deconvnet,
  deconvnetRules,
  disposeResult,
  eigenCam,
  gradCam,
  gradCamPlusPlus,
  gradientXInput,
  guidedBackprop,
  guidedGradCam,
  guidedRules,
  hiResCam,
  integratedGradients,
  layerActivationGradient,
  layerCam,
  occlusion,
  scoreCam,
  smoothGrad,
  vanillaGradient,
  xGradCam,
} from '../src';
import { fixture, gapNet, relError, smallVgg } from './helpers';
import { GapNet, SmallVGG } from './models';

const quiet = { onWarning: () => undefined };

describe('axioms', () => {
  const x = fixture('x');

  test('IG completeness: Σ attribution = F(x) − F(x′) up to the returned delta, which shrinks with steps', () => {
    const model = smallVgg();
    const baseline = fixture('ig_baseline');
    let previous = Infinity;
    for (const steps of [4, 16, 64]) {
      const r = integratedGradients(model, x, { target: [3, 7], baseline, steps, method: 'gauss-legendre' });
      const attr = r.attribution.dataSync();
      const per = attr.length / 2;
      r.delta.forEach((d, i) => {
        let s = 0;
        for (let j = i * per; j < (i + 1) * per; j++) s += attr[j]!;
        // the delta is exactly the completeness gap …
        expect(Math.abs(s - (r.scores[i]! - r.baselineScores[i]!) - d)).toBeLessThan(1e-5);
      });
      const worst = Math.max(...r.delta.map((d, i) => Math.abs(d) / Math.abs(r.scores[i]! - r.baselineScores[i]!)));
      // … and small: Gauss–Legendre on a piecewise-linear path converges fast
      expect(worst).toBeLessThan(steps >= 16 ? 0.05 : 0.5);
      expect(worst).toBeLessThanOrEqual(previous + 1e-6);
      previous = worst;
      r.attribution.dispose();
    }
  });

  test('CAM equals Grad-CAM up to a positive factor (1/hw) on a GAP + linear head', () => {
    const model = gapNet();
    const c = cam(model, x, { layer: 'features.4', relu: true, ...quiet });
    const g = gradCam(model, x, { layer: 'features.4', ...quiet });
    const hw = 8 * 8;
    const scaled = Array.from(g.map.dataSync(), (v) => v * hw);
    expect(relError(scaled, c.map.dataSync())).toBeLessThan(1e-5);
    expect(c.classes).toEqual(g.classes);
  });

  test('guided backprop and deconvnet of a network without ReLUs equal the vanilla gradient', () => {
    const model = new GapNet({ relu: false });
    loadWeights(model, path.join(__dirname, 'fixtures', 'gapnet.pth'));
    model.eval();
    const v = vanillaGradient(model, x, { target: 2 }).attribution.dataSync();
    expect(Array.from(guidedBackprop(model, x, { target: 2 }).attribution.dataSync())).toEqual(Array.from(v));
    expect(Array.from(deconvnet(model, x, { target: 2 }).attribution.dataSync())).toEqual(Array.from(v));
    // … and with ReLUs they differ
    const withRelu = gapNet();
    expect(
      relError(guidedBackprop(withRelu, x, { target: 2 }).attribution, vanillaGradient(withRelu, x, { target: 2 }).attribution.dataSync()),
    ).toBeGreaterThan(1e-2);
  });
});

describe('rules at the op', () => {
  class Relu6Net extends Module {
    constructor(
      readonly w1: Tensor,
      readonly w2: Tensor,
    ) {
      super();
    }
    override forward(x: Tensor): Tensor {
      return linear(relu6(linear(x, this.w1)), this.w2);
    }
  }

  test('ReLU6 (clamp with min 0) follows the guided and deconvnet rules; h = [4.5, 1, −2, 7]', () => {
    const x = tensor([[1, -2, 3]]);
    const w1 = tensor([
      [1, -1, 0.5],
      [1, 0, 0],
      [0, 1, 0],
      [2, -1, 1],
    ]);
    const w2 = tensor([[1, -2, 3, 5]]);
    const net = new Relu6Net(w1, w2).eval();
    // vanilla: dh = [1, −2, 0, 0]; guided: [1, 0, 0, 0]; deconvnet: [1, 0, 3, 5]
    expect(vanillaGradient(net, x, { target: 0 }).attribution.toArray()).toEqual([[-1, -1, 0.5]]);
    expect(guidedBackprop(net, x, { target: 0, ...quiet }).attribution.toArray()).toEqual([[1, -1, 0.5]]);
    expect(deconvnet(net, x, { target: 0 }).attribution.toArray()).toEqual([[11, -3, 5.5]]);
    expect(Object.keys(guidedRules).sort()).toEqual(['clamp', 'relu']);
    expect(Object.keys(deconvnetRules).sort()).toEqual(['clamp', 'relu']);
  });

  test('a clamp that is not ReLU-like keeps its ordinary gradient under guided and deconvnet rules', () => {
    class ClampNet extends Module {
      override forward(x: Tensor): Tensor {
        return linear(
          clamp(
            linear(
              x,
              tensor([
                [1, -1, 0.5],
                [1, 0, 0],
                [0, 1, 0],
              ]),
            ),
            { min: -1, max: 2 },
          ),
          tensor([[1, -2, 3]]),
        );
      }
    }
    const net = new ClampNet().eval();
    const x = tensor([[0.5, -0.25, 1]]);
    const v = vanillaGradient(net, x, { target: 0 }).attribution.toArray();
    expect(guidedBackprop(net, x, { target: 0 }).attribution.toArray()).toEqual(v);
    expect(deconvnet(net, x, { target: 0 }).attribution.toArray()).toEqual(v);
  });
});

describe('one forward pass for two kinds of gradient', () => {
  test('guided Grad-CAM records the forward pass once and calls tape.grad twice', () => {
    const model = new SmallVGG();
    loadWeights(model, path.join(__dirname, 'fixtures', 'smallvgg.pth'));
    model.eval();
    model.forwardRuns = 0;
    const r = guidedGradCam(model, fixture('x'), { layer: 'features.3', target: [3, 7], ...quiet });
    expect(model.forwardRuns).toBe(1);
    expect(r.attribution.shape).toEqual([2, 3, 16, 16]);
  });
});

describe('no leaks', () => {
  test('every tensor a method makes is freed or returned', () => {
    const model = smallVgg();
    const x = randn([2, 3, 16, 16], { generator: new Generator(5) });
    const layer = 'features.3';
    const runs: [string, () => object][] = [
      ['vanilla', () => vanillaGradient(model, x)],
      ['guided', () => guidedBackprop(model, x, quiet)],
      ['deconvnet', () => deconvnet(model, x, quiet)],
      ['gradXInput', () => gradientXInput(model, x)],
      ['smoothGrad', () => smoothGrad(model, x, { samples: 3, seed: 1, batchSize: 2 })],
      ['ig', () => integratedGradients(model, x, { steps: 5, batchSize: 2 })],
      ['layerAct', () => layerActivationGradient(model, x, { layer, filter: 1, ...quiet })],
      ['gradCam', () => gradCam(model, x, { layer, ...quiet })],
      ['guidedGradCam', () => guidedGradCam(model, x, { layer, ...quiet })],
      ['gradCam++', () => gradCamPlusPlus(model, x, { layer, ...quiet })],
      ['xGradCam', () => xGradCam(model, x, { layer, ...quiet })],
      ['hiResCam', () => hiResCam(model, x, { layer, ...quiet })],
      ['layerCam', () => layerCam(model, x, { layer, ...quiet })],
      ['scoreCam', () => scoreCam(model, x, { layer, batchSize: 7, ...quiet })],
      ['ablationCam', () => ablationCam(model, x, { layer, batchSize: 7, ...quiet })],
      ['eigenCam', () => eigenCam(model, x, { layer, ...quiet })],
      ['cam', () => cam(gapNet(), x, { layer: 'features.4', ...quiet })],
      ['occlusion', () => occlusion(model, x, { window: 8, stride: 4, ...quiet })],
    ];
    const gap = gapNet(); // built before counting: its parameters live on
    void gap;
    for (const [name, run] of runs) {
      const before = numTensors();
      const result = run();
      disposeResult(result);
      const after = numTensors();
      if (name === 'cam') continue; // builds a model (its parameters stay)
      expect({ name, leaked: after - before }).toEqual({ name, leaked: 0 });
    }
  });

  test('a failing method frees what it made', () => {
    const model = smallVgg();
    const x = randn([1, 3, 16, 16]);
    const before = numTensors();
    expect(() => gradCam(model, x, { layer: 'nope', ...quiet })).toThrow();
    expect(() => cam(model, x, { layer: 'features.3', ...quiet })).toThrow();
    expect(() => vanillaGradient(model, x, { target: 99 })).toThrow();
    expect(numTensors()).toBe(before);
  });
});
