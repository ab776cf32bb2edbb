import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  augSmoothCam,
  classSumTarget,
  eigenSmoothCam,
  gradCam,
  hiResCam,
  multiLayerCam,
  segmentationTarget,
  vanillaGradient,
} from '@gradlens/explain';
import { readImage, readNpy, toFloat32, writeImage } from '@gradlens/io';
import { Conv2d, imageToInput, loadBundledModel, Module, ReLU, Sequential } from '@gradlens/nn';
import { Generator, randn } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { main } from '../src/main';
import { DEFAULT_BUDGET, methodByName } from '../src/methods';
import { parseCsv } from '../src/csv';
import { modelOutput, parseTargetOptions, resolveTargets } from '../src/targets';
import { captureStreams, FIXTURE_NORM, makeWeightsDir } from './fixtures';

const NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const quiet = { onWarning: (): void => undefined };

/** A two-conv "segmentation" model: [N, 3, H, W] → [N, 4, H, W] logits per pixel. */
class Seg extends Module {
  readonly body: Sequential;
  constructor() {
    super();
    const generator = new Generator(2);
    this.body = this.registerModule(
      'body',
      new Sequential(new Conv2d(3, 5, 3, { padding: 1, generator }), new ReLU(), new Conv2d(5, 4, 1, { generator })),
    );
  }
  override forward(x: Tensor): Tensor {
    return this.body.call(x);
  }
}

function writeMask(file: string, w: number, h: number, inside: (x: number, y: number) => boolean): void {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (inside(x, y)) data.fill(255, (y * w + x) * 3, (y * w + x) * 3 + 3);
  writeImage(file, { width: w, height: h, channels: 3, bitDepth: 8, data });
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(Number(a[i]) - Number(b[i])));
  return worst;
}

