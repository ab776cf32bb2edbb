import * as path from 'path';
import { readNpz } from '@gradlens/io';
import type { NdArray } from '@gradlens/io';
import { narrow, tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import {
  attributionLocalisation,
  averageSensitivity,
  boxMask,
  camMultImageConfidenceChange,
  continuity,
  DEFAULT_METRICS,
  dropInConfidence,
  effectiveComplexity,
  evaluateMethods,
  increaseInConfidence,
  irof,
  localisationAUC,
  maxSensitivity,
  METRIC_NAMES,
  monotonicity,
  monotonicityCorrelation,
  pixelFlipping,
  randomLogit,
  regionPerturbation,
  relevanceMassAccuracy,
  relevanceRankAccuracy,
  road,
  selectivity,
  sensitivityN,
  slic,
  topKIntersection,
  toMarkdown,
  toSaliencyMap,
  vanillaGradient,
} from '../src';
import type { Explainer, SaliencyMap } from '../src';
import { FIXTURES, smallVgg } from './helpers';

let cache: Record<string, NdArray> | null = null;
const arr = (name: string): Float64Array => {
  cache ??= readNpz(path.join(FIXTURES, 'metrics-more.npz'));
  const a = cache[name];
  if (!a) throw new Error(`no fixture '${name}'`);
  return Float64Array.from(a.data as ArrayLike<number>);
};
const close = (got: number, want: number, tol = 1e-5) =>
  expect(Math.abs(got - want)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want)));
const closeAll = (got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-5) => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) close(got[i]!, want[i]!, tol);
};
const asMap = (data: Float64Array): SaliencyMap => ({ data, height: 16, width: 16 });

