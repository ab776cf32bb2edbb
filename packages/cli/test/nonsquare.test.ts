import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { upsampleMaps } from '@gradlens/explain';
import { boxToPicture, preprocessFrame, preprocessImageNet, readImage, readNpy, toFloat32, writeImage } from '@gradlens/io';
import type { RgbImage } from '@gradlens/io';
import { createModel, saveCheckpoint } from '@gradlens/nn';
import { loadOnnx } from '@gradlens/onnx';
import { noGrad, tensor, tidy } from '@gradlens/tensor';
import { prepareImage } from '../src/image';
import { loadArch } from '../src/model';
import { runCli } from './fixtures';

/**
 * Non-square pictures and models end to end (fixtures: scripts/make-nonsquare-fixtures.py). corner_net.onnx takes a
 * fixed [1, 3, 12, 20]; a black picture activates none of its units, so its score depends only on bright pixels: with
 * a picture bright only in its top-right corner, every method's map must be [12, 20] (not [20, 12]) and hold its mass
 * in the top-right quadrant.
 */
const FIXTURES = path.join(__dirname, 'nonsquare');
const CORNER = path.join(FIXTURES, 'corner_net.onnx');
const DYNAMIC = path.join(FIXTURES, 'corner_net_dynamic.onnx');
const DETECTOR = path.join(FIXTURES, 'corner_detector.onnx');

let dir: string;
let picture: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-nonsquare-'));
  // 40 wide, 24 high, black but for a white patch in rows 2..8, columns 26..36 (the top-right quadrant)
  const data = new Uint8Array(40 * 24 * 3);
  for (let y = 2; y < 9; y++) for (let x = 26; x < 37; x++) data.fill(255, (y * 40 + x) * 3, (y * 40 + x) * 3 + 3);
  const image: RgbImage = { width: 40, height: 24, channels: 3, bitDepth: 8, data };
  picture = path.join(dir, 'corner.png');
  writeImage(picture, image);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The share of |map| in the top-right quadrant of an [H, W] (or channel-summed [C, H, W]) map, and whether its peak is there. */
function topRight(shape: readonly number[], data: Float32Array): { share: number; peakThere: boolean } {
  const [h, w] = shape.slice(-2) as [number, number];
  const per = new Float32Array(h * w);
  for (let i = 0; i < data.length; i++) per[i % (h * w)]! += Math.abs(data[i]!);
  let total = 0;
  let there = 0;
  let peak = 0;
  for (let p = 0; p < h * w; p++) {
    total += per[p]!;
    const inside = Math.floor(p / w) < h / 2 && p % w >= w / 2;
    if (inside) there += per[p]!;
    if (per[p]! > per[peak]!) peak = p;
  }
  return { share: total === 0 ? 0 : there / total, peakThere: Math.floor(peak / w) < h / 2 && peak % w >= w / 2 };
}

