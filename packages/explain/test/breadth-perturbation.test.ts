import { tensor } from '@gradlens/tensor';
import { featureAblation, kernelShap, lime, patchMask, shapleyKernel, shapleyValueSampling, slic } from '../src';
import { Generator, randn } from '@gradlens/tensor';
import { breadth, expectBreadth, fixture, relError, smallVgg } from './helpers';

describe('perturbation family over a feature mask, against PyTorch (scripts/make-breadth-fixtures.py)', () => {
  const model = smallVgg();
  const x = fixture('x');
  const featureMask = Array.from(breadth('pf_mask').data as ArrayLike<number>, Number);
  const quiet = { target: [3, 7], onWarning: () => undefined };

  test('feature ablation', () => {
    expectBreadth(featureAblation(model, x, { ...quiet, featureMask, batchSize: 3 }).attribution, 'pf_ablation');
  });

  test('Shapley value sampling with the same permutations; efficiency per permutation', () => {
    const p = Array.from(breadth('pf_perms').data as ArrayLike<number>, Number);
    const permutations = Array.from({ length: 6 }, (_, s) => p.slice(s * 8, (s + 1) * 8));
    const r = shapleyValueSampling(model, x, { ...quiet, featureMask, permutations, batchSize: 10 });
    expectBreadth(r.attribution, 'pf_shapley');
    // efficiency: Σ φ = f(x) − f(0) (exact for every permutation, so for their mean)
    const zero = shapleyValueSampling(model, x, { ...quiet, featureMask, samples: 3, seed: 1 });
    const base = featureAblation(model, x, { ...quiet, featureMask: new Array<number>(256).fill(0) });
    zero.features.forEach((phi, i) => {
      const sum = phi.reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - base.features[i]![0]!)).toBeLessThan(1e-4);
    });
  });

  test('LIME (weighted ridge on the same patterns) and KernelSHAP (constrained fit, against a KKT solve)', () => {
    const rows = (name: string, m: number) => {
      const v = Array.from(breadth(name).data as ArrayLike<number>, Number);
      return Array.from({ length: v.length / m }, (_, r) => v.slice(r * m, (r + 1) * m));
    };
    const x0 = tensor(x.dataSync().slice(0, 768), [1, 3, 16, 16]);
    const l = lime(model, x0, { target: 3, featureMask, patterns: rows('pf_lime_patterns', 8), onWarning: () => undefined });
    const coef = Array.from(breadth('pf_lime_coef').data as ArrayLike<number>, Number);
    expect(relError(Float64Array.from(l.features[0]!), coef)).toBeLessThan(1e-5);
    expect(Math.abs(l.intercepts[0]! - Number((breadth('pf_lime_intercept').data as ArrayLike<number>)[0]))).toBeLessThan(1e-5);
    const k = kernelShap(model, x0, { target: 3, featureMask, patterns: rows('pf_kshap_patterns', 8), onWarning: () => undefined });
    expect(relError(Float64Array.from(k.features[0]!), Array.from(breadth('pf_kshap').data as ArrayLike<number>, Number))).toBeLessThan(
      1e-5,
    );
    // efficiency holds exactly, also with drawn coalitions
    const drawn = kernelShap(model, x0, { target: 3, featureMask, samples: 64, seed: 2, onWarning: () => undefined });
    const all = featureAblation(model, x0, { target: 3, featureMask: new Array<number>(256).fill(0), onWarning: () => undefined });
    expect(Math.abs(drawn.features[0]!.reduce((a, b) => a + b, 0) - all.features[0]![0]!)).toBeLessThan(1e-4);
    expect(shapleyKernel(4, 1)).toBeCloseTo(3 / (4 * 1 * 3), 12);
  });

  test('SLIC: every pixel labelled, labels 0…G−1 connected, near the wanted count, a two-colour edge respected', () => {
    const img = randn([3, 32, 32], { generator: new Generator(3) });
    const labels = slic(img, { segments: 16 });
    const g = Math.max(...labels) + 1;
    expect(labels.every((v) => v >= 0 && v < g)).toBe(true);
    expect(g).toBeGreaterThanOrEqual(8);
    expect(g).toBeLessThanOrEqual(40);
    // each label is one 4-connected component
    for (let l = 0; l < g; l++) {
      const pix = [...labels.keys()].filter((p) => labels[p] === l);
      const seen = new Set([pix[0]!]);
      const stack = [pix[0]!];
      while (stack.length) {
        const p = stack.pop()!;
        for (const q of [p - 1, p + 1, p - 32, p + 32]) {
          if (q < 0 || q >= 1024 || Math.abs((q % 32) - (p % 32)) > 1 || labels[q] !== l || seen.has(q)) continue;
          seen.add(q);
          stack.push(q);
        }
      }
      expect(seen.size).toBe(pix.length);
    }
    // left half dark, right half bright: no superpixel straddles the edge
    const two = tensor(
      Float32Array.from({ length: 3 * 256 }, (_, i) => (i % 16 < 8 ? -2 : 2)),
      [3, 16, 16],
    );
    const lab = slic(two, { segments: 8, compactness: 1 });
    for (let l = 0; l <= Math.max(...lab); l++) {
      const cols = [...lab.keys()].filter((p) => lab[p] === l).map((p) => p % 16 < 8);
      expect(new Set(cols).size).toBe(1);
    }
  });

  test('bad masks: wrong size, non-integer ids, a permutation that is not one', () => {
    expect(() => featureAblation(model, x, { featureMask: new Array<number>(10).fill(0) })).toThrow(
      /feature mask has 10 values but the input has 16×16 = 256 pixels/,
    );
    expect(() => featureAblation(model, x, { featureMask: tensor(new Float32Array(64), [8, 8]) })).toThrow(
      /does not match the input's 16×16 pixels/,
    );
    expect(() => featureAblation(model, x, { featureMask: new Array<number>(256).fill(0.5) })).toThrow(/not an integer ≥ 0/);
    expect(() => shapleyValueSampling(model, x, { featureMask, permutations: [[0, 1, 2]] })).toThrow(/not a permutation of the 8 features/);
    expect(Array.from(patchMask(4, 6, 4))).toEqual([0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1]);
  });
});