describe('metrics against NumPy written from their definitions (scripts/make-metrics-more-fixtures.py), ≤ 1e-5', () => {
  const model = smallVgg();
  const x: Tensor = tensor(Float32Array.from(arr('x0')), [1, 3, 16, 16]);
  const map = asMap(arr('map'));
  const signed = asMap(arr('signed_map'));
  const mask = arr('mask');
  const vanilla: Explainer = (m, input, t) => vanillaGradient(m, input, { target: t, onWarning: () => undefined }).attribution;

  test("pytorch-grad-cam's confidence change of x ⊙ map, its drop and increase", () => {
    let max = 0;
    for (const v of map.data) max = Math.max(max, v);
    const scaled = asMap(map.data.map((v) => v / max));
    const change = camMultImageConfidenceChange(model, x, scaled, 3);
    close(change, arr('cam_mult')[0]!);
    expect(dropInConfidence(model, x, scaled, 3)).toBe(Math.max(0, -change));
    expect(increaseInConfidence(model, x, scaled, 3)).toBe(change > 0 ? 1 : 0);
  });

  test('pixel flipping, region perturbation (MoRF, LeRF) and selectivity curves and AUCs', () => {
    const pf = pixelFlipping(model, x, map, 3, { featuresInStep: 8 });
    closeAll(pf.curve, arr('pf_curve'));
    close(pf.auc, arr('pf_auc')[0]!);
    expect(pf.fractions[0]).toBe(8 / 256);
    const morf = regionPerturbation(model, x, map, 3, { patchSize: 5, regions: 10 });
    closeAll(morf.curve, arr('rp_morf'));
    close(morf.auc, arr('rp_morf_auc')[0]!);
    closeAll(regionPerturbation(model, x, map, 3, { patchSize: 5, regions: 10, order: 'lerf' }).curve, arr('rp_lerf'));
    const sel = selectivity(model, x, map, 3, { patchSize: 6 });
    expect(sel.patches.length).toBe(9);
    expect(sel.patches.reduce((a, p) => a + p.length, 0)).toBe(256);
    closeAll(sel.curve, arr('sel'));
    close(sel.auc, arr('sel_auc')[0]!);
  });

  test('sensitivity-n with the same subsets', () => {
    const s = arr('sn_subsets');
    const sizes = [3, 10, 40];
    const subsets = sizes.map((n, si) =>
      Array.from({ length: 6 }, (_, r) => Array.from(s.subarray((si * 6 + r) * 40, (si * 6 + r) * 40 + n))),
    );
    const r = sensitivityN(model, x, map, 3, { sizes, subsets });
    closeAll(r.correlations, arr('sn_corr'));
    close(r.mean, arr('sn_corr').reduce((a, b) => a + b, 0) / 3);
  });

  test('IROF on the same segments', () => {
    const r = irof(model, x, map, 3, { segments: arr('irof_segments') });
    expect(r.segments).toBe(16);
    closeAll(r.curve, arr('irof_curve'));
    close(r.aoc, arr('irof_aoc')[0]!);
  });

  test('monotonicity (Arya) and monotonicity correlation (Nguyen & Martínez) with the same draws', () => {
    const m = monotonicity(model, x, map, 3, { featuresInStep: 16 });
    closeAll(m.curve, arr('mono_curve'));
    expect(m.monotonic ? 1 : 0).toBe(arr('mono')[0]);
    close(monotonicityCorrelation(model, x, map, 3, { featuresInStep: 32, samples: 3, draws: arr('mc_draws') }), arr('mc')[0]!);
  });

  test('average sensitivity with the same perturbations, and never above max-sensitivity', () => {
    const perturbations = tensor(Float32Array.from(arr('as_pert')), [5, 3, 16, 16]);
    close(averageSensitivity(model, x, vanilla, 3, { perturbations }), arr('avg_sens')[0]!);
    expect(averageSensitivity(model, x, vanilla, 3, { seed: 3, samples: 4 })).toBeLessThanOrEqual(
      maxSensitivity(model, x, vanilla, 3, { seed: 3, samples: 4 }),
    );
  });

  test('continuity over six translations: the top class (all kept), class 3 (none kept: NaN; all: their max)', () => {
    const top = arr('continuity_class')[0]!;
    close(continuity(model, x, vanilla, top, { steps: 6 }), arr('continuity_top')[0]!);
    expect(continuity(model, x, vanilla, 3, { steps: 6 })).toBeNaN();
    close(continuity(model, x, vanilla, 3, { steps: 6, skipChangedPredictions: false }), arr('continuity_3')[1]!);
  });

  test('localisation against a mask: mass, rank, top-k, attribution localisation, AUC; effective complexity; random logit', () => {
    close(relevanceMassAccuracy(map, mask), arr('rma')[0]!);
    close(relevanceRankAccuracy(map, mask), arr('rra')[0]!);
    close(topKIntersection(map, mask, { k: 20 }), arr('topk')[0]!);
    close(topKIntersection(map, mask, { k: 20, conceptInfluence: true }), arr('topk_ci')[0]!);
    close(attributionLocalisation(signed, mask), arr('attr_loc')[0]!);
    close(attributionLocalisation(signed, mask, { weighted: true }), arr('attr_loc_w')[0]!);
    close(localisationAUC(signed, mask), arr('auc')[0]!);
    expect(effectiveComplexity(map)).toBe(arr('eff_complexity')[0]);
    expect(effectiveComplexity(map, { eps: 0.1 })).toBe(arr('eff_complexity')[1]);
    const r = randomLogit(model, x, vanilla, 3, { otherClass: 5 });
    close(r.similarity, arr('random_logit')[0]!, 1e-4);
  });
});

