import * as path from 'path';
import { readNpz, type NdArray } from '@gradlens/io';
import { loadWeights, VisionTransformer } from '@gradlens/nn';
import { assign, numTensors, tensor, tidy, type Tensor } from '@gradlens/tensor';
import {
  ablationCam,
  attentionRollout,
  disposeResult,
  eigenCam,
  genericAttention,
  gradCam,
  gradCamPlusPlus,
  hiResCam,
  layerCam,
  lrp,
  scoreCam,
  tokenReshape,
  transformerAttribution,
  vanillaGradient,
  xGradCam,
} from '../src';
import { relError } from './helpers';

/**
 * A reduced torchvision ViT (the nn package's vit_small.pth) against PyTorch references written from the
 * papers (scripts/make-vit-explain-fixtures.py): the vanilla gradient and Grad-CAM through the token reshape
 * within 1e-3 of PyTorch's, relative to the map's largest magnitude.
 */
const expected = readNpz(path.join(__dirname, 'fixtures', 'vit', 'expected.npz'));
const LAYER = 'encoder.layers.encoder_layer_2.ln_1';
const quiet = { onWarning: () => undefined };

function arr(key: string): NdArray {
  const a = expected[key];
  if (!a) throw new Error(`vit expected.npz has no '${key}'`);
  return a;
}
const want = (key: string) => Float32Array.from(arr(key).data as ArrayLike<number>);

export function smallVit(): VisionTransformer {
  const m = new VisionTransformer(
    { imageSize: 32, patchSize: 8, numLayers: 3, numHeads: 4, hiddenDim: 32, mlpDim: 64 },
    { numClasses: 10, init: false },
  );
  loadWeights(m, path.join(__dirname, '..', '..', 'nn', 'test', 'fixtures', 'vit_small.pth'));
  return m.eval();
}

const model = smallVit();
const x = tensor(want('x'), arr('x').shape);
const target = Array.from(arr('target').data as ArrayLike<number>, Number);

function close(actual: Tensor, key: string, tol = 1e-3): number {
  expect([...actual.shape]).toEqual(arr(key).shape);
  const err = relError(actual, want(key));
  expect(err).toBeLessThanOrEqual(tol);
  return err;
}

test('logits, the vanilla gradient and Grad-CAM with the automatic token reshape match PyTorch', () => {
  const before = numTensors();
  tidy(() => {
    close(model.call(x), 'logits', 1e-4);
  });
  const v = vanillaGradient(model, x, { target, ...quiet });
  const ev = close(v.attribution, 'vanilla');
  const cam = gradCam(model, x, { target, layer: LAYER, ...quiet });
  const ec = close(cam.map, 'gradcam');
  close(cam.upsampled, 'gradcam_up');
  console.log(`vit_small vs PyTorch: vanilla ${ev.toExponential(2)}, Grad-CAM ${ec.toExponential(2)}`);
  disposeResult(v);
  disposeResult(cam);
  expect(numTensors()).toBe(before);
});

test('an explicit reshape gives the same Grad-CAM as the automatic one', () => {
  const auto = gradCam(model, x, { target, layer: LAYER, ...quiet });
  const manual = gradCam(model, x, { target, layer: LAYER, reshape: tokenReshape([4, 4]), ...quiet });
  expect(Array.from(manual.map.dataSync())).toEqual(Array.from(auto.map.dataSync()));
  disposeResult(auto);
  disposeResult(manual);
});

test('every CAM method takes the token layers of a ViT', () => {
  const before = numTensors();
  for (const run of [gradCamPlusPlus, xGradCam, hiResCam, layerCam, scoreCam, ablationCam, eigenCam]) {
    const r = run(model, x, { target, layer: 'encoder.layers.encoder_layer_1', batchSize: 32, ...quiet });
    expect(r.map.shape).toEqual([2, 4, 4]);
    expect(r.upsampled.shape).toEqual([2, 32, 32]);
    expect(Array.from(r.map.dataSync()).every(Number.isFinite)).toBe(true);
    disposeResult(r);
  }
  expect(numTensors()).toBe(before);
});

