import * as path from 'path';
import { readNpz } from '@gradlens/io';
import type { Tensor } from '@gradlens/tensor';
import { Generator, numTensors, randn, tensor, tidy } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import * as E from '../src';
import { edgeNet, GapHeadNet, tinyVit } from './edge-models';
import { FIXTURES, relError } from './helpers';

/**
 * A batch of three different images with different targets, in one call, gives each image the map it
 * gets alone — for every method that takes a batch, on a model and an input no other test uses
 * (EdgeNet: functional ReLU, GELU, Hardswish, SiLU; non-square 3×12×20), and on a ViT. The targets
 * are given per item and left at the default, which must pick each image's own top class.
 */
const quiet = { onWarning: () => undefined };
const fx = readNpz(path.join(FIXTURES, 'edge', 'expected.npz'));
const arr = (k: string) => {
  const a = fx[k];
  if (!a) throw new Error(`edge/expected.npz has no '${k}'`);
  return tensor(Float32Array.from(a.data as ArrayLike<number>), a.shape);
};
const model = edgeNet();
const reluTwin = new GapHeadNet({ seed: 3 }).eval();
const x = arr('x');
const targets = Array.from(arr('targets').dataSync(), Number);
const [n, c, h, w] = x.shape as [number, number, number, number];
/** Items `items` of dim `dim` of t, copied on the host (indexSelect with a plain array leaks its index tensor). */
function take(t: Tensor, dim: number, items: readonly number[]): Tensor {
  const outer = t.shape.slice(0, dim).reduce((a, b) => a * b, 1);
  const size = t.shape[dim]!;
  const inner = t.size / outer / size;
  const v = t.dataSync();
  const out = new Float32Array(outer * items.length * inner);
  let k = 0;
  for (let o = 0; o < outer; o++) for (const i of items) for (let j = 0; j < inner; j++) out[k++] = v[(o * size + i) * inner + j]!;
  return tensor(
    out,
    t.shape.map((d, a) => (a === dim ? items.length : d)),
  );
}
const pick = (t: Tensor, i: number) => take(t, 0, [i]);

test('EdgeNet matches PyTorch: logits, vanilla gradient, Grad-CAM / HiResCAM / Grad-CAM++ of each image alone', () => {
  expect(relError(model.call(x), fx.logits!.data as ArrayLike<number>)).toBeLessThan(1e-5);
  const v = E.vanillaGradient(model, x, { target: targets, ...quiet });
  expect(relError(v.attribution, fx.vanilla!.data as ArrayLike<number>)).toBeLessThan(1e-4);
  const rows: [string, E.CamResult, string][] = [
    ['gradcam', E.gradCam(model, x, { layer: 'features.6', target: targets, ...quiet }), 'map'],
    ['gradcam_up', E.gradCam(model, x, { layer: 'features.6', target: targets, ...quiet }), 'upsampled'],
    ['hirescam', E.hiResCam(model, x, { layer: 'features.6', target: targets, ...quiet }), 'map'],
    ['gradcampp', E.gradCamPlusPlus(model, x, { layer: 'features.6', target: targets, ...quiet }), 'map'],
  ];
  for (const [key, r, field] of rows) {
    const got = field === 'map' ? r.map : r.upsampled;
    expect([...got.shape]).toEqual(fx[key]!.shape);
    expect(relError(got, fx[key]!.data as ArrayLike<number>)).toBeLessThan(1e-4);
    E.disposeResult(r);
  }
});

// Fixed draws for the sampling methods, so that the batch and the single image see the same ones.
const S = 3;
const noise = randn([S, n, c, h, w], { generator: new Generator(8) });
const baselines = randn([4, c, h, w], { generator: new Generator(9) });
const mask = E.patchMask(h, w, 4);
const features = new Set(mask).size;
const gen = new Generator(10);
const bits = (rows: number, edge: boolean) =>
  Array.from({ length: rows }, (_, r) =>
    Array.from({ length: features }, (_, f) => (edge && f === r % features ? r % 2 : gen.uniform() < 0.5 ? 1 : 0)),
  );