describe('properties of the new metrics', () => {
  const model = smallVgg();
  const x = tensor(Float32Array.from(arr('x0')), [1, 3, 16, 16]);
  const map = asMap(arr('map'));
  const box = { x0: 4, y0: 3, x1: 13, y1: 11 };
  const mask = boxMask(box, 16, 16);

  const shuffled = (m: SaliencyMap, seed: number): SaliencyMap => {
    const d = Float64Array.from(m.data);
    let s = seed;
    for (let i = d.length - 1; i > 0; i--) {
      s = (s * 1103515245 + 12345) % 2147483648;
      const j = s % (i + 1);
      [d[i], d[j]] = [d[j]!, d[i]!];
    }
    return { ...m, data: d };
  };

  test('a perfect map (the mask itself) scores best on every localisation metric; shuffled maps score worse', () => {
    const perfect = asMap(Float64Array.from(mask));
    expect(relevanceMassAccuracy(perfect, mask)).toBe(1);
    expect(relevanceRankAccuracy(perfect, mask)).toBe(1);
    expect(topKIntersection(perfect, mask, { k: 20 })).toBe(1);
    close(attributionLocalisation(perfect, mask), 1, 1e-8);
    expect(localisationAUC(perfect, mask)).toBe(1);
    for (let s = 1; s <= 5; s++) {
      const sh = shuffled(perfect, s);
      expect(relevanceMassAccuracy(sh, mask)).toBeLessThan(1);
      expect(relevanceRankAccuracy(sh, mask)).toBeLessThan(1);
      expect(localisationAUC(sh, mask)).toBeLessThan(1);
    }
    // AUC of the reversed map is 1 − AUC; an empty mask is NaN
    const rev = asMap(map.data.map((v) => -v));
    close(localisationAUC(rev, mask), 1 - localisationAUC(map, mask), 1e-12);
    expect(relevanceMassAccuracy(map, new Uint8Array(256))).toBeNaN();
  });

  test("pixel flipping of the model's own gradient × input drops faster than random orders on average", () => {
    const gxi = vanillaGradient(model, x, { target: 3 }).attribution;
    const g = gxi.dataSync();
    const xv = x.dataSync();
    const sal = new Float64Array(256);
    for (let p = 0; p < 256; p++) for (let c = 0; c < 3; c++) sal[p] = sal[p]! + Number(g[c * 256 + p]) * Number(xv[c * 256 + p]);
    gxi.dispose();
    // flipped to 0, the point gradient × input is the first-order estimate of the drop against
    const opts = { featuresInStep: 8, probability: false, fill: 0 };
    const own = pixelFlipping(model, x, asMap(sal), 3, opts).auc;
    let random = 0;
    for (let s = 1; s <= 8; s++) random += pixelFlipping(model, x, shuffled(asMap(sal), s), 3, opts).auc / 8;
    expect(own).toBeLessThan(random);
  });

  test("ROAD's combined score is (LeRF − MoRF) / 2; IROF's default segments are SLIC's", () => {
    const r = road(model, x, map, 3, { percentages: [20, 60], noise: 0 });
    expect(r.combined).toBe((r.lerf - r.morf) / 2);
    const seg = slic(x);
    expect(irof(model, x, map, 3)).toEqual(irof(model, x, map, 3, { segments: seg }));
  });

  test('seeds repeat; bad input is a one-line error', () => {
    expect(sensitivityN(model, x, map, 3, { sizes: [5], runs: 4, seed: 2 })).toEqual(
      sensitivityN(model, x, map, 3, { sizes: [5], runs: 4, seed: 2 }),
    );
    const small = { data: new Float64Array(16), height: 4, width: 4 };
    expect(() => pixelFlipping(model, x, small, 3)).toThrow(/the map is 4×4 but the image 16×16/);
    expect(() => pixelFlipping(model, x, map, 3, { featuresInStep: 0 })).toThrow(/featuresInStep must be an integer in 1…256, got 0/);
    expect(() => regionPerturbation(model, x, map, 3, { order: 'x' as 'morf' })).toThrow(/order must be 'morf' or 'lerf'/);
    expect(() => irof(model, x, map, 3, { segments: [1, 2] })).toThrow(/segments must hold one id per pixel \(256\), got 2/);
    expect(() => monotonicityCorrelation(model, x, map, 3, { featuresInStep: 32, samples: 3, draws: [0.5] })).toThrow(
      /draws must hold 2304 values/,
    );
    expect(() => relevanceMassAccuracy(map, new Uint8Array(3))).toThrow(/the mask has 3 values but the map is 16×16/);
    expect(() => topKIntersection(map, mask, { k: 300 })).toThrow(/k must be an integer in 1…256, got 300/);
    expect(() => randomLogit(model, x, (m, i, t) => vanillaGradient(m, i, { target: t }).attribution, 3, { otherClass: 3 })).toThrow(
      /otherClass must be a class in 0…9 other than 3, got 3/,
    );
    expect(() => pixelFlipping(model, x, map, 12)).toThrow(/target class 12/);
    expect(() => continuity(model, x, (m, i, t) => vanillaGradient(m, i, { target: t }).attribution, 3, { steps: 40 })).toThrow(
      /steps must be an integer in 1…33, got 40/,
    );
    expect(() => boxMask({ x0: 5, y0: 5, x1: 2, y1: 9 }, 16, 16)).toThrow(/x0 < x1/);
    // narrow keeps the input a batch of one; a batch of two is refused
    const two = tensor(new Float32Array(2 * 768), [2, 3, 16, 16]);
    expect(() => pixelFlipping(model, two, map, 3)).toThrow(/expected one image/);
    expect(narrow(two, 0, 0, 1).shape).toEqual([1, 3, 16, 16]);
  });
});

