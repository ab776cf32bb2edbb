import * as path from 'path';
import { readNpz } from '@gradlens/io';
import type { NdArray } from '@gradlens/io';
import { tensor } from '@gradlens/tensor';
import { disposeResult, eigenCam, fem, finerCam, gradCam, kpcaCam, topEigenvector } from '../src';
import { lanczosTopEigen } from '../src/lanczos';
import { FIXTURES, gapNet, relError, smallVgg } from './helpers';

let cache: Record<string, NdArray> | null = null;
const arr = (name: string): Float64Array => {
  cache ??= readNpz(path.join(FIXTURES, 'metrics-more.npz'));
  const a = cache[name];
  if (!a) throw new Error(`no fixture '${name}'`);
  return Float64Array.from(a.data as ArrayLike<number>);
};
const xAll = () => tensor(Float32Array.from(readNpz(path.join(FIXTURES, 'expected.npz'))['x']!.data as ArrayLike<number>), [2, 3, 16, 16]);

describe('the newer pytorch-grad-cam CAMs against NumPy/PyTorch (scripts/make-metrics-more-fixtures.py), ≤ 1e-5', () => {
  const model = smallVgg();
  const x = xAll();
  const layer = 'features.3';

  test('KPCA-CAM: rbf, sigmoid (the default) and linear kernels, γ = 1 / channels', () => {
    for (const kernel of ['rbf', 'sigmoid', 'linear'] as const) {
      const r = kpcaCam(model, x, { layer, kernel });
      expect(r.map.shape).toEqual([2, 8, 8]);
      expect(relError(r.map, arr(`kpca_${kernel}`))).toBeLessThanOrEqual(1e-5);
      disposeResult(r);
    }
    const d = kpcaCam(model, x, { layer });
    expect(relError(d.map, arr('kpca_sigmoid'))).toBeLessThanOrEqual(1e-5);
    disposeResult(d);
  });

  test("KPCA-CAM with a linear kernel is Eigen-CAM's projection up to sign", () => {
    const r = kpcaCam(model, x, { layer, kernel: 'linear' });
    const e = eigenCam(model, x, { layer });
    const k = r.map.dataSync();
    const v = e.map.dataSync();
    for (let item = 0; item < 2; item++) {
      let dot = 0;
      for (let i = item * 64; i < (item + 1) * 64; i++) dot += Number(k[i]) * Number(v[i]);
      const sign = Math.sign(dot);
      const got = Array.from(k.subarray(item * 64, (item + 1) * 64), (t) => sign * Number(t));
      expect(relError(got, Array.from(v.subarray(item * 64, (item + 1) * 64), Number))).toBeLessThanOrEqual(1e-5);
    }
    disposeResult(r);
    disposeResult(e);
  });

  test('FEM: k-sigma channel weights and the ReLU’d weighted sum', () => {
    const r = fem(model, x, { layer });
    expect(relError(r.map, arr('fem'))).toBeLessThanOrEqual(1e-5);
    expect(relError(r.weights!, arr('fem_weights'))).toBeLessThanOrEqual(1e-6);
    expect(r.classes).toBeNull();
    disposeResult(r);
  });

  test('Finer-CAM over Grad-CAM: the top class against its three closest classes', () => {
    const r = finerCam(model, x, { layer });
    const cls = arr('finer_classes');
    expect(r.mainClasses).toEqual([cls[0], cls[4]]);
    expect(r.comparisons).toEqual([Array.from(cls.subarray(1, 4)), Array.from(cls.subarray(5, 8))]);
    expect(relError(r.map, arr('finer'))).toBeLessThanOrEqual(1e-5);
    disposeResult(r);
  });

  test('Finer-CAM with α = 0 and one comparison is Grad-CAM of the class (the weights cancel)', () => {
    const r = finerCam(model, x, { layer, alpha: 0, comparisonRanks: [1], target: [3, 7] });
    const g = gradCam(model, x, { layer, target: [3, 7] });
    expect(relError(r.map, g.map.dataSync())).toBeLessThanOrEqual(1e-5);
    disposeResult(r);
    disposeResult(g);
  });

  test('Lanczos (large maps) finds the top eigenpair Jacobi finds, also for an indefinite matrix', () => {
    for (const shift of [0, -3]) {
      const n = 90;
      const m = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = i; j < n; j++) m[i * n + j] = m[j * n + i] = Math.tanh(Math.sin(i * 7 + j * 3) + 0.3) + (i === j ? shift : 0);
      const a = topEigenvector(m, n);
      const b = lanczosTopEigen(m, n);
      expect(Math.abs(a.value - b.value)).toBeLessThanOrEqual(1e-9 * Math.abs(a.value));
      let dot = 0;
      for (let i = 0; i < n; i++) dot += a.vector[i]! * b.vector[i]!;
      expect(Math.abs(Math.abs(dot) - 1)).toBeLessThanOrEqual(1e-9);
    }
  });

  test('KPCA-CAM on a 20 × 20 layer map (400 positions, the Lanczos path) matches NumPy', () => {
    const big = tensor(Float32Array.from(arr('kpca_big_x')), [1, 3, 20, 20]);
    const r = kpcaCam(gapNet(), big, { layer: 'features.0', kernel: 'rbf' });
    expect(relError(r.map, arr('kpca_big'))).toBeLessThanOrEqual(1e-5);
    disposeResult(r);
  });

  test('bad options are one-line errors', () => {
    expect(() => kpcaCam(model, x, { layer, kernel: 'laplace' as 'rbf' })).toThrow(
      /kernel must be one of rbf, sigmoid, poly, linear, cosine, got 'laplace'/,
    );
    expect(() => kpcaCam(model, x, { layer, gamma: -1 })).toThrow(/gamma must be > 0, got -1/);
    const big = tensor(new Float32Array(3 * 66 * 66), [1, 3, 66, 66]);
    expect(() => kpcaCam(gapNet(), big, { layer: 'features.0' })).toThrow(
      /layer 'features.0' has 4356 positions; the kernel matrix would be 4356×4356 \(at most 4096 positions/,
    );
    expect(() => fem(model, x, { layer, k: NaN })).toThrow(/k must be a finite number/);
    expect(() => finerCam(model, x, { layer, comparisonRanks: [10] })).toThrow(/comparison ranks must be integers in 0…9, got 10/);
    expect(() => finerCam(model, x, { layer, target: [3] })).toThrow(/1 targets for 2 items/);
    expect(() => finerCam(model, x, { layer, target: 11 })).toThrow(/target class 11 is out of range for 10 outputs/);
  });
});