describe('--target parsing', () => {
  test('indices, names, lists, top1, topk', () => {
    expect(parseTargetOptions(undefined, undefined, undefined, NAMES)).toEqual({ kind: 'top1' });
    expect(parseTargetOptions('top1', undefined, undefined, NAMES)).toEqual({ kind: 'top1' });
    expect(parseTargetOptions('topk:3', undefined, undefined, NAMES)).toEqual({ kind: 'topk', k: 3 });
    expect(parseTargetOptions('3, coat', undefined, undefined, NAMES)).toEqual({ kind: 'classes', classes: [3, 4] });
    expect(parseTargetOptions('Ankle boot', undefined, undefined, NAMES)).toEqual({ kind: 'classes', classes: [9] });
    expect(parseTargetOptions('17', undefined, undefined, null)).toEqual({ kind: 'classes', classes: [17] });
  });
  test.each([
    ['drss', /--target 'drss' is not a class \(did you mean 'Dress'\?\)/],
    ['3,12', /--target 12 is out of range: the model has 10 classes/],
    ['3,Dress', /names class 3 twice/],
    ['topk:0', /K must be an integer ≥ 1/],
    ['topk:11', /the model has only 10 classes/],
    ['3,,4', /empty class/],
  ])('%s is a clear usage error', (spec, msg) => {
    expect(() => parseTargetOptions(spec, undefined, undefined, NAMES)).toThrow(msg);
  });
  test('--target-mask needs --target-class and excludes --target; names need named classes', () => {
    expect(() => parseTargetOptions(undefined, 'm.png', undefined, null)).toThrow(/--target-mask needs --target-class/);
    expect(() => parseTargetOptions(undefined, undefined, '3', null)).toThrow(/--target-class goes with --target-mask/);
    expect(() => parseTargetOptions('3', 'm.png', '3', null)).toThrow(/either --target or --target-mask/);
    expect(() => parseTargetOptions(undefined, '/nonexistent/m.png', '3', null)).toThrow(
      /--target-mask: file not found: \/nonexistent\/m.png/,
    );
    expect(() => parseTargetOptions('cat', undefined, undefined, null)).toThrow(/this model's classes have no names/);
  });
  test('resolution against the output: topk order, a sum of classes, a map output, another shape', () => {
    const out = { shape: [1, 4], values: Float32Array.from([0.1, 3, -1, 2]) };
    expect(resolveTargets({ kind: 'topk', k: 2 }, out, null).map((t) => [t.target, t.suffix])).toEqual([
      [1, '_class1'],
      [3, '_class3'],
    ]);
    expect(resolveTargets({ kind: 'top1' }, out, null)[0]!.target).toBe(1);
    const sum = resolveTargets({ kind: 'classes', classes: [0, 2] }, out, null)[0]!;
    expect(sum.target).toBeUndefined();
    expect(sum.fn).toBeDefined();
    expect(() => resolveTargets({ kind: 'classes', classes: [4] }, out, null)).toThrow(
      /--target 4 is out of range: the model has 4 classes/,
    );
    // a map output: the class predicted on most pixels (here none but background); see segmentation.test.ts
    expect(resolveTargets({ kind: 'top1' }, { shape: [1, 4, 6, 6], values: new Float32Array(144) }, null)[0]!.describe).toMatch(
      /^class 0 summed over the 36 of 36 pixels predicted as it \(no pixel is predicted as a class other than background 0\)$/,
    );
    expect(() => resolveTargets({ kind: 'top1' }, { shape: [1, 4, 6], values: new Float32Array(24) }, null)).toThrow(
      /^the model's output has shape \[1, 4, 6\], neither class scores \[N, K\] nor a map \[N, K, H, W\]$/,
    );
  });
  test('CSV fields: quotes, doubled quotes, CRLF, comments', () => {
    expect(parseCsv('file,class\r\n"a, b.png","3,17"\r\n# note\n\n"say ""hi""",2\n', 'x.csv').map((r) => [r.line, r.fields])).toEqual([
      [1, ['file', 'class']],
      [2, ['a, b.png', '3,17']],
      [5, ['say "hi"', '2']],
    ]);
    expect(() => parseCsv('a,"b\n', 'x.csv')).toThrow(/x.csv: line 1: a quoted field is not closed/);
  });
});

describe('segmentation target (SemanticSegmentationTarget)', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-seg-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("a mask of the output's size gives the library's segmentationTarget maps; a wrong size or an empty mask is a clear error", () => {
    const model = new Seg().eval();
    const x = randn([1, 3, 8, 8], { generator: new Generator(3) });
    const inside = (px: number, py: number): boolean => px >= 2 && px < 6 && py < 4;
    writeMask(path.join(dir, 'mask.png'), 8, 8, inside);
    const req = parseTargetOptions(undefined, path.join(dir, 'mask.png'), '2', null);
    const [t] = resolveTargets(req, modelOutput(model, x), null);
    expect(t!.describe).toMatch(/class 2 summed over .*mask.png \(16 pixels\)/);
    const mask = Array.from({ length: 64 }, (_, p) => (inside(p % 8, Math.floor(p / 8)) ? 1 : 0));
    const ctx = {
      model,
      input: x,
      target: t!.target,
      targetFn: t!.fn,
      layer: 'body.1',
      reference: false,
      budget: DEFAULT_BUDGET,
      ...quiet,
    };
    const got = methodByName('vanilla').run(ctx).raw.data;
    const want = vanillaGradient(model, x, { target: segmentationTarget(mask, 2, [8, 8]), ...quiet }).attribution.dataSync();
    expect(maxDiff(got, want)).toBe(0);
    const cam = methodByName('gradcam').run(ctx).raw.data;
    expect(maxDiff(cam, gradCam(model, x, { target: segmentationTarget(mask, 2, [8, 8]), layer: 'body.1', ...quiet }).map.dataSync())).toBe(
      0,
    );

    writeMask(path.join(dir, 'small.png'), 4, 4, () => true);
    expect(() =>
      resolveTargets(parseTargetOptions(undefined, path.join(dir, 'small.png'), '2', null), modelOutput(model, x), null),
    ).toThrow(/--target-mask .*small.png is 4×4 but the model's output map is 8×8; give a mask of the output's size/);
    writeMask(path.join(dir, 'black.png'), 8, 8, () => false);
    expect(() =>
      resolveTargets(parseTargetOptions(undefined, path.join(dir, 'black.png'), '2', null), modelOutput(model, x), null),
    ).toThrow(/has no pixel inside/);
    expect(() => resolveTargets(parseTargetOptions(undefined, path.join(dir, 'mask.png'), '7', null), modelOutput(model, x), null)).toThrow(
      /--target-class 7 is out of range: the model has 4 classes/,
    );
    fs.writeFileSync(path.join(dir, 'bad.png'), 'not a picture');
    expect(() => parseTargetOptions(undefined, path.join(dir, 'bad.png'), '2', null)).toThrow(
      /--target-mask: cannot read .*bad.png as a picture/,
    );
  });
});

