import type { Tensor } from '@gradlens/tensor';
import { Generator, noGrad, randn, tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import * as E from '../src';
import { edgeNet, GapHeadNet, Mlp } from './edge-models';
import { relError } from './helpers';

/**
 * The axioms each method claims, checked from outside (sums and logits computed here, not read from
 * the method's own `delta`) on models no other test uses, with non-square inputs.
 */
const quiet = { onWarning: () => undefined };
const x = randn([2, 3, 12, 20], { generator: new Generator(21) });
const classes = [1, 3];

/** The target logits of each item of xs [N, …] (or of one baseline row repeated). */
function logits(m: Module, xs: Tensor, cls = classes): number[] {
  return noGrad(() => {
    const out = m.call(xs);
    const k = out.shape[1]!;
    const v = out.dataSync();
    return Array.from({ length: out.shape[0]! }, (_, i) => Number(v[i * k + cls[i % cls.length]!]));
  });
}
/** Σ over each item of a [N, …] attribution. */
function itemSums(t: Tensor): number[] {
  const v = Float64Array.from(t.dataSync(), Number);
  const per = v.length / t.shape[0]!;
  return Array.from({ length: t.shape[0]! }, (_, i) => v.subarray(i * per, (i + 1) * per).reduce((a, b) => a + b, 0));
}
const constant = (like: Tensor, value: number) => tensor(new Float32Array(like.size).fill(value), like.shape);

test('integrated gradients: Σ attribution → f(x) − f(x′) as steps grow, on GELU / Hardswish / SiLU (EdgeNet)', () => {
  const m = edgeNet();
  const x0 = constant(x, -1);
  const want = logits(m, x).map((f, i) => f - logits(m, x0)[i]!);
  for (const d of want) expect(Math.abs(d)).toBeGreaterThan(0.05); // a gap relative to a tiny difference means nothing
  const gap = (steps: number, method: E.IntegrationMethod) =>
    Math.max(
      ...itemSums(E.integratedGradients(m, x, { target: classes, baseline: x0, steps, method, ...quiet }).attribution).map(
        (s, i) => Math.abs(s - want[i]!) / Math.abs(want[i]!),
      ),
    );
  const coarse = gap(4, 'riemann-right');
  expect(gap(64, 'riemann-trapezoid')).toBeLessThan(coarse);
  // ReLU and max pooling make the path's integrand piecewise smooth, so quadrature converges slowly.
  expect(gap(256, 'gauss-legendre')).toBeLessThan(2e-3);
});

test.each([['relu'], ['tanh'], ['sigmoid'], ['gelu']] as const)(
  'DeepLIFT-Rescale: summation-to-delta on a %s net with mean pooling (every non-linearity element-wise)',
  (act) => {
    const m = new GapHeadNet({ act, seed: 22 }).eval();
    const ref = constant(x, -0.3);
    const r = E.deepLift(m, x, { target: classes, baseline: ref, ...quiet });
    const want = logits(m, x).map((f, i) => f - logits(m, ref)[i]!);
    expect(relError(itemSums(r.attribution), want)).toBeLessThan(1e-4);
  },
);

test('DeepLIFT-SHAP: Σ attribution = f(x) − mean over the baselines of f(b)', () => {
  const m = new GapHeadNet({ act: 'tanh', seed: 23 }).eval();
  const baselines = randn([3, 3, 12, 20], { generator: new Generator(24) });
  const r = E.deepLiftShap(m, x, { target: classes, baselines, ...quiet });
  const want = classes.map((c, i) => logits(m, x)[i]! - logits(m, baselines, [c]).reduce((a, b) => a + b, 0) / 3);
  expect(relError(itemSums(r.attribution), want)).toBeLessThan(1e-4);
});

test('KernelSHAP and Shapley value sampling: efficiency, Σ φ = f(x) − f(baseline)', () => {
  const m = new GapHeadNet({ seed: 25 }).eval();
  const featureMask = E.patchMask(12, 20, 4);
  const want = logits(m, x).map((f, i) => f - logits(m, constant(x, 0))[i]!);
  const ks = E.kernelShap(m, x, { target: classes, featureMask, samples: 200, seed: 3, ...quiet });
  const sv = E.shapleyValueSampling(m, x, { target: classes, featureMask, samples: 3, seed: 4, ...quiet });
  for (const r of [ks, sv]) {
    const sums = r.features.map((f) => f.reduce((a, b) => a + b, 0));
    expect(relError(sums, want)).toBeLessThan(1e-4);
  }
});

describe('LRP on bias-free ReLU nets: LRP-0 conserves relevance exactly, LRP-ε loses some', () => {
  const cases: [string, Module, Tensor][] = [
    ['a CNN with mean pooling (non-square input)', new GapHeadNet({ bias: false, seed: 26 }).eval(), x],
    ['an MLP', new Mlp({ bias: false }).eval(), randn([2, 12], { generator: new Generator(27) })],
  ];
  test.each(cases)('%s', (_what, m, xs) => {
    const zero = E.lrp(m, xs, { target: classes.map((c) => c % 3), composite: 'zero', ...quiet });
    const top = logits(
      m,
      xs,
      classes.map((c) => c % 3),
    );
    expect(relError(itemSums(zero.relevance), top)).toBeLessThan(1e-5);
    // LRP-0 on a bias-free ReLU net is gradient × input (Ancona et al. 2018).
    const gxi = E.gradientXInput(m, xs, { target: classes.map((c) => c % 3), ...quiet });
    expect(relError(zero.relevance, gxi.attribution.dataSync())).toBeLessThan(1e-5);
    const eps = E.lrp(m, xs, { target: classes.map((c) => c % 3), ...quiet });
    for (const c of eps.conservation) expect(Math.abs(c)).toBeLessThanOrEqual(1 + 1e-6);
  });
});

test('Grad-CAM equals HiResCAM where ∂score/∂A is constant per channel (a GAP + linear head), and not elsewhere', () => {
  const m = new GapHeadNet({ seed: 28 }).eval();
  const g = E.gradCam(m, x, { layer: 'features.3', target: classes, ...quiet });
  const h = E.hiResCam(m, x, { layer: 'features.3', target: classes, ...quiet });
  expect(Array.from(g.map.dataSync()).some((v) => v > 0)).toBe(true);
  expect(relError(g.map, h.map.dataSync())).toBeLessThan(1e-5);
  // EdgeNet has a SiLU between the layer and the pooling: the gradient varies over the map.
  const e = edgeNet();
  const ge = E.gradCam(e, x, { layer: 'features.6', target: classes, relu: false, ...quiet });
  const he = E.hiResCam(e, x, { layer: 'features.6', target: classes, relu: false, ...quiet });
  expect(relError(ge.map, he.map.dataSync())).toBeGreaterThan(1e-2);
});
