import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { IMAGENET_MEAN, IMAGENET_STD, readImage, readNpy } from '@gradlens/io';
import { gradCam, vanillaGradient } from '@gradlens/explain';
import { loadOnnx } from '@gradlens/onnx';
import { tidy } from '@gradlens/tensor';
import { prepareImage } from '../src/image';
import { cliInputShape, isOnnxFile } from '../src/onnx-model';
import { makeWeightsDir, runCli } from './fixtures';

// `--model <file.onnx>` end to end: tiny_classes.onnx (scripts/make-onnx-cli-fixtures.py) is a small
// CNN exported by torch.onnx with dynamic batch and spatial dims and class names in its metadata.
const FIXTURES = path.resolve(__dirname, '..', '..', 'onnx', 'test', 'fixtures');
const TINY = path.join(FIXTURES, 'tiny_classes.onnx');

let dir: string;
let image: string;
const savedEnv = process.env.GRADLENS_WEIGHTS;

beforeAll(() => {
  dir = makeWeightsDir(2);
  image = path.join(dir, 'samples', 'sample-0.png');
  process.env.GRADLENS_WEIGHTS = dir;
});
afterAll(() => {
  if (savedEnv === undefined) delete process.env.GRADLENS_WEIGHTS;
  else process.env.GRADLENS_WEIGHTS = savedEnv;
  fs.rmSync(dir, { recursive: true, force: true });
});

const run = runCli;

/** The command fails with a usage error (exit 2) whose one line matches `message`. */
async function refused(message: RegExp, ...argv: string[]): Promise<void> {
  const r = await run(...argv);
  expect(r.code).toBe(2);
  expect(r.err.trim().split('\n')).toHaveLength(1);
  expect(r.err).toMatch(message);
}

function tmpOut(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-onnx-cli-')), 'out');
}

