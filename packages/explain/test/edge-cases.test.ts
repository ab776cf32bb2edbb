import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Tensor } from '@gradlens/tensor';
import { full, Generator, numTensors, randn, tensor, zeros } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { defaultCamLayer, resnet18 } from '@gradlens/nn';
import * as E from '../src';
import { EdgeNet, edgeNet, GapHeadNet, Mlp, Scaled, SideBranchNet } from './edge-models';
import { relError } from './helpers';

/**
 * Inputs and models no other test uses: sizes (non-square, a 1×1 last map), one channel, an MLP,
 * targets and layer names that are wrong, and degenerate values (zero and constant images, a zero
 * gradient, huge logits). Each row says what must happen: a map of the right shape with finite
 * values, or a one-line error naming the problem.
 */
const quiet = { onWarning: () => undefined };
const finite = (t: Tensor) => Array.from(t.dataSync()).every(Number.isFinite);

describe('sizes: CAM maps come back at the input size and aspect', () => {
  const r18 = resnet18({ widthDivisor: 8, numClasses: 10, generator: new Generator(3) }).eval();
  const cams: [string, (m: Module, x: Tensor) => { map: Tensor; upsampled?: Tensor }][] = [
    ['gradCam', (m, x) => E.gradCam(m, x, { layer: 'layer4', ...quiet })],
    ['scoreCam', (m, x) => E.scoreCam(m, x, { layer: 'layer4', ...quiet })],
    ['ablationCam', (m, x) => E.ablationCam(m, x, { layer: 'layer4', ...quiet })],
    ['eigenCam', (m, x) => E.eigenCam(m, x, { layer: 'layer4', ...quiet })],
    ['cam', (m, x) => E.cam(m, x, { layer: 'layer4', ...quiet })],
    ['fullGrad', (m, x) => E.fullGrad(m, x, quiet)],
    ['augSmoothCam', (m, x) => E.augSmoothCam(E.gradCam, m, x, { layer: 'layer4', ...quiet })],
  ];
  test.each(cams)('%s on ResNet-18: 32×32 (last map 1×1) and 96×160', (_name, run) => {
    for (const [hh, ww, cell] of [
      [32, 32, [1, 1]],
      [96, 160, [3, 5]],
    ] as const) {
      const x = randn([2, 3, hh, ww], { generator: new Generator(hh) });
      const r = run(r18, x);
      const up = r.upsampled ?? r.map;
      expect(up.shape).toEqual([2, hh, ww]);
      if (r.upsampled) expect(r.map.shape).toEqual([2, ...cell]);
      expect(finite(up)).toBe(true);
      if (r.upsampled && cell[0] === 1) {
        // A 1×1 map upsamples to that one value everywhere.
        const m = r.map.dataSync();
        const u = r.upsampled.dataSync();
        for (let i = 0; i < 2; i++) for (let p = 0; p < hh * ww; p++) expect(u[i * hh * ww + p]).toBeCloseTo(m[i]!, 6);
      }
      E.disposeResult(r);
      x.dispose();
    }
  });
});

test('the default CAM layer of an unknown features → avgpool → fc model is the last map, not the 1×1 pool', () => {
  const m = new EdgeNet().eval();
  expect(defaultCamLayer(m, [1, 3, 12, 20])).toBe('features');
  const r = E.gradCam(m, randn([2, 3, 12, 20], { generator: new Generator(14) }), quiet);
  expect(r.map.shape).toEqual([2, 6, 10]);
  E.disposeResult(r);
});