describe('explain: targets and CAM options end to end (bundled smallvgg, random weights)', () => {
  let dir: string;
  const savedEnv = process.env.GRADLENS_WEIGHTS;
  beforeAll(() => {
    dir = makeWeightsDir(1);
    process.env.GRADLENS_WEIGHTS = dir;
  });
  afterAll(() => {
    if (savedEnv === undefined) delete process.env.GRADLENS_WEIGHTS;
    else process.env.GRADLENS_WEIGHTS = savedEnv;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("--target 3,Coat, --layer a,b, --aug-smooth, --eigen-smooth: the library's combinators on the sum of the classes", async () => {
    const image = path.join(dir, 'samples', 'sample-0.png');
    const out = path.join(dir, 'combo');
    const s = captureStreams();
    const code = await main(
      [
        'explain',
        '--method',
        'gradcam,hirescam,vanilla',
        '--model',
        'smallvgg',
        '--image',
        image,
        '--out',
        out,
        '--format',
        'both',
        '--target',
        '3,Coat',
        '--layer',
        'features.8,features.13',
        '--aug-smooth',
        '--eigen-smooth',
      ],
      s,
    );
    expect(s.err()).not.toMatch(/gradlens:/);
    expect(code).toBe(0);
    expect(s.out()).toMatch(/explaining the sum of classes 3 \(Dress\) \+ 4 \(Coat\)/);
    expect(s.err()).toMatch(/note: vanilla is not a layer CAM method/);
    const { model } = loadBundledModel('smallvgg');
    const x = imageToInput(readImage(image), { size: 64, mean: FIXTURE_NORM.mean, std: FIXTURE_NORM.std });
    const target = classSumTarget([3, 4]);
    const layers = ['features.8', 'features.13'];
    const eigenGradCam = (m: Module, xs: Tensor, o: Parameters<typeof gradCam>[2]) =>
      eigenSmoothCam(m, xs, { kind: 'channel', camFn: gradCam }, o);
    const want = augSmoothCam(
      (m, xs, o) => {
        const r = multiLayerCam(eigenGradCam, m, xs, { ...o, layers });
        return { map: r.map, upsampled: r.map, weights: null, classes: r.classes, scores: r.scores, warnings: r.warnings };
      },
      model,
      x,
      { target, ...quiet },
    );
    expect(maxDiff(toFloat32(readNpy(path.join(out, 'gradcam.npy'))), want.map.dataSync())).toBeLessThanOrEqual(1e-6);
    const hires = augSmoothCam(
      (m, xs, o) => {
        const r = multiLayerCam((mm, xx, oo) => eigenSmoothCam(mm, xx, { kind: 'product' }, oo), m, xs, { ...o, layers });
        return { map: r.map, upsampled: r.map, weights: null, classes: r.classes, scores: r.scores, warnings: r.warnings };
      },
      model,
      x,
      { target, ...quiet },
    );
    expect(maxDiff(toFloat32(readNpy(path.join(out, 'hirescam.npy'))), hires.map.dataSync())).toBeLessThanOrEqual(1e-6);
    expect(
      maxDiff(toFloat32(readNpy(path.join(out, 'vanilla.npy'))), vanillaGradient(model, x, { target, ...quiet }).attribution.dataSync()),
    ).toBeLessThanOrEqual(1e-6);
    // one layer, no options: the plain method's map (not scaled)
    const s2 = captureStreams();
    expect(
      await main(
        [
          'explain',
          '--method',
          'hirescam',
          '--model',
          'smallvgg',
          '--image',
          image,
          '--out',
          path.join(dir, 'plain'),
          '--raw',
          '--target',
          '3',
          '--layer',
          'features.8',
        ],
        s2,
      ),
    ).toBe(0);
    expect(
      maxDiff(
        toFloat32(readNpy(path.join(dir, 'plain', 'hirescam.npy'))),
        hiResCam(model, x, { target: 3, layer: 'features.8', ...quiet }).map.dataSync(),
      ),
    ).toBeLessThanOrEqual(1e-6);
  });

  test('--target topk:2 writes one set of files per class; bad --layer lists and targets fail before anything is written', async () => {
    const image = path.join(dir, 'samples', 'sample-0.png');
    const out = path.join(dir, 'topk');
    const s = captureStreams();
    expect(
      await main(['explain', '--method', 'gradcam', '--model', 'gapnet', '--image', image, '--out', out, '--raw', '--target', 'topk:2'], s),
    ).toBe(0);
    const files = fs.readdirSync(out);
    const classes = [...new Set(files.map((f) => /class(\d+)_gradcam\.npy$/.exec(f)?.[1]).filter((c) => c !== undefined))];
    expect(classes).toHaveLength(2);
    for (const c of classes) expect(files).toContain(`sample-0_class${c}_Cam_On_Image.png`);
    for (const [args, msg] of [
      [['--layer', 'features.8,nope'], /no layer named 'nope'/],
      [['--layer', 'features.8,features.8'], /--layer names a layer twice/],
      [['--target', 'topk:x'], /K must be an integer/],
      [['--target-class', '3'], /--target-class goes with --target-mask/],
      [['--format', 'jpg'], /--format must be png, npy or both/],
    ] as const) {
      const e = captureStreams();
      const bad = path.join(dir, 'never');
      expect(await main(['explain', '--method', 'gradcam', '--model', 'smallvgg', '--image', image, '--out', bad, ...args], e)).toBe(2);
      expect(e.err()).toMatch(msg);
      expect(fs.existsSync(bad)).toBe(false);
    }
  });
});
