import { Flatten, Linear, Module } from '@gradlens/nn';
import type { Tensor } from '@gradlens/tensor';
import { assign, Generator, numTensors, tensor } from '@gradlens/tensor';
import { Tiny } from './models';
import { gradCam } from '../src/gradcam';
import { gradientXInput } from '../src/grad-x-input';
import { vanillaGradient } from '../src/vanilla';
import type { Explainer } from '../src/metrics';
import {
  attributionCompleteness,
  boxIoU,
  deletionAUC,
  evaluateMethods,
  insertionAUC,
  integratedGradientsCompleteness,
  largestComponentBox,
  localizationIoU,
  modelRandomization,
  parameterLayers,
  pointingGame,
  spearman,
  ssim,
  tableToJSON,
  toMarkdown,
  toSaliencyMap,
  trapezoidAUC,
} from '../src/metrics';

/** A map [H, W] that is `inside` in the box and `outside` elsewhere. */
function boxMap(h: number, w: number, box: { x0: number; y0: number; x1: number; y1: number }, inside = 1, outside = 0): Tensor {
  const v = new Float32Array(h * w).fill(outside);
  for (let y = box.y0; y < box.y1; y++) for (let x = box.x0; x < box.x1; x++) v[y * w + x] = inside;
  return tensor(v, [h, w]);
}

/** logits [0, Σ w·x]: class 1's logit is a known linear function of the pixels. */
class LinearLogit extends Module {
  readonly flat = this.registerModule('flat', new Flatten());
  readonly fc: Linear;
  constructor(weights: readonly number[]) {
    super();
    this.fc = this.registerModule('fc', new Linear(weights.length, 2, { bias: false, init: false }));
    assign(this.fc.weight, [...weights.map(() => 0), ...weights]);
  }
  forward(x: Tensor): Tensor {
    return this.fc.call(this.flat.call(x));
  }
}

function randomImage(seed: number, c: number, h: number, w: number): Tensor {
  const g = new Generator(seed);
  return tensor(
    Float32Array.from({ length: c * h * w }, () => g.normal()),
    [1, c, h, w],
  );
}

const quiet = { onWarning: () => undefined };
const vanilla: Explainer = (m, x, t) => vanillaGradient(m, x, { ...quiet, target: t }).attribution;
const gradcam: Explainer = (m, x, t) => {
  const r = gradCam(m, x, { ...quiet, target: t, layer: 'features.4' });
  r.map.dispose();
  r.weights?.dispose();
  return r.upsampled;
};

describe('localisation (CAM paper)', () => {
  test('a map that is a filled box gives that box and IoU exactly 1', () => {
    const box = { x0: 3, y0: 5, x1: 11, y1: 9 };
    const m = boxMap(16, 16, box, 2, 0.1);
    const r = localizationIoU(m, box);
    expect(r.box).toEqual(box);
    expect(r.iou).toBe(1);
    expect(r.hit).toBe(true);
    m.dispose();
  });

  test('threshold at 20% of the max, the largest component, 8- vs 4-connectivity', () => {
    const v = new Float64Array(8 * 8);
    // Component A: a diagonal staircase of 4 pixels (one piece only with 8-connectivity).
    for (const i of [0, 1, 2, 3]) v[i * 8 + i] = 1;
    // Component B: a 1×3 bar at 0.25 (above 20%) far away; C: a 2×2 square at 0.15 (below 20%).
    v[7 * 8 + 5] = v[7 * 8 + 6] = v[7 * 8 + 7] = 0.25;
    v[0 * 8 + 6] = v[0 * 8 + 7] = v[1 * 8 + 6] = v[1 * 8 + 7] = 0.15;
    const map = { data: v, height: 8, width: 8 };
    expect(largestComponentBox(map)).toEqual({ x0: 0, y0: 0, x1: 4, y1: 4 });
    expect(largestComponentBox(map, { connectivity: 4 })).toEqual({ x0: 5, y0: 7, x1: 8, y1: 8 });
    expect(largestComponentBox(map, { threshold: 0.1 })).toEqual({ x0: 0, y0: 0, x1: 4, y1: 4 });
    expect(largestComponentBox({ data: new Float64Array(4).fill(-1), height: 2, width: 2 })).toBeNull();
    expect(boxIoU({ x0: 0, y0: 0, x1: 2, y1: 2 }, { x0: 1, y0: 0, x1: 3, y1: 2 })).toBeCloseTo(2 / 6, 12);
    const miss = localizationIoU(map, { x0: 4, y0: 4, x1: 8, y1: 8 });
    expect(miss.iou).toBe(0);
    expect(miss.hit).toBe(false);
  });

  test('coarse maps are upsampled to the image; multi-channel maps reduced by max |·|', () => {
    const coarse = tensor([
      [0, 0, 0, 0],
      [0, 1, 1, 0],
      [0, 1, 1, 0],
      [0, 0, 0, 0],
    ]);
    const m = toSaliencyMap(coarse, { size: [8, 8] });
    expect([m.height, m.width]).toEqual([8, 8]);
    const chw = tensor([[[1, -5]], [[-2, 3]]]);
    expect(Array.from(toSaliencyMap(chw).data)).toEqual([2, 5]);
    expect(Array.from(toSaliencyMap(chw, { reduce: 'sum' }).data)).toEqual([-1, -2]);
    coarse.dispose();
    chw.dispose();
  });
});