describe('every method on a fixed non-square ONNX input [1, 3, 12, 20]', () => {
  let out: string;
  let stdout: string;
  beforeAll(async () => {
    out = path.join(dir, 'all');
    const r = await runCli(
      'explain',
      '--method',
      'all',
      '--model',
      CORNER,
      '--image',
      picture,
      '--no-normalize',
      '--target',
      '0',
      '--samples',
      '4',
      '--steps',
      '8',
      '--out',
      out,
      '--raw',
    );
    stdout = r.out;
    // every method that applies runs (layer-ig and Ablation-CAM's layer edits reach the graph's later nodes)
    expect(r.err.split('\n').filter((l) => l.startsWith('gradlens:'))).toEqual([]);
    expect(r.code).toBe(0);
  }, 300_000);

  test('each map is [12, 20] (gradient-like [3, 12, 20]) with its mass and its peak in the top-right corner', () => {
    const files = fs.readdirSync(out).filter((f) => f.endsWith('.npy'));
    const ran = stdout.split('\n').filter((l) => /^[\w+-]+ \(/.test(l)).length;
    expect(ran).toBeGreaterThan(20);
    const checked: string[] = [];
    for (const f of files) {
      const a = readNpy(path.join(out, f));
      const base = f.replace(/\.npy$/, '');
      // a CAM's raw map is at the layer's resolution (6 × 10 after the pool); its _upsampled is at the input's
      if (files.includes(`${base}_upsampled.npy`)) {
        // (FullGrad's at the input's; occlusion's is its grid of positions)
        const want = base === 'occlusion' ? a.shape.slice(-2) : base === 'fullgrad' ? [12, 20] : [6, 10];
        expect([f, a.shape.slice(-2)]).toEqual([f, want]);
        continue;
      }
      const hw = a.shape.slice(-2);
      expect([f, hw]).toEqual([f, [12, 20]]);
      const where = topRight(a.shape, toFloat32(a));
      // at least 40% of the mass on a quarter of the picture (most methods: all of it; LIME's and the eigen-CAMs' spread
      // a little over the black superpixels and the zero activations). deconvnet's ReLUs pass any positive gradient,
      // whatever their input, so its map spreads over the picture (the pool's switches keep the corner): its peak
      // must still be in the corner
      expect([f, where.share > 0.4 || f === 'deconvnet.npy', where.peakThere]).toEqual([f, true, true]);
      checked.push(f);
    }
    expect(checked.length).toBeGreaterThan(20);
  });

  test('--aug-smooth and --eigen-smooth (flips and rescales) keep the corner at H ≠ W', async () => {
    const smooth = path.join(dir, 'smooth');
    const r = await runCli(
      'explain',
      '--method',
      'gradcam',
      '--aug-smooth',
      '--eigen-smooth',
      '--model',
      CORNER,
      '--image',
      picture,
      '--no-normalize',
      '--target',
      '0',
      '--out',
      smooth,
      '--raw',
    );
    expect(r.code).toBe(0);
    const a = readNpy(path.join(smooth, 'gradcam.npy'));
    expect(a.shape).toEqual([12, 20]);
    const where = topRight(a.shape, toFloat32(a));
    expect([where.share > 0.9, where.peakThere]).toEqual([true, true]);
  }, 60_000);

  test('the pictures are drawn 20 wide and 12 high, the overlay on the model input', () => {
    for (const f of [
      'corner_Cam_On_Image.png',
      'corner_Cam_Heatmap.png',
      'corner_Vanilla_BP_gray.png',
      'corner_Occlusion_Cam_On_Image.png',
    ]) {
      const p = readImage(path.join(out, f));
      expect([f, p.width, p.height]).toEqual([f, 20, 12]);
    }
  });
});

describe('--size HxW on a torchvision architecture', () => {
  test('resnet18 fed 24 × 40: the CAMs, AblationCAM and layer IG give [24, 40] maps', async () => {
    const weights = path.join(dir, 'resnet18.safetensors');
    const model = createModel('resnet18', { numClasses: 4 });
    saveCheckpoint(weights, model);
    for (const t of Object.values(model.stateDict())) t.dispose();
    const out = path.join(dir, 'arch');
    const r = await runCli(
      'explain',
      '--method',
      'gradcam,ablationcam,layer-ig,vanilla',
      '--arch',
      'resnet18',
      '--weights',
      weights,
      '--image',
      picture,
      '--size',
      '24x40',
      '--steps',
      '4',
      '--out',
      out,
      '--raw',
    );
    expect(r.err).not.toMatch(/gradlens:/);
    expect(r.code).toBe(0);
    for (const f of ['gradcam_upsampled.npy', 'ablationcam_upsampled.npy']) expect(readNpy(path.join(out, f)).shape).toEqual([24, 40]);
    expect(readNpy(path.join(out, 'vanilla.npy')).shape).toEqual([3, 24, 40]);
    // layer4's map: 24 × 40 / 32, rounded up by the strided convolutions
    expect(readNpy(path.join(out, 'layer-ig.npy')).shape.slice(-2)).toEqual([1, 2]);
  }, 120_000);
});

describe('architectures that take one square size', () => {
  test('MaxViT (its grid attention) refuses --size HxW in one line', () => {
    const file = path.join(dir, 'maxvit.pth');
    fs.writeFileSync(file, ''); // never read: the model is refused first
    expect(() => loadArch('maxvit_t', file, { size: [24, 40] })).toThrow(
      /^--arch maxvit_t: MaxVit: inputSize must be square .*, got 24×40$/,
    );
  });
});

describe('the input of a non-square model', () => {
  test('a fixed [12, 20] input: the picture resized to cover 14 × 23 (the 256/224 margin), centre-cropped to 12 × 20', () => {
    const raw = readImage(picture);
    const p = prepareImage(raw, { size: 12, height: 12, width: 20, mean: [0, 0, 0], std: [1, 1, 1] });
    expect(p.input.shape).toEqual([1, 3, 12, 20]);
    expect([p.picture.width, p.picture.height]).toEqual([20, 12]);
    // cover: 14 / 24 > 23 / 40, so the height binds: 24 × 40 → 14 × 23 (trunc(14 · 40 / 24)), then top 1, left round(1.5) = 2
    expect(p.frame).toEqual({ width: 20, height: 12, left: 2, top: 1, scaleX: 40 / 23, scaleY: 24 / 14 });
    p.input.dispose();
    // a square size is byte for byte the square path
    const sq = preprocessImageNet(raw, { size: 16 });
    const same = preprocessImageNet(raw, { height: 16, width: 16 });
    expect(Array.from(same.data)).toEqual(Array.from(sq.data));
  });

  test('--size HxW on a dynamic model feeds H × W; --size N against a fixed non-square input is refused', async () => {
    const out = path.join(dir, 'dyn');
    const r = await runCli(
      'explain',
      '--method',
      'gradcam',
      '--model',
      DYNAMIC,
      '--image',
      picture,
      '--size',
      '16x28',
      '--out',
      out,
      '--raw',
    );
    expect(r.err).toBe('');
    expect(readNpy(path.join(out, 'gradcam_upsampled.npy')).shape).toEqual([16, 28]);
    const bad = await runCli('explain', '--method', 'gradcam', '--model', CORNER, '--image', picture, '--size', '12', '--out', out);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/corner_net\.onnx: --size 12 differs from the model's fixed input size 12x20 \(\[1, 3, 12, 20\]\)/);
    const worse = await runCli('explain', '--method', 'gradcam', '--model', DYNAMIC, '--image', picture, '--size', '16x', '--out', out);
    expect(worse.code).toBe(2);
    expect(worse.err).toMatch(/--size must be a side N or HxW \(e\.g\. 224 or 320x480\), integers ≥ 1, got '16x'/);
    // a size no input of that many pixels could hold: refused in one line before anything is allocated
    const huge = await runCli(
      'explain',
      '--method',
      'gradcam',
      '--model',
      DYNAMIC,
      '--image',
      picture,
      '--size',
      '20000x90000',
      '--out',
      out,
    );
    expect(huge.code).toBe(2);
    expect(huge.err.trim()).toMatch(/^gradlens: explain: --size 20000x90000 asks for 1800000000 pixels, over the limit of \d+/);
  }, 60_000);

  test('layers --size HxW lists the shapes for that input', async () => {
    const r = await runCli('layers', '--model', DYNAMIC, '--size', '16x28');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/input \[1, 3, 16, 28\]/);
  });
});

