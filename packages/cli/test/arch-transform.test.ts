import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { IMAGENET_MEAN, IMAGENET_STD, preprocessImageNet, readImage, readNpy, writeImage } from '@gradlens/io';
import type { RgbImage } from '@gradlens/io';
import {
  archInputOptions,
  archTransformsInput,
  WEIGHTS_FILE_NAMES,
  createModel,
  evalInputOptions,
  evalTransform,
  saveCheckpoint,
  weightsFileTransform,
} from '@gradlens/nn';
import type { EvalTransform } from '@gradlens/nn';
import { chwToPicture, prepareImage } from '../src/image';
import { buildUntrained, loadArch } from '../src/model';
import { runCli, runCliOk } from './fixtures';

/**
 * `--arch` feeds each architecture its torchvision evaluation transform (nn's evalTransform) unless --size
 * is given. EfficientNet-B1 is the smallest architecture whose input is not 224: Resize(255), CenterCrop(240).
 */
const ARCH = 'efficientnet_b1';
let dir: string;
let weights: string;
let picture: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-arch-transform-'));
  weights = path.join(dir, `${ARCH}.safetensors`);
  saveCheckpoint(weights, createModel(ARCH, { numClasses: 3 }));
  // a non-square picture, so the resize side and the crop offsets matter
  const data = new Uint8Array(90 * 70 * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + ((i / 3) % 90) * 5) % 256;
  const image: RgbImage = { width: 90, height: 70, channels: 3, bitDepth: 8, data };
  fs.mkdirSync(path.join(dir, 'pictures'));
  picture = path.join(dir, 'pictures', 'pic.png');
  writeImage(picture, image);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A classifier's transform, whose crop is a number (the segmentation models' is null). */
function cropped(name: string): EvalTransform & { cropSize: number } {
  const t = evalTransform(name);
  if (t.cropSize === null) throw new Error(`${name} has no crop`);
  return { ...t, cropSize: t.cropSize };
}

/** The largest difference between two arrays of the same length (Infinity when the lengths differ). */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
  return worst;
}