describe('pointing game', () => {
  const box = { x0: 20, y0: 20, x1: 40, y1: 40 };
  const peak = (x: number, y: number, size = 64) => {
    const v = new Float64Array(size * size);
    v[y * size + x] = 1;
    return { data: v, height: size, width: size };
  };
  test('hit inside, miss outside, tolerance 15·64/224 px by default', () => {
    expect(pointingGame(peak(30, 30), box).hit).toBe(true);
    const far = pointingGame(peak(5, 5), box);
    expect(far.hit).toBe(false);
    expect(far.point).toEqual({ x: 5, y: 5 });
    expect(far.tolerance).toBeCloseTo((15 * 64) / 224, 12);
    // 3 px right of the box (centre 43.5, 3.5 px from the edge): within 4.29 px.
    expect(pointingGame(peak(43, 30), box).hit).toBe(true);
    expect(pointingGame(peak(43, 30), box, { tolerance: 0 }).hit).toBe(false);
    expect(pointingGame(peak(45, 30), box).hit).toBe(false);
    expect(pointingGame({ data: new Float64Array(64 * 64), height: 64, width: 64 }, box).hit).toBe(false);
  });
});

describe('deletion and insertion (RISE)', () => {
  // One-channel 2×2 image; class 1's logit is Σ w·x with contributions w·x = [4, 1, 3, 2].
  const model = new LinearLogit([4, 0.5, 1, 2]).eval();
  const image = tensor([1, 2, 3, 1], [1, 1, 2, 2]);
  const perfect = tensor([4, 1, 3, 2], [2, 2]);

  test('a perfect map on a linear logit: the AUC computed by hand', () => {
    const before = numTensors();
    // Deleting (to 0) in order 4, 3, 2, 1: logits 10, 6, 3, 1, 0 at fractions 0, ¼, ½, ¾, 1.
    const d = deletionAUC(model, image, perfect, 1, { steps: 4, score: 'logit' });
    expect(d.fractions).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(d.curve.map((v) => Math.round(v * 1e5) / 1e5)).toEqual([10, 6, 3, 1, 0]);
    expect(d.auc).toBeCloseTo(0.25 * (8 + 4.5 + 2 + 0.5), 5);
    // Softmax over [0, z]: the probability is σ(z).
    const sig = (z: number) => 1 / (1 + Math.exp(-z));
    const p = [10, 6, 3, 1, 0].map(sig);
    const dp = deletionAUC(model, image, perfect, 1, { steps: 4, batchSize: 2 });
    expect(dp.auc).toBeCloseTo(trapezoidAUC([0, 0.25, 0.5, 0.75, 1], p), 6);
    // Insertion from zeros: logits 0, 4, 7, 9, 10.
    const ins = insertionAUC(model, image, perfect, 1, { steps: 4, score: 'logit', baseline: 'zeros' });
    expect(ins.curve.map((v) => Math.round(v * 1e5) / 1e5)).toEqual([0, 4, 7, 9, 10]);
    expect(ins.auc).toBeCloseTo(0.25 * (2 + 5.5 + 8 + 9.5), 5);
    // The reversed map is worse on both.
    const reversed = tensor([1, 4, 2, 3], [2, 2]);
    expect(deletionAUC(model, image, reversed, 1, { steps: 4 }).auc).toBeGreaterThan(dp.auc);
    expect(insertionAUC(model, image, reversed, 1, { steps: 4, baseline: 'zeros' }).auc).toBeLessThan(
      insertionAUC(model, image, perfect, 1, { steps: 4, baseline: 'zeros' }).auc,
    );
    reversed.dispose();
    expect(numTensors()).toBe(before);
  });

  test('uneven steps use the exact fraction of pixels; blur baseline; errors', () => {
    const d = deletionAUC(model, image, perfect, 1, { steps: 3, score: 'logit' });
    expect(d.fractions).toEqual([0, 0.25, 0.75, 1]);
    const blurred = insertionAUC(model, image, perfect, 1, { steps: 4, blurSigma: 1 });
    expect(blurred.curve[4]).toBeCloseTo(1 / (1 + Math.exp(-10)), 6);
    expect(() => deletionAUC(model, image, perfect, 5)).toThrow(/target class 5 is out of range/);
    expect(() => deletionAUC(model, image, perfect, 1, { baseline: 'mean' as never })).toThrow(/baseline must be/);
  });
});

