import * as path from 'path';
import { grad, mul, numTensors, record, sum, tensor, tidy, type Tensor } from '@gradlens/tensor';
import { type Conv2d, createModel, defaultCamLayer, isSegmentationModel, layers, SegmentationModel, type Module } from '@gradlens/nn';
import { npzFixture, relError, reportErrors } from './parity';
import { reducedSegModel, SEG_DIR, seedStateDict, seededInput, segManifest, stateDictNamesHash } from './segmentation-fixture';

/**
 * torchvision's segmentation models (FCN, DeepLabV3, LR-ASPP), reduced in width (scripts/make-nn-segmentation-fixtures.py
 * builds them from torchvision's classes) with the weights both sides draw from Generator(0): the `out` logits, `aux`,
 * two activations by module path and the input gradient of pytorch-grad-cam's segmentation target (a class's logits
 * summed over the pixels predicted as it) against PyTorch's float64 pass.
 */
const names = Object.keys(segManifest.models);

function seededModel(name: string): Module {
  const model = reducedSegModel(name);
  seedStateDict(model);
  return model.eval();
}

const fromArray = (a: { shape: number[]; data: Float32Array }): Tensor => tensor(a.data, a.shape);

test('the fixture covers the six segmentation models', () => {
  expect(names.sort()).toEqual(
    [
      'deeplabv3_mobilenet_v3_large',
      'deeplabv3_resnet101',
      'deeplabv3_resnet50',
      'fcn_resnet101',
      'fcn_resnet50',
      'lraspp_mobilenet_v3_large',
    ].sort(),
  );
});

describe.each(names)('%s (reduced)', (name) => {
  const info = segManifest.models[name]!;
  const { arr } = npzFixture(path.join(SEG_DIR, `${name}.npz`));

  test('state-dict names and parameter count equal the torchvision model’s; the input is the fixture’s', () => {
    const model = reducedSegModel(name);
    expect(stateDictNamesHash(model)).toBe(info.stateDictNames);
    expect(model.parameters().reduce((n, t) => n + t.size, 0)).toBe(info.params);
    const x = seededInput();
    expect(relError(fromArray(x), arr('input'))).toBe(0);
    expect(defaultCamLayer(model)).toBe(info.layer);
  });

  test('out logits, aux and activations match PyTorch (≤ 1e-4 relative)', () => {
    const model = seededModel(name);
    const before = numTensors();
    const x = fromArray(seededInput());
    const { output, tape } = record(() => model.call(x));
    const errs: Record<string, number> = {
      out: relError(output, arr('out')),
      [info.layer]: relError(tape.activation(info.layer), arr('cam_layer')),
      [info.secondLayer]: relError(tape.activation(info.secondLayer), arr('second_layer')),
    };
    tape.dispose();
    output.dispose();
    if (info.aux) {
      expect(model).toBeInstanceOf(SegmentationModel);
      tidy(() => {
        const { out, aux } = (model as SegmentationModel).forwardWithAux(x);
        errs.aux = relError(aux!, arr('aux'));
        expect(relError(out, arr('out'))).toBe(errs.out);
      });
    }
    reportErrors(`${name} vs PyTorch`, errs);
    for (const e of Object.values(errs)) expect(e).toBeLessThanOrEqual(1e-4);
    x.dispose();
    expect(numTensors()).toBe(before);
  });

  test('the input gradient of the segmentation target matches PyTorch (≤ 1e-3 relative)', () => {
    const model = seededModel(name);
    const mask = arr('mask');
    const cls = Number((arr('class').data as ArrayLike<number>)[0]);
    const [n, h, w] = mask.shape as [number, number, number];
    const k = segManifest.numClasses;
    // weights [N, K, H, W]: the mask in channel `cls`, zero elsewhere
    const weights = new Float32Array(n * k * h * w);
    const m = mask.data as ArrayLike<number>;
    for (let b = 0; b < n; b++) for (let p = 0; p < h * w; p++) weights[(b * k + cls) * h * w + p] = m[b * h * w + p]!;
    const before = numTensors();
    const x = fromArray(seededInput());
    const wt = tensor(weights, [n, k, h, w]);
    const [gx] = grad((xi) => sum(mul(model.call(xi!), wt)), [x]);
    const err = relError(gx!, arr('input_grad'));
    reportErrors(`${name} target gradient`, { input: err });
    expect(err).toBeLessThanOrEqual(1e-3);
    for (const t of [gx!, wt, x]) t.dispose();
    expect(numTensors()).toBe(before);
  });
});