describe('CAM upsampling at H ≠ W', () => {
  test("upsampleMaps equals PyTorch's F.interpolate(bilinear, align_corners=False)", () => {
    const cases = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'upsample.json'), 'utf8')) as {
      shape: number[];
      size: [number, number];
      maps: number[];
      up: number[];
    }[];
    for (const c of cases) {
      const got = tidy(() => Array.from(upsampleMaps(tensor(Float32Array.from(c.maps), c.shape), c.size[0], c.size[1]).dataSync()));
      expect(got.length).toBe(c.up.length);
      got.forEach((v, i) => expect(Math.abs(v - c.up[i]!)).toBeLessThan(1e-5));
    }
  });
});

describe('a detection graph with dynamic height and width', () => {
  test('runs a non-square [3, 24, 40] picture as PyTorch does', () => {
    const model = loadOnnx(DETECTOR, { output: 'scores', unbatched: true, inputShape: [3, 24, 40] });
    const x = readNpy(path.join(FIXTURES, 'corner_detector.input.npy'));
    const want = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'corner_detector.json'), 'utf8')) as { boxes: number[]; scores: number[] };
    const scores = tidy(() => noGrad(() => Array.from(model.call(tensor(toFloat32(x), [1, 3, 24, 40])).dataSync())));
    expect(scores.length).toBe(want.scores.length);
    scores.forEach((v, i) => expect(Math.abs(v - want.scores[i]!)).toBeLessThan(1e-4));
    const boxes = Array.from(model.lastOutputs.get('boxes')!.values, Number);
    boxes.forEach((v, i) => expect(Math.abs(v - want.boxes[i]!)).toBeLessThan(1e-3));
  });

  test('the CLI feeds the whole picture (shorter side to --size) and reports boxes in the picture’s pixels', async () => {
    const out = path.join(dir, 'det');
    const r = await runCli(
      'explain',
      '--method',
      'gradcam',
      '--model',
      DETECTOR,
      '--image',
      picture,
      '--size',
      '12',
      '--out',
      out,
      '--raw',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    // 40 × 24 with its shorter side at 12: 20 × 12, the whole picture
    expect(readNpy(path.join(out, 'gradcam_upsampled.npy')).shape).toEqual([12, 20]);
    const frame = preprocessFrame(40, 24, { size: 12, shorterSide: 12, crop: false });
    expect(frame).toEqual({ width: 20, height: 12, left: 0, top: 0, scaleX: 2, scaleY: 2 });
    // the reported box is the graph's box for that input, scaled by 2
    const model = loadOnnx(DETECTOR, { output: 'scores', unbatched: true, inputShape: [3, 12, 20] });
    const p = prepareImage(readImage(picture), { size: 12, shorterSide: 12, crop: false, mean: [0, 0, 0], std: [1, 1, 1] });
    tidy(() => noGrad(() => void model.call(p.input)));
    p.input.dispose();
    const box = Array.from(model.lastOutputs.get('boxes')!.values.slice(0, 4), Number);
    const shown = boxToPicture(box, frame).map((v) => Math.round(v));
    expect(r.out).toContain(`box [${shown.join(', ')}]`);
  }, 60_000);
});
