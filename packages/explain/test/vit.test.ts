import * as path from 'path';
import { readNpz, type NdArray } from '@gradlens/io';
import { loadWeights, VisionTransformer } from '@gradlens/nn';
import { numTensors, tensor, tidy, type Tensor } from '@gradlens/tensor';
import {
  ablationCam, disposeResult, eigenCam, gradCam, gradCamPlusPlus, hiResCam, layerCam, scoreCam, tokenReshape, vanillaGradient, xGradCam,
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
  const m = new VisionTransformer({ imageSize: 32, patchSize: 8, numLayers: 3, numHeads: 4, hiddenDim: 32, mlpDim: 64 }, { numClasses: 10, init: false });
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
  expect(() => gradCam(model, x, { target, layer: LAYER, reshape: tokenReshape([5, 5]), ...quiet }))
    .toThrow(/^gradCam: the reshape of layer 'encoder.layers.encoder_layer_2.ln_1' failed: tokenReshape: 17 tokens do not fit 1 class token \+ a 5×5 grid \(26 tokens\)/);
  expect(() => gradCam(model, x, { target, layer: 'heads.head', ...quiet }))
    .toThrow(/^gradCam: layer 'heads.head' gives an output of shape \[2, 10\]; CAM methods need a convolutional layer with output \[N, K, h, w\] \(or a token layer/);
  expect(() => gradCam(model, x, { target, layer: LAYER, reshape: (a) => a, ...quiet }))
    .toThrow(/^gradCam: the reshape of layer 'encoder.layers.encoder_layer_2.ln_1' gave \[2, 17, 32\] for \[2, 17, 32\]; it must return \[N, K, h, w\]/);
  expect(() => tokenReshape([0, 4])).toThrow(/^tokenReshape: grid must be two positive integers/);
  expect(numTensors()).toBe(before);
});

test('without a layer, the CAM family reads the last encoder layer\'s ln_1', () => {
  const auto = gradCam(model, x, { target, ...quiet });
  const named = gradCam(model, x, { target, layer: LAYER, ...quiet });
  expect(Array.from(auto.map.dataSync())).toEqual(Array.from(named.map.dataSync()));
  disposeResult(auto);
  disposeResult(named);
});
