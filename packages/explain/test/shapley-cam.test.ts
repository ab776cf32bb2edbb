import * as path from 'path';
import { readNpz } from '@gradlens/io';
import type { NdArray } from '@gradlens/io';
import { numTensors, slice, softmax, tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { disposeResult, gradCam, shapleyCam } from '../src';
import { FIXTURES, relError, smallVgg } from './helpers';

// ShapleyCAM against PyTorch written from its definition (scripts/make-shapley-cam-fixtures.py: double backward,
// autograd.grad of the gradient with grad_outputs = A), on the fixture SmallVGG at 'features.3'.
let cache: Record<string, NdArray> | null = null;
const arr = (name: string): Float64Array => {
  cache ??= readNpz(path.join(FIXTURES, 'shapley-cam.npz'));
  const a = cache[name];
  if (!a) throw new Error(`no fixture '${name}'`);
  return Float64Array.from(a.data as ArrayLike<number>);
};
const x = () => tensor(Float32Array.from(readNpz(path.join(FIXTURES, 'expected.npz'))['x']!.data as ArrayLike<number>), [2, 3, 16, 16]);
const probabilityOf3 = (y: Tensor): Tensor => slice(softmax(y, 1), 1, 3, 4);

describe('shapleyCam', () => {
  const model = smallVgg();
  const layer = 'features.3';

  test('gives PyTorch’s map and weights (mean of ∂s/∂A − ½·H·A) for a softmax score', () => {
    const r = shapleyCam(model, x(), { layer, target: probabilityOf3 });
    expect(r.map.shape).toEqual([2, 8, 8]);
    expect(relError(r.map, arr('shapley'))).toBeLessThan(1e-5);
    expect(relError(r.weights!, arr('shapley_weights'))).toBeLessThan(1e-5);
    // and differs from Grad-CAM of the same score by the Hessian term (2% of the map here)
    const g = gradCam(model, x(), { layer, target: probabilityOf3 });
    expect(relError(g.map, arr('gradcam'))).toBeLessThan(1e-5);
    expect(relError(r.map, arr('gradcam'))).toBeGreaterThan(1e-3);
    disposeResult(r);
    disposeResult(g);
  });

  test('is Grad-CAM for a logit target through ReLUs and max pooling (H·A = 0 there)', () => {
    const r = shapleyCam(model, x(), { layer, target: 3 });
    const g = gradCam(model, x(), { layer, target: 3 });
    expect(relError(r.map, g.map.dataSync())).toBeLessThan(1e-6);
    disposeResult(r);
    disposeResult(g);
  });

  test('leaves no tensor behind', () => {
    const input = x();
    const before = numTensors();
    disposeResult(shapleyCam(model, input, { layer, target: probabilityOf3 }));
    expect(numTensors()).toBe(before);
  });

  test('names a missing layer in one line', () => {
    expect(() => shapleyCam(model, x(), { layer: 'features.99' })).toThrow(/shapleyCam: .*features\.99/);
  });
});
