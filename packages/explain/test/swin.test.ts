import { defaultCamLayer, loadWeights, type SwinTransformer } from '@gradlens/nn';
import { numTensors, tensor, type Tensor } from '@gradlens/tensor';
import {
  ablationCam,
  attentionRollout,
  type CamOptions,
  type CamResult,
  channelsLastReshape,
  disposeResult,
  eigenCam,
  eigenGradCam,
  gradCam,
  gradCamPlusPlus,
  hiResCam,
  layerCam,
  scoreCam,
  xGradCam,
} from '../src';
import type { Module } from '@gradlens/nn';
import { relError } from './helpers';
import { reducedSwin, SWIN_WEIGHTS, swinArray as arr, swinInfo as info } from '../../nn/test/swin-fixture';

/**
 * torchvision's SwinTransformer, reduced (the nn package's fixtures/swin, scripts/make-nn-swin-fixtures.py):
 * its layers are channels-last [N, h, w, C], and the CAM family reads them with the channels moved to dim
 * 1, as pytorch-grad-cam's reshape does. Grad-CAM and Ablation-CAM at the default layer
 * (features.3.1.norm1) against PyTorch.
 */
const quiet = { onWarning: () => undefined };

const want = (key: string) => Float32Array.from(arr(key).data as ArrayLike<number>);

function smallSwin(): SwinTransformer {
  const m = reducedSwin();
  loadWeights(m, SWIN_WEIGHTS);
  return m.eval();
}

const model = smallSwin();
const x = tensor(want('input'), arr('input').shape);
const target = Array.from(arr('target').data as ArrayLike<number>, Number);

function close(actual: Tensor, key: string, tol: number): number {
  expect([...actual.shape]).toEqual(arr(key).shape);
  const err = relError(actual, want(key));
  expect(err).toBeLessThanOrEqual(tol);
  return err;
}

test('Grad-CAM and Ablation-CAM at the default (channels-last) layer match PyTorch', () => {
  expect(defaultCamLayer(model, x.shape)).toBe(info.camLayer);
  const before = numTensors();
  const g = gradCam(model, x, { target, ...quiet });
  const eg = close(g.map, 'gradcam', 1e-4);
  expect(g.upsampled.shape).toEqual([2, 22, 30]);
  const a = ablationCam(model, x, { target, ...quiet });
  const ea = close(a.map, 'ablationcam', 1e-4);
  console.log(`swin small vs PyTorch: Grad-CAM ${eg.toExponential(2)}, Ablation-CAM ${ea.toExponential(2)}`);
  disposeResult(g);
  disposeResult(a);
  expect(numTensors()).toBe(before);
});

const methods: [string, (m: Module, x: Tensor, o: CamOptions) => CamResult][] = [
  ['gradCam', gradCam],
  ['gradCamPlusPlus', gradCamPlusPlus],
  ['hiResCam', hiResCam],
  ['xGradCam', xGradCam],
  ['layerCam', layerCam],
  ['scoreCam', scoreCam],
  ['eigenCam', eigenCam],
  ['eigenGradCam', eigenGradCam],
  ['ablationCam', ablationCam],
];

test.each(methods)('%s reads a channels-last layer as [N, C, h, w]: the automatic reshape is channelsLastReshape', (_name, fn) => {
  const layer = 'features.1.0';
  const auto = fn(model, x, { target, layer, ...quiet });
  const manual = fn(model, x, { target, layer, reshape: channelsLastReshape, ...quiet });
  // 11×15 patches: the map lies on the grid (not on [15, 8] as a channels-first reading would give).
  expect(auto.map.shape).toEqual([2, 11, 15]);
  expect(Array.from(manual.map.dataSync())).toEqual(Array.from(auto.map.dataSync()));
  disposeResult(auto);
  disposeResult(manual);
});

test('the stem conv (channels-first) is read as it is, and attention rollout is refused in one line', () => {
  const r = gradCam(model, x, { target, layer: 'features.0.0', ...quiet });
  expect(r.map.shape).toEqual([2, 11, 15]);
  disposeResult(r);
  expect(() => attentionRollout(model, x, quiet)).toThrow(
    /^attentionRollout: SwinTransformer's attention is windowed [^\n]*needs a vision transformer with a class token[^\n]*$/,
  );
});
