import * as path from 'path';
import * as fs from 'fs';
import { AvgPool2d, Conv2d, Dropout, Linear, loadWeights, MaxPool2d, Module, ReLU, Sequential } from '@gradlens/nn';
import type { Tensor } from '@gradlens/tensor';
import { batchNorm, flatten, numTensors, sigmoid, tensor } from '@gradlens/tensor';
import { lrp } from '../src/lrp';

const FIXTURES = path.join(__dirname, 'fixtures', 'lrp');

/** The small VGG-like net of scripts/make-lrp-fixtures.py, with torchvision-style names. */
class SmallVgg extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;
  constructor(bias = true) {
    super();
    this.features = this.registerModule(
      'features',
      new Sequential(
        new Conv2d(3, 4, 3, { padding: 1, bias }),
        new ReLU(),
        new MaxPool2d(2),
        new Conv2d(4, 6, 3, { padding: 1, bias }),
        new ReLU(),
        new AvgPool2d(2),
      ),
    );
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(new Linear(24, 10, { bias }), new ReLU(), new Dropout(0.5), new Linear(10, 5, { bias })),
    );
  }
  forward(x: Tensor): Tensor {
    return this.classifier.call(flatten(this.features.call(x), 1));
  }
}

interface Expected {
  input: number[];
  inputShape: number[];
  target: number[];
  cases: Record<string, { relevance: number[]; shape: number[]; seed: number[] }>;
}
const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as Expected;

function model(file = 'small_vgg.pth', bias = true): SmallVgg {
  const m = new SmallVgg(bias);
  loadWeights(m, path.join(FIXTURES, file));
  return m.eval(); // lrp runs it in eval mode anyway (and warns when it was not)
}

function maxRelError(got: ArrayLike<number>, want: readonly number[]): number {
  const scale = Math.max(...want.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / scale);
  return worst;
}

describe('LRP against a PyTorch implementation written from Montavon et al. (2019)', () => {
  const x = tensor(expected.input, expected.inputShape);
  const cases = {
    epsilon: { composite: 'epsilon' as const },
    gamma: { composite: { conv2d: { rule: 'gamma' as const, gamma: 0.25 }, linear: { rule: 'epsilon' as const, epsilon: 0.25 } } },
    zB: {
      composite: {
        conv2d: { rule: 'gamma' as const, gamma: 0.25 },
        linear: { rule: 'epsilon' as const, epsilon: 0.25 },
        input: { rule: 'zB' as const, low: -1, high: 1 },
      },
    },
  };
  for (const [name, options] of Object.entries(cases)) {
    test(`${name} rule set, down to the pixels`, () => {
      const want = expected.cases[name]!;
      const result = lrp(model(), x, { target: expected.target, ...options });
      expect(result.relevance.shape).toEqual(want.shape);
      expect(maxRelError(result.relevance.dataSync() as Float32Array, want.relevance)).toBeLessThan(1e-4);
      result.outputRelevance.forEach((v, i) => expect(v).toBeCloseTo(want.seed[i]!, 4));
    });
  }

  test('LRP-0 on a ReLU net without biases conserves relevance', () => {
    const result = lrp(model('small_vgg_nobias.pth', false), x, { target: 'top1', composite: 'zero' });
    result.conservation.forEach((c) => expect(c).toBeCloseTo(1, 4));
  });

  test('conservation is reported as input relevance over output relevance, per item', () => {
    const result = lrp(model(), x, { target: [0, 0], composite: 'epsilon' });
    const r = result.relevance.dataSync();
    const half = r.length / 2;
    const sums = [0, 1].map((i) => Array.from(r.slice(i * half, (i + 1) * half)).reduce((a, b) => a + b, 0));
    sums.forEach((s, i) => expect(result.inputRelevance[i]).toBeCloseTo(s, 4));
    result.conservation.forEach((c, i) => expect(c).toBeCloseTo(result.inputRelevance[i]! / result.outputRelevance[i]!, 6));
  });

  test('per-layer rules by module path override the per-type rule', () => {
    const m = model();
    const base = lrp(m, x, { target: [1, 3], composite: 'epsilon' }).relevance.dataSync();
    const mixed = lrp(m, x, {
      target: [1, 3],
      composite: {
        conv2d: { rule: 'epsilon', epsilon: 0.25 },
        linear: { rule: 'epsilon', epsilon: 0.25 },
        layers: { 'features.3': { rule: 'gamma', gamma: 0.25 } },
      },
    }).relevance.dataSync();
    expect(maxRelError(mixed, Array.from(base))).toBeGreaterThan(1e-3);
  });

  test("a model in training mode: lrp says so, runs it in eval mode and puts every module's mode back", () => {
    const m = model().train();
    const seen: string[] = [];
    const a = lrp(m, x, { target: [1, 3], onWarning: (w) => seen.push(w) });
    expect(seen).toEqual(['lrp: the model is in training mode; LRP runs it in eval mode and puts the modes back afterwards']);
    expect(m.namedModules().every(([, mod]) => mod.training)).toBe(true);
    const b = lrp(m.eval(), x, { target: [1, 3], onWarning: (w) => seen.push(w) });
    expect(seen).toHaveLength(1);
    expect(Array.from(a.relevance.dataSync())).toEqual(Array.from(b.relevance.dataSync()));
    a.relevance.dispose();
    b.relevance.dispose();
  });

  test('relevance at a named layer', () => {
    const result = lrp(model(), x, { target: [1, 3], layer: 'features.4' });
    expect(result.relevance.shape).toEqual([2, 6, 4, 4]);
  });

  test('reference mode stops at the first layer output and leaves dropout active', () => {
    const m = model().eval();
    const result = lrp(m, x, { target: [1, 3], reference: true });
    expect(result.relevance.shape).toEqual([2, 4, 8, 8]);
    // Dropout draws a new mask per pass, so two reference runs disagree; the model's mode is restored.
    const again = lrp(m, x, { target: [1, 3], reference: true });
    expect(maxRelError(again.relevance.dataSync(), Array.from(result.relevance.dataSync()))).toBeGreaterThan(1e-3);
    expect(m.training).toBe(false);
  });

  test('an op without a relevance rule is refused by name', () => {
    class Squashed extends Module {
      readonly inner = this.registerModule('inner', model());
      forward(t: Tensor): Tensor {
        return sigmoid(this.inner.call(t));
      }
    }
    expect(() => lrp(new Squashed(), x, { target: 0 })).toThrow(/LRP has no relevance rule for op 'sigmoid'/);
  });

  test('batch norm with batch statistics (training mode) is refused', () => {
    class Normed extends Module {
      readonly inner = this.registerModule('inner', model());
      forward(t: Tensor): Tensor {
        return this.inner.call(batchNorm(t, null, null, null, null, { training: true }));
      }
    }
    expect(() => lrp(new Normed(), x, { target: 0 })).toThrow(
      /LRP: batch norm in training mode \(batch statistics\) has no relevance rule; put the model in eval mode/,
    );
  });

  test('bad targets get clear errors', () => {
    expect(() => lrp(model(), x, { target: 7 })).toThrow(/lrp: target class 7 is out of range: the model has 5 outputs/);
    expect(() => lrp(model(), x, { target: [1] })).toThrow(/lrp: 1 target classes given for a batch of 2 items/);
  });

  test('no tensors leak', () => {
    const m = model();
    const before = numTensors();
    lrp(m, x, { target: 'top1' }).relevance.dispose();
    expect(numTensors()).toBe(before);
  });
});
