import * as fs from 'fs';
import * as path from 'path';
import { readNpz } from '@gradlens/io';
import type { NdArray } from '@gradlens/io';
import { createModel, loadWeights } from '@gradlens/nn';
import type { Module, ModelName, ModelOptions } from '@gradlens/nn';
import { tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import {
  disposeResult,
  gradCam,
  gradCamPlusPlus,
  guidedBackprop,
  guidedGradCam,
  integratedGradients,
  layerCam,
  lrp,
  vanillaGradient,
} from '../src';
import { relError } from './helpers';

/**
 * The methods on the nn package's width-reduced torchvision architectures (random weights, eval mode)
 * against PyTorch references written from the papers (scripts/make-explain-arch-fixtures.py):
 * every map within 1e-4 of PyTorch's, relative to the map's largest magnitude.
 */
const ROOT = path.join(__dirname, '..', '..', '..');
const FIX = path.join(__dirname, 'fixtures', 'arch');
const manifest = JSON.parse(fs.readFileSync(path.join(FIX, 'models.json'), 'utf8')) as {
  igSteps: number;
  models: Record<string, { options: ModelOptions; weights: string; layer: string }>;
};
const expected = readNpz(path.join(FIX, 'expected.npz'));
const quiet = { onWarning: () => undefined };
const TOL = 1e-4;

function arr(key: string): NdArray {
  const a = expected[key];
  if (!a) throw new Error(`expected.npz has no '${key}'`);
  return a;
}

const values = (key: string): Float32Array => Float32Array.from(arr(key).data as ArrayLike<number>);

/** Asserts the shape and relError ≤ TOL against the PyTorch values; returns the error. */
function check(actual: Tensor, want: ArrayLike<number>, shape: number[], what: string): number {
  expect([...actual.shape]).toEqual(shape);
  const err = relError(actual, want);
  if (!(err <= TOL)) throw new Error(`${what}: relative error ${err.toExponential(2)} > ${TOL}`);
  return err;
}

const errors: Record<string, Record<string, number>> = {};
const METHODS = ['logits', 'vanilla', 'guided', 'gradcam', 'gradcam_up', 'guided_gradcam', 'gradcampp', 'layercam', 'ig', 'lrp'] as const;

afterAll(() => {
  const head = `${'model'.padEnd(14)}${METHODS.map((m) => m.padStart(15)).join('')}`;
  const rows = Object.entries(errors).map(
    ([name, e]) => `${name.padEnd(14)}${METHODS.map((m) => (e[m]?.toExponential(2) ?? '-').padStart(15)).join('')}`,
  );
  // eslint-disable-next-line no-console
  console.log([head, ...rows].join('\n'));
});

describe.each(Object.entries(manifest.models))('%s', (name, info) => {
  const x = tensor(values('x'), arr('x').shape);
  const target = Array.from(arr(`${name}.target`).data as ArrayLike<number>, Number);
  const layer = info.layer;
  const err = (errors[name] = {} as Record<string, number>);
  const model: Module = createModel(name as ModelName, { ...info.options, numClasses: 10, init: false });
  const loaded = loadWeights(model, path.join(ROOT, info.weights));
  model.eval();
  const same = (method: string, actual: Tensor, key = method) => {
    const want = arr(`${name}.${key}`);
    err[method] = check(actual, want.data as ArrayLike<number>, want.shape, `${name} ${method}`);
  };

  test("the weights load and the logits equal PyTorch's", () => {
    expect(loaded).toEqual({ missingKeys: [], unexpectedKeys: [] });
    const y = model.call(x);
    same('logits', y);
    y.dispose();
  });

  test('vanilla gradient and guided backprop', () => {
    const v = vanillaGradient(model, x, { target, ...quiet });
    same('vanilla', v.attribution);
    const g = guidedBackprop(model, x, { target, ...quiet });
    same('guided', g.attribution);
    disposeResult(v);
    disposeResult(g);
  });

  test(`Grad-CAM on ${layer} (map and upsampled), guided Grad-CAM`, () => {
    const r = gradCam(model, x, { layer, target, ...quiet });
    same('gradcam', r.map);
    same('gradcam_up', r.upsampled);
    const gg = guidedGradCam(model, x, { layer, target, ...quiet });
    // PyTorch's guided ⊙ upsampled Grad-CAM, formed here from the two stored maps.
    const up = values(`${name}.gradcam_up`);
    const guided = values(`${name}.guided`);
    const [n, c, h, w] = arr(`${name}.guided`).shape as [number, number, number, number];
    const hw = h * w;
    const want = guided.map((v, i) => v * up[Math.floor(i / (c * hw)) * hw + (i % hw)]!);
    expect(up.length).toBe(n * hw);
    err['guided_gradcam'] = check(gg.attribution, want, arr(`${name}.guided`).shape, `${name} guided_gradcam`);
    disposeResult(r);
    disposeResult(gg);
  });

  test('Grad-CAM++ and Layer-CAM', () => {
    const pp = gradCamPlusPlus(model, x, { layer, target, ...quiet });
    same('gradcampp', pp.map);
    const lc = layerCam(model, x, { layer, target, ...quiet });
    same('layercam', lc.map);
    disposeResult(pp);
    disposeResult(lc);
  });

  test(`integrated gradients (zero baseline, right Riemann, ${manifest.igSteps} steps)`, () => {
    const r = integratedGradients(model, x, { target, steps: manifest.igSteps, ...quiet });
    same('ig', r.attribution);
    disposeResult(r);
  });

  test('LRP-ε', () => {
    const r = lrp(model, x, { target, composite: 'epsilon' });
    same('lrp', r.relevance);
    r.relevance.dispose();
  });
});