test('bad input: a reshape that does not fit, a layer without tokens, a reshape that returns the wrong rank', () => {
  const before = numTensors();
  expect(() => gradCam(model, x, { target, layer: LAYER, reshape: tokenReshape([5, 5]), ...quiet })).toThrow(
    /^gradCam: the reshape of layer 'encoder.layers.encoder_layer_2.ln_1' failed: tokenReshape: 17 tokens do not fit 1 class token \+ a 5×5 grid \(26 tokens\)/,
  );
  expect(() => gradCam(model, x, { target, layer: 'heads.head', ...quiet })).toThrow(
    /^gradCam: layer 'heads.head' gives an output of shape \[2, 10\]; CAM methods need a convolutional layer with output \[N, K, h, w\] \(or a token layer/,
  );
  expect(() => gradCam(model, x, { target, layer: LAYER, reshape: (a) => a, ...quiet })).toThrow(
    /^gradCam: the reshape of layer 'encoder.layers.encoder_layer_2.ln_1' gave \[2, 17, 32\] for \[2, 17, 32\]; it must return \[N, K, h, w\]/,
  );
  expect(() => tokenReshape([0, 4])).toThrow(/^tokenReshape: grid must be two positive integers/);
  expect(numTensors()).toBe(before);
});

test("without a layer, the CAM family reads the last encoder layer's ln_1", () => {
  const auto = gradCam(model, x, { target, ...quiet });
  const named = gradCam(model, x, { target, layer: LAYER, ...quiet });
  expect(Array.from(auto.map.dataSync())).toEqual(Array.from(named.map.dataSync()));
  disposeResult(auto);
  disposeResult(named);
});

describe('attention methods against PyTorch implementations written from the papers', () => {
  const errors: Record<string, number> = {};
  afterAll(() =>
    console.log(
      Object.entries(errors)
        .map(([k, e]) => `${k.padEnd(28)} ${e.toExponential(2)}`)
        .join('\n'),
    ),
  );

  test.each([
    ['mean', 0],
    ['max', 0],
    ['min', 0],
    ['mean', 0.3],
    ['max', 0.3],
    ['min', 0.3],
  ] as const)('attention rollout, head fusion %s, discard ratio %s', (headFusion, discardRatio) => {
    const before = numTensors();
    const r = attentionRollout(model, x, { headFusion, discardRatio, ...quiet });
    const key = `rollout_${headFusion}${discardRatio ? '_discard' : ''}`;
    errors[key] = close(r.map, key);
    expect(r.layers).toEqual([0, 1, 2].map((i) => `encoder.layers.encoder_layer_${i}.self_attention`));
    expect(r.upsampled.shape).toEqual([2, 32, 32]);
    disposeResult(r);
    expect(numTensors()).toBe(before);
  });

  test('generic attention explainability (Chefer et al. 2021, ICCV)', () => {
    const before = numTensors();
    const r = genericAttention(model, x, { target, ...quiet });
    errors.generic = close(r.map, 'generic');
    disposeResult(r);
    expect(numTensors()).toBe(before);
  });

  test('transformer attribution (Chefer et al. 2021, CVPR)', () => {
    const before = numTensors();
    const r = transformerAttribution(model, x, { target, ...quiet });
    // Its ratios (α1β0 over positive contributions, eq. 8's division by each operand's relevance sum)
    // amplify rounding: PyTorch's own float32 run is 1.4e-3 from its float64 one on this net, so the
    // float32 map is held to 5e-3 of PyTorch's float64 map.
    errors.transformerAttribution = close(r.map, 'tattr', 5e-3);
    disposeResult(r);
    expect(numTensors()).toBe(before);
  });

  test.each(['conservative', 'attnlrp'] as const)('LRP for transformers, %s rules', (composite) => {
    const before = numTensors();
    const r = lrp(model, x, { target, composite });
    errors[`lrp ${composite}`] = close(r.relevance, `lrp_${composite}`);
    const out = want(`lrp_${composite}_out`);
    r.outputRelevance.forEach((v, i) => expect(Math.abs(v - out[i]!)).toBeLessThanOrEqual(1e-4 * Math.abs(out[i]!)));
    disposeResult(r);
    expect(numTensors()).toBe(before);
  });
});

test('conservative LRP conserves relevance on a bias-free ViT (within 1e-4)', () => {
  const m = smallVit();
  for (const [name, t] of m.namedParameters()) {
    if (name.endsWith('bias') || name === 'class_token' || name === 'encoder.pos_embedding') assign(t, (v) => v.fill(0));
  }
  const r = lrp(m, x, { target, composite: 'conservative' });
  for (const c of r.conservation) expect(Math.abs(c - 1)).toBeLessThanOrEqual(1e-4);
  console.log(`bias-free ViT, conservative LRP: conservation ${r.conservation.map((c) => c.toFixed(7)).join(', ')}`);
  disposeResult(r);
  // AttnLRP's softmax rule drops the bias term of its Taylor expansion: not conservative.
  const a = lrp(m, x, { target, composite: 'attnlrp' });
  expect(a.conservation.every(Number.isFinite)).toBe(true);
  disposeResult(a);
});

test('bad input: attention methods on a model without attention, a grid that does not fit', async () => {
  const { SmallVGG } = await import('./models');
  const cnn = new SmallVGG().eval();
  const img = tensor(new Float32Array(2 * 3 * 16 * 16), [2, 3, 16, 16]);
  for (const run of [attentionRollout, genericAttention, transformerAttribution]) {
    expect(() => run(cnn, img, quiet)).toThrow(/recorded no attention probabilities .* needs a transformer with self-attention/);
  }
  expect(() => attentionRollout(model, x, { grid: [3, 3], ...quiet })).toThrow(
    /^attentionRollout: 17 tokens do not fit 1 class token \+ a 3×3 grid \(10 tokens\)/,
  );
  expect(() => attentionRollout(model, x, { headFusion: 'median' as never, ...quiet })).toThrow(
    /^attentionRollout: headFusion must be 'mean', 'max' or 'min', got "median"/,
  );
  expect(() => attentionRollout(model, x, { discardRatio: 1, ...quiet })).toThrow(
    /^attentionRollout: discardRatio must be in \[0, 1\), got 1/,
  );
  expect(() => transformerAttribution(model, x, { startLayer: 3, ...quiet })).toThrow(
    /^transformerAttribution: startLayer must be an integer in \[0, 2\]/,
  );
  expect(() => lrp(model, x, { target, composite: { linear: { rule: 'epsilon' }, attention: 'ah' } })).not.toThrow();
  img.dispose();
});
