import { numTensors } from '@gradlens/tensor';
import { augSmoothCam, eigenGradCam, eigenSmoothCam, fullGrad, gradCam, gradCamElementWise, hiResCam, multiLayerCam } from '../src';
import { expectBreadth, fixture, smallVgg } from './helpers';

describe('CAM completions against PyTorch (scripts/make-breadth-fixtures.py)', () => {
  const model = smallVgg();
  const x = fixture('x');
  const base = { target: [3, 7], layer: 'features.3', onWarning: () => undefined };

  test('Eigen-Grad-CAM and Grad-CAM element-wise', () => {
    expectBreadth(eigenGradCam(model, x, base).map, 'eigen_gradcam');
    expectBreadth(gradCamElementWise(model, x, base).map, 'gradcam_elementwise');
  });

  test('FullGrad: input-gradient and bias-gradient terms of both convs', () => {
    const r = fullGrad(model, x, { target: [3, 7], onWarning: () => undefined });
    expect(r.layers).toBe(2);
    expectBreadth(r.map, 'fullgrad');
  });

  test('Grad-CAM on two layers averaged; aug_smooth; eigen_smooth for a channel-weight and an element-wise method', () => {
    expectBreadth(multiLayerCam(gradCam, model, x, { ...base, layers: ['features.0', 'features.3'] }).map, 'multi_layer_gradcam');
    expectBreadth(augSmoothCam(gradCam, model, x, base).map, 'aug_smooth_gradcam');
    expectBreadth(eigenSmoothCam(model, x, { kind: 'channel', camFn: gradCam }, base).map, 'eigen_smooth_gradcam');
    expectBreadth(eigenSmoothCam(model, x, { kind: 'positive-gradient' }, base).map, 'eigen_smooth_layercam');
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