describe('gradlens explain --model <a detection model.onnx>', () => {
  // torchvision's Faster R-CNN at toy size (scripts/make-onnx-detection-fixtures.py): outputs boxes, labels, scores
  const DETECTOR = path.join(FIXTURES, 'detection', 'faster_rcnn_opset11.onnx');

  it('explains its detections’ scores, detection k as --target k, pictures in [0, 1]; the map is the library’s', async () => {
    const out = tmpOut();
    const r = await run('explain', '--method', 'gradcam', '--model', DETECTOR, '--image', image, '--target', '1', '--out', out, '--raw');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /faster_rcnn_opset11\.onnx: explaining class 1 \(detection: label \d+, score 0\.\d{3}, box \[\d+, \d+, \d+, \d+\]\)/,
    );
    expect(r.out).toContain('CAM layer backbone');
    const cli = readNpy(path.join(out, 'gradcam.npy'));
    const model = loadOnnx(DETECTOR, { output: 'scores', unbatched: true });
    const prepared = prepareImage(readImage(image), { size: 64, shorterSide: 64, mean: [0, 0, 0], std: [1, 1, 1] });
    const lib = tidy(() => Array.from(gradCam(model, prepared.input, { target: 1, layer: 'backbone' }).map.values()));
    prepared.input.dispose();
    expect(cli.shape).toEqual([16, 16]);
    expect(Array.from(cli.data as Float32Array)).toEqual(lib);
  });

  it('is refused by evaluate in one line', async () => {
    await refused(/evaluate: .*faster_rcnn_opset11\.onnx is a detection model/, 'evaluate', '--model', DETECTOR, '--n', '2');
  });

  it('runs every method that applies (the many-pass ones item by item) and names the ones it skips', async () => {
    const r = await run('explain', '--method', 'all', '--model', DETECTOR, '--image', image, '--out', tmpOut());
    expect(r.err).not.toMatch(/gradlens:/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ig \(/m);
    expect(r.out).toMatch(/^scorecam \(/m);
    for (const m of ['deeplift', 'layer-ig', 'layer-conductance'])
      expect(r.out).toMatch(new RegExp(`^skipping ${m}: .*this model runs each picture through its graph alone`, 'm'));
    expect(r.out).toMatch(/^skipping lrp: LRP's rules are a classifier's/m);
  });
});

describe('gradlens explain --model <file.onnx>', () => {
  it('explains with the ImageNet transform at --size and names classes from the metadata; the map is the library’s', async () => {
    const out = tmpOut();
    const r = await run('explain', '--method', 'gradcam', '--model', TINY, '--image', image, '--size', '40', '--out', out, '--raw');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/tiny_classes\.onnx: explaining class \d+ \((cat|dog|bird)\)/);
    expect(r.out).toContain('CAM layer features');
    const cli = readNpy(path.join(out, 'gradcam.npy'));
    const model = loadOnnx(TINY, { inputShape: [1, 3, 40, 40] });
    const prepared = prepareImage(readImage(image), { size: 40, mean: IMAGENET_MEAN, std: IMAGENET_STD });
    const target = Number(/explaining class (\d+)/.exec(r.out)![1]);
    const lib = Array.from(tidy(() => Array.from(gradCam(model, prepared.input, { target, layer: 'features' }).map.values())));
    prepared.input.dispose();
    expect(cli.shape).toEqual([20, 20]);
    expect(Array.from(cli.data as Float32Array)).toEqual(lib);
  });

  it('takes a class name from the metadata as --target, with --no-normalize and --reference', async () => {
    const out = tmpOut();
    const r = await run(
      'explain',
      '--method',
      'vanilla',
      '--model',
      TINY,
      '--image',
      image,
      '--target',
      'dog',
      '--no-normalize',
      '--reference',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain('explaining class 1 (dog)');
  });

  it('checks the arguments before anything is written: an unknown class name, an unknown layer', async () => {
    const out = tmpOut();
    await refused(
      /'fish' is not a class.*cat, dog, bird/,
      'explain',
      '--method',
      'gradcam',
      '--model',
      TINY,
      '--image',
      image,
      '--target',
      'fish',
      '--out',
      out,
    );
    await refused(
      /no layer named 'layer4' in .*tiny_classes\.onnx.*features\.0/,
      'explain',
      '--method',
      'gradcam',
      '--model',
      TINY,
      '--image',
      image,
      '--layer',
      'layer4',
      '--out',
      out,
    );
    expect(fs.existsSync(out)).toBe(false);
  });

  it('feeds a fixed-size model at its own size and runs many-pass methods in batches on it', async () => {
    const out = tmpOut();
    const r = await run(
      'explain',
      '--method',
      'gradcam,smoothgrad',
      '--model',
      path.join(FIXTURES, 'resnet50.onnx'),
      '--image',
      image,
      '--samples',
      '3',
      '--batch-size',
      '2',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain('CAM layer layer4');
    expect(r.out).toMatch(/smoothgrad/i);
  });

  it('refuses, in one line: --weights, a missing file, --size against a fixed side, channels-last input, --arch with a file', async () => {
    const out = tmpOut();
    const base = ['explain', '--method', 'gradcam', '--image', image, '--out', out];
    await refused(/--weights does not apply to an ONNX model/, ...base, '--model', TINY, '--weights', 'w.pth');
    await refused(/ONNX model not found: .*none\.onnx/, ...base, '--model', path.join(dir, 'none.onnx'));
    await refused(
      /--size 32 differs from the model's fixed input side 64/,
      ...base,
      '--model',
      path.join(FIXTURES, 'resnet50.onnx'),
      '--size',
      '32',
    );
    await refused(/is an ONNX file: use --model/, ...base, '--arch', TINY);
    const bad = path.join(dir, 'bad.onnx');
    fs.writeFileSync(bad, 'not a model');
    await refused(/cannot load the ONNX model .*bad\.onnx: not an ONNX model/, ...base, '--model', bad);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('grayscale and channels-last ONNX models (loaded with pictureInput)', () => {
  it("explains a grayscale model on the pictures' luma with --mean/--std, as the library does, and says so", async () => {
    const out = tmpOut();
    const file = path.join(FIXTURES, 'tiny_gray.onnx');
    const argv = ['explain', '--method', 'vanilla', '--model', file, '--image', image, '--size', '12', '--out', out, '--raw'];
    const r = await run(...argv, '--mean', '0.5', '--std', '0.25');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^note: tiny_gray\.onnx takes \[1, 1, 12, 12\]: it is fed each picture's luma \(ITU-R 601-2/);
    const target = Number(/explaining class (\d+)/.exec(r.out)![1]);
    const model = loadOnnx(file, { pictureInput: true, inputShape: [1, 1, 12, 12] });
    const prepared = prepareImage(readImage(image), { size: 12, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
    const lib = tidy(() => Array.from(vanillaGradient(model, prepared.input, { target }).attribution.values()));
    prepared.input.dispose();
    const cli = readNpy(path.join(out, 'vanilla.npy'));
    expect(cli.shape).toEqual([3, 12, 12]);
    expect(Array.from(cli.data as Float32Array)).toEqual(lib);
  });

  it('explains a Keras-style channels-last model (tf2onnx), Grad-CAM on its tf2onnx layer name, as the library does', async () => {
    const out = tmpOut();
    const file = path.join(FIXTURES, 'tf2onnx_names.onnx');
    const r = await run('explain', '--method', 'gradcam', '--model', file, '--image', image, '--layer', 'conv2d_1', '--out', out, '--raw');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^note: tf2onnx_names\.onnx takes \[1, 16, 16, 3\]: it is fed each RGB picture, channels last/);
    const target = Number(/explaining class (\d+)/.exec(r.out)![1]);
    const model = loadOnnx(file, { pictureInput: true });
    const prepared = prepareImage(readImage(image), { size: 16, mean: IMAGENET_MEAN, std: IMAGENET_STD });
    const lib = tidy(() => Array.from(gradCam(model, prepared.input, { target, layer: 'conv2d_1' }).map.values()));
    prepared.input.dispose();
    const cli = readNpy(path.join(out, 'gradcam.npy'));
    expect(Array.from(cli.data as Float32Array)).toEqual(lib);
  });

  it('refuses bad --mean/--std in one line, and three means for a grayscale model', async () => {
    const base = ['explain', '--method', 'vanilla', '--image', image, '--out', tmpOut(), '--model'];
    await refused(/--mean takes one number or three \(R,G,B\) separated by commas, got '0.1,0.2'/, ...base, TINY, '--mean', '0.1,0.2');
    await refused(/--mean takes one number or three/, ...base, TINY, '--mean', 'x');
    await refused(/--std values must be positive, got '0,1,1'/, ...base, TINY, '--std', '0,1,1');
    // checked before any weights are read: a missing weights file is not reached
    const arch = ['explain', '--method', 'vanilla', '--image', image, '--out', tmpOut(), '--arch', 'resnet18'];
    await refused(/--mean takes one number or three/, ...arch, '--weights', path.join(dir, 'absent.pth'), '--mean', '1,2');
    await refused(
      /tiny_gray\.onnx takes grayscale pictures \(their luma\): give --mean and --std one value each/,
      ...base,
      path.join(FIXTURES, 'tiny_gray.onnx'),
      '--mean',
      '0.4,0.5,0.6',
    );
  });
});

describe('exports users bring (packages/onnx/test/fixtures/wild, scripts/make-onnx-wild-fixtures.py)', () => {
  const WILD = path.join(FIXTURES, 'wild');

  it.each(['cnn_opset9', 'cnn_external', 'cnn_fp16', 'cnn_dynhw'])(
    '%s: Grad-CAM at the default layer block2, the library’s map',
    async (name) => {
      const out = tmpOut();
      const file = path.join(WILD, `${name}.onnx`);
      const r = await run('explain', '--method', 'gradcam', '--model', file, '--image', image, '--size', '10', '--out', out, '--raw');
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toContain('CAM layer block2');
      const target = Number(/explaining class (\d+)/.exec(r.out)![1]);
      const model = loadOnnx(file, { inputShape: [1, 3, 10, 10] });
      const prepared = prepareImage(readImage(image), { size: 10, mean: IMAGENET_MEAN, std: IMAGENET_STD });
      const lib = tidy(() => Array.from(gradCam(model, prepared.input, { target, layer: 'block2' }).map.values()));
      prepared.input.dispose();
      const cli = readNpy(path.join(out, 'gradcam.npy'));
      expect(cli.shape).toEqual([5, 5]);
      expect(Array.from(cli.data as Float32Array)).toEqual(lib);
    },
  );

  it('refuses in one line, saying why, the inputs the CLI cannot feed a picture to', async () => {
    const base = ['explain', '--method', 'gradcam', '--image', image, '--out', tmpOut(), '--model'];
    const wild = (name: string) => path.join(WILD, `${name}.onnx`);
    await refused(/two_in\.onnx: the graph has 2 inputs \(image, extra\); a gradlens model takes one/, ...base, wild('two_in'));
    await refused(/two_out\.onnx: the graph has 2 outputs \(\w+, \w+\); a gradlens model gives one/, ...base, wild('two_out'));
    await refused(
      /mlp\.onnx: the model's input is \[2, 10\]; the CLI feeds pictures as \[1, C, H, W\] or \[1, H, W, C\]/,
      ...base,
      wild('mlp'),
    );
    await refused(/seq1d\.onnx: the model's input is \[1, 4, 20\]/, ...base, wild('seq1d'));
    await refused(
      /four_channels\.onnx: the model's input \[1, 4, 8, 8\] is not a picture of 1 or 3 channels/,
      ...base,
      path.join(FIXTURES, 'four_channels.onnx'),
    );
  });

  it('feeds a fixed non-square input [1, 3, 8, 10] at its height × width: the map is 8 × 10, the picture covered and centre-cropped', async () => {
    const out = tmpOut();
    const file = path.join(WILD, 'fops_opset17.onnx');
    const r = await run('explain', '--method', 'vanilla', '--model', file, '--image', image, '--out', out, '--raw', '--target', '0');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const cli = readNpy(path.join(out, 'vanilla.npy'));
    expect(cli.shape).toEqual([3, 8, 10]);
    const picture = readImage(path.join(out, `${path.basename(image, '.png')}_Vanilla_BP_gray.png`));
    expect([picture.width, picture.height]).toEqual([10, 8]);
    // the same input as the library's transform gives: cover round(8·256/224) × round(10·256/224) = 9 × 11, crop 8 × 10
    const prepared = prepareImage(readImage(image), { size: 8, height: 8, width: 10, mean: IMAGENET_MEAN, std: IMAGENET_STD });
    expect(prepared.input.shape).toEqual([1, 3, 8, 10]);
    prepared.input.dispose();
    // channels last and not square: [1, 9, 7, 3] fed the 9 × 7 picture transposed
    const nhwc = await run(
      'explain',
      '--method',
      'vanilla',
      '--model',
      path.join(WILD, 'nhwc.onnx'),
      '--image',
      image,
      '--out',
      tmpOut(),
      '--raw',
    );
    expect(nhwc.code).toBe(0);
    expect(nhwc.err).toMatch(/^note: nhwc\.onnx takes \[1, 9, 7, 3\]: it is fed each RGB picture, channels last/);
    const base = ['explain', '--method', 'gradcam', '--image', image, '--out', tmpOut(), '--model'];
    await refused(/fops_opset17\.onnx: --size 8 differs from the model's fixed input size 8x10/, ...base, file, '--size', '8');
  });

  it('names the training-mode BatchNormalization of a training=PRESERVE export', async () => {
    const r = await run(
      'explain',
      '--method',
      'gradcam',
      '--image',
      image,
      '--out',
      tmpOut(),
      '--model',
      path.join(WILD, 'cnn_preserve_train.onnx'),
    );
    expect(r.code).not.toBe(0);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/BatchNormalization in training mode is not supported \(export the model in eval mode\)/);
  });
});

describe('an ONNX model without a default CAM layer (wrapped_net.onnx: its one top-level module gives logits)', () => {
  const WRAPPED = path.join(FIXTURES, 'wrapped_net.onnx');

  it('runs gradient methods, runs CAM methods at a named --layer, and asks for --layer otherwise', async () => {
    const out = tmpOut();
    const vanilla = await run('explain', '--method', 'vanilla', '--model', WRAPPED, '--image', image, '--out', out);
    expect(vanilla.err).toBe('');
    expect(vanilla.code).toBe(0);
    const named = await run(
      'explain',
      '--method',
      'gradcam',
      '--model',
      WRAPPED,
      '--layer',
      'net.features',
      '--image',
      image,
      '--out',
      tmpOut(),
    );
    expect(named.code).toBe(0);
    expect(named.out).toContain('CAM layer net.features');
    await refused(
      /^gradlens: explain: .*wrapped_net\.onnx has no default CAM layer \(no top-level module gives a 4-D map larger than 1×1; see gradlens layers\); give --layer/,
      'explain',
      '--method',
      'gradcam',
      '--model',
      WRAPPED,
      '--image',
      image,
      '--out',
      tmpOut(),
    );
    await refused(
      /evaluate: .*wrapped_net\.onnx has no default CAM layer/,
      'evaluate',
      '--methods',
      'gradcam',
      '--model',
      WRAPPED,
      '--n',
      '2',
    );
  });

  it('lists its layers and says it has no default CAM layer', async () => {
    const r = await run('layers', '--model', WRAPPED);
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      'wrapped_net.onnx, input [1, 3, 32, 32]; default CAM layer: none (no top-level module gives a 4-D map larger than 1×1; give --layer)',
    );
    expect(r.out).toMatch(/net\.features\s/);
  });
});

describe('gradlens layers / evaluate --model <file.onnx>', () => {
  it('lists the torch module paths at --size, with the default CAM layer', async () => {
    const r = await run('layers', '--model', TINY, '--size', '48');
    expect(r.code).toBe(0);
    expect(r.out).toContain('tiny_classes.onnx, input [1, 3, 48, 48]; default CAM layer: features');
    expect(r.out).toMatch(/features\.2\s.*\[1, 6, 24, 24\]/);
    expect(r.out).toMatch(/\bfc\b/);
  });

  it('scores a method on the samples', async () => {
    const out = tmpOut();
    const r = await run(
      'evaluate',
      '--model',
      TINY,
      '--methods',
      'gradcam',
      '--metrics',
      'deletion',
      '--target',
      'top1',
      '--n',
      '2',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    const json = JSON.parse(fs.readFileSync(path.join(out, 'evaluation.json'), 'utf8')) as { model: string; layer: string };
    expect(json.model).toBe('tiny_classes.onnx');
    expect(json.layer).toBe('features');
  });
});

describe('the CLI’s input shape for an ONNX model', () => {
  it('resolves dynamic dims with --size (N or HxW) or 224 in the graph’s layout, takes fixed non-square ones and refuses inputs that are not pictures', () => {
    expect(isOnnxFile('m.ONNX')).toBe(true);
    expect(isOnnxFile('gapnet')).toBe(false);
    expect(cliInputShape('m', ['batch', 3, 'h', 'w'], undefined)).toEqual([1, 3, 224, 224]);
    expect(cliInputShape('m', ['batch', 3, 'h', 'w'], 96)).toEqual([1, 3, 96, 96]);
    expect(cliInputShape('m', [1, 3, 299, 299], undefined)).toEqual([1, 3, 299, 299]);
    expect(cliInputShape('m', ['n', '?', 'h', 'w'], 32)).toEqual([1, 3, 32, 32]);
    // grayscale and channels-last graphs in their own layout (the model adapts RGB pictures to it)
    expect(cliInputShape('m', [1, 1, 28, 28], undefined)).toEqual([1, 1, 28, 28]);
    expect(cliInputShape('m', ['n', 'h', 'w', 3], 64)).toEqual([1, 64, 64, 3]);
    expect(cliInputShape('m', ['n', 28, 28, 1], undefined)).toEqual([1, 28, 28, 1]);
    expect(cliInputShape('m', [1, 224, 160, 3], undefined)).toEqual([1, 224, 160, 3]);
    expect(() => cliInputShape('m', [1, 4, 32, 32], undefined)).toThrow(/is not a picture of 1 or 3 channels/);
    expect(cliInputShape('m', [1, 3, 224, 160], undefined)).toEqual([1, 3, 224, 160]);
    expect(cliInputShape('m', [1, 3, 224, 160], [224, 160])).toEqual([1, 3, 224, 160]);
    expect(cliInputShape('m', ['n', 3, 'h', 'w'], [32, 48])).toEqual([1, 3, 32, 48]);
    expect(() => cliInputShape('m', [1, 3, 224, 160], 224)).toThrow(/--size 224 differs from the model's fixed input size 224x160/);
    expect(() => cliInputShape('m', [1, 3, 224, 224], [224, 160])).toThrow(/--size 224x160 differs from the model's fixed input side 224/);
    expect(() => cliInputShape('m', [8, 3, 224, 224], undefined)).toThrow(/fixed batch of 8/);
    expect(() => cliInputShape('m', ['n', 3], undefined)).toThrow(/the CLI feeds pictures as \[1, C, H, W\] or \[1, H, W, C\]/);
  });
});
