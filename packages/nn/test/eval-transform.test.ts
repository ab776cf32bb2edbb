import * as fs from 'fs';
import * as path from 'path';
import { preprocessImageNet, readImage } from '@gradlens/io';
import {
  archBuildOptions,
  archInputOptions,
  inputProbeShape,
  EVAL_TRANSFORM_NAMES,
  evalInputOptions,
  evalTransform,
  hasEvalTransform,
  imageToInput,
  modelBuilders,
  transformInputOptions,
  WEIGHTS_FILE_NAMES,
  weightsFileClassNames,
  weightsFileTransform,
} from '@gradlens/nn';
import type { EvalTransform, WeightsFileTransform } from '@gradlens/nn';

/**
 * The table of torchvision's evaluation transforms against torchvision itself: scripts/make-eval-transforms.py
 * reads the values again into the fixture and applies three models' transforms to a picture.
 */
interface Fixture {
  models: string[];
  transforms: Record<string, EvalTransform>;
  pipeline: Record<string, { shape: number[]; stride: number; values: number[] }>;
  files: Record<string, WeightsFileTransform>;
  fileCount: number;
}
const DIR = path.join(__dirname, 'fixtures', 'eval-transforms');
const fx = JSON.parse(fs.readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Fixture;

test('the table has every torchvision classification and segmentation model, so every model this package builds', () => {
  expect([...EVAL_TRANSFORM_NAMES].sort()).toEqual([...fx.models].sort());
  const missing = Object.keys(modelBuilders).filter((n) => !hasEvalTransform(n));
  expect(missing).toEqual([]);
});

test.each(Object.keys(fx.transforms))("%s: resize, crop, filter, mean and std are torchvision's", (name) => {
  expect(evalTransform(name)).toEqual(fx.transforms[name]);
});

test.each(Object.keys(fx.files))("%s: torchvision's weights file is recognised by its name, with its own transform", (file) => {
  expect(weightsFileTransform(file)).toEqual(fx.files[file]);
  expect(weightsFileTransform(`/home/me/.cache/torch/hub/checkpoints/${file}`)).toEqual(fx.files[file]);
  expect(weightsFileTransform(`C:\\weights\\${file}`)).toEqual(fx.files[file]);
});

test('every published weights file is in the table, of a known model; other names are not', () => {
  expect(WEIGHTS_FILE_NAMES).toHaveLength(fx.fileCount);
  for (const f of WEIGHTS_FILE_NAMES) expect(hasEvalTransform(weightsFileTransform(f)?.model ?? '')).toBe(true);
  const v1 = Object.values(fx.files).find((f) => f.model === 'resnet50' && f.weights === 'IMAGENET1K_V1');
  expect(v1?.resizeSize).not.toBe(evalTransform('resnet50').resizeSize);
  expect(weightsFileTransform('resnet50.pth')).toBeUndefined();
  expect(weightsFileTransform('toString')).toBeUndefined();
  expect(weightsFileTransform('')).toBeUndefined();
});

describe("evalInputOptions feeds a picture as torchvision's transform does", () => {
  const picture = readImage(path.join(DIR, 'picture.png')); // 61 × 47 noise

  test.each(Object.keys(fx.pipeline))('%s', (name) => {
    const want = fx.pipeline[name]!;
    const t = preprocessImageNet(picture, evalInputOptions(name));
    expect(t.shape).toEqual(want.shape);
    // PIL-exact resize and float32 normalisation: the sampled values are torchvision's exactly
    let worst = 0;
    want.values.forEach((v, i) => {
      worst = Math.max(worst, Math.abs((t.data[i * want.stride] ?? NaN) - Math.fround(v)));
    });
    expect(worst).toBe(0);
    expect(Array.from(imageToInput(picture, evalInputOptions(name)).dataSync())).toEqual(Array.from(t.data));
    expect(transformInputOptions(evalTransform(name))).toEqual(evalInputOptions(name));
  });

  test('a picture already cropSize × cropSize is fed as it is', () => {
    const o = evalInputOptions('efficientnet_b4');
    const square = { width: 380, height: 380, channels: 3 as const, bitDepth: 8 as const, data: new Uint8Array(380 * 380 * 3) };
    for (let i = 0; i < square.data.length; i++) square.data[i] = (i * 7) % 256;
    const t = preprocessImageNet(square, { ...o, normalize: false });
    expect(t.data[0]).toBe(0);
    expect(t.data[1]).toBe(Math.fround(21 / 255));
  });
});

test.each([
  ['efficientnet_b8', /^evalTransform: unknown model 'efficientnet_b8' \(did you mean 'efficientnet_b\d'/],
  ['', /^evalTransform: unknown model ''; known models: alexnet, /],
  ['toString', /^evalTransform: unknown model 'toString'/],
])('an unknown name %p throws one line', (name, message) => {
  expect(() => evalTransform(name)).toThrow(message);
  expect(() => evalInputOptions(name)).toThrow(/^evalTransform: unknown model/);
  try {
    evalTransform(name);
  } catch (e) {
    expect((e as Error).message).not.toMatch(/\n/);
  }
});

test('the segmentation models: Resize(520) and no crop, so the whole resized picture, as --arch feeds it', () => {
  const o = evalInputOptions('deeplabv3_resnet50');
  expect(o).toEqual({ resize: 520, crop: false, filter: 'bilinear', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
  const wide = { width: 40, height: 20, channels: 3 as const, bitDepth: 8 as const, data: new Uint8Array(40 * 20 * 3) };
  expect(imageToInput(wide, o).shape).toEqual([1, 3, 520, 1040]);
  const arch = archInputOptions('deeplabv3_resnet50');
  expect(arch).toMatchObject({ size: 520, shorterSide: 520, crop: false, filter: 'bilinear' });
  expect(imageToInput(wide, arch).shape).toEqual([1, 3, 520, 1040]);
  // --size N: the shorter side N, the whole picture; [h, w]: exactly h × w (covered, aspect kept, centre-cropped)
  expect(imageToInput(wide, archInputOptions('fcn_resnet50', 32)).shape).toEqual([1, 3, 32, 64]);
  const box = archInputOptions('fcn_resnet50', [24, 36]);
  expect(box).toMatchObject({ size: 24, height: 24, width: 36, shorterSide: 24 });
  expect(imageToInput(wide, box).shape).toEqual([1, 3, 24, 36]);
  // a classifier at [h, w]: h × w by the 256/224 rule; a square [h, h] is the side h
  expect(archInputOptions('resnet18', [24, 36])).toMatchObject({ size: 24, height: 24, width: 36 });
  expect(archInputOptions('resnet18', [24, 24])).toEqual(archInputOptions('resnet18', 24));
  expect(inputProbeShape(box)).toEqual([1, 3, 24, 36]);
  expect(weightsFileTransform('lraspp_mobilenet_v3_large-d234d4ea.pth')?.cropSize).toBeNull();
  expect(() => preprocessImageNet(wide, { crop: false, resize: 'stretch' })).toThrow(/^preprocessImageNet: crop: false goes with/);
});

test('weightsFileClassNames: the VOC categories for torchvision’s own segmentation files of that architecture', () => {
  const voc = weightsFileClassNames('deeplabv3_resnet50', '/cache/deeplabv3_resnet50_coco-cd0a2569.pth');
  expect(voc).toHaveLength(21);
  expect(voc![0]).toBe('__background__');
  expect(voc![15]).toBe('person');
  expect(weightsFileClassNames('fcn_resnet50', 'deeplabv3_resnet50_coco-cd0a2569.pth')).toBeNull();
  expect(weightsFileClassNames('deeplabv3_resnet50', 'my-deeplab.pth')).toBeNull();
  expect(weightsFileClassNames('resnet50', 'resnet50-0676ba61.pth')).toBeNull();
});

test('archBuildOptions: transformInput for torchvision’s own GoogLeNet / Inception v3 files, MaxViT’s one size', () => {
  expect(archBuildOptions('googlenet', '/cache/googlenet-1378be20.pth', 224)).toEqual({ transformInput: true });
  expect(archBuildOptions('inception_v3', 'inception_v3_google-0cc3c7bd.pth', 299)).toEqual({ transformInput: true });
  expect(archBuildOptions('googlenet', 'my-googlenet.pth', 224)).toEqual({}); // trained here: torchvision's default, off
  expect(archBuildOptions('maxvit_t', 'maxvit.pth', 448)).toEqual({ inputSize: [448, 448] });
  expect(archBuildOptions('resnet50', 'resnet50-0676ba61.pth', 224)).toEqual({});
});