describe('rank statistics', () => {
  test('Spearman: identical 1, reversed −1, ties averaged, constant NaN; SSIM of identical maps 1', () => {
    const a = [0.1, 0.5, 0.2, 0.9, 0.3];
    expect(spearman(a, a)).toBeCloseTo(1, 12);
    expect(
      spearman(
        a,
        a.map((v) => -v),
      ),
    ).toBeCloseTo(-1, 12);
    expect(spearman([1, 1, 2, 3], [1, 1, 2, 3])).toBeCloseTo(1, 12);
    // scipy.stats.spearmanr([1, 2, 2, 3], [1, 3, 2, 4]) = 0.9486832980505138
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(0.9486832980505138, 12);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
    const g = new Generator(3);
    const m = Array.from({ length: 100 }, () => g.uniform());
    expect(ssim(m, m, 10, 10)).toBeCloseTo(1, 12);
    expect(
      ssim(
        m,
        m.map((v) => 1 - v),
        10,
        10,
      ),
    ).toBeLessThan(0);
  });
});

describe('cascading model-parameter randomisation (Adebayo et al.)', () => {
  test('layers from the top down, correlation drops, weights restored bit for bit, no leaks', () => {
    const model = new Tiny(3).eval();
    const x = randomImage(4, 3, 16, 16);
    const saved = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, Buffer.from(t.dataSync().buffer.slice(0))]));
    const before = numTensors();
    expect(parameterLayers(model)).toEqual(['classifier', 'features.3', 'features.0']);
    const progress: number[] = [];
    const r = modelRandomization(model, x, 1, gradcam, { seed: 1, ssim: true, onProgress: (d) => progress.push(d) });
    expect(r.layers).toEqual(['classifier', 'features.3', 'features.0']);
    expect(progress).toEqual([1, 2, 3]);
    expect(r.maps.map((m) => m.shape)).toEqual([
      [16, 16],
      [16, 16],
      [16, 16],
    ]);
    expect(r.original.shape).toEqual([16, 16]);
    expect(r.ssim).toHaveLength(3);
    const last = r.spearman[2]!;
    expect(Number.isNaN(last) || last < 0.6).toBe(true);
    for (const [k, t] of Object.entries(model.stateDict())) expect(Buffer.from(t.dataSync().buffer.slice(0)).equals(saved[k]!)).toBe(true);
    // Same seed, same maps.
    const again = modelRandomization(model, x, 1, gradcam, { seed: 1 });
    expect(Array.from(again.maps[2]!.dataSync())).toEqual(Array.from(r.maps[2]!.dataSync()));
    for (const t of [r.original, ...r.maps, again.original, ...again.maps]) t.dispose();
    expect(numTensors()).toBe(before);
    x.dispose();
  });

  test('vanilla gradient: the curve falls once the layers it depends on are random; independent mode', () => {
    const model = new Tiny(5).eval();
    const x = randomImage(6, 3, 16, 16);
    const before = numTensors();
    const r = modelRandomization(model, x, 0, vanilla, { seed: 2 });
    expect(r.spearman[r.spearman.length - 1]!).toBeLessThan(0.5);
    const ind = modelRandomization(model, x, 0, vanilla, { seed: 2, mode: 'independent', layers: ['features.0'] });
    expect(ind.layers).toEqual(['features.0']);
    for (const t of [r.original, ...r.maps, ind.original, ...ind.maps]) t.dispose();
    expect(numTensors()).toBe(before);
    x.dispose();
  });

  test('weights are restored and nothing leaks when the explainer throws midway', () => {
    const model = new Tiny(7).eval();
    const x = randomImage(8, 3, 16, 16);
    const saved = model.parameters().map((t) => t.dataSync());
    const before = numTensors();
    let calls = 0;
    const flaky: Explainer = (m, input, t) => {
      if (++calls === 3) throw new Error('boom');
      return vanilla(m, input, t);
    };
    expect(() => modelRandomization(model, x, 0, flaky)).toThrow('boom');
    model.parameters().forEach((t, i) => expect(Array.from(t.dataSync())).toEqual(Array.from(saved[i]!)));
    expect(numTensors()).toBe(before);
    x.dispose();
  });
});

