import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gradCam, segmentationTarget } from '@gradlens/explain';
import { readImage, readNpy, toFloat32, writeImage } from '@gradlens/io';
import type { RgbImage } from '@gradlens/io';
import { createModel, saveCheckpoint, type SegmentationModel } from '@gradlens/nn';
import { tensor, tidy } from '@gradlens/tensor';
import { prepareImage } from '../src/image';
import { loadArch } from '../src/model';
import { modelOutput, resolveTargets } from '../src/targets';
import { runCli } from './fixtures';

/**
 * Segmentation models on the command line: without a mask, the target is pytorch-grad-cam's tutorial one — a class's
 * logits summed over the pixels predicted as it, the class the most frequent prediction apart from background unless
 * --target names it. End to end on deeplabv3_mobilenet_v3_large (the smallest DeepLabV3; its weights file, with 4
 * classes and the aux_classifier, is written here) fed its 80 × 64 picture whole with the shorter side at 64 (64 × 80,
 * as torchvision's Resize without a crop): the class count and the aux weights come from the file, the Grad-CAM map
 * equals the library's gradCam with segmentationTarget on the same model and input, and the maps are at the picture's aspect.
 */
const quiet = { onWarning: (): void => undefined };

/** A [1, 3, 2, 3] map whose per-pixel argmax is 0 1 1 / 2 1 0: class 1 on 3 pixels, 2 on 1, background on 2. */
function smallMap(): { shape: number[]; values: Float32Array } {
  const pred = [0, 1, 1, 2, 1, 0];
  const values = new Float32Array(18);
  pred.forEach((c, p) => {
    for (let k = 0; k < 3; k++) values[k * 6 + p] = k === c ? 2 + p / 10 : -1 - k / 10;
  });
  return { shape: [1, 3, 2, 3], values };
}

/** The target function's value on the output (the class's logits summed over its mask). */
function targetValue(
  fn: ((o: ReturnType<typeof tensor>) => ReturnType<typeof tensor>) | undefined,
  out: { shape: number[]; values: Float32Array },
) {
  return tidy(() => fn!(tensor(out.values, out.shape)).dataSync()[0]!);
}

describe('targets on a map output without a mask', () => {
  const out = smallMap();
  const sumOf = (c: number, pixels: number[]) => pixels.reduce((a, p) => a + out.values[c * 6 + p]!, 0);

  test('top1: the class predicted on most pixels other than background, its logits over those pixels', () => {
    const [t] = resolveTargets({ kind: 'top1' }, out, null);
    expect(t!.target).toBeUndefined();
    expect(t!.describe).toBe('class 1 summed over the 3 of 6 pixels predicted as it (the class predicted on most pixels)');
    expect(targetValue(t!.fn, out)).toBeCloseTo(sumOf(1, [1, 2, 4]), 5);
    const names = ['background', 'cat', 'dog'];
    expect(resolveTargets({ kind: 'top1' }, out, names)[0]!.describe).toMatch(/^class 1 \(cat\) summed over/);
  });

  test('--target C: class C over its own pixels; topk:K the K classes by pixels', () => {
    const [t] = resolveTargets({ kind: 'classes', classes: [2] }, out, null);
    expect(t!.describe).toBe('class 2 summed over the 1 of 6 pixels predicted as it');
    expect(targetValue(t!.fn, out)).toBeCloseTo(sumOf(2, [3]), 5);
    const [bg] = resolveTargets({ kind: 'classes', classes: [0] }, out, null);
    expect(targetValue(bg!.fn, out)).toBeCloseTo(sumOf(0, [0, 5]), 5);
    const top = resolveTargets({ kind: 'topk', k: 2 }, out, null);
    expect(top.map((r) => r.suffix)).toEqual(['_class1', '_class2']);
    expect(targetValue(top[1]!.fn, out)).toBeCloseTo(sumOf(2, [3]), 5);
  });

  test('what does not fit is one line: too many classes, a sum of classes, a class no pixel has, out of range', () => {
    const one = { shape: out.shape, values: out.values.map((v, i) => (i >= 12 ? -9 : v)) };
    expect(() => resolveTargets({ kind: 'topk', k: 2 }, one, null)).toThrow(
      /^--target topk:2: only 1 class other than background \(0\) is predicted on this picture \(1\)$/,
    );
    expect(() => resolveTargets({ kind: 'topk', k: 3 }, out, null)).toThrow(
      /^--target topk:3: only 2 classes other than background \(0\) are predicted on this picture \(1, 2\)$/,
    );
    expect(() => resolveTargets({ kind: 'classes', classes: [1, 2] }, out, null)).toThrow(
      /^--target 1,2: a sum of classes needs class scores \[N, K\]; this model's output is a map \[N, 3, 2, 3\]: give one class$/,
    );
    const none = { shape: out.shape, values: out.values.map((v, i) => (i >= 12 ? -9 : v)) };
    expect(() => resolveTargets({ kind: 'classes', classes: [2] }, none, null)).toThrow(
      /^--target 2: no pixel of this picture is predicted as that class; give --target-mask mask.png --target-class 2 to choose the pixels$/,
    );
    expect(() => resolveTargets({ kind: 'classes', classes: [5] }, out, null)).toThrow(
      /--target 5 is out of range: the model has 3 classes/,
    );
  });
});

