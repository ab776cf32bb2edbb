import * as fs from 'fs';
import * as path from 'path';
import { readImage } from '@gradlens/io';
import { assign, Generator, noGrad, numTensors, randn, tensor, tidy } from '@gradlens/tensor';
import { FASHION_MNIST_CLASSES } from '../src/datasets';
import type { Linear } from '../src/layers';
import { BatchNorm, Conv2d } from '../src/layers';
import {
  auxiliaryLoss,
  bundledModelFromBytes,
  bundledModels,
  defaultCamLayer,
  foldBatchNorm,
  gapnet,
  SMALLVIT_CONFIG,
  smallvgg,
  VisionTransformer,
  type BundledModelName,
} from '../src/models';
import { layers } from '../src/summary';
import { bundledWeightsDir, loadBundledModel } from '../src/models/bundled-files';
import { batchGradients } from '../src/train';

const weightsDir = path.resolve(__dirname, '..', '..', '..', 'weights');

// Both models share their features: three resolutions with two 3×3 convs each.
const FEATURE_SHAPES = {
  'features.0.weight': [32, 3, 3, 3],
  'features.0.bias': [32],
  'features.2.weight': [32, 32, 3, 3],
  'features.2.bias': [32],
  'features.5.weight': [64, 32, 3, 3],
  'features.5.bias': [64],
  'features.7.weight': [64, 64, 3, 3],
  'features.7.bias': [64],
  'features.10.weight': [128, 64, 3, 3],
  'features.10.bias': [128],
  'features.12.weight': [128, 128, 3, 3],
  'features.12.bias': [128],
};

