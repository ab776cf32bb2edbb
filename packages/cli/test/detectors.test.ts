import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readImage, readNpy, writeImage } from '@gradlens/io';
import type { RgbImage } from '@gradlens/io';
import { gradCam } from '@gradlens/explain';
import { createDetectionModel, DetectionScores, loadWeights, saveCheckpoint } from '@gradlens/nn';
import { manualSeed, tidy } from '@gradlens/tensor';
import { prepareImage } from '../src/image';
import { runCli } from './fixtures';

/**
 * `--arch <torchvision detector> --weights <file>`: nn's native Faster R-CNN as a model of its detections' scores.
 * The weights are torchvision's layout at full width with random values and two classes (background and one), so
 * the box scores (a softmax over two) pass torchvision's 0.05 threshold and there are detections to explain.
 */
const ARCH = 'fasterrcnn_resnet50_fpn';
let dir: string;
let weights: string;
let picture: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-detectors-'));
  weights = path.join(dir, 'detector.safetensors');
  manualSeed(7);
  saveCheckpoint(weights, createDetectionModel(ARCH, { numClasses: 2 }));
  // a non-square picture, so the shorter side and the boxes' way back to the picture matter
  const [width, height] = [90, 70];
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + ((i / 3) % width) * 5) % 256;
  picture = path.join(dir, 'pic.png');
  writeImage(picture, { width, height, channels: 3, bitDepth: 8, data } satisfies RgbImage);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The command's exit code, and its one error line matching `message`. */
async function refused(code: number, message: RegExp, ...argv: string[]): Promise<void> {
  const r = await runCli(...argv);
  expect(r.code).toBe(code);
  expect(r.err.trim().split('\n')).toHaveLength(1);
  expect(r.err).toMatch(message);
}

test('explains detection k as --target k on the whole picture, the boxes in its pixels; the map is the library’s', async () => {
  const out = path.join(dir, 'out');
  const r = await runCli(
    'explain',
    '--method',
    'gradcam',
    '--arch',
    ARCH,
    '--weights',
    weights,
    '--image',
    picture,
    '--size',
    '64',
    '--target',
    '1',
    '--out',
    out,
    '--raw',
  );
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const line = /explaining class 1 \(detection: label 1, score (0\.\d{3}), box \[(-?\d+), (-?\d+), (-?\d+), (-?\d+)\]\)/.exec(r.out);
  expect(line).not.toBeNull();
  const [x1, y1, x2, y2] = line!.slice(2).map(Number) as [number, number, number, number];
  // the box lies in the 90 × 70 picture (the model saw it at 82 × 64)
  expect([x1 >= 0, y1 >= 0, x2 <= 90, y2 <= 70, x2 > x1, y2 > y1]).toEqual([true, true, true, true, true, true]);
  expect(r.out).toContain('CAM layer backbone.body.layer4');
  const cli = readNpy(path.join(out, 'gradcam.npy'));
  // the library: the same detector fed the picture at shorter side 64, values in [0, 1]
  const detector = createDetectionModel(ARCH, { init: false, numClasses: 2, minSize: 64, maxSize: 107 });
  loadWeights(detector, weights);
  const model = new DetectionScores(detector).eval();
  const prepared = prepareImage(readImage(picture), { size: 64, crop: false, shorterSide: 64, mean: [0, 0, 0], std: [1, 1, 1] });
  expect(prepared.input.shape).toEqual([1, 3, 64, 82]);
  const lib = tidy(() => Array.from(gradCam(model, prepared.input, { target: 1, layer: 'backbone.body.layer4' }).map.values()));
  prepared.input.dispose();
  // layer4 at stride 32 of the batch the detector pads to 64 × 96
  expect(cli.shape).toEqual([2, 3]);
  expect(Array.from(cli.data as Float32Array)).toEqual(lib);
  expect(lib.some((v) => v > 0)).toBe(true);
});

test('refuses in one line the methods that do not apply to a detector', async () => {
  const argv = ['explain', '--arch', ARCH, '--weights', weights, '--image', picture, '--size', '64', '--out', path.join(dir, 'no')];
  await refused(
    2,
    /^gradlens: method 'deeplift' does not apply to fasterrcnn_resnet50_fpn: .*this model runs each picture through its graph alone \(a detection model\)/,
    ...argv,
    '--method',
    'deeplift',
  );
  await refused(
    2,
    /^gradlens: method 'lrp' does not apply to fasterrcnn_resnet50_fpn: LRP's rules are a classifier's; a detection model's heads/,
    ...argv,
    '--method',
    'lrp',
  );
});

test('gradlens layers lists a detector’s module paths; evaluate and --size HxW are refused in one line', async () => {
  const r = await runCli('layers', '--arch', ARCH, '--size', '64');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^fasterrcnn_resnet50_fpn, input \[1, 3, 64, 64\]; default CAM layer: backbone\.body\.layer4$/m);
  for (const layer of ['backbone.body.layer4', 'backbone.fpn.layer_blocks.0', 'rpn.head.conv', 'roi_heads.box_predictor.cls_score'])
    expect(r.out).toContain(layer);
  await refused(
    2,
    /^gradlens: evaluate: fasterrcnn_resnet50_fpn is a detection model/,
    'evaluate',
    '--arch',
    ARCH,
    '--weights',
    weights,
    '--n',
    '2',
  );
  await refused(
    2,
    /^gradlens: --size 64x80: fasterrcnn_resnet50_fpn resizes each picture itself, keeping its aspect; give --size N for the shorter side \(default 800\)\n$/,
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
    '64x80',
  );
  await refused(
    2,
    /^gradlens: --arch fasterrcnn_resnet50_fpn needs --weights <file>/,
    'explain',
    '--method',
    'vanilla',
    '--arch',
    ARCH,
    '--image',
    picture,
  );
});
