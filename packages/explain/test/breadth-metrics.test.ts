import * as path from 'path';
import { readNpz } from '@gradlens/io';
import type { NdArray } from '@gradlens/io';
import { narrow, tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import {
  complexity,
  evaluateMethods,
  faithfulnessCorrelation,
  infidelity,
  localLipschitz,
  maxSensitivity,
  noisyLinearImpute,
  road,
  sparseness,
  toMarkdown,
  toSaliencyMap,
  vanillaGradient,
} from '../src';
import type { Explainer } from '../src';
import { FIXTURES, smallVgg } from './helpers';

let cache: Record<string, NdArray> | null = null;
const arr = (name: string): Float64Array => {
  cache ??= readNpz(path.join(FIXTURES, 'breadth.npz'));
  const a = cache[name];
  if (!a) throw new Error(`no fixture '${name}'`);
  return Float64Array.from(a.data as ArrayLike<number>);
};
const fx = (name: string): Tensor => {
  cache ??= readNpz(path.join(FIXTURES, 'breadth.npz'));
  return tensor(Float32Array.from(arr(name)), cache[name]!.shape);
};
const close = (got: number, want: number, tol = 1e-5) =>
  expect(Math.abs(got - want)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want)));

describe('metrics against NumPy written from their papers (scripts/make-breadth-fixtures.py), ≤ 1e-5', () => {
  const model = smallVgg();
  const xAll = tensor(Float32Array.from(readNpz(path.join(FIXTURES, 'expected.npz'))['x']!.data as ArrayLike<number>), [2, 3, 16, 16]);
  const x = narrow(xAll, 0, 0, 1);
  const grad = fx('m_grad');
  const map = toSaliencyMap(grad);
  const explainer: Explainer = (m, input, t) => vanillaGradient(m, input, { target: t, onWarning: () => undefined }).attribution;

  test("our vanilla gradient is the fixture's", () => {
    const g = vanillaGradient(model, x, { target: 3 }).attribution.dataSync();
    const want = arr('m_grad');
    g.forEach((v, i) => close(Number(v), want[i]!, 1e-4));
  });

  test('sparseness (Gini) and complexity (entropy)', () => {
    close(sparseness(map), arr('m_sparseness')[0]!);
    close(complexity(map), arr('m_complexity')[0]!);
  });

  test('faithfulness correlation with the same subsets', () => {
    const s = arr('m_fc_subsets');
    const subsets = Array.from({ length: 12 }, (_, r) => Array.from(s.subarray(r * 20, (r + 1) * 20)));
    close(faithfulnessCorrelation(model, x, map, 3, { subsets }), arr('m_faithfulness_corr')[0]!);
  });

  test('infidelity (raw and per-pixel attribution, with and without β) with the same perturbations', () => {
    const perturbations = fx('m_inf_pert');
    close(infidelity(model, x, grad, 3, { perturbations }), arr('m_infidelity_raw')[0]!);
    close(infidelity(model, x, grad, 3, { perturbations, normalize: true }), arr('m_infidelity_raw_norm')[0]!);
    close(infidelity(model, x, map.data, 3, { perturbations }), arr('m_infidelity_map')[0]!);
    close(infidelity(model, x, map.data, 3, { perturbations, normalize: true }), arr('m_infidelity_map_norm')[0]!);
  });

  test('max-sensitivity and the local Lipschitz estimate with the same perturbations', () => {
    close(maxSensitivity(model, x, explainer, 3, { perturbations: fx('m_sens_pert') }), arr('m_max_sensitivity')[0]!);
    close(localLipschitz(model, x, explainer, 3, { perturbations: fx('m_lip_pert') }), arr('m_local_lipschitz')[0]!);
  });

  test('ROAD: noisy linear imputation and MoRF/LeRF curves (noise 0)', () => {
    const mask = Uint8Array.from(arr('m_impute_mask'));
    const imp = noisyLinearImpute(Float64Array.from(x.dataSync(), Number), 3, 16, 16, mask, 0, null);
    const want = arr('m_impute');
    imp.forEach((v, i) => close(v, want[i]!));
    const r = road(model, x, map, 3, { percentages: [10, 30, 50, 70, 90], noise: 0 });
    r.morfCurve.forEach((v, i) => close(v, arr('m_road_morf')[i]!));
    r.lerfCurve.forEach((v, i) => close(v, arr('m_road_lerf')[i]!));
  });

  test('properties: sparseness of a one-hot map ≈ 1, of a flat map 0; complexity ln n for flat, 0 for one-hot; seeds repeat', () => {
    const flat = { data: new Float64Array(64).fill(2), height: 8, width: 8 };
    const hot = { data: new Float64Array(64), height: 8, width: 8 };
    hot.data[5] = 3;
    expect(sparseness(flat)).toBeCloseTo(0, 10);
    expect(sparseness(hot)).toBeGreaterThan(0.98);
    close(complexity(flat), Math.log(64), 1e-12);
    expect(complexity(hot)).toBe(0);
    expect(faithfulnessCorrelation(model, x, map, 3, { runs: 6, subsetSize: 10, seed: 4 })).toBe(
      faithfulnessCorrelation(model, x, map, 3, { runs: 6, subsetSize: 10, seed: 4 }),
    );
    expect(infidelity(model, x, grad, 3, { seed: 2 })).toBe(infidelity(model, x, grad, 3, { seed: 2 }));
    // ROAD's noise is seeded too, and a map that equals the image's own ordering for both ends gives MoRF ≠ LeRF
    const a = road(model, x, map, 3, { seed: 1 });
    expect(road(model, x, map, 3, { seed: 1 })).toEqual(a);
    expect(a.morf).not.toBe(a.lerf);
  });

  test('bad input: a map of the wrong size, a subset outside the picture, all pixels removed', () => {
    const small = { data: new Float64Array(16), height: 4, width: 4 };
    expect(() => road(model, x, small, 3)).toThrow(/the map is 4×4 but the image 16×16/);
    expect(() => faithfulnessCorrelation(model, x, small, 3)).toThrow(/the map is 4×4/);
    expect(() =>
      faithfulnessCorrelation(model, x, map, 3, {
        subsets: [
          [0, 300],
          [1, 2],
        ],
      }),
    ).toThrow(/pixel 300, outside 0…255/);
    expect(() => infidelity(model, x, new Float64Array(10), 3)).toThrow(/the attribution has 10 values/);
    expect(() => noisyLinearImpute(new Float64Array(4), 1, 2, 2, new Uint8Array(4).fill(1), 0, null)).toThrow(/every pixel is removed/);
  });
});