describe('bundled architectures', () => {
  test('gapnet: torchvision-style names and shapes, convs → GAP → one linear layer', () => {
    const m = gapnet({ generator: new Generator(0) });
    const shapes = Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, t.shape]));
    expect(shapes).toEqual({
      ...FEATURE_SHAPES,
      'classifier.0.weight': [10, 128],
      'classifier.0.bias': [10],
    });
    const names = m.namedModules().map(([n]) => n);
    expect(names).toContain(bundledModels.gapnet.targetLayer);
    noGrad(() =>
      tidy(() => {
        const x = randn([2, 3, 64, 64]);
        expect(m.features.call(x).shape).toEqual([2, 128, 8, 8]);
        expect(m.call(x).shape).toEqual([2, 10]);
      }),
    );
  });

  test('smallvgg: features of conv/ReLU/pool, classifier Linear/ReLU/Dropout/Linear, no BatchNorm', () => {
    const m = smallvgg({ generator: new Generator(0) });
    const shapes = Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, t.shape]));
    expect(shapes).toEqual({
      ...FEATURE_SHAPES,
      'classifier.0.weight': [256, 2048],
      'classifier.0.bias': [256],
      'classifier.3.weight': [10, 256],
      'classifier.3.bias': [10],
    });
    const kinds = m
      .namedModules()
      .filter(([n]) => /^(features|classifier)\.\d+$/.test(n))
      .map(([n, l]) => `${n}:${l.constructor.name}`);
    expect(kinds).toEqual([
      'features.0:Conv2d',
      'features.1:ReLU',
      'features.2:Conv2d',
      'features.3:ReLU',
      'features.4:MaxPool2d',
      'features.5:Conv2d',
      'features.6:ReLU',
      'features.7:Conv2d',
      'features.8:ReLU',
      'features.9:MaxPool2d',
      'features.10:Conv2d',
      'features.11:ReLU',
      'features.12:Conv2d',
      'features.13:ReLU',
      'features.14:MaxPool2d',
      'classifier.0:Linear',
      'classifier.1:ReLU',
      'classifier.2:Dropout',
      'classifier.3:Linear',
    ]);
    expect(bundledModels.smallvgg.targetLayer).toBe('features.13');
    noGrad(() => tidy(() => expect(m.call(randn([1, 3, 64, 64])).shape).toEqual([1, 10])));
    expect(() => noGrad(() => tidy(() => m.call(randn([1, 3, 32, 32]))))).toThrow(/64×64 input/);
  });

  test("vit: smallvit, its CAM layer the last encoder layer's ln_1 with 64 patch tokens and a class token, torchvision names", () => {
    const info = bundledModels.vit;
    const m = info.build({ generator: new Generator(0) });
    expect(m).toBeInstanceOf(VisionTransformer);
    const vit = m as VisionTransformer;
    expect(info.targetLayer).toBe(`encoder.layers.encoder_layer_${SMALLVIT_CONFIG.numLayers - 1}.ln_1`);
    expect(defaultCamLayer(vit, [1, 3, 64, 64])).toBe(info.targetLayer);
    const row = layers(vit, [1, 3, 64, 64]).find((r) => r.path === info.targetLayer);
    expect(row?.outputShape).toEqual([1, 65, SMALLVIT_CONFIG.hiddenDim]);
    // torchvision's VisionTransformer keys, with the conv stem's
    const keys = Object.keys(vit.stateDict());
    for (const k of [
      'class_token',
      'encoder.pos_embedding',
      'conv_proj.conv_bn_relu_0.0.weight',
      'conv_proj.conv_last.weight',
      'heads.head.weight',
    ])
      expect(keys).toContain(k);
    noGrad(() => tidy(() => expect(vit.call(randn([2, 3, 64, 64])).shape).toEqual([2, 10])));
    expect(() => noGrad(() => tidy(() => vit.call(randn([1, 3, 32, 32]))))).toThrow(/input must be \[N, 3, 64, 64\]/);
  });

  test("@gradlens/weights ships every bundled model's weights and card", () => {
    const { FILES } = require('../../weights/copy-data.js') as { FILES: string[] };
    const files = Object.values(bundledModels).flatMap((info) => [info.weights, info.card]);
    expect([...FILES].sort()).toEqual(files.sort());
  });

  test("batchNorm: true adds a BatchNorm after every conv (and smallvgg's hidden linear); foldBatchNorm removes them, outputs unchanged", () => {
    for (const build of [gapnet, smallvgg]) {
      const m = build({ generator: new Generator(1), batchNorm: true });
      const bns = m.namedModules().filter(([, l]) => l instanceof BatchNorm);
      const convBns = ['features.1', 'features.4', 'features.8', 'features.11', 'features.15', 'features.18'];
      expect(bns.map(([n]) => n)).toEqual(build === smallvgg ? [...convBns, 'classifier.1'] : convBns);
      if (build === smallvgg) {
        expect(
          m.classifier
            .namedModules()
            .slice(1)
            .map(([, l]) => l.constructor.name),
        ).toEqual(['Linear', 'BatchNorm1d', 'ReLU', 'Dropout', 'Linear']);
        expect((m.classifier.at(0) as Linear).bias).toBeNull();
      }
      // The training variant pools before ReLU (same function, fewer values) with unchanged conv/BatchNorm names.
      const kinds = m.features
        .namedModules()
        .slice(1)
        .map(([, l]) => l.constructor.name);
      const pools = kinds.flatMap((k, i) => (k === 'MaxPool2d' ? [i] : []));
      expect(pools.length).toBeGreaterThan(0);
      for (const i of pools) expect([kinds[i - 1], kinds[i + 1]]).toEqual(['BatchNorm2d', 'ReLU']);
      // The BatchNorm cancels a conv bias, so the training variant's convs have none.
      expect(
        m
          .namedModules()
          .filter(([, l]) => l instanceof Conv2d)
          .every(([, l]) => (l as Conv2d).bias === null),
      ).toBe(true);
      // Statistics and affine parameters a trained model could have.
      const g = new Generator(2);
      for (const [, l] of bns) {
        const b = l as BatchNorm;
        for (const t of [b.runningMean!, b.runningVar!, b.weight!, b.bias!]) {
          assign(t, (v) => {
            for (let i = 0; i < v.length; i++) v[i] = t === b.runningVar ? 0.2 + g.uniform() : g.normal() * 0.5 + (t === b.weight ? 1 : 0);
          });
        }
      }
      m.eval();
      const folded = foldBatchNorm(m);
      folded.eval();
      expect(folded.namedModules().some(([, l]) => l instanceof BatchNorm)).toBe(false);
      expect(Object.keys(folded.stateDict())).toEqual(Object.keys(build({ init: false }).stateDict()));
      noGrad(() =>
        tidy(() => {
          const x = randn([2, 3, 64, 64], { generator: new Generator(3) });
          const a = m.call(x).values(),
            b = folded.call(x).values();
          let diff = 0;
          for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(Number(a[i]) - Number(b[i])));
          expect(diff).toBeLessThan(1e-4);
        }),
      );
    }
  });

  test('smallvgg auxiliary: a training-only head over the pooled features, its loss added by auxiliaryLoss, dropped by foldBatchNorm', () => {
    const m = smallvgg({ generator: new Generator(4), batchNorm: true, auxiliary: true });
    expect(m.stateDict()['auxiliary.weight']!.shape).toEqual([10, 128]);
    const x = randn([3, 3, 64, 64], { generator: new Generator(5) });
    const y = tensor([7, 0, 3], [3], 'int32');
    const params = m.parameters();
    const aw = m.auxiliary!.weight,
      ab = m.auxiliary!.bias!;
    const logits: number[][] = [];
    const auxLogits: number[][] = [];
    // The loss by hand, in float64, from the two heads' logits.
    const crossEntropyOf = (rows: number[][]): number =>
      rows.reduce((sum, r, i) => {
        const top = Math.max(...r);
        return sum + Math.log(r.reduce((a, v) => a + Math.exp(v - top), 0)) + top - r[[7, 0, 3][i]!]!;
      }, 0) / rows.length;
    const weight = 0.7;
    const lossFn = auxiliaryLoss(m, weight);
    m.train();
    const step = batchGradients(m, { x, y, indices: [0, 1, 2], dispose: () => undefined }, params, (out, target) => {
      const aux = m.auxiliaryLogits!;
      // The head reads the global average of the same forward's 4×4 features.
      expect(aux.shape).toEqual([3, 10]);
      for (let i = 0; i < 3; i++) {
        logits.push(Array.from(out.values(), Number).slice(10 * i, 10 * i + 10));
        auxLogits.push(Array.from(aux.values(), Number).slice(10 * i, 10 * i + 10));
      }
      return lossFn(out, target);
    });
    expect(step.loss).toBeCloseTo(crossEntropyOf(logits) + weight * crossEntropyOf(auxLogits), 4);
    // d loss / d auxiliary bias = weight · (softmax(aux) − onehot) / N, by hand.
    const gb = step.grads[params.indexOf(ab)]!.values();
    for (let j = 0; j < 10; j++) {
      let expected = 0;
      auxLogits.forEach((r, i) => {
        const z = r.reduce((a, v) => a + Math.exp(v), 0);
        expected += (Math.exp(r[j]!) / z - (j === [7, 0, 3][i] ? 1 : 0)) / 3;
      });
      expect(Number(gb[j])).toBeCloseTo(weight * expected, 5);
    }
    expect(step.grads[params.indexOf(aw)]!.values().some((v) => Number(v) !== 0)).toBe(true);
    for (const g of step.grads) g.dispose();

    // Evaluation: no auxiliary logits, the plain cross-entropy.
    m.eval();
    noGrad(() =>
      tidy(() => {
        const out = m.call(x);
        expect(m.auxiliaryLogits).toBeNull();
        expect(lossFn(out, y).item()).toBeCloseTo(
          crossEntropyOf([0, 1, 2].map((i) => Array.from(out.values(), Number).slice(10 * i, 10 * i + 10))),
          5,
        );
      }),
    );
    const folded = foldBatchNorm(m);
    expect(folded.auxiliary).toBeNull();
    expect(Object.keys(folded.stateDict())).toEqual(Object.keys(smallvgg({ init: false }).stateDict()));

    expect(() => gapnet({ auxiliary: true })).toThrow(/auxiliary is a smallvgg option/);
    expect(() => auxiliaryLoss(smallvgg({ init: false }))).toThrow(/no auxiliary head; build it with smallvgg\(\{ auxiliary: true \}\)/);
    expect(() => auxiliaryLoss(m, -1)).toThrow(/weight must be a finite number ≥ 0, got -1/);
    m.train();
    noGrad(() =>
      tidy(() => {
        m.call(x);
        expect(() => lossFn(randn([2, 10]), tensor([1, 2], [2], 'int32'))).toThrow(
          /auxiliary logits are from a batch of 3, the output from 2/,
        );
      }),
    );
  });

  test('the registry and the same seed gives the same weights', () => {
    for (const info of Object.values(bundledModels)) {
      expect(info.inputSize).toEqual([3, 64, 64]);
      expect(info.classes).toEqual(FASHION_MNIST_CLASSES);
    }
    const a = gapnet({ generator: new Generator(3) })
      .stateDict()
      ['features.2.weight']!.values();
    const b = gapnet({ generator: new Generator(3) })
      .stateDict()
      ['features.2.weight']!.values();
    expect(a).toEqual(b);
    expect(() => loadBundledModel('resnet' as BundledModelName)).toThrow(
      /unknown bundled model 'resnet'; bundled models: gapnet, smallvgg, vit/,
    );
    expect(bundledWeightsDir()).toBe(process.env.GRADLENS_WEIGHTS ?? weightsDir);
  });
});

