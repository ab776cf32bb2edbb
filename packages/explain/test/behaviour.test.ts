import type { Tensor } from '@gradlens/tensor';
import { assign, cat, full, mul, numTensors, sum, tensor, softmax, indexSelect } from '@gradlens/tensor';
import {
  ablationCam,
  cam,
  eigenCam,
  gaussLegendre,
  gradCam,
  integratedGradients,
  layerActivationGradient,
  occlusion,
  quadrature,
  scoreCam,
  smoothGrad,
  topEigenvector,
  vanillaGradient,
  normalizeMaps,
  disposeResult,
  guidedGradCam,
} from '../src';
import { fixture, gapNet, relError, smallVgg } from './helpers';

const quiet = { onWarning: () => undefined };

describe('inputs, targets and layers get clear messages', () => {
  const model = smallVgg();
  const x = fixture('x');

  test('an unknown layer lists the valid module paths', () => {
    expect(() => gradCam(model, x, { layer: 'features.9', ...quiet })).toThrow(
      /gradCam: no layer named 'features.9' in SmallVGG \(did you mean 'features.0' or 'features.1' or 'features.2'\?\); valid layer paths: features, features.0, features.1, features.2, features.3, features.3.conv, features.4, classifier, classifier.0/,
    );
  });

  test('a module that ran no op, a non-convolutional layer, a head CAM cannot use', () => {
    expect(() => gradCam(model, x, { layer: 'classifier.2', ...quiet })).toThrow(
      /layer 'classifier.2' ran no op in the forward pass \(an Identity, or Dropout in eval mode\?\); layers that did: features.0/,
    );
    expect(() => gradCam(model, x, { layer: 'classifier.0', ...quiet })).toThrow(
      /layer 'classifier.0' gives an output of shape \[2, 32\]; CAM methods need a convolutional layer/,
    );
    expect(() => cam(model, x, { layer: 'features.3', ...quiet })).toThrow(
      /cam: CAM needs global average pooling and then one linear layer right after layer 'features.3'; found 'maxPool2d' in 'features.4'/,
    );
  });

  test("CAM on a layer whose ReLU runs before the pooling (DenseNet's head) uses the rectified maps", () => {
    // gapnet: features.3 is a conv, features.4 its ReLU, then global average pooling and the linear layer.
    const before = cam(gapNet(), x, { layer: 'features.3', ...quiet });
    const after = cam(gapNet(), x, { layer: 'features.4', ...quiet });
    expect(Array.from(before.map.dataSync())).toEqual(Array.from(after.map.dataSync()));
    expect(Array.from(before.map.dataSync()).some((v) => v !== 0)).toBe(true);
  });

  test('targets out of range, of the wrong length, or of the wrong kind', () => {
    expect(() => vanillaGradient(model, x, { target: 10 })).toThrow(
      /vanillaGradient: target class 10 is out of range: the model has 10 outputs \(0…9\)/,
    );
    expect(() => vanillaGradient(model, x, { target: [1, -1] })).toThrow(/target class -1 \(item 1\) is out of range/);
    expect(() => vanillaGradient(model, x, { target: [1, 2, 3] })).toThrow(/3 target classes given for a batch of 2 items/);
    expect(() => vanillaGradient(model, x, { target: 1.5 })).toThrow(/target class 1.5 is out of range/);
    expect(() => vanillaGradient(model, x, { target: (o: Tensor) => indexSelect(o, 1, [0, 1]) })).toThrow(
      /the target function returned shape \[2, 2\]; expected one score per item \(\[2\]\) or a seed of the output's shape \[2, 10\]/,
    );
    expect(() => cam(gapNet(), x, { layer: 'features.4', target: (o: Tensor) => o })).toThrow(/CAM needs class targets/);
  });

  test('a target function may return a tensor of its caller (a seed): the method leaves it alive and frees its own', () => {
    const seed = tensor(new Float32Array(2 * 10).fill(0.5), [2, 10]);
    const before = numTensors();
    const r = vanillaGradient(model, x, { target: () => seed, ...quiet });
    expect(seed.isDisposed).toBe(false);
    disposeResult(r);
    expect(numTensors()).toBe(before);
    seed.dispose();
  });

  test('inputs that are not a batch [N, C, H, W]', () => {
    expect(() => gradCam(model, tensor(new Float32Array(3 * 16 * 16), [3, 16, 16]), { layer: 'features.3' })).toThrow(
      /gradCam: input must be a batch \[N, C, H, W\], got shape \[3, 16, 16\]; add the batch dimension: unsqueeze\(x, 0\) gives \[1, 3, 16, 16\]/,
    );
    expect(() => vanillaGradient(model, tensor([1, 2], [2], 'int32'))).toThrow(/input must be a batch/);
    expect(() => occlusion(model, x, { window: 20, ...quiet })).toThrow(/window 20×20 is larger than the input 16×16/);
    expect(() => layerActivationGradient(model, x, { layer: 'features.3', filter: 16, ...quiet })).toThrow(
      /filter 16 is out of range: layer 'features.3' has 16 channels \(0…15\)/,
    );
  });

  test('a constant map gives a warning (onWarning and result.warnings), not an error', () => {
    const gap = gapNet();
    const saved = Float32Array.from(gap.fc.weight.values());
    assign(gap.fc.weight, (w) => w.fill(0));
    try {
      const seen: string[] = [];
      const r = gradCam(gap, x, { layer: 'features.4', target: 1, onWarning: (m) => seen.push(m) });
      expect(seen).toHaveLength(2);
      expect(seen[0]).toMatch(/gradCam: the map of item 0 \(class 1\) is constant \(every value is 0\)/);
      expect(r.warnings).toEqual(seen);
      const v = vanillaGradient(gap, x, { target: 1, onWarning: (m) => seen.push(m) });
      expect(v.warnings[0]).toMatch(/vanillaGradient: the map of item 0 \(class 1\) is constant/);
    } finally {
      assign(gap.fc.weight, saved);
    }
  });

  test('a model in training mode gets a warning', () => {
    const seen: string[] = [];
    const m = smallVgg().train();
    gradCam(m, x, { layer: 'features.3', onWarning: (s) => seen.push(s) });
    expect(seen.some((s) => /the model is in training mode/.test(s))).toBe(true);
  });
});