test('isSegmentationModel, layers() lists torchvision’s module paths, and a bad input fails in one line', () => {
  const model = seededModel('deeplabv3_resnet50');
  expect(isSegmentationModel(model)).toBe(true);
  const rows = layers(model, [1, 3, 41, 37]);
  const shape = (p: string) => rows.find((r) => r.path === p)?.outputShape;
  expect(shape('backbone.layer4')).toEqual([1, 64, 6, 5]);
  expect(shape('classifier.0')).toEqual([1, 8, 6, 5]);
  expect(shape('classifier.0.convs.4')).toEqual([1, 8, 6, 5]);
  // call() computes `out` alone; forwardWithAux runs the aux_classifier
  expect(shape('aux_classifier')).toBeNull();
  expect(rows.some((r) => r.path === 'backbone.fc' || r.path === 'backbone.avgpool')).toBe(false);
  expect(() => model.call(tensor(new Float32Array(41 * 37), [1, 1, 41, 37]))).toThrow(
    /^deeplabv3_resnet50: input must be \[N, 3, H, W\], got \[1, 1, 41, 37\]$/,
  );
});

test.each([
  ['deeplabv3_resnet50', { numClasses: 0 }, /^deeplabv3_resnet50: numClasses must be a positive integer, got 0$/],
  ['fcn_resnet50', { widthDivisor: 1.5 }, /^fcn_resnet50: widthDivisor must be a positive integer, got 1\.5$/],
  ['deeplabv3_resnet101', { atrousRates: [12, 0] }, /^deeplabv3_resnet101: ASPPConv: dilation must be a positive integer, got 0$/],
  ['deeplabv3_mobilenet_v3_large', { widthMult: -1 }, /^deeplabv3_mobilenet_v3_large: MobileNetV3: widthMult must be positive, got -1$/],
  ['lraspp_mobilenet_v3_large', { auxLoss: true }, /^lraspp_mobilenet_v3_large: has no auxiliary classifier/],
] as const)('%s with %j fails in one line', (name, options, message) => {
  expect(() => createModel(name, { init: false, ...options })).toThrow(message);
});

test('the defaults are torchvision’s: 21 classes, no aux_classifier, ASPP rates 12, 24, 36', () => {
  const m = createModel('deeplabv3_mobilenet_v3_large', { init: false }) as SegmentationModel;
  expect(m.auxClassifier).toBeNull();
  expect(m.getModule('classifier.4').parameters()[0]!.shape).toEqual([21, 256, 1, 1]);
  const dilations = [1, 2, 3].map((i) => (m.getModule(`classifier.0.convs.${i}.0`) as Conv2d).dilation[0]);
  expect(dilations).toEqual([12, 24, 36]);
  expect((m.getModule('backbone.13.block.1.0') as Conv2d).dilation).toEqual([2, 2]);
  expect((m.getModule('backbone.13.block.1.0') as Conv2d).stride).toEqual([1, 1]);
  const r = createModel('fcn_resnet50', { init: false }) as SegmentationModel;
  expect((r.getModule('backbone.layer4.0.conv2') as Conv2d).dilation).toEqual([2, 2]);
  expect((r.getModule('backbone.layer4.1.conv2') as Conv2d).dilation).toEqual([4, 4]);
  expect((r.getModule('backbone.layer3.0.downsample.0') as Conv2d).stride).toEqual([1, 1]);
});
