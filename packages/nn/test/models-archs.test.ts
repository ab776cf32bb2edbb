import * as fs from 'fs';
import * as path from 'path';
import { grad, mul, numTensors, record, sum } from '@gradlens/tensor';
import {
  Bottleneck,
  ConvNeXt,
  DenseNet,
  EfficientNet,
  MobileNetV3,
  ResNet,
  createModel,
  defaultCamLayer,
  efficientNetStages,
  loadWeights,
  type Module,
} from '@gradlens/nn';
import { asTensor, npzFixture, relError } from './parity';

/**
 * The torchvision families beyond the first models (ResNeXt and Wide ResNet blocks, DenseNet,
 * MobileNetV3, EfficientNet and V2, ConvNeXt), reduced in size with random weights
 * (scripts/make-nn-arch-fixtures.py builds them from torchvision's own classes): loading their .pth and
 * running them must reproduce PyTorch's logits, the default CAM layer's activation, and the input
 * gradient of a weighted sum of the logits.
 */
const FIX = path.join(__dirname, 'fixtures', 'archs');
const manifest = JSON.parse(fs.readFileSync(path.join(FIX, 'models.json'), 'utf8')) as {
  numClasses: number;
  models: Record<string, { layer: string; params: number }>;
};
const { arr } = npzFixture(path.join(FIX, 'expected.npz'));
const numClasses = manifest.numClasses;

/** The same reduced models as the fixture script's MODELS, built with this package's classes. */
const builders: Record<string, () => Module> = {
  resnext: () => new ResNet(Bottleneck, [1, 1, 2, 1], { widthDivisor: 8, numClasses, init: false }, { groups: 4, widthPerGroup: 16 }),
  wide_resnet: () => new ResNet(Bottleneck, [1, 1, 1, 1], { widthDivisor: 16, numClasses, init: false }, { widthPerGroup: 128 }),
  densenet: () => new DenseNet({ growthRate: 8, blockConfig: [2, 3, 2], numInitFeatures: 16, bnSize: 2, numClasses, init: false }),
  mobilenet_v3_small: () => new MobileNetV3('small', { widthMult: 0.25, numClasses, init: false }),
  efficientnet_b0: () => new EfficientNet(efficientNetStages(0.2, 0.3), 0.2, { numClasses, init: false }),
  efficientnet_v2: () =>
    new EfficientNet(
      [
        { block: 'fused', expandRatio: 1, kernel: 3, stride: 1, input: 8, out: 8, layers: 2 },
        { block: 'fused', expandRatio: 4, kernel: 3, stride: 2, input: 8, out: 16, layers: 1 },
        { block: 'fused', expandRatio: 1, kernel: 3, stride: 2, input: 16, out: 24, layers: 1 },
        { block: 'mb', expandRatio: 4, kernel: 3, stride: 2, input: 24, out: 32, layers: 2 },
        { block: 'mb', expandRatio: 6, kernel: 3, stride: 1, input: 32, out: 40, layers: 1 },
      ],
      0.2,
      { lastChannel: 64, norm: { eps: 1e-3 }, numClasses, init: false },
    ),
  convnext: () =>
    new ConvNeXt(
      [
        [16, 32, 1],
        [32, 48, 2],
        [48, null, 1],
      ],
      0.1,
      { layerScale: 0.5, numClasses, init: false },
    ),
};

test('the fixture and this test cover the same models', () => {
  expect(Object.keys(builders).sort()).toEqual(Object.keys(manifest.models).sort());
});

describe.each(Object.entries(manifest.models))('%s', (name, info) => {
  test('loads the torchvision .pth; logits, the default CAM activation and the input gradient match PyTorch (≤ 1e-4)', () => {
    const model = builders[name]!().eval();
    expect(loadWeights(model, path.join(FIX, `${name}.pth`))).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(model.parameters().reduce((n, t) => n + t.size, 0)).toBe(info.params);
    expect(defaultCamLayer(model, arr('input').shape)).toBe(info.layer);
    const before = numTensors();
    const x = asTensor(arr('input'));
    const { output, tape } = record(() => model.call(x));
    expect(relError(output, arr(`${name}.logits`))).toBeLessThanOrEqual(1e-4);
    expect(relError(tape.activation(info.layer), arr(`${name}.activation`))).toBeLessThanOrEqual(1e-4);
    tape.dispose();
    output.dispose();
    const weights = asTensor(arr('logit_weights'));
    const [dx] = grad((input) => sum(mul(model.call(input), weights)), [x]);
    expect(relError(dx!, arr(`${name}.grad`))).toBeLessThanOrEqual(1e-4);
    for (const t of [dx!, weights, x]) t.dispose();
    expect(numTensors()).toBe(before);
  });
});

test("DenseNet reads checkpoints with torchvision's pre-0.3 layer names (norm.1, conv.2, …)", () => {
  const model = builders.densenet!().eval();
  expect(loadWeights(model, path.join(FIX, 'densenet_legacy_keys.pth'))).toEqual({ missingKeys: [], unexpectedKeys: [] });
  const x = asTensor(arr('input'));
  const y = model.call(x);
  expect(relError(y, arr('densenet.logits'))).toBeLessThanOrEqual(1e-4);
  x.dispose();
  y.dispose();
});

test.each([
  ['efficientnet_b0', { widthDivisor: 2 }, /EfficientNet: reduce width with the stages/],
  ['mobilenet_v3_small', { widthDivisor: 2 }, /MobileNetV3: use widthMult/],
  ['mobilenet_v3_large', { widthMult: 0 }, /widthMult must be positive, got 0/],
  ['densenet121', { numClasses: 0 }, /DenseNet: numClasses must be a positive integer, got 0/],
  ['convnext_tiny', { widthDivisor: 1.5 }, /ConvNeXt: widthDivisor must be a positive integer, got 1.5/],
] as const)('%s with %j is refused with a one-line error', (name, options, message) => {
  expect(() => createModel(name, { ...options, init: false })).toThrow(message);
});