describe('targets', () => {
  const model = smallVgg();
  const x = fixture('x');

  test("'top1' (the default) picks each item's top class", () => {
    const out = model.call(x).toArray() as number[][];
    const top = out.map((row) => row.indexOf(Math.max(...row)));
    expect(vanillaGradient(model, x).classes).toEqual(top);
    expect(gradCam(model, x, { layer: 'features.3', ...quiet }).classes).toEqual(top);
  });

  test('a function target: per-item scores or a seed, equal to the class target', () => {
    const onehot = tensor([
      [0, 0, 0, 1, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 1, 0, 0],
    ]);
    const want = vanillaGradient(model, x, { target: [3, 7] });
    const scores = vanillaGradient(model, x, { target: (o) => sum(mul(o, onehot), { dim: 1 }) });
    const seed = vanillaGradient(model, x, { target: () => onehot });
    expect(relError(scores.attribution, want.attribution.dataSync())).toBeLessThan(1e-6);
    expect(relError(seed.attribution, want.attribution.dataSync())).toBeLessThan(1e-6);
    expect(scores.scores[0]).toBeCloseTo(want.scores[0]!, 6);
    expect(scores.classes).toBeNull();
    // a differentiable score: the softmax probability
    const prob = vanillaGradient(model, x, { target: (o) => sum(mul(softmax(o, 1), onehot), { dim: 1 }) });
    expect(relError(prob.attribution, want.attribution.dataSync())).toBeGreaterThan(1e-3);
    // function targets work in batched methods too (rows are copies of items)
    const ig = integratedGradients(model, x, {
      target: (o) => sum(mul(o, cat(new Array<Tensor>(o.shape[0]! / 2).fill(onehot), 0)), { dim: 1 }),
      steps: 4,
      batchSize: 3,
    });
    const igc = integratedGradients(model, x, { target: [3, 7], steps: 4, batchSize: 3 });
    expect(relError(ig.attribution, igc.attribution.dataSync())).toBeLessThan(1e-6);
  });
});

