import * as path from 'path';
import { readNpz } from '@gradlens/io';
import type { NdArray } from '@gradlens/io';
import { numTensors, tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { augSmoothCam, eigenGradCam, eigenSmoothCam, fullGrad, gradCam, gradCamElementWise, hiResCam, multiLayerCam } from '../src';
import { FIXTURES, relError, smallVgg } from './helpers';

let cache: Record<string, NdArray> | null = null;
const want = (name: string): NdArray => {
  cache ??= readNpz(path.join(FIXTURES, 'breadth.npz'));
  const a = cache[name];
  if (!a) throw new Error(`no fixture '${name}'`);
  return a;
};
const matches = (t: Tensor, name: string, tol = 1e-5): void => {
  const w = want(name);
  expect([...t.shape]).toEqual([...w.shape]);
  const err = relError(t, w.data as ArrayLike<number>);
  if (!(err <= tol)) throw new Error(`${name}: relative error ${err.toExponential(2)} > ${tol}`);
};

describe('CAM completions against PyTorch (scripts/make-breadth-fixtures.py)', () => {
  const model = smallVgg();
  const x = tensor(Float32Array.from(readNpz(path.join(FIXTURES, 'expected.npz'))['x']!.data as ArrayLike<number>), [2, 3, 16, 16]);
  const base = { target: [3, 7], layer: 'features.3', onWarning: () => undefined };

  test('Eigen-Grad-CAM and Grad-CAM element-wise', () => {
    matches(eigenGradCam(model, x, base).map, 'eigen_gradcam');
    matches(gradCamElementWise(model, x, base).map, 'gradcam_elementwise');
  });

  test('FullGrad: input-gradient and bias-gradient terms of both convs', () => {
    const r = fullGrad(model, x, { target: [3, 7], onWarning: () => undefined });
    expect(r.layers).toBe(2);
    matches(r.map, 'fullgrad');
  });

  test('Grad-CAM on two layers averaged; aug_smooth; eigen_smooth for a channel-weight and an element-wise method', () => {
    matches(multiLayerCam(gradCam, model, x, { ...base, layers: ['features.0', 'features.3'] }).map, 'multi_layer_gradcam');
    matches(augSmoothCam(gradCam, model, x, base).map, 'aug_smooth_gradcam');
    matches(eigenSmoothCam(model, x, { kind: 'channel', camFn: gradCam }, base).map, 'eigen_smooth_gradcam');
    matches(eigenSmoothCam(model, x, { kind: 'positive-gradient' }, base).map, 'eigen_smooth_layercam');
  });

  test('properties: one layer averaged is that layer scaled; no leaks; bad layers list', () => {
    const before = numTensors();
    const one = multiLayerCam(hiResCam, model, x, { ...base, layers: ['features.3'] });
    const direct = hiResCam(model, x, base);
    const v = Float64Array.from(direct.upsampled.dataSync(), Number);
    for (let i = 0; i < 2; i++) {
      const s = v.subarray(i * 256, (i + 1) * 256).map((q) => Math.max(0, q));
      const lo = Math.min(...s);
      const hi = Math.max(...s);
      s.forEach((q, j) => expect(Math.abs(Number(one.map.dataSync()[i * 256 + j]) - (q - lo) / (hi - lo))).toBeLessThan(1e-6));
    }
    one.map.dispose();
    direct.map.dispose();
    direct.upsampled.dispose();
    expect(numTensors()).toBe(before);
    expect(() => multiLayerCam(gradCam, model, x, { ...base, layers: [] })).toThrow(/non-empty list/);
    expect(() => multiLayerCam(gradCam, model, x, { ...base, layers: ['features.99'] })).toThrow(/no layer named 'features\.99'/);
  });
});