const permutations = [0, 1].map(() => {
  const p = Array.from({ length: features }, (_, i) => i);
  for (let i = p.length - 1; i > 0; i--) {
    const j = gen.int(i + 1);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
});
const limePatterns = bits(24, false);
const shapPatterns = bits(40, false).filter((r) => r.some((b) => b) && r.some((b) => !b));
const gsAlpha = Array.from({ length: S * n }, () => gen.uniform());
const gsIndex = Array.from({ length: S * n }, () => gen.int(4));

/** A method on a batch: its map, its classes, the result to free, and the model when not EdgeNet (for its default classes). */
type Run = (
  xs: Tensor,
  target: E.TargetSpec | undefined,
  items: readonly number[],
) => { out: Tensor; classes: readonly number[] | null; r: object; model?: Module };
/** A CAM-family method's upsampled map (or the map, for those that return it at the input's size). */
type CamLike = { map: Tensor; upsampled?: Tensor; classes: readonly number[] | null };
const cam =
  (f: (m: Module, x: Tensor, o: E.CamOptions) => CamLike, extra: object = {}): Run =>
  (xs, target) => {
    const r = f(model, xs, { layer: 'features.6', target, ...extra, ...quiet } as E.CamOptions);
    return { out: r.upsampled ?? r.map, classes: r.classes, r };
  };
const attr =
  (
    f: (xs: Tensor, target: E.TargetSpec | undefined, items: readonly number[]) => { attribution: Tensor; classes?: number[] | null },
  ): Run =>
  (xs, target, items) => {
    const r = f(xs, target, items);
    return { out: r.attribution, classes: r.classes ?? null, r };
  };
const rows: [string, Run][] = [
  ['gradCam', cam(E.gradCam)],
  ['gradCamPlusPlus', cam(E.gradCamPlusPlus)],
  ['xGradCam', cam(E.xGradCam)],
  ['hiResCam', cam(E.hiResCam)],
  ['layerCam', cam(E.layerCam)],
  ['scoreCam', cam(E.scoreCam, { batchSize: 5 })],
  ['ablationCam', cam(E.ablationCam, { batchSize: 3 })],
  ['eigenGradCam', cam(E.eigenGradCam)],
  ['gradCamElementWise', cam(E.gradCamElementWise)],
  ['eigenCam (class-agnostic)', cam((m, xs, o) => E.eigenCam(m, xs, { layer: o.layer, ...quiet }))],
  ['fullGrad', cam((m, xs, o) => E.fullGrad(m, xs, { target: o.target, ...quiet }))],
  ['multiLayerCam', cam((m, xs, o) => E.multiLayerCam(E.gradCam, m, xs, { ...o, layers: ['features.4', 'features.6'] }))],
  ['augSmoothCam', cam((m, xs, o) => E.augSmoothCam(E.gradCam, m, xs, o))],
  ['eigenSmoothCam', cam((m, xs, o) => E.eigenSmoothCam(m, xs, 'product', o))],
  ['guidedGradCam', attr((xs, target) => E.guidedGradCam(model, xs, { layer: 'features.6', target, ...quiet }))],
  [
    'noiseTunnel (VarGrad of the vanilla gradient)',
    attr((xs, target, items) => {
      const draws = take(noise, 1, items);
      try {
        const explain: E.BatchAttribution = (m, batch, t) => E.vanillaGradient(m, batch, { target: t, ...quiet }).attribution;
        return E.noiseTunnel(explain, model, xs, { target, noise: draws, type: 'vargrad', ...quiet });
      } finally {
        draws.dispose();
      }
    }),
  ],
  [
    'layerActivationGradient',
    (xs) => {
      const r = E.layerActivationGradient(model, xs, { layer: 'features.4', filter: 3, ...quiet });
      return { out: r.attribution, classes: null, r };
    },
  ],
  [
    'cam (a ReLU twin with a GAP + linear head)',
    (xs, target) => {
      const r = E.cam(reluTwin, xs, { layer: 'features.3', target, ...quiet });
      return { out: r.upsampled, classes: r.classes, r, model: reluTwin };
    },
  ],
  ['vanillaGradient', attr((xs, target) => E.vanillaGradient(model, xs, { target, ...quiet }))],
  ['guidedBackprop', attr((xs, target) => E.guidedBackprop(model, xs, { target, ...quiet }))],
  ['deconvnet', attr((xs, target) => E.deconvnet(model, xs, { target, ...quiet }))],
  ['gradientXInput', attr((xs, target) => E.gradientXInput(model, xs, { target, ...quiet }))],
  [
    'smoothGrad',
    attr((xs, target, items) => {
      const draws = take(noise, 1, items);
      try {
        return E.smoothGrad(model, xs, { target, noise: draws, ...quiet });
      } finally {
        draws.dispose();
      }
    }),
  ],
  ['integratedGradients', attr((xs, target) => E.integratedGradients(model, xs, { target, steps: 9, batchSize: 4, ...quiet }))],
  ['deepLift', attr((xs, target) => E.deepLift(model, xs, { target, baseline: 0.3, ...quiet }))],
  ['deepLiftShap', attr((xs, target) => E.deepLiftShap(model, xs, { target, baselines, batchSize: 3, ...quiet }))],
  [
    'gradientShap',
    attr((xs, target, items) => {
      const pickDraws = (v: readonly number[]) => Array.from({ length: S }, (_, s) => items.map((i) => v[s * n + i]!)).flat();
      const draws = { baselineIndex: pickDraws(gsIndex), alpha: pickDraws(gsAlpha) };
      return E.gradientShap(model, xs, { target, baselines, draws, ...quiet });
    }),
  ],
  [
    'lrp (epsilon; a ReLU twin: SiLU and Hardswish multiply two activations, which LRP has no rule for)',
    (xs, target) => {
      const r = E.lrp(reluTwin, xs, { target, ...quiet });
      return { out: r.relevance, classes: null, r };
    },
  ],
  [
    'occlusion',
    (xs, target) => {
      const r = E.occlusion(model, xs, { target, window: 4, stride: 3, batchSize: 7, ...quiet });
      return { out: r.map, classes: r.classes, r };
    },
  ],
  ['featureAblation', attr((xs, target) => E.featureAblation(model, xs, { target, featureMask: mask, batchSize: 6, ...quiet }))],
  ['shapleyValueSampling', attr((xs, target) => E.shapleyValueSampling(model, xs, { target, featureMask: mask, permutations, ...quiet }))],
  ['lime', attr((xs, target) => E.lime(model, xs, { target, featureMask: mask, patterns: limePatterns, ...quiet }))],
  ['kernelShap', attr((xs, target) => E.kernelShap(model, xs, { target, featureMask: mask, patterns: shapPatterns, ...quiet }))],
];

describe.each([
  ['one class per item', targets as E.TargetSpec],
  ['the default target', undefined],
])('a batch of three images equals each image alone (%s)', (_what, spec) => {
  const tops = [0, 1, 2].map((i) => E.topClasses(model, pick(x, i), 1)[0]![0]!);
  test('the fixture images have three different top classes', () => {
    expect(new Set(tops).size).toBe(3);
  });
  test.each(rows)('%s', (_name, run) => {
    const before = numTensors();
    const all = run(x, spec, [0, 1, 2]);
    const v = all.out.dataSync();
    const per = v.length / n;
    expect(all.out.shape[0]).toBe(n);
    const defaults = all.model ? tidy(() => [0, 1, 2].map((i) => E.topClasses(all.model!, pick(x, i), 1)[0]![0]!)) : tops;
    if (all.classes) expect(all.classes).toEqual(spec === undefined ? defaults : targets);
    for (let i = 0; i < n; i++) {
      const xi = pick(x, i);
      const one = run(xi, Array.isArray(spec) ? [spec[i]!] : spec, [i]);
      if (one.classes) expect(one.classes).toEqual([all.classes![i]]);
      const want = one.out.dataSync();
      expect(want.length).toBe(per);
      expect(Array.from(want).some((u) => u !== 0)).toBe(true); // a zero map would match anything
      expect(relError(v.subarray(i * per, (i + 1) * per), want)).toBeLessThan(1e-5);
      E.disposeResult(one.r);
      xi.dispose();
    }
    E.disposeResult(all.r);
    expect(numTensors()).toBe(before);
  });
});

describe('ViT: a batch equals each image alone for the methods that support transformers', () => {
  const vit = tinyVit();
  const xv = randn([3, 3, 32, 32], { generator: new Generator(12) });
  const layer = 'encoder.layers.encoder_layer_1.ln_1';
  const vrows: [string, (xs: Tensor, t: number[]) => Tensor][] = [
    ['gradCam', (xs, t) => E.gradCam(vit, xs, { layer, target: t, ...quiet }).upsampled],
    ['scoreCam', (xs, t) => E.scoreCam(vit, xs, { layer, target: t, ...quiet }).upsampled],
    ['ablationCam', (xs, t) => E.ablationCam(vit, xs, { layer, target: t, ...quiet }).upsampled],
    ['eigenCam', (xs) => E.eigenCam(vit, xs, { layer, ...quiet }).upsampled],
    ['attentionRollout', (xs) => E.attentionRollout(vit, xs, { ...quiet }).upsampled],
    ['genericAttention', (xs, t) => E.genericAttention(vit, xs, { target: t, ...quiet }).upsampled],
    ['transformerAttribution', (xs, t) => E.transformerAttribution(vit, xs, { target: t, ...quiet }).upsampled],
    ['lrp (conservative)', (xs, t) => E.lrp(vit, xs, { target: t, composite: 'conservative', ...quiet }).relevance],
    ['integratedGradients', (xs, t) => E.integratedGradients(vit, xs, { target: t, steps: 4, ...quiet }).attribution],
  ];
  test.each(vrows)('%s', (_name, run) => {
    const t = [0, 3, 1];
    const v = run(xv, t).dataSync();
    const per = v.length / 3;
    for (let i = 0; i < 3; i++) {
      const want = run(pick(xv, i), [t[i]!]).dataSync();
      expect(Array.from(want).some((u) => u !== 0)).toBe(true);
      expect(Array.from(v).every(Number.isFinite)).toBe(true);
      expect(relError(v.subarray(i * per, (i + 1) * per), want)).toBeLessThan(1e-4);
    }
  });
});
