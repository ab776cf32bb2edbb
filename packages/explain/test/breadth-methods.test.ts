import * as path from 'path';
import { readNpz } from '@gradlens/io';
import type { NdArray } from '@gradlens/io';
import { AvgPool2d, Conv2d, Linear, Module, ReLU, Sequential } from '@gradlens/nn';
import { flatten, Generator, randn, sigmoid, tanh, tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { deepLift, deepLiftShap, gradientShap, guidedBackprop, noiseTunnel, smoothGrad, vanillaGradient } from '../src';
import { FIXTURES, relError, smallVgg } from './helpers';

const quiet = { onWarning: () => undefined };
let cache: Record<string, NdArray> | null = null;
const fx = (name: string): Tensor => {
  cache ??= readNpz(path.join(FIXTURES, 'breadth.npz'));
  const a = cache[name];
  if (!a) throw new Error(`no fixture '${name}'`);
  return tensor(Float32Array.from(a.data as ArrayLike<number>), a.shape);
};
const xOf = (): Tensor => {
  const a = readNpz(path.join(FIXTURES, 'expected.npz'))['x']!;
  return tensor(Float32Array.from(a.data as ArrayLike<number>), a.shape);
};
const matches = (t: Tensor, name: string, tol = 1e-5): number => {
  const want = fx(name);
  expect([...t.shape]).toEqual([...want.shape]);
  const err = relError(t, want.dataSync());
  if (!(err <= tol)) throw new Error(`${name}: relative error ${err.toExponential(2)} > ${tol}`);
  return err;
};

/** conv → ReLU → avg pool → linear → sigmoid/tanh → linear: every non-linearity element-wise, so summation-to-delta is exact. */
class SmoothNet extends Module {
  readonly features: Sequential;
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(seed: number) {
    super();
    const generator = new Generator(seed);
    this.features = this.registerModule(
      'features',
      new Sequential(new Conv2d(3, 5, 3, { padding: 1, generator }), new ReLU(), new AvgPool2d(2)),
    );
    this.fc1 = this.registerModule('fc1', new Linear(5 * 4 * 4, 12, { generator }));
    this.fc2 = this.registerModule('fc2', new Linear(12, 4, { generator }));
  }
  override forward(x: Tensor): Tensor {
    const h = this.fc1.call(flatten(this.features.call(x), 1));
    return this.fc2.call(tanh(sigmoid(h)));
  }
}

describe('DeepLIFT, DeepLIFT-SHAP, GradientSHAP against PyTorch (scripts/make-breadth-fixtures.py)', () => {
  const model = smallVgg();
  const x = xOf();
  const target = [3, 7];

  test('DeepLIFT-Rescale: contributions and summation-to-delta gap', () => {
    const r = deepLift(model, x, { target, baseline: fx('dl_ref'), ...quiet });
    matches(r.attribution, 'deeplift');
    const want = fx('deeplift_delta').dataSync();
    r.delta.forEach((d, i) => expect(Math.abs(d - Number(want[i]))).toBeLessThan(1e-4));
  });

  test('DeepLIFT-SHAP: the mean over the baseline distribution, and deepLift per baseline agrees', () => {
    const baselines = fx('shap_baselines');
    const r = deepLiftShap(model, x, { target, baselines, batchSize: 2, ...quiet });
    matches(r.attribution, 'deeplift_shap');
    // consistency: the mean of deepLift against each baseline
    const rows = [0, 1, 2].map((b) =>
      deepLift(model, x, {
        target,
        baseline: tensor(Float32Array.from(baselines.dataSync().subarray(b * 768, (b + 1) * 768)), [1, 3, 16, 16]),
        ...quiet,
      }),
    );
    const mean = new Float64Array(x.size);
    for (const d of rows) d.attribution.dataSync().forEach((v, j) => (mean[j] = mean[j]! + Number(v) / 3));
    expect(relError(r.attribution, mean)).toBeLessThan(1e-5);
    r.delta.forEach((d, i) => expect(Math.abs(d - rows.reduce((a, q) => a + q.delta[i]!, 0) / 3)).toBeLessThan(1e-4));
  });

  test('GradientSHAP with the same draws', () => {
    const r = gradientShap(model, x, {
      target,
      baselines: fx('shap_baselines'),
      stdev: 0.1,
      batchSize: 2,
      ...quiet,
      draws: {
        baselineIndex: Array.from(fx('gs_index').dataSync(), Number),
        alpha: Array.from(fx('gs_alpha').dataSync(), Number),
        noise: fx('gs_noise'),
      },
    });
    matches(r.attribution, 'gradient_shap');
  });

  test('noise tunnel around guided backprop: SmoothGrad, SmoothGrad², VarGrad', () => {
    const r = noiseTunnel((m, xs, t) => guidedBackprop(m, xs, { target: t, ...quiet }).attribution, model, x, {
      target,
      stdev: 0.2,
      noise: fx('nt_noise'),
      batchSize: 3,
      type: 'vargrad',
      ...quiet,
    });
    matches(r.mean, 'nt_guided_mean');
    matches(r.squared, 'nt_guided_sq');
    matches(r.variance, 'nt_guided_var', 1e-4); // E[g²] − E[g]² loses digits to cancellation
    expect(Array.from(r.attribution.dataSync())).toEqual(Array.from(r.variance.dataSync()));
  });
});

describe('axioms', () => {
  const model = new SmoothNet(5).eval();
  const x = randn([3, 3, 8, 8], { generator: new Generator(1) });

  test('DeepLIFT: summation-to-delta holds when every non-linearity is element-wise (ReLU, sigmoid, tanh)', () => {
    const r = deepLift(model, x, { target: [0, 2, 3], baseline: 0.5, ...quiet });
    r.delta.forEach((d, i) => expect(Math.abs(d)).toBeLessThan(1e-5 * Math.max(1, Math.abs(r.scores[i]! - r.baselineScores[i]!))));
    // and it differs from gradient × (x − x′): the sigmoid/tanh are far from linear here
    const g = vanillaGradient(model, x, { target: [0, 2, 3], ...quiet }).attribution.dataSync();
    const a = r.attribution.dataSync();
    const xv = x.dataSync();
    let diff = 0;
    for (let j = 0; j < a.length; j++) diff = Math.max(diff, Math.abs(Number(a[j]) - Number(g[j]) * (Number(xv[j]) - 0.5)));
    expect(diff).toBeGreaterThan(1e-3);
  });

  test('DeepLIFT-SHAP: Σ attribution = F(x) − mean_b F(b)', () => {
    const baselines = randn([4, 3, 8, 8], { generator: new Generator(2) });
    const r = deepLiftShap(model, x, { target: 1, baselines, batchSize: 3, ...quiet });
    r.delta.forEach((d) => expect(Math.abs(d)).toBeLessThan(1e-5));
  });

  test('GradientSHAP: efficiency in expectation (stratified draws: exact up to quadrature; random draws: the gap shrinks)', () => {
    const vgg = smallVgg();
    const xv = randn([2, 3, 16, 16], { generator: new Generator(1) });
    const baselines = randn([4, 3, 16, 16], { generator: new Generator(3) });
    // every baseline with the midpoints of 64 path intervals: the expectation over b and α, by quadrature
    const m = 64;
    const baselineIndex: number[] = [];
    const alpha: number[] = [];
    for (let b = 0; b < 4; b++)
      for (let k = 0; k < m; k++)
        for (let i = 0; i < 2; i++) {
          baselineIndex.push(b);
          alpha.push((k + 0.5) / m);
        }
    const r = gradientShap(vgg, xv, { target: 1, baselines, draws: { baselineIndex, alpha }, batchSize: 128, ...quiet });
    r.delta.forEach((d, i) => expect(Math.abs(d)).toBeLessThan(2e-3 * Math.abs(r.scores[i]! - r.baselineScores[i]!) + 1e-5));
    const gap = (samples: number) =>
      Math.max(...gradientShap(vgg, xv, { target: 1, baselines, samples, seed: 4, batchSize: 256, ...quiet }).delta.map(Math.abs));
    expect(gap(1024)).toBeLessThan(gap(8) / 4);
  });

  test('a noise tunnel around the vanilla gradient is SmoothGrad with the same noise', () => {
    const noise = randn([5, 3, 3, 8, 8], { generator: new Generator(6) });
    const nt = noiseTunnel((m, xs, t) => vanillaGradient(m, xs, { target: t, ...quiet }).attribution, model, x, {
      target: 2,
      noiseLevel: 0.2,
      noise,
      ...quiet,
    });
    const sg = smoothGrad(model, x, { target: 2, noiseLevel: 0.2, noise, ...quiet });
    expect(relError(nt.mean, sg.attribution.dataSync())).toBeLessThan(1e-6);
    expect(relError(nt.squared, sg.squared.dataSync())).toBeLessThan(1e-6);
    expect(nt.sigma).toEqual(sg.sigma);
  });
});

describe('bad input', () => {
  const model = new SmoothNet(5).eval();
  const x = randn([2, 3, 8, 8], { generator: new Generator(1) });
  test('baselines of the wrong item shape, a tunnelled method returning the wrong rows, bad noise', () => {
    expect(() => deepLiftShap(model, x, { baselines: randn([2, 3, 4, 4]), ...quiet })).toThrow(/baselines must be \[B, 3, 8, 8\]/);
    expect(() =>
      gradientShap(model, x, { baselines: randn([2, 3, 8, 8]), draws: { baselineIndex: [0, 5], alpha: [0.1, 0.2] }, ...quiet }),
    ).toThrow(/not a row of the 2 baselines/);
    expect(() => deepLift(model, x, { baseline: randn([4, 3, 8, 8]), ...quiet })).toThrow(/does not broadcast/);
    expect(() => noiseTunnel((m, xs) => (xs.shape[0] === 0 ? xs : randn([1, 3])), model, x, { samples: 2, ...quiet })).toThrow(
      /one map per input row/,
    );
    expect(() => noiseTunnel((m, xs) => xs, model, x, { noise: randn([2, 1, 3, 8, 8]), ...quiet })).toThrow(/noise must have shape/);
  });
});