describe('other models', () => {
  test('a 1-channel model (20×12): CAM, gradient and perturbation methods keep one channel', () => {
    const m = new EdgeNet(1).eval();
    const x = randn([2, 1, 20, 12], { generator: new Generator(4) });
    expect(E.gradCam(m, x, { layer: 'features.6', ...quiet }).upsampled.shape).toEqual([2, 20, 12]);
    expect(E.scoreCam(m, x, { layer: 'features.6', ...quiet }).upsampled.shape).toEqual([2, 20, 12]);
    for (const f of [E.vanillaGradient, E.smoothGrad, E.integratedGradients, E.deepLift, E.featureAblation, E.lime] as const) {
      const r = (f as typeof E.vanillaGradient)(m, x, quiet);
      expect(r.attribution.shape).toEqual([2, 1, 20, 12]);
      expect(finite(r.attribution)).toBe(true);
    }
    expect(E.occlusion(m, x, { window: 4, ...quiet }).map.shape).toEqual([2, 20, 12]);
  });

  test('an MLP on vectors [N, F]: gradient methods, LRP and layer activations work; image methods say they need images', () => {
    const m = new Mlp().eval();
    const x = randn([3, 12], { generator: new Generator(5) });
    for (const f of [
      E.vanillaGradient,
      E.guidedBackprop,
      E.deconvnet,
      E.gradientXInput,
      E.smoothGrad,
      E.integratedGradients,
      E.deepLift,
    ] as const)
      expect((f as typeof E.vanillaGradient)(m, x, quiet).attribution.shape).toEqual([3, 12]);
    const r = E.lrp(m, x, { composite: 'zero', ...quiet });
    expect(r.relevance.shape).toEqual([3, 12]);
    expect(E.layerActivationGradient(m, x, { layer: 'l2', filter: 1, rules: {}, ...quiet }).attribution.shape).toEqual([3, 12]);
    expect(() => E.gradCam(m, x, quiet)).toThrow(
      /gradCam: input must be a batch \[N, C, H, W\], got shape \[3, 12\].*gradient methods and LRP/,
    );
    expect(() => E.occlusion(m, x, quiet)).toThrow(/occlusion: input must be a batch \[N, C, H, W\]/);
  });

  test('feature visualisation on a 1-channel model or an MLP: an error that says it optimises RGB pictures', () => {
    const one = new EdgeNet(1).eval();
    const rgb = /the model failed on the picture \[1, 3, 16, 16\] it is given \(feature visualisation optimises RGB images/;
    expect(() => E.visualizeFilter(one, { layer: 'features.3', filter: 0, steps: 1, size: 16 })).toThrow(rgb);
    expect(() => E.generateClassSample(new Mlp().eval(), 1, { steps: 1, size: 16 })).toThrow(rgb);
    // The method's own checks keep their messages.
    expect(() => E.generateClassSample(new GapHeadNet().eval(), 9, { steps: 1, size: 16 })).toThrow(
      /^generateClassSample: target class 9 is out of range/,
    );
  });

  test('LRP on SiLU / Hardswish (a product of two activations) is a one-line error, not a wrong map', () => {
    const x = randn([1, 3, 12, 20], { generator: new Generator(6) });
    expect(() => E.lrp(edgeNet(), x, quiet)).toThrow(/^LRP: mul with an input-dependent pair of operands/);
  });
});

describe('targets', () => {
  const m = new GapHeadNet().eval();
  const x = randn([2, 3, 12, 20], { generator: new Generator(7) });
  const methods: [string, (t: unknown) => unknown][] = [
    ['gradCam', (t) => E.gradCam(m, x, { target: t as E.TargetSpec, ...quiet })],
    ['vanillaGradient', (t) => E.vanillaGradient(m, x, { target: t as E.TargetSpec, ...quiet })],
    ['occlusion', (t) => E.occlusion(m, x, { target: t as E.TargetSpec, window: 6, ...quiet })],
    ['lrp', (t) => E.lrp(m, x, { target: t as E.TargetSpec, ...quiet })],
  ];
  const bad: [string, unknown, RegExp][] = [
    ['out of range', 4, /target class 4 is out of range: the model has 4 outputs \(0…3\)/],
    ['negative', -1, /target class -1 is out of range/],
    ['not an integer', 1.5, /target class 1\.5 is out of range/],
    ['NaN', NaN, /target class NaN is out of range/],
    ['too few per item', [1], /1 target classes given for a batch of 2 items/],
    ['too many per item', [1, 2, 3], /3 target classes given for a batch of 2 items/],
    ['a bad one per item', [0, -2], /target class -2 \(item 1\) is out of range/],
    ['a string', '2', /target must be a class index, an array of class indices, 'top1' or a function; got 2/],
  ];
  test.each(methods)('%s: each bad target is a one-line error; null is the default', (_name, run) => {
    for (const [, t, message] of bad) expect(() => run(t)).toThrow(message);
    const byDefault = run(undefined) as { classes?: number[] };
    const byNull = run(null) as { classes?: number[] };
    if (byDefault.classes) expect(byNull.classes).toEqual(byDefault.classes);
  });
});

describe('layer names', () => {
  const m = new SideBranchNet().eval();
  const x = randn([2, 3, 12, 20], { generator: new Generator(8) });
  const camMethods: [string, (layer: string) => unknown][] = [
    ['gradCam', (layer) => E.gradCam(m, x, { layer, ...quiet })],
    ['gradCamPlusPlus', (layer) => E.gradCamPlusPlus(m, x, { layer, ...quiet })],
    ['hiResCam', (layer) => E.hiResCam(m, x, { layer, ...quiet })],
    ['ablationCam', (layer) => E.ablationCam(m, x, { layer, ...quiet })],
    ['guidedGradCam', (layer) => E.guidedGradCam(m, x, { layer, ...quiet })],
    ['eigenSmoothCam', (layer) => E.eigenSmoothCam(m, x, 'product', { layer, ...quiet })],
    ['lrp', (layer) => E.lrp(m, x, { layer, ...quiet })],
  ];
  test.each(camMethods)('%s: a misspelling gets near names, a side branch off the path and a 2-D layer get clear errors', (name, run) => {
    const before = numTensors();
    expect(() => run('featurs.3')).toThrow(
      new RegExp(`^${name}: no layer named 'featurs.3' in SideBranchNet \\(did you mean 'features.3'\\?\\); valid layer paths: features,`),
    );
    expect(() => run('side')).toThrow(new RegExp(`^${name}: the model's output does not depend on layer 'side'`));
    if (name !== 'lrp')
      expect(() => run('fc')).toThrow(new RegExp(`^${name}: layer 'fc' gives an output of shape \\[2, 4\\]; CAM methods need`));
    expect(numTensors()).toBe(before);
  });
  test('Score-CAM and Eigen-CAM need no gradient: a side branch is a valid layer for them', () => {
    expect(E.scoreCam(m, x, { layer: 'side', ...quiet }).upsampled.shape).toEqual([2, 12, 20]);
    expect(E.eigenCam(m, x, { layer: 'side', ...quiet }).upsampled.shape).toEqual([2, 12, 20]);
  });
  test('eigenSmoothCam: a weighting given by name works; an unknown one is an error, not a silent fallback', () => {
    const byName = E.eigenSmoothCam(m, x, 'positive-gradient', { layer: 'features.3', ...quiet }).map.dataSync();
    const byObject = E.eigenSmoothCam(m, x, { kind: 'positive-gradient' }, { layer: 'features.3', ...quiet }).map.dataSync();
    expect(Array.from(byName)).toEqual(Array.from(byObject));
    expect(() => E.eigenSmoothCam(m, x, 'products' as 'product', { layer: 'features.3' })).toThrow(
      /eigenSmoothCam: how must be .* got "products"/,
    );
  });
});

describe('degenerate values: every map is finite', () => {
  const base = () => new GapHeadNet({ seed: 9 });
  const zeroImage = zeros([2, 3, 12, 20]);
  const constImage = full([2, 3, 12, 20], 0.7);
  const x = randn([2, 3, 12, 20], { generator: new Generator(10) });
  const cases: [string, Module, Tensor][] = [
    ['an all-zero image', base().eval(), zeroImage],
    ['a constant image', base().eval(), constImage],
    ['a zero gradient at the target (output · 0)', new Scaled(base(), 0).eval(), x],
    ['huge logits (· 1e15)', new Scaled(base(), 1e15).eval(), x],
  ];
  const layer = (m: Module) => (m instanceof Scaled ? 'inner.features.3' : 'features.3');
  const runs: [string, (m: Module, x: Tensor) => Tensor][] = [
    ['gradCam', (m, xs) => E.gradCam(m, xs, { layer: layer(m), ...quiet }).upsampled],
    ['gradCamPlusPlus', (m, xs) => E.gradCamPlusPlus(m, xs, { layer: layer(m), ...quiet }).upsampled],
    ['xGradCam', (m, xs) => E.xGradCam(m, xs, { layer: layer(m), ...quiet }).upsampled],
    ['layerCam', (m, xs) => E.layerCam(m, xs, { layer: layer(m), ...quiet }).upsampled],
    ['scoreCam', (m, xs) => E.scoreCam(m, xs, { layer: layer(m), ...quiet }).upsampled],
    ['ablationCam', (m, xs) => E.ablationCam(m, xs, { layer: layer(m), ...quiet }).upsampled],
    ['eigenCam', (m, xs) => E.eigenCam(m, xs, { layer: layer(m), ...quiet }).upsampled],
    ['eigenGradCam', (m, xs) => E.eigenGradCam(m, xs, { layer: layer(m), ...quiet }).upsampled],
    ['fullGrad', (m, xs) => E.fullGrad(m, xs, quiet).map],
    ['multiLayerCam', (m, xs) => E.multiLayerCam(E.gradCam, m, xs, { layers: [layer(m)], ...quiet }).map],
    ['guidedGradCam', (m, xs) => E.guidedGradCam(m, xs, { layer: layer(m), ...quiet }).attribution],
    ['smoothGrad', (m, xs) => E.smoothGrad(m, xs, { samples: 3, ...quiet }).attribution],
    ['integratedGradients', (m, xs) => E.integratedGradients(m, xs, { steps: 8, ...quiet }).attribution],
    ['deepLift', (m, xs) => E.deepLift(m, xs, quiet).attribution],
    ['lrp (zero: ε = 0)', (m, xs) => E.lrp(m, xs, { composite: 'zero', ...quiet }).relevance],
    ['lrp (epsilon)', (m, xs) => E.lrp(m, xs, quiet).relevance],
    ['lrp (alphaBeta)', (m, xs) => E.lrp(m, xs, { composite: 'alphaBeta', ...quiet }).relevance],
    ['occlusion', (m, xs) => E.occlusion(m, xs, { window: 6, ...quiet }).map],
    ['lime', (m, xs) => E.lime(m, xs, { samples: 30, ...quiet }).attribution],
    ['kernelShap', (m, xs) => E.kernelShap(m, xs, { samples: 60, featureMask: E.patchMask(12, 20, 4), ...quiet }).attribution],
    ['normalizeMaps of the Grad-CAM', (m, xs) => E.normalizeMaps(E.gradCam(m, xs, { layer: layer(m), ...quiet }).map)],
  ];
  test.each(cases)('%s', (_what, m, xs) => {
    const bad = runs.filter(([, run]) => !finite(run(m, xs))).map(([name]) => name);
    expect(bad).toEqual([]);
  });

  test('Grad-CAM++ with logits of 1e30 (g² and g³ overflow float32): finite and equal to the float64 formula', () => {
    const inner = new GapHeadNet({ seed: 9 }).eval();
    const scale = 1e30;
    const r = E.gradCamPlusPlus(new Scaled(inner, scale).eval(), x, { layer: 'inner.features.3', target: [1, 2], ...quiet });
    expect(finite(r.map)).toBe(true);
    // Behind a GAP + linear head, g = scale · W[c, k] / hw on every position of channel k, so
    // wₖ = hw · ReLU(g) / (2 + ΣA · g), from the paper's α = g² / (2g² + ΣA · g³) in float64.
    const a = inner.features.call(x);
    const [n, k, hh, ww] = a.shape as [number, number, number, number];
    const hw = hh * ww;
    const av = a.dataSync();
    const wv = inner.fc.weight.dataSync();
    const want: number[] = [];
    [1, 2].forEach((c, i) => {
      for (let ch = 0; ch < k; ch++) {
        let sumA = 0;
        for (let p = 0; p < hw; p++) sumA += av[(i * k + ch) * hw + p]!;
        const g = (scale * wv[c * k + ch]!) / hw;
        const g2 = g * g;
        const denom = 2 * g2 + sumA * g2 * g;
        want.push(denom === 0 ? 0 : hw * (g2 / denom) * Math.max(g, 0));
      }
    });
    expect(n).toBe(2);
    expect(want.some((v) => v > 0)).toBe(true);
    expect(relError(r.weights!, want)).toBeLessThan(1e-5);
  });

  test('LRP-0 on a model whose logits are all exactly 0: relevance 0, conservation 1 (not 0/0)', () => {
    const r = E.lrp(new Scaled(new GapHeadNet(), 0).eval(), x, { composite: 'zero', ...quiet });
    expect(Array.from(r.relevance.dataSync()).every((v) => v === 0)).toBe(true);
    expect(r.conservation).toEqual([1, 1]);
  });
});

test('mapPicture and saveNpy of a [h, w] map tensor free the batch view they make; a bad item is an error', () => {
  const map = randn([12, 20], { generator: new Generator(13) });
  const before = numTensors();
  const picture = E.mapPicture(map);
  expect([picture.width, picture.height]).toEqual([20, 12]);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edge-')), 'map.npy');
  E.saveNpy(file, map);
  expect(fs.statSync(file).size).toBeGreaterThan(240 * 4);
  expect(() => E.mapPicture(map, { item: 1 })).toThrow(/^mapPicture: item 1 is out of range: the batch has 1 item\(s\)/);
  expect(numTensors()).toBe(before);
});

test('mapPicture over a picture of another size at H ≠ W: the picture covers the map (aspect kept) and is centre-cropped', () => {
  // a CAM result: [1, 6, 10] at the layer, [1, 12, 20] upsampled to the input
  const map = { map: randn([1, 6, 10], { generator: new Generator(14) }), upsampled: zeros([1, 12, 20]) };
  // a 50 × 30 picture, its left half black, its right half white: cropped, not stretched or transposed
  const data = new Uint8Array(50 * 30 * 3);
  for (let p = 0; p < 50 * 30; p++) if (p % 50 >= 25) data.fill(255, p * 3, p * 3 + 3);
  const image = { width: 50, height: 30, channels: 3 as const, bitDepth: 8 as const, data };
  const over = E.mapPicture(map, { image, alpha: 0 });
  expect([over.width, over.height]).toEqual([20, 12]);
  // alpha 0: the picture itself, its edge (x = 25 of 50) at 25 · 23 / 50 − 2 = 9.5 of the crop: columns 0–8 dark,
  // 11–19 white, on every row
  const c = over.channels;
  for (let y = 0; y < 12; y++) {
    for (let x = 0; x < 9; x++) expect(over.data[(y * 20 + x) * c]).toBe(0);
    for (let x = 11; x < 20; x++) expect(over.data[(y * 20 + x) * c]).toBe(255);
  }
  map.map.dispose();
  map.upsampled.dispose();
});

test('evaluateMethods on a 1-channel model: a CAM map is not taken for a signed attribution (same size, not same shape)', () => {
  const m = new EdgeNet(1).eval();
  const samples = [0, 1].map((i) => ({
    image: randn([1, 12, 20], { generator: new Generator(30 + i) }),
    label: i,
    box: { x0: 2, y0: 1, x1: 12, y1: 9 },
  }));
  const t = E.evaluateMethods(
    m,
    samples,
    {
      gradCam: (mm, xs, c) => E.gradCam(mm, xs, { layer: 'features.6', target: c, ...quiet }).upsampled,
      vanilla: (mm, xs, c) => E.vanillaGradient(mm, xs, { target: c, ...quiet }).attribution,
    },
    { metrics: ['completeness', 'deletion'] },
  );
  expect(t.values.gradCam!.completeness).toEqual([null, null]);
  expect(t.values.vanilla!.completeness!.every((v) => v !== null && Number.isFinite(v))).toBe(true);
  expect(t.values.gradCam!.deletion!.every((v) => v !== null && Number.isFinite(v))).toBe(true);
});

describe('metrics take one item: a batch is an error, not a sum over items', () => {
  const m = new GapHeadNet().eval();
  const x2 = randn([2, 3, 12, 20], { generator: new Generator(11) });
  const explainer: E.Explainer = (mm, xs, t) => E.gradCam(mm, xs, { target: t, ...quiet }).upsampled;
  const rows: [string, () => unknown][] = [
    ['integratedGradientsCompleteness', () => E.integratedGradientsCompleteness(m, x2, 1)],
    ['attributionCompleteness', () => E.attributionCompleteness(m, x2, 1, explainer)],
    ['modelRandomization', () => E.modelRandomization(m, x2, 1, explainer)],
    ['faithfulnessCorrelation', () => E.faithfulnessCorrelation(m, x2, { data: new Float64Array(240), height: 12, width: 20 }, 1)],
    ['maxSensitivity', () => E.maxSensitivity(m, x2, explainer, 1)],
    ['deletionAUC', () => E.deletionAUC(m, x2, { data: new Float64Array(240), height: 12, width: 20 }, 1)],
  ];
  test.each(rows)('%s', (name, run) => {
    expect(run).toThrow(new RegExp(`^${name}: expected (one|an) (image|item)`));
  });
  test('a non-integer class is an error (it read an undefined score: NaN), a batch size of 0 runs as 1 (it hung)', () => {
    const x1 = tensor(x2.dataSync().slice(0, 720), [1, 3, 12, 20]);
    const ramp = { data: Float64Array.from({ length: 240 }, (_, i) => i), height: 12, width: 20 };
    const rows: [string, () => number][] = [
      ['faithfulnessCorrelation', () => E.faithfulnessCorrelation(m, x1, ramp, 1.5, { runs: 4 })],
      ['infidelity', () => E.infidelity(m, x1, randn([1, 3, 12, 20], { generator: new Generator(12) }), 1.5)],
      ['road', () => E.road(m, x1, ramp, 1.5).morf],
    ];
    for (const [name, run] of rows) expect(run).toThrow(new RegExp(`^${name}: target class 1\\.5 does not index the model's output`));
    const once = E.faithfulnessCorrelation(m, x1, ramp, 1, { runs: 4, batchSize: 1 });
    expect(E.faithfulnessCorrelation(m, x1, ramp, 1, { runs: 4, batchSize: 0 })).toBeCloseTo(once, 10);
    expect(Number.isFinite(once)).toBe(true);
  });

  test('on one item they run (non-square), and a zero map gives no NaN where a number is defined', () => {
    const x1 = tensor(x2.dataSync().slice(0, 720), [1, 3, 12, 20]);
    expect(E.integratedGradientsCompleteness(m, x1, 1, { steps: 64 }).relativeGap).toBeLessThan(0.05);
    const zero = { data: new Float64Array(240), height: 12, width: 20 };
    expect(Number.isFinite(E.deletionAUC(m, x1, zero, 1, { steps: 5 }).auc)).toBe(true);
    expect(Number.isFinite(E.sparseness(zero))).toBe(true);
    expect(E.complexity(zero)).toBeNaN(); // documented: left out of evaluateMethods
    expect(E.faithfulnessCorrelation(m, x1, zero, 1, { runs: 4 })).toBeNaN(); // the same: a constant map correlates with nothing
  });
});
