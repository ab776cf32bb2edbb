import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  colormapLut,
  decodeImage,
  readImage,
  readNpy,
  resizeImage,
  saveClassActivationImages,
  toFloat32,
  writeSafetensors,
} from '@gradlens/io';
import { bundledModels, createModel, imageToInput, loadBundledModel, saveCheckpoint, toNdArray } from '@gradlens/nn';
import { deconvnet, gradCam, guidedBackprop, lrp, occlusion, scoreCam, vanillaGradient } from '@gradlens/explain';
import { getBackendInfo, getNumThreads, numTensors, setBackend, setNumThreads, tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { prepareImage } from '../src/image';
import { FIXTURE_NORM, makeWeightsDir, runCli, runCliOk } from './fixtures';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DIST = path.join(ROOT, 'packages', 'cli', 'dist', 'main.js');

let dir: string;
let image: string;
let out: string;
const savedEnv = process.env.GRADLENS_WEIGHTS;

beforeAll(() => {
  dir = makeWeightsDir(2);
  image = path.join(dir, 'samples', 'sample-0.png');
  out = path.join(dir, 'out');
  process.env.GRADLENS_WEIGHTS = dir;
});
afterAll(() => {
  if (savedEnv === undefined) delete process.env.GRADLENS_WEIGHTS;
  else process.env.GRADLENS_WEIGHTS = savedEnv;
  fs.rmSync(dir, { recursive: true, force: true });
});

const run = runCli;

/** The PNG decodes and has the expected size. */
function expectPng(file: string, size: number): void {
  expect(fs.existsSync(file)).toBe(true);
  const img = decodeImage(fs.readFileSync(file), file);
  expect([img.width, img.height]).toEqual([size, size]);
  expect([3, 4]).toContain(img.channels);
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(Number(actual[i]) - Number(expected[i])));
    scale = Math.max(scale, Math.abs(Number(expected[i])));
  }
  expect(worst).toBeLessThanOrEqual(1e-6 * Math.max(1, scale));
}

/** The library's input for the same picture, as the CLI prepares it. */
function libraryInput(): Tensor {
  return imageToInput(readImage(image), { size: 64, mean: FIXTURE_NORM.mean, std: FIXTURE_NORM.std });
}