describe("the architecture's transform", () => {
  test('loadArch without a size carries the crop size, resize side, filter, mean and std of evalTransform', () => {
    const t = cropped(ARCH);
    const loaded = loadArch(ARCH, weights);
    expect(loaded).toMatchObject({ size: t.cropSize, shorterSide: t.resizeSize, filter: t.interpolation, mean: t.mean, std: t.std });
    expect(loaded.size).not.toBe(224);
    // the prepared input is preprocessImageNet with nn's evalInputOptions, i.e. torchvision's transform
    const raw = readImage(picture);
    const prepared = prepareImage(raw, loaded);
    expect(prepared.input.shape).toEqual([1, 3, t.cropSize, t.cropSize]);
    expect(maxDiff(prepared.input.dataSync(), preprocessImageNet(raw, evalInputOptions(ARCH)).data)).toBe(0);
    // …and not the 256/224 bilinear rule at the same size
    expect(maxDiff(prepared.input.dataSync(), preprocessImageNet(raw, { size: t.cropSize }).data)).toBeGreaterThan(0.01);
  });

  test.each(['swin_t', 'efficientnet_v2_l', 'inception_v3', 'resnet50'])(
    '%s: archInput prepares a picture as evalInputOptions does (bicubic, mean/std 0.5, 299, 232)',
    (name) => {
      const raw = readImage(picture);
      const prepared = prepareImage(raw, archInputOptions(name));
      const t = cropped(name);
      expect(prepared.input.shape).toEqual([1, 3, t.cropSize, t.cropSize]);
      expect(maxDiff(prepared.input.dataSync(), preprocessImageNet(raw, evalInputOptions(name)).data)).toBe(0);
      const plain = preprocessImageNet(raw, { ...evalInputOptions(name), normalize: false });
      expect(maxDiff(prepared.picture.data, chwToPicture(plain.data, t.cropSize).data)).toBe(0);
    },
  );

  test('--size N: N and the 256/224 bilinear rule, with the architecture’s mean and std', () => {
    expect(archInputOptions('efficientnet_v2_l', 96)).toEqual({ size: 96, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    const loaded = loadArch(ARCH, weights, { size: 96 });
    expect(loaded.shorterSide).toBeUndefined();
    const raw = readImage(picture);
    const want = preprocessImageNet(raw, { size: 96, mean: IMAGENET_MEAN, std: IMAGENET_STD });
    expect(maxDiff(prepareImage(raw, loaded).input.dataSync(), want.data)).toBe(0);
  });

  test("a torchvision weights file known by its download name gets its own weights' transform", () => {
    // EfficientNet-B1's V1 weights: bicubic Resize(256), where DEFAULT (V2) is bilinear Resize(255)
    const v1 = WEIGHTS_FILE_NAMES.map((f) => [f, weightsFileTransform(f)!] as const).find(
      ([, t]) => t.model === ARCH && t.weights === 'IMAGENET1K_V1',
    )!;
    const [file, t] = v1;
    expect(archInputOptions(ARCH, undefined, path.join('/cache', file))).toEqual({
      size: t.cropSize,
      shorterSide: t.resizeSize,
      filter: t.interpolation,
      mean: t.mean,
      std: t.std,
    });
    expect([t.resizeSize, t.interpolation]).not.toEqual([evalTransform(ARCH).resizeSize, evalTransform(ARCH).interpolation]);
    // another model's file, or any other name: the DEFAULT weights' transform
    expect(archInputOptions('resnet50', undefined, file).shorterSide).toBe(evalTransform('resnet50').resizeSize);
    expect(archInputOptions(ARCH, undefined, 'my-b1.pth').shorterSide).toBe(evalTransform(ARCH).resizeSize);
    // --size wins over the file's transform, the file's mean and std stay
    expect(archInputOptions(ARCH, 64, file)).toEqual({ size: 64, mean: t.mean, std: t.std });
  });

  test("torchvision's published GoogLeNet and Inception v3 weights are built with transformInput, as torchvision builds them", () => {
    for (const arch of ['googlenet', 'inception_v3']) {
      const file = WEIGHTS_FILE_NAMES.find((f) => weightsFileTransform(f)?.model === arch)!;
      expect(archTransformsInput(arch, path.join('/cache', file))).toBe(true);
      expect(archTransformsInput(arch, `my-${arch}.pth`)).toBe(false);
    }
    const resnet = WEIGHTS_FILE_NAMES.find((f) => weightsFileTransform(f)?.model === 'resnet50')!;
    expect(archTransformsInput('resnet50', resnet)).toBe(false);
    expect(
      archTransformsInput(
        'inception_v3',
        WEIGHTS_FILE_NAMES.find((f) => weightsFileTransform(f)?.model === 'googlenet')!,
      ),
    ).toBe(false);
  });

  test('layers is fed the crop size', () => {
    expect(buildUntrained('layers', { arch: ARCH }).size).toBe(evalTransform(ARCH).cropSize);
  });
});

describe('gradlens explain --arch', () => {
  test("feeds the architecture's transform: maps at its crop size, the input picture resized and cropped as torchvision", async () => {
    const out = path.join(dir, 'out');
    // a folder of pictures writes each one's input picture
    await runCliOk(
      'explain',
      '--method',
      'vanilla',
      '--arch',
      ARCH,
      '--weights',
      weights,
      '--images',
      path.join(dir, 'pictures'),
      '--out',
      out,
      '--raw',
    );
    const t = cropped(ARCH);
    expect(readNpy(path.join(out, 'pic', 'vanilla.npy')).shape).toEqual([3, t.cropSize, t.cropSize]);
    const plain = preprocessImageNet(readImage(picture), { ...evalInputOptions(ARCH), normalize: false });
    const shown = readImage(path.join(out, 'pic', 'pic_input.png'));
    expect(shown).toMatchObject({ width: t.cropSize, height: t.cropSize, channels: 3 });
    expect(maxDiff(shown.data, chwToPicture(plain.data, t.cropSize).data)).toBe(0);
  });

  test('--size overrides it', async () => {
    const out = path.join(dir, 'out-size');
    await runCliOk(
      'explain',
      '--method',
      'vanilla',
      '--arch',
      ARCH,
      '--weights',
      weights,
      '--image',
      picture,
      '--size',
      '64',
      '--out',
      out,
      '--raw',
    );
    expect(readNpy(path.join(out, 'vanilla.npy')).shape).toEqual([3, 64, 64]);
  });

  test('an unknown architecture is one line naming the nearest', async () => {
    const r = await runCli('explain', '--method', 'vanilla', '--arch', 'efficientnet_b9', '--weights', weights, '--image', picture);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^gradlens: unknown architecture 'efficientnet_b9' \(did you mean 'efficientnet_b\d'/);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    // a detector's name is an architecture too: a classifier's weights do not fit it, in one line
    const det = await runCli(
      'explain',
      '--method',
      'vanilla',
      '--arch',
      'retinanet_resnet50_fpn',
      '--weights',
      weights,
      '--image',
      picture,
    );
    expect(det.code).toBe(1);
    expect(det.err.trim().split('\n')).toHaveLength(1);
    expect(det.err).toMatch(/^gradlens: loadWeights: .*efficientnet_b1\.safetensors does not fit RetinaNet: missing keys/);
  });
});