describe('evaluateMethods with the issue-21 metrics', () => {
  test("each value is the metric function's with seed + sample index; robustness on the first samples only; a slice gives the same values", () => {
    const model = smallVgg();
    const xAll = tensor(Float32Array.from(readNpz(path.join(FIXTURES, 'expected.npz'))['x']!.data as ArrayLike<number>), [2, 3, 16, 16]);
    const samples = [0, 1].map((i) => ({ image: narrow(xAll, 0, i, 1), label: [3, 7][i]!, box: { x0: 2, y0: 2, x1: 10, y1: 12 } }));
    const vanilla: Explainer = (m, input, t) => vanillaGradient(m, input, { target: t, onWarning: () => undefined }).attribution;
    const metrics = [
      'road-morf',
      'road-lerf',
      'faithfulness',
      'infidelity',
      'sensitivity',
      'lipschitz',
      'sparseness',
      'complexity',
    ] as const;
    const opts = {
      metrics: [...metrics],
      seed: 5,
      robustness: { samples: 1, sensitivity: { samples: 3 }, lipschitz: { samples: 3 } },
      faithfulness: { runs: 8 },
    };
    const table = evaluateMethods(model, samples, { vanilla }, opts);
    const v = table.values.vanilla!;
    samples.forEach((s, i) => {
      const raw = vanilla(model, s.image, s.label);
      const map = toSaliencyMap(raw);
      const seed = 5 + i;
      const r = road(model, s.image, map, s.label, { seed });
      close(v['road-morf']![i]!, r.morf, 1e-12);
      close(v['road-lerf']![i]!, r.lerf, 1e-12);
      close(v.faithfulness![i]!, faithfulnessCorrelation(model, s.image, map, s.label, { seed, runs: 8 }), 1e-12);
      close(v.infidelity![i]!, infidelity(model, s.image, raw, s.label, { seed, normalize: true }), 1e-12);
      close(v.sparseness![i]!, sparseness(map), 1e-12);
      close(v.complexity![i]!, complexity(map), 1e-12);
      if (i === 0) close(v.sensitivity![i]!, maxSensitivity(model, s.image, vanilla, s.label, { seed, samples: 3 }), 1e-12);
      else expect(v.sensitivity![i]).toBeNull();
      if (i === 0) close(v.lipschitz![i]!, localLipschitz(model, s.image, vanilla, s.label, { seed, samples: 3 }), 1e-12);
      else expect(v.lipschitz![i]).toBeNull();
    });
    // the second sample alone, told its index, gives its values
    const part = evaluateMethods(model, [samples[1]!], { vanilla }, { ...opts, firstIndex: 1 });
    for (const m of metrics) expect(part.values.vanilla![m]![0]).toEqual(v[m]![1]);
    expect(toMarkdown(table).split('\n')[0]).toBe(
      '| Method | ROAD MoRF ↓ | ROAD LeRF ↑ | Faithf. corr. ↑ | Infidelity ↓ | Max-sensitivity ↓ | Local Lipschitz ↓ | Sparseness ↑ | Complexity ↓ |',
    );
  });
});