describe('gradlens explain', () => {
  test("writes the reference-named pictures and .npy maps equal to the library's", async () => {
    const r = await runCliOk(
      'explain',
      '--method',
      'vanilla,guided,deconvnet,gradcam,guided-gradcam,scorecam,occlusion,lrp',
      '--model',
      'gapnet',
      '--image',
      image,
      '--out',
      out,
      '--raw',
      '--target',
      '3',
      '--batch-size',
      '16',
    );
    expect(r.out).toMatch(/explaining class 3 \(Dress\)/);
    for (const f of [
      'sample-0_Vanilla_BP_color.png',
      'sample-0_Vanilla_BP_gray.png',
      'sample-0_Guided_BP_color.png',
      'sample-0_Guided_BP_gray.png',
      'sample-0_pos_sal.png',
      'sample-0_neg_sal.png',
      'sample-0_Deconvnet_color.png',
      'sample-0_GGrad_Cam.png',
      'sample-0_GGrad_Cam_gray.png',
      'sample-0_Cam_Heatmap.png',
      'sample-0_Cam_On_Image.png',
      'sample-0_Cam_Grayscale.png',
      'sample-0_ScoreCAM_Cam_On_Image.png',
      'sample-0_Occlusion_Cam_Heatmap.png',
      'sample-0_LRP_color.png',
      'sample-0_LRP_Heatmap.png',
    ])
      expectPng(path.join(out, f), 64);

    const { model } = loadBundledModel('gapnet');
    const x = libraryInput();
    const before = numTensors();
    const quiet = { target: 3, onWarning: (): void => undefined };
    const npy = (name: string): { shape: number[]; data: Float32Array } => {
      const a = readNpy(path.join(out, name));
      return { shape: a.shape, data: toFloat32(a) };
    };
    const same = (name: string, t: Tensor, shape: number[]): void => {
      const a = npy(name);
      expect(a.shape).toEqual(shape);
      expectClose(a.data, t.dataSync() as Float32Array);
    };
    const v = vanillaGradient(model, x, quiet);
    same('vanilla.npy', v.attribution, [3, 64, 64]);
    const g = guidedBackprop(model, x, quiet);
    same('guided.npy', g.attribution, [3, 64, 64]);
    const d = deconvnet(model, x, quiet);
    same('deconvnet.npy', d.attribution, [3, 64, 64]);
    const c = gradCam(model, x, { ...quiet, layer: bundledModels.gapnet.targetLayer });
    same('gradcam.npy', c.map, [8, 8]);
    same('gradcam_upsampled.npy', c.upsampled, [64, 64]);
    const sc = scoreCam(model, x, { ...quiet, layer: bundledModels.gapnet.targetLayer });
    same('scorecam.npy', sc.map, [8, 8]);
    const oc = occlusion(model, x, { ...quiet, window: 8, stride: 4 });
    same('occlusion.npy', oc.grid, [15, 15]);
    same('occlusion_upsampled.npy', oc.map, [64, 64]);
    expect(fs.existsSync(path.join(out, 'guided-gradcam.npy'))).toBe(true);
    const l = lrp(model, x, { target: 3, composite: 'epsilon' });
    same('lrp.npy', l.relevance, [3, 64, 64]);
    for (const r2 of [v, g, d, c, sc, oc, l]) {
      for (const t of Object.values(r2)) if (t !== null && typeof t === 'object' && 'dispose' in t) (t as Tensor).dispose();
    }
    expect(numTensors()).toBe(before);
    x.dispose();
  });

  test('--method all on smallvgg (no GAP head) runs every method that applies and says it skipped CAM, before running any', async () => {
    const o2 = path.join(dir, 'out-vgg');
    const r = await runCliOk(
      'explain',
      '--method',
      'all',
      '--model',
      'smallvgg',
      '--image',
      image,
      '--out',
      o2,
      '--layer',
      'features.7',
      '--samples',
      '3',
      '--steps',
      '3',
      '--window',
      '32',
      '--stride',
      '32',
    );
    const lines = r.out.split('\n');
    const skip = lines.findIndex((l) => /^skipping cam: CAM needs global average pooling/.test(l));
    expect(skip).toBeGreaterThan(0);
    expect(skip).toBeLessThan(lines.findIndex((l) => l.startsWith('vanilla (')));
    expect(r.out).toMatch(/^smoothgrad .*sample-0_SmoothGrad_color\.png/m);
    expect(r.out).toMatch(/^ig .*completeness delta/m);
    expectPng(path.join(o2, 'sample-0_Integrated_G_gray.png'), 64);
    expectPng(path.join(o2, 'sample-0_Vanilla_grad_times_image_gray.png'), 64);
    expectPng(path.join(o2, 'sample-0_EigenCAM_Cam_On_Image.png'), 64);
    expect(fs.existsSync(path.join(o2, 'sample-0_CAM_Cam_On_Image.png'))).toBe(false);
  });

  test('progress of many-pass methods goes to stderr', async () => {
    const r = await run(
      'explain',
      '--method',
      'scorecam',
      '--model',
      'gapnet',
      '--image',
      image,
      '--out',
      path.join(dir, 'out-p'),
      '--batch-size',
      '16',
    );
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/scorecam {2}128\/128 {2}100%/);
    // announced before it starts, then an estimate from the first pass
    expect(r.err).toMatch(/many-pass methods: scorecam 128 inputs \(8 passes\), in batches of 16/);
    expect(r.err).toMatch(/scorecam: 128 inputs in 8 passes of up to 16; the first 16 took [\d.]+s, so about [\d.]+s in all/);
  });

  test('a named method that does not apply to the model is a usage error before anything runs', async () => {
    const r = await run('explain', '--method', 'vanilla,cam', '--model', 'smallvgg', '--image', image, '--out', path.join(dir, 'out-na'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^gradlens: method 'cam' does not apply to smallvgg: CAM needs global average pooling/);
    expect(r.out).not.toMatch(/^vanilla \(/m);
  });

  test('a bad --layer fails before a large weights file is read', async () => {
    // 300 MB of zeros (a sparse file: no disk used): reading it would take seconds and fail differently
    const big = path.join(dir, 'big.pth');
    const fd = fs.openSync(big, 'w');
    fs.ftruncateSync(fd, 300 * 1024 * 1024);
    fs.closeSync(fd);
    const t0 = Date.now();
    const r = await run('explain', '--method', 'gradcam', '--arch', 'resnet18', '--weights', big, '--image', image, '--layer', 'layer5');
    const ms = Date.now() - t0;
    fs.rmSync(big);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^gradlens: no layer named 'layer5' in resnet18 \(did you mean 'layer1' or 'layer2' or 'layer3'\?\)/);
    expect(ms).toBeLessThan(3000);
  });

  test('--colormap picks the CAM colormap (jet by default, hsv under --reference) and --legend adds pictures with a colour bar', async () => {
    const dirs = ['jet', 'viridis', 'ref'].map((k) => path.join(dir, `out-cm-${k}`));
    expect((await run('explain', '--method', 'gradcam', '--model', 'gapnet', '--image', image, '--out', dirs[0]!, '--legend')).code).toBe(
      0,
    );
    expect(
      (await run('explain', '--method', 'gradcam', '--model', 'gapnet', '--image', image, '--out', dirs[1]!, '--colormap', 'viridis')).code,
    ).toBe(0);
    expect(
      (await run('explain', '--method', 'gradcam', '--model', 'gapnet', '--image', image, '--out', dirs[2]!, '--reference')).code,
    ).toBe(0);
    const heat = (d: string): Uint8Array => decodeImage(fs.readFileSync(path.join(d, 'sample-0_Cam_Heatmap.png'))).data as Uint8Array;
    const lut = (name: 'jet' | 'viridis' | 'hsv'): Set<string> => {
      const l = colormapLut(name);
      return new Set(Array.from({ length: 256 }, (_, i) => `${l[3 * i]},${l[3 * i + 1]},${l[3 * i + 2]}`));
    };
    // every heatmap pixel (RGBA) is a colour of the named colormap
    const colours = (d: string): string[] => {
      const h = heat(d);
      return Array.from({ length: h.length / 4 }, (_, i) => `${h[4 * i]},${h[4 * i + 1]},${h[4 * i + 2]}`);
    };
    for (const [d, name] of [
      [dirs[0]!, 'jet'],
      [dirs[1]!, 'viridis'],
      [dirs[2]!, 'hsv'],
    ] as const) {
      const set = lut(name);
      expect(colours(d).every((c) => set.has(c))).toBe(true);
    }
    // --reference: the very files io's saveClassActivationImages writes with its reference defaults (hsv)
    const refRaw = path.join(dir, 'out-cm-ref-raw');
    expect(
      (await run('explain', '--method', 'gradcam', '--model', 'gapnet', '--image', image, '--out', refRaw, '--reference', '--raw')).code,
    ).toBe(0);
    const picture = prepareImage(readImage(image), { size: 64, mean: FIXTURE_NORM.mean, std: FIXTURE_NORM.std, reference: true }).picture;
    const again = saveClassActivationImages(picture, readNpy(path.join(refRaw, 'gradcam.npy')), path.join(dir, 'again'), {
      onWarning: () => undefined,
    });
    expect(fs.readFileSync(path.join(refRaw, 'sample-0_Cam_Heatmap.png')).equals(fs.readFileSync(again.heatmap))).toBe(true);
    expect(fs.readFileSync(path.join(refRaw, 'sample-0_Cam_On_Image.png')).equals(fs.readFileSync(again.onImage))).toBe(true);
    const legend = decodeImage(fs.readFileSync(path.join(dirs[0]!, 'sample-0_Cam_On_Image_legend.png')));
    expect([legend.width, legend.height]).toEqual([64, 64 + 2 + 6]);
    const bad = await run('explain', '--method', 'gradcam', '--model', 'gapnet', '--image', image, '--colormap', 'jett');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/unknown colormap 'jett' \(did you mean 'jet'\?\)/);
  });

  test('explain --help names a sample that exists', async () => {
    const r = await run('explain', '--help');
    const m = /--image (weights\/samples\/\S+)/.exec(r.out);
    expect(m).not.toBeNull();
    expect(fs.existsSync(path.join(ROOT, m![1]!))).toBe(true);
  });

  test('a weights file that does not fit says so in one readable line and names --no-strict', async () => {
    const m = createModel('squeezenet1_1', { numClasses: 4 });
    const w = path.join(dir, 'sq-misfit.safetensors');
    saveCheckpoint(w, m);
    const r = await run('explain', '--method', 'vanilla', '--arch', 'resnet18', '--weights', w, '--image', image);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^gradlens: loadWeights: .* does not fit ResNet: missing keys/);
    expect(r.err).not.toMatch(/:;|strict: false/);
    expect(r.err).toMatch(/give --no-strict to load the matching keys only/);
  });

  test('--no-strict loads a weights file with a key the model does not have', async () => {
    const m = createModel('squeezenet1_1', { numClasses: 4 });
    const dict = Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, toNdArray(t)]));
    const w = path.join(dir, 'sq-extra.safetensors');
    writeSafetensors(w, { ...dict, 'extra.weight': { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2) } });
    const args = [
      'explain',
      '--method',
      'vanilla',
      '--arch',
      'squeezenet1_1',
      '--weights',
      w,
      '--image',
      image,
      '--size',
      '64',
      '--out',
      path.join(dir, 'out-ns'),
    ];
    const strict = await run(...args);
    expect(strict.code).toBe(1);
    expect(strict.err).toMatch(/unexpected keys \(1\): extra\.weight.*give --no-strict/);
    await runCliOk(...args, '--no-strict');
  });

  test('the CLI and the library prepare a picture alike, at the input size or not', () => {
    const img = readImage(image);
    const opts = { size: 64, mean: FIXTURE_NORM.mean, std: FIXTURE_NORM.std };
    expect(Array.from(prepareImage(img, opts).input.dataSync())).toEqual(Array.from(imageToInput(img, opts).dataSync()));
    const big = resizeImage(img, 100, 80, 'bilinear');
    const a = prepareImage(big, opts).input;
    expect(a.shape).toEqual([1, 3, 64, 64]);
    expect(Array.from(a.dataSync())).toEqual(Array.from(imageToInput(big, opts).dataSync()));
  });

  test('--arch with a torchvision state dict, --size and --no-normalize', async () => {
    // a random-weight SqueezeNet 1.1 with 4 classes (the class count comes from the file)
    const { createModel, saveCheckpoint } = await import('@gradlens/nn');
    const m = createModel('squeezenet1_1', { numClasses: 4 });
    const w = path.join(dir, 'sq.safetensors');
    saveCheckpoint(w, m);
    const o3 = path.join(dir, 'out-sq');
    const r = await runCliOk(
      'explain',
      '--method',
      'gradcam,vanilla',
      '--arch',
      'squeezenet1_1',
      '--weights',
      w,
      '--image',
      image,
      '--size',
      '96',
      '--no-normalize',
      '--out',
      o3,
      '--raw',
      '--target',
      '2',
    );
    expect(r.out).toMatch(/CAM layer features/);
    expectPng(path.join(o3, 'sample-0_Cam_On_Image.png'), 96);
    expect(readNpy(path.join(o3, 'vanilla.npy')).shape).toEqual([3, 96, 96]);
    expect(readNpy(path.join(o3, 'gradcam_upsampled.npy')).shape).toEqual([96, 96]);
  });
});