interface SampleMeta {
  file: string;
  label: number;
  class: string;
  box: [number, number, number, number];
}

describe('bundled weights on the bundled samples', () => {
  const meta = JSON.parse(fs.readFileSync(path.join(weightsDir, 'samples', 'samples.json'), 'utf8')) as {
    samples: SampleMeta[];
    classes: string[];
  };

  test('the samples are 64×64 RGB with labels and boxes', () => {
    expect(meta.samples.length).toBeGreaterThanOrEqual(12);
    expect(meta.classes).toEqual(FASHION_MNIST_CLASSES);
    for (const s of meta.samples) {
      const img = readImage(path.join(weightsDir, 'samples', s.file));
      expect([img.width, img.height, img.channels]).toEqual([64, 64, 3]);
      expect(FASHION_MNIST_CLASSES[s.label]).toBe(s.class);
      const [x0, y0, x1, y1] = s.box;
      expect(0 <= x0 && x0 < x1 && x1 <= 64 && 0 <= y0 && y0 < y1 && y1 <= 64).toBe(true);
    }
  });

  test('bundledModelFromBytes (what a browser calls) loads the same weights, card and input options as loadBundledModel', () => {
    for (const name of Object.keys(bundledModels) as BundledModelName[]) {
      const info = bundledModels[name];
      const files = loadBundledModel(name, { dir: weightsDir });
      const fromBytes = bundledModelFromBytes(
        name,
        new Uint8Array(fs.readFileSync(path.join(weightsDir, info.weights))),
        fs.readFileSync(path.join(weightsDir, info.card), 'utf8'),
      );
      expect(fromBytes.card).toEqual(files.card);
      expect(fromBytes.input).toEqual(files.input);
      expect(fromBytes.model.training).toBe(false);
      const a = files.model.stateDict(),
        b = fromBytes.model.stateDict();
      expect(Object.keys(b)).toEqual(Object.keys(a));
      for (const k of Object.keys(a)) expect(b[k]!.dataSync()).toEqual(a[k]!.dataSync());
      for (const t of [...Object.values(a), ...Object.values(b)]) t.dispose();
    }
    expect(() => bundledModelFromBytes('gapnet', new Uint8Array(8), '{}')).toThrow(/^gapnet.json: not a valid model card: name is missing/);
  });

  for (const name of Object.keys(bundledModels)) {
    test(`${name}: card fields, and the weights classify the samples`, () => {
      const before = numTensors();
      const { model, card } = loadBundledModel(name as BundledModelName, { dir: weightsDir });
      for (const key of [
        'name',
        'architecture',
        'classes',
        'inputSize',
        'normalization',
        'testAccuracy',
        'epochs',
        'seed',
        'optimizer',
        'schedule',
        'trainSeconds',
        'machine',
        'gradlensCommit',
      ]) {
        expect(card).toHaveProperty(key);
      }
      expect(card.name).toBe(name);
      expect(card.classes).toEqual(FASHION_MNIST_CLASSES);
      expect(card.inputSize).toEqual([3, 64, 64]);
      expect(card.testAccuracy).toBeGreaterThan(0.2); // well above chance (0.1)
      const { mean, std } = card.normalization;
      const n = meta.samples.length;
      const x = new Float32Array(n * 3 * 4096);
      meta.samples.forEach((s, i) => {
        const img = readImage(path.join(weightsDir, 'samples', s.file));
        for (let k = 0; k < 4096; k++)
          for (let c = 0; c < 3; c++) x[i * 12288 + c * 4096 + k] = (img.data[3 * k + c]! / 255 - mean[c]!) / std[c]!;
      });
      const predicted = noGrad(() =>
        tidy(() => {
          const out = model.call(tensor(x, [n, 3, 64, 64])).values();
          return meta.samples.map((_, i) => {
            let best = 0;
            for (let j = 1; j < 10; j++) if (out[i * 10 + j]! > out[i * 10 + best]!) best = j;
            return best;
          });
        }),
      );
      const correct = predicted.filter((p, i) => p === meta.samples[i]!.label).length;
      // With test accuracy a, the chance of fewer than ⌈(a − 0.25)·n⌉ right out of n is tiny.
      expect(correct).toBeGreaterThanOrEqual(Math.ceil((card.testAccuracy - 0.25) * n));
      for (const t of Object.values(model.stateDict())) t.dispose();
      expect(numTensors()).toBe(before);
    });
  }
});