describe('SmoothGrad and integrated gradients options', () => {
  const model = smallVgg();
  const x = fixture('x');

  test('seedable noise; supplied noise must fit', () => {
    const a = smoothGrad(model, x, { samples: 4, seed: 7 });
    const b = smoothGrad(model, x, { samples: 4, seed: 7, batchSize: 3 });
    const c = smoothGrad(model, x, { samples: 4, seed: 8 });
    expect(relError(a.attribution, b.attribution.dataSync())).toBeLessThan(1e-6);
    expect(relError(a.attribution, c.attribution.dataSync())).toBeGreaterThan(1e-3);
    expect(() => smoothGrad(model, x, { noise: full([3, 2, 3, 16, 8], 0) })).toThrow(
      /noise must have shape \[samples, 2, 3, 16, 16\], got \[3, 2, 3, 16, 8\]/,
    );
  });

  test("σ is a fraction of each item's range; the reference squares level / range", () => {
    const v = x.dataSync();
    const per = v.length / 2;
    const range = (i: number) => Math.max(...v.subarray(i * per, (i + 1) * per)) - Math.min(...v.subarray(i * per, (i + 1) * per));
    const r = smoothGrad(model, x, { samples: 1, seed: 1 });
    expect(r.sigma[1]).toBeCloseTo(0.15 * range(1), 5);
    const ref = smoothGrad(model, x, { samples: 1, seed: 1, reference: true });
    expect(ref.sigma[0]).toBeCloseTo((4 / range(0)) ** 2, 6);
  });

  test('zero noise gives the vanilla gradient, no variance', () => {
    const r = smoothGrad(model, x, { target: [3, 7], noise: full([3, 2, 3, 16, 16], 0) });
    const v = vanillaGradient(model, x, { target: [3, 7] }).attribution.dataSync();
    expect(relError(r.attribution, v)).toBeLessThan(1e-6);
    expect(Math.max(...r.variance.dataSync())).toBeLessThan(1e-12);
  });

  test('the reference IG sums the gradients at k/m for k = 0…m, divided by m, without × x', () => {
    const m = 4;
    const r = integratedGradients(model, x, { target: [3, 7], steps: m, reference: true, batchSize: 2 });
    const want = new Float64Array(x.size);
    for (let k = 0; k <= m; k++) {
      const g = vanillaGradient(model, mul(x, k / m), { target: [3, 7], ...quiet }).attribution.dataSync();
      g.forEach((gv, j) => (want[j] = want[j]! + Number(gv) / m));
    }
    expect(relError(r.attribution, want)).toBeLessThan(1e-6);
  });

  test('quadratures: weights sum to 1; Gauss–Legendre nodes for n = 3', () => {
    for (const method of ['riemann-left', 'riemann-right', 'riemann-middle', 'riemann-trapezoid', 'gauss-legendre'] as const) {
      const { weights } = quadrature(method, 7);
      expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
    const { nodes, weights } = gaussLegendre(3);
    expect(nodes[0]).toBeCloseTo(-Math.sqrt(3 / 5), 14);
    expect(nodes[1]).toBeCloseTo(0, 14);
    expect(weights).toEqual([expect.closeTo(5 / 9, 14), expect.closeTo(8 / 9, 14), expect.closeTo(5 / 9, 14)]);
    // exact for polynomials of degree ≤ 2n − 1 on [0, 1]: ∫ t⁵ = 1/6
    const q = quadrature('gauss-legendre', 3);
    expect(q.alphas.reduce((s, a, i) => s + q.weights[i]! * a ** 5, 0)).toBeCloseTo(1 / 6, 14);
  });
});

describe('batched methods', () => {
  const model = smallVgg();
  const x = fixture('x');

  test('progress reaches the total; batch size does not change the maps', () => {
    const calls: [number, number][] = [];
    const a = scoreCam(model, x, { layer: 'features.3', batchSize: 3, onProgress: (d, t) => calls.push([d, t]), ...quiet });
    expect(calls[calls.length - 1]).toEqual([32, 32]);
    const b = scoreCam(model, x, { layer: 'features.3', batchSize: 16, ...quiet });
    expect(relError(a.map, b.map.dataSync())).toBeLessThan(1e-6);
    const occ: number[] = [];
    occlusion(model, x, { window: 4, stride: 4, onProgress: (d) => occ.push(d), ...quiet });
    expect(occ[occ.length - 1]).toBe(2 * 16);
  });

  test('guided Grad-CAM with reference: guided ⊙ min–max normalised upsampled reference Grad-CAM', () => {
    const r = guidedGradCam(model, x, { layer: 'features.3', target: [3, 7], reference: true, ...quiet });
    const ref = gradCam(model, x, { layer: 'features.3', target: [3, 7], reference: true, ...quiet });
    const w = normalizeMaps(ref.upsampled).dataSync();
    const gd = r.guided.dataSync();
    const want = Array.from(gd, (v, j) => v * w[Math.floor(j / (3 * 256)) * 256 + (j % 256)]!);
    expect(relError(r.attribution, want)).toBeLessThan(1e-6);
  });

  test('Ablation-CAM restores the module it ablates', () => {
    const before = model.call(x).dataSync();
    ablationCam(model, x, { layer: 'features.3', batchSize: 5, ...quiet });
    expect(Object.prototype.hasOwnProperty.call(model.getModule('features.3'), 'forward')).toBe(false);
    expect(Array.from(model.call(x).dataSync())).toEqual(Array.from(before));
  });
});

describe('helpers', () => {
  test('topEigenvector of a symmetric matrix', () => {
    // eigenvalues of [[2, 1, 0], [1, 2, 0], [0, 0, 1]]: 3 (v = [1, 1, 0]/√2), 1, 1
    const { vector, value } = topEigenvector(Float64Array.from([2, 1, 0, 1, 2, 0, 0, 0, 1]), 3);
    expect(value).toBeCloseTo(3, 12);
    expect(Math.abs(vector[0]!)).toBeCloseTo(Math.SQRT1_2, 12);
    expect(vector[0]! * vector[1]!).toBeGreaterThan(0);
    expect(vector[2]).toBeCloseTo(0, 12);
  });

  test('Eigen-CAM uses the smaller Gram matrix either way', () => {
    const model = smallVgg();
    const x = fixture('x');
    const wide = eigenCam(model, x, { layer: 'features.3' }); // K = 16 < hw = 64
    const tall = eigenCam(model, x, { layer: 'features.0' }); // K = 8 < hw = 256
    expect(wide.map.shape).toEqual([2, 8, 8]);
    expect(tall.map.shape).toEqual([2, 16, 16]);
    const deep = eigenCam(model, x, { layer: 'features.4' }); // K = 16 > hw = 16? equal: 4×4 = 16
    expect(deep.map.shape).toEqual([2, 4, 4]);
  });

  test('normalizeMaps and disposeResult', () => {
    const t = tensor([
      [
        [1, 3],
        [2, 5],
      ],
      [
        [4, 4],
        [4, 4],
      ],
    ]);
    expect(normalizeMaps(t).toArray()).toEqual([
      [
        [0, 0.5],
        [0.25, 1],
      ],
      [
        [0, 0],
        [0, 0],
      ],
    ]);
    const model = smallVgg();
    const before = numTensors();
    disposeResult(gradCam(model, fixture('x'), { layer: 'features.3', ...quiet }));
    expect(numTensors()).toBe(before + 1); // the fixture input
  });
});