describe('errors are one line with a non-zero exit code', () => {
  // exit code 2: the command line is wrong (checked before any weights load); 1: a failure while running
  const cases: [string, string[], RegExp, number][] = [
    [
      'unknown method',
      ['explain', '--method', 'gradcamm', '--model', 'gapnet', '--image', 'x.png'],
      /unknown method 'gradcamm' \(did you mean 'gradcam'\?\); methods: vanilla, guided, .*occlusion/,
      2,
    ],
    [
      'unknown layer',
      ['explain', '--method', 'gradcam', '--model', 'gapnet', '--image', '@IMAGE', '--layer', 'features.99'],
      /no layer named 'features\.99' in gapnet \(did you mean 'features\.9'.*\); valid layers: features, features\.0, .*classifier\.0/,
      2,
    ],
    [
      'missing image',
      ['explain', '--method', 'vanilla', '--model', 'gapnet', '--image', '/nonexistent/cat.png'],
      /image not found: \/nonexistent\/cat\.png/,
      2,
    ],
    [
      'missing weights',
      ['explain', '--method', 'vanilla', '--arch', 'vgg16', '--weights', '/nonexistent/vgg16.pth', '--image', '@IMAGE'],
      /weights file not found: \/nonexistent\/vgg16\.pth/,
      2,
    ],
    [
      'unknown arch',
      ['layers', '--arch', 'vgg17'],
      /unknown architecture 'vgg17' \(did you mean 'vgg11' or 'vgg13' or 'vgg16'\?\); architectures: alexnet, vgg11/,
      2,
    ],
    [
      'unknown bundled model',
      ['explain', '--method', 'vanilla', '--model', 'resnet18', '--image', '@IMAGE'],
      /unknown bundled model 'resnet18' \('resnet18' is a torchvision architecture/,
      2,
    ],
    [
      'mistyped bundled model',
      ['explain', '--method', 'vanilla', '--model', 'gapnte', '--image', '@IMAGE'],
      /unknown bundled model 'gapnte' \(did you mean 'gapnet'\?\)/,
      2,
    ],
    [
      'target out of range',
      ['explain', '--method', 'vanilla', '--model', 'gapnet', '--image', '@IMAGE', '--target', '10'],
      /--target 10 is out of range: the model has 10 classes \(0…9\)/,
      2,
    ],
    [
      'mistyped target',
      ['explain', '--method', 'vanilla', '--model', 'gapnet', '--image', '@IMAGE', '--target', 'sandle'],
      /--target 'sandle' is not a class \(did you mean 'Sandal'\?\)/,
      2,
    ],
    ['unknown option', ['explain', '--metod', 'vanilla'], /unknown option '--metod' \(did you mean '--method'\?\)/, 2],
    ['missing value', ['explain', '--method'], /--method needs a value/, 2],
    ["a name of Object's prototype", ['explain', '--constructor', 'x'], /unknown option '--constructor'/, 2],
    ['--onnx', ['explain', '--onnx', 'm.onnx'], /unknown option '--onnx' \(an ONNX file goes to --model <file>\.onnx\)/, 2],
    [
      'unknown command',
      ['explian'],
      /unknown command 'explian' \(did you mean 'explain'\?\); commands: explain, methods, layers, evaluate, demo/,
      2,
    ],
    ['not an image', ['explain', '--method', 'vanilla', '--model', 'gapnet', '--image', '@JSON'], /not a PNG or JPEG image/, 2],
    [
      'unknown LRP rule',
      ['explain', '--method', 'lrp', '--model', 'gapnet', '--image', '@IMAGE', '--lrp-rule', 'epsilom'],
      /unknown LRP rule 'epsilom' \(did you mean 'epsilon'\?\)/,
      2,
    ],
  ];
  test.each(cases)('%s', async (_name, argv, message, code) => {
    const args = argv.map((a) => (a === '@IMAGE' ? image : a === '@JSON' ? path.join(dir, 'samples', 'samples.json') : a));
    const r = await run(...args);
    expect(r.code).toBe(code);
    const lines = r.err.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^gradlens: /);
    expect(lines[0]).toMatch(message);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  test("GRADLENS_THREADS sets the kernels' thread count; a bad value is a command-line error", async () => {
    const saved = process.env.GRADLENS_THREADS;
    const threads = getNumThreads();
    try {
      process.env.GRADLENS_THREADS = 'many';
      const bad = await run('methods');
      expect(bad.code).toBe(2);
      expect(bad.err).toBe("gradlens: GRADLENS_THREADS must be an integer from 1 to 256, got 'many'\n");
      process.env.GRADLENS_THREADS = '3';
      expect((await run('methods')).code).toBe(0);
      expect(getNumThreads()).toBe(3);
    } finally {
      if (saved === undefined) delete process.env.GRADLENS_THREADS;
      else process.env.GRADLENS_THREADS = saved;
      setNumThreads(threads);
    }
  });

  test('GRADLENS_BACKEND selects the backend, importing its package; a bad value is a command-line error', async () => {
    const saved = process.env.GRADLENS_BACKEND;
    try {
      process.env.GRADLENS_BACKEND = 'nope';
      const unknown = await run('methods');
      expect(unknown.code).toBe(2);
      expect(unknown.err).toMatch(/^gradlens: GRADLENS_BACKEND: setBackend: unknown backend 'nope'; registered: cpu/);
      process.env.GRADLENS_BACKEND = 'gpujs:webasm:x';
      expect((await run('methods')).err).toMatch(/^gradlens: GRADLENS_BACKEND: backend spec must be 'name' or 'name:mode'/);
      process.env.GRADLENS_BACKEND = 'gpujs:webasm';
      expect((await run('methods')).code).toBe(0);
      expect(getBackendInfo()).toMatchObject({ backend: 'gpujs', mode: 'webasm' });
    } finally {
      if (saved === undefined) delete process.env.GRADLENS_BACKEND;
      else process.env.GRADLENS_BACKEND = saved;
      setBackend('cpu');
    }
  });

  test('the built command exits non-zero with one line and no stack trace (GRADLENS_DEBUG=1 adds it)', () => {
    if (!fs.existsSync(DIST)) throw new Error(`${DIST} is missing: build first (npx tsc -b)`);
    const env = { ...process.env, GRADLENS_WEIGHTS: dir };
    const r = spawnSync(
      process.execPath,
      [DIST, 'explain', '--method', 'gradcam', '--model', 'gapnet', '--image', image, '--layer', 'nope'],
      { encoding: 'utf8', env },
    );
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^gradlens: no layer named 'nope' in gapnet; valid layers: /);
    const d = spawnSync(process.execPath, [DIST, 'explain', '--method', 'nope'], {
      encoding: 'utf8',
      env: { ...env, GRADLENS_DEBUG: '1' },
    });
    expect(d.status).toBe(2);
    expect(d.stderr).toMatch(/\n\s+at /);
    expect(fs.readFileSync(DIST, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    // the installed command: an executable file in git (npm links it before the build writes dist/)
    const bin = path.join(ROOT, 'packages', 'cli', 'bin', 'gradlens.js');
    expect(fs.statSync(bin).mode & 0o111).not.toBe(0);
    const ok = spawnSync(bin, ['methods'], { encoding: 'utf8', env });
    expect(ok.status).toBe(0);
    expect(ok.stdout.split('\n')[0]).toMatch(/^vanilla\s+gradient/);
  });
});

describe('listings and help', () => {
  test('methods: one line per method, all 42 names', async () => {
    const r = await run('methods');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    const names = lines.map((l) => l.split(/\s+/)[0]);
    expect(names).toEqual([
      'vanilla',
      'guided',
      'deconvnet',
      'grad-x-input',
      'smoothgrad',
      'ig',
      'gradcam',
      'guided-gradcam',
      'gradcam++',
      'xgradcam',
      'hirescam',
      'layercam',
      'scorecam',
      'ablationcam',
      'eigencam',
      'cam',
      'rollout',
      'generic-attention',
      'transformer-attribution',
      'lrp',
      'transformer-lrp',
      'occlusion',
      'deeplift',
      'deeplift-shap',
      'gradientshap',
      'smoothgrad-sq',
      'vargrad',
      'guided-smoothgrad',
      'eigengradcam',
      'gradcam-elementwise',
      'shapleycam',
      'kpcacam',
      'fem',
      'finercam',
      'fullgrad',
      'ablation',
      'shapley',
      'lime',
      'kernelshap',
      'layer-grad-x-act',
      'layer-ig',
      'layer-conductance',
    ]);
    for (const l of lines) expect(l.length).toBeGreaterThan(30);
  });

  test('layers: module paths and output shapes of a bundled model and a torchvision one', async () => {
    const r = await run('layers', '--model', 'gapnet');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/default CAM layer: features\.13/);
    expect(r.out).toMatch(/^\s+features\.13\s+ReLU\s+\[1, 128, 8, 8\]/m);
    expect(r.out).toMatch(/^\s+classifier\.0\s+Linear\s+\[1, 10\]\s+1,290$/m);
    const v = await run('layers', '--arch', 'resnet18', '--size', '64');
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/default CAM layer: layer4/);
    expect(v.out).toMatch(/^layer4\s+Sequential\s+\[1, 512, 2, 2\]/m);
    const a = await run('layers', '--arch', 'alexnet');
    expect(a.out).toMatch(/default CAM layer: features\.11/);
    // Inception v3 is fed 299×299 unless --size says otherwise
    const i = await run('layers', '--arch', 'inception_v3');
    expect(i.out).toMatch(/^inception_v3, input \[1, 3, 299, 299\]; default CAM layer: Mixed_7c$/m);
    expect(i.out).toMatch(/^Mixed_7c\s+InceptionE\s+\[1, 2048, 8, 8\]/m);
  });

  test('--help for the program and every command', async () => {
    const top = await run('--help');
    expect(top.code).toBe(0);
    expect(top.out).toMatch(/^usage: gradlens <command>/);
    for (const cmd of ['explain', 'methods', 'layers', 'evaluate', 'demo']) {
      const r = await run(cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^usage: gradlens ${cmd}`));
    }
    const e = await run('explain', '--help');
    expect(e.out).toMatch(/--no-normalize/);
    expect(e.out).toMatch(/--raw/);
  });
});

describe('gradlens evaluate', () => {
  test('prints a methods × metrics table and writes markdown and JSON', async () => {
    const o4 = path.join(dir, 'eval');
    const saved = process.env.GRADLENS_FASHION_MNIST;
    process.env.GRADLENS_FASHION_MNIST = path.join(dir, 'no-dataset'); // force the bundled samples
    try {
      const r = await runCliOk(
        'evaluate',
        '--model',
        'gapnet',
        '--n',
        '2',
        '--out',
        o4,
        '--methods',
        'gradcam,vanilla',
        '--metrics',
        'localization,pointing,deletion',
        '--curve-steps',
        '4',
      );
      expect(r.err).toMatch(/evaluating on the 2 bundled sample pictures/);
      expect(r.out).toMatch(/^Method\s+Loc\. acc\. ↑\s+Pointing ↑\s+Deletion AUC ↓$/m);
      expect(r.out).toMatch(/^gradcam\s+\d/m);
      const md = fs.readFileSync(path.join(o4, 'evaluation.md'), 'utf8');
      expect(md).toMatch(/\| gradcam \|/);
      const json = JSON.parse(fs.readFileSync(path.join(o4, 'evaluation.json'), 'utf8')) as { methods: string[]; samples: number };
      expect(json.methods).toEqual(['gradcam', 'vanilla']);
      expect(json.samples).toBe(2);
    } finally {
      if (saved === undefined) delete process.env.GRADLENS_FASHION_MNIST;
      else process.env.GRADLENS_FASHION_MNIST = saved;
    }
  });
});

test('tensor helper sanity: the fixtures load as the CLI loads them', () => {
  const { model, card } = loadBundledModel('gapnet');
  expect(card.normalization).toEqual(FIXTURE_NORM);
  const y = model.call(tensor(new Float32Array(3 * 64 * 64), [1, 3, 64, 64]));
  expect(y.shape).toEqual([1, 10]);
  y.dispose();
});