describe('explain --arch deeplabv3_mobilenet_v3_large', () => {
  const ARCH = 'deeplabv3_mobilenet_v3_large';
  let dir: string;
  let weights: string;
  let picture: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-seg-cli-'));
    weights = path.join(dir, 'deeplab.safetensors');
    const model = createModel(ARCH, { numClasses: 4, auxLoss: true });
    saveCheckpoint(weights, model);
    for (const t of Object.values(model.stateDict())) t.dispose();
    const data = new Uint8Array(80 * 64 * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 37 + Math.floor(i / 240) * 11) % 256;
    const image: RgbImage = { width: 80, height: 64, channels: 3, bitDepth: 8, data };
    picture = path.join(dir, 'pic.png');
    writeImage(picture, image);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('gradcam explains the most frequent predicted class over its pixels, as gradCam with segmentationTarget', async () => {
    const out = path.join(dir, 'out');
    const r = await runCli(
      'explain',
      '--arch',
      ARCH,
      '--weights',
      weights,
      '--image',
      picture,
      '--method',
      'gradcam',
      '--size',
      '64',
      '--out',
      out,
      '--raw',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/CAM layer backbone\.16/);
    const described = /explaining class (\d+) summed over the (\d+) of 5120 pixels predicted as it/.exec(r.out);
    expect(described).not.toBeNull();

    // the same model, input and target through the library
    const loaded = loadArch(ARCH, weights, { size: 64 });
    const image = prepareImage(readImage(picture), loaded);
    expect(image.input.shape).toEqual([1, 3, 64, 80]);
    // the file's class count (4) and its aux_classifier were read from it (a strict load would refuse otherwise)
    expect((loaded.model as SegmentationModel).auxClassifier).not.toBeNull();
    const logits = modelOutput(loaded.model, image.input).values;
    expect(logits.length).toBe(4 * 64 * 80);
    const pred = Array.from({ length: 5120 }, (_, p) =>
      [0, 1, 2, 3].reduce((b, c) => (logits[c * 5120 + p]! > logits[b * 5120 + p]! ? c : b), 0),
    );
    const counts = [0, 1, 2, 3].map((c) => pred.filter((q) => q === c).length);
    const fg = [1, 2, 3].filter((c) => counts[c]! > 0).sort((a, b) => counts[b]! - counts[a]! || a - b);
    const cls = fg[0] ?? 0;
    expect(Number(described![1])).toBe(cls);
    expect(Number(described![2])).toBe(counts[cls]);
    const mask = pred.map((q) => (q === cls ? 1 : 0));
    const want = gradCam(loaded.model, image.input, { target: segmentationTarget(mask, cls, [64, 80]), layer: 'backbone.16', ...quiet });
    const got = toFloat32(readNpy(path.join(out, 'gradcam.npy')));
    const wantMap = want.map.dataSync();
    expect(got.length).toBe(wantMap.length);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - wantMap[i]!));
    expect(worst).toBeLessThanOrEqual(1e-6);
    // the maps at the picture's aspect: [64, 80] upsampled, the overlay 80 wide and 64 high
    expect(readNpy(path.join(out, 'gradcam_upsampled.npy')).shape).toEqual([64, 80]);
    const overlay = readImage(path.join(out, 'pic_Cam_On_Image.png'));
    expect([overlay.width, overlay.height]).toEqual([80, 64]);
  }, 120_000);

  test('--target naming a class no pixel is predicted as is a usage error', async () => {
    const loaded = loadArch(ARCH, weights, { size: 64 });
    const image = prepareImage(readImage(picture), loaded);
    const logits = modelOutput(loaded.model, image.input).values;
    const predicted = new Set(
      Array.from({ length: 5120 }, (_, p) => [0, 1, 2, 3].reduce((b, c) => (logits[c * 5120 + p]! > logits[b * 5120 + p]! ? c : b), 0)),
    );
    const absent = [0, 1, 2, 3].find((c) => !predicted.has(c));
    expect(absent).toBeDefined(); // the random weights leave a class unpredicted on this picture
    const r = await runCli(
      'explain',
      '--arch',
      ARCH,
      '--weights',
      weights,
      '--image',
      picture,
      '--method',
      'gradcam',
      '--size',
      '64',
      '--target',
      String(absent),
      '--out',
      path.join(dir, 'out2'),
    );
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`--target ${absent}: no pixel of this picture is predicted as that class`));
  }, 120_000);

  test('evaluate refuses a segmentation model in one line before its weights load', async () => {
    const r = await runCli('evaluate', '--arch', ARCH, '--weights', weights, '--n', '2', '--out', path.join(dir, 'ev'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^gradlens: evaluate: deeplabv3_mobilenet_v3_large is a segmentation model \(output \[N, K, H, W\]\)/);
  }, 60_000);
});