describe('completeness', () => {
  test('integrated gradients: the relative gap shrinks with more steps', () => {
    const model = new Tiny(9).eval();
    const x = randomImage(10, 3, 16, 16);
    const before = numTensors();
    const coarse = integratedGradientsCompleteness(model, x, 2, { steps: 2 });
    const fine = integratedGradientsCompleteness(model, x, 2, { steps: 128, method: 'gauss-legendre' });
    expect(fine.relativeGap).toBeLessThan(0.02);
    expect(fine.relativeGap).toBeLessThan(coarse.relativeGap);
    expect(fine.gap).toBeCloseTo(Math.abs(fine.sum - fine.difference), 12);
    expect(numTensors()).toBe(before);
    x.dispose();
  });

  test('gradient × input is complete on a bias-free linear logit, vanilla gradient is not', () => {
    const model = new LinearLogit([1, -2, 0.5, 3]).eval();
    const x = tensor([0.3, 0.1, -1, 2], [1, 1, 2, 2]);
    const gxi: Explainer = (m, input, t) => gradientXInput(m, input, { ...quiet, target: t }).attribution;
    expect(attributionCompleteness(model, x, 1, gxi).relativeGap).toBeLessThan(1e-6);
    expect(attributionCompleteness(model, x, 1, vanilla).relativeGap).toBeGreaterThan(0.1);
    x.dispose();
  });
});

describe('evaluateMethods', () => {
  test('an oracle beats its opposite; the table is plain, markdown and JSON; no leaks', () => {
    const model = new Tiny(11).eval();
    const samples = [0, 1, 2]
      .map((i) => ({
        image: randomImage(20 + i, 3, 16, 16).dataSync(),
        label: i,
        box: { x0: 2 + i, y0: 3, x1: 9 + i, y1: 11 },
      }))
      .map((s) => ({ ...s, image: tensor(s.image, [3, 16, 16]) }));
    const before = numTensors();
    const oracle: Explainer = (_m, _x, t) => boxMap(16, 16, samples[t]!.box, 1, 0.05);
    const opposite: Explainer = (_m, _x, t) => boxMap(16, 16, samples[t]!.box, 0.05, 1);
    const seen: string[] = [];
    const table = evaluateMethods(
      model,
      samples,
      { oracle, opposite, gradcam, vanilla },
      {
        deletion: { steps: 8 },
        insertion: { steps: 8 },
        randomization: { samples: 2 },
        metrics: ['localization', 'iou', 'pointing', 'deletion', 'insertion', 'randomization', 'completeness'],
        onProgress: (p) => seen.push(`${p.method}:${p.sample}`),
      },
    );
    expect(seen).toHaveLength(12);
    expect(table.methods).toEqual(['oracle', 'opposite', 'gradcam', 'vanilla']);
    expect(table.results.gradcam!.completeness).toEqual({ mean: null, std: null, n: 0 });
    expect(table.results.vanilla!.completeness!.n).toBe(3);
    expect(table.results.oracle!.localization!.mean).toBe(1);
    expect(table.results.oracle!.iou!.mean).toBe(1);
    expect(table.results.oracle!.pointing!.mean).toBe(1);
    expect(table.results.opposite!.pointing!.mean).toBe(0);
    expect(table.results.opposite!.localization!.mean).toBe(0);
    expect(table.results.gradcam!.randomization!.n).toBeLessThanOrEqual(2);
    expect(table.randomizationCurves.gradcam!.layers).toEqual(['classifier', 'features.3', 'features.0']);
    for (const m of ['deletion', 'insertion'] as const) {
      const v = table.results.oracle![m]!.mean!;
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    const md = toMarkdown(table);
    expect(md.split('\n')[0]).toBe(
      '| Method | Loc. acc. ↑ | IoU ↑ | Pointing ↑ | Deletion AUC ↓ | Insertion AUC ↑ | Randomisation ρ ↓ | Completeness gap ↓ |',
    );
    expect(toMarkdown(table, { std: false })).toMatch(/\| oracle \| 1\.000 \| 1\.000 \| 1\.000 \| 0\.\d{3} \|/);
    // A constant-in-the-model explainer fails the sanity check: its map never changes.
    expect(table.results.oracle!.randomization!.mean).toBeCloseTo(1, 12);
    const json = JSON.parse(tableToJSON(table)) as { results: Record<string, Record<string, { mean: number }>>; metricInfo: object };
    expect(json.results.oracle!.pointing!.mean).toBe(1);
    expect(Object.keys(json.metricInfo)).toHaveLength(7);
    expect(numTensors()).toBe(before);
    for (const s of samples) s.image.dispose();
    expect(() => evaluateMethods(model, samples, { oracle }, { metrics: ['accuracy' as never] })).toThrow(/unknown metric 'accuracy'/);
  });
});