describe('evaluateMethods with the Quantus / pytorch-grad-cam metrics', () => {
  test("each value is the metric function's (seed + sample index); the new metrics are not in the defaults", () => {
    const model = smallVgg();
    const xAll = tensor(Float32Array.from(readNpz(path.join(FIXTURES, 'expected.npz'))['x']!.data as ArrayLike<number>), [2, 3, 16, 16]);
    const samples = [0, 1].map((i) => ({ image: narrow(xAll, 0, i, 1), label: [3, 7][i]!, box: { x0: 2, y0: 2, x1: 10, y1: 12 } }));
    const vanilla: Explainer = (m, input, t) => vanillaGradient(m, input, { target: t, onWarning: () => undefined }).attribution;
    const metrics = [
      'road-combined',
      'confidence-drop',
      'confidence-increase',
      'pixel-flipping',
      'region-perturbation',
      'selectivity',
      'sensitivity-n',
      'irof',
      'monotonicity',
      'monotonicity-corr',
      'avg-sensitivity',
      'mass-accuracy',
      'rank-accuracy',
      'top-k',
      'attribution-localisation',
      'localisation-auc',
      'effective-complexity',
      'random-logit',
      'continuity',
    ] as const;
    const opts = {
      metrics: [...metrics],
      seed: 5,
      robustness: { samples: 1 },
      averageSensitivity: { samples: 2 },
      road: { percentages: [30, 70] },
      sensitivityN: { sizes: [4, 16], runs: 4 },
      monotonicityCorrelation: { featuresInStep: 64, samples: 2 },
      irof: { slic: { segments: 8 } },
      continuity: { steps: 4, skipChangedPredictions: false },
    };
    const table = evaluateMethods(model, samples, { vanilla }, opts);
    const v = table.values.vanilla!;
    samples.forEach((s, i) => {
      const raw = vanilla(model, s.image, s.label);
      const map = toSaliencyMap(raw);
      raw.dispose();
      const seed = 5 + i;
      const mask = boxMask(s.box, 16, 16);
      const perStep = (r: { auc: number; curve: number[] }) => r.auc / Math.max(1, r.curve.length - 1);
      let lo = Infinity;
      let hi = -Infinity;
      for (const q of map.data) [lo, hi] = [Math.min(lo, q), Math.max(hi, q)];
      const scaled = { ...map, data: map.data.map((q) => (q - lo) / (hi - lo)) };
      const change = camMultImageConfidenceChange(model, s.image, scaled, s.label);
      const want: Record<(typeof metrics)[number], number | null> = {
        'road-combined': road(model, s.image, map, s.label, { seed, percentages: [30, 70] }).combined,
        'confidence-drop': Math.max(0, -change),
        'confidence-increase': change > 0 ? 1 : 0,
        'pixel-flipping': perStep(pixelFlipping(model, s.image, map, s.label)),
        'region-perturbation': perStep(regionPerturbation(model, s.image, map, s.label)),
        selectivity: perStep(selectivity(model, s.image, map, s.label)),
        'sensitivity-n': sensitivityN(model, s.image, map, s.label, { seed, sizes: [4, 16], runs: 4 }).mean,
        irof: ((r) => r.aoc / r.segments)(irof(model, s.image, map, s.label, { slic: { segments: 8 } })),
        monotonicity: monotonicity(model, s.image, map, s.label).monotonic ? 1 : 0,
        'monotonicity-corr': monotonicityCorrelation(model, s.image, map, s.label, { seed, featuresInStep: 64, samples: 2 }),
        'avg-sensitivity': i === 0 ? averageSensitivity(model, s.image, vanilla, s.label, { seed, samples: 2 }) : null,
        'mass-accuracy': relevanceMassAccuracy(map, mask),
        'rank-accuracy': relevanceRankAccuracy(map, mask),
        'top-k': topKIntersection(map, mask),
        'attribution-localisation': attributionLocalisation(map, mask),
        'localisation-auc': localisationAUC(map, mask),
        'effective-complexity': effectiveComplexity(map),
        'random-logit': randomLogit(model, s.image, vanilla, s.label, { seed }).similarity,
        continuity: i === 0 ? continuity(model, s.image, vanilla, s.label, { steps: 4, skipChangedPredictions: false }) : null,
      };
      for (const m of metrics) {
        const w = want[m];
        if (w === null || !Number.isFinite(w)) expect(v[m]![i]).toBeNull();
        else close(v[m]![i]!, w, 1e-12);
      }
    });
    expect(DEFAULT_METRICS).not.toContain('pixel-flipping');
    expect(METRIC_NAMES).toEqual(expect.arrayContaining([...DEFAULT_METRICS, ...metrics]));
    expect(toMarkdown(table).split('\n')[0]).toContain('| Pixel flipping ↓ | Region pert. ↑ |');
  });
});
