import * as fs from 'fs';
import * as path from 'path';
import { grad, mul, numTensors, record, sum, tensor } from '@gradlens/tensor';
import {
  GoogLeNet,
  Inception3,
  MNASNet,
  RegNet,
  ShuffleNetV2,
  defaultCamLayer,
  loadWeights,
  mnasnetVersionOf,
  readStateDict,
  regNetBlockParams,
  type Module,
} from '@gradlens/nn';
import { asTensor, npzFixture, relError } from './parity';

/**
 * RegNet (X and Y), ShuffleNetV2, MNASNet, GoogLeNet and Inception v3, reduced in size with random
 * weights (scripts/make-nn-more-arch-fixtures.py builds them from torchvision's own classes): loading
 * their .pth and running them in eval mode must reproduce PyTorch's logits, the default CAM layer's
 * activation, and the input gradient of a weighted sum of the logits.
 */
const FIX = path.join(__dirname, 'fixtures', 'archs-more');
const manifest = JSON.parse(fs.readFileSync(path.join(FIX, 'models.json'), 'utf8')) as {
  numClasses: number;
  models: Record<string, { layer: string; input: string; params: number; transformInput: boolean }>;
};
const { arr } = npzFixture(path.join(FIX, 'expected.npz'));
const numClasses = manifest.numClasses;
const transform = (name: string) => manifest.models[name]?.transformInput ?? false;

const regnet = (seRatio?: number) =>
  new RegNet(regNetBlockParams({ depth: 5, w0: 16, wA: 12, wM: 2.2, groupWidth: 8, seRatio }), { stemWidth: 8, numClasses, init: false });

/** The same reduced models as the fixture script's MODELS, built with this package's classes. */
const builders: Record<string, () => Module> = {
  regnet_y: () => regnet(0.25),
  regnet_x: () => regnet(),
  shufflenet_v2: () => new ShuffleNetV2([2, 3, 2], [8, 16, 32, 48, 64], { numClasses, init: false }),
  mnasnet: () => new MNASNet(0.1, { numClasses, init: false }),
  mnasnet_v1: () => new MNASNet(0.1, { numClasses, init: false, version: 1 }),
  googlenet: () => new GoogLeNet({ widthDivisor: 16, transformInput: transform('googlenet'), numClasses, init: false }),
  inception_v3: () => new Inception3({ widthDivisor: 32, transformInput: transform('inception_v3'), numClasses, init: false }),
};

test('the fixture and this test cover the same models', () => {
  expect(Object.keys(builders).sort()).toEqual(Object.keys(manifest.models).sort());
});

test('the fixture checks both settings of transformInput', () => {
  expect(new Set(Object.values(manifest.models).map((m) => m.transformInput))).toEqual(new Set([true, false]));
});

describe.each(Object.entries(manifest.models))('%s', (name, info) => {
  test('loads the torchvision .pth; logits, the default CAM activation and the input gradient match PyTorch (≤ 1e-4)', () => {
    const model = builders[name]!().eval();
    expect(loadWeights(model, path.join(FIX, `${name}.pth`))).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(model.parameters().reduce((n, t) => n + t.size, 0)).toBe(info.params);
    const input = arr(info.input);
    expect(defaultCamLayer(model, input.shape)).toBe(info.layer);
    const before = numTensors();
    const x = asTensor(input);
    const { output, tape } = record(() => model.call(x));
    expect(relError(output, arr(`${name}.logits`))).toBeLessThanOrEqual(1e-4);
    expect(relError(tape.activation(info.layer), arr(`${name}.activation`))).toBeLessThanOrEqual(1e-4);
    tape.dispose();
    output.dispose();
    const weights = asTensor(arr(`${name}.logit_weights`));
    const [dx] = grad((inp) => sum(mul(model.call(inp), weights)), [x]);
    expect(relError(dx!, arr(`${name}.grad`))).toBeLessThanOrEqual(1e-4);
    for (const t of [dx!, weights, x]) t.dispose();
    expect(numTensors()).toBe(before);
  });
});

test.each([
  [
    'Inception v3 below 75×75',
    () => builders.inception_v3!().eval(),
    [1, 3, 74, 100],
    /^Inception3: expected input \[N, 3, H, W\] with H and W at least 75 \(it expects 299×299\), got \[1, 3, 74, 100\]$/,
  ],
  [
    'GoogLeNet below 15×15',
    () => builders.googlenet!().eval(),
    [2, 3, 40, 14],
    /^GoogLeNet: expected input \[N, 3, H, W\] with H and W at least 15 .*got \[2, 3, 40, 14\]$/,
  ],
  [
    'GoogLeNet on one channel',
    () => builders.googlenet!().eval(),
    [1, 1, 32, 32],
    /^GoogLeNet: expected input \[N, 3, H, W\].*got \[1, 1, 32, 32\]$/,
  ],
])('%s: one line naming the model and the smallest side', (_, build, shape, message) => {
  const x = tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  expect(() => build().call(x)).toThrow(message);
  x.dispose();
});

test('the smallest inputs run: Inception v3 at 75×75, GoogLeNet at 15×15', () => {
  for (const [model, side] of [
    [builders.inception_v3!().eval(), 75],
    [builders.googlenet!().eval(), 15],
  ] as const) {
    const x = tensor(new Float32Array(3 * side * side), [1, 3, side, side]);
    const y = model.call(x);
    expect([...y.shape]).toEqual([1, numClasses]);
    for (const t of [x, y]) t.dispose();
  }
});

describe("MNASNet's two torchvision layouts", () => {
  const v1 = readStateDict(path.join(FIX, 'mnasnet_v1.pth'));
  const v2 = readStateDict(path.join(FIX, 'mnasnet.pth'));

  test('mnasnetVersionOf tells them apart from the stem', () => {
    expect(mnasnetVersionOf(v1, 0.1)).toBe(1);
    expect(mnasnetVersionOf(v2, 0.1)).toBe(2);
    // alpha 1: both layouts are the same, so version 2 serves either
    expect(mnasnetVersionOf(v1, 1)).toBe(2);
  });

  test('a version 1 file does not fit the version 2 model, and the message names the stem', () => {
    expect(() => loadWeights(new MNASNet(0.1, { numClasses, init: false }), path.join(FIX, 'mnasnet_v1.pth'))).toThrow(
      /layers\.0\.weight: file \[32, 3, 3, 3\] vs model \[8, 3, 3, 3\]/,
    );
    expect(() => new MNASNet(0.5, { version: 3 as 2 })).toThrow(/^MNASNet: version should be 1 or 2, got 3$/);
  });
});
