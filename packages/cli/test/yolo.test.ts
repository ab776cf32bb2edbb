import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { imageToTensor, letterbox, readImage, readNpy } from '@gradlens/io';
import { gradCam, vanillaGradient } from '@gradlens/explain';
import { isYoloMetadata, loadOnnx, yoloDetections, yoloLayout, yoloLevelLayer, yoloTarget } from '@gradlens/onnx';
import { record, Tensor, tidy } from '@gradlens/tensor';
import { runCli as run } from './fixtures';
import { modelOutput } from '../src/model-output';
import { refuseOtherYoloTasks, yoloDynamicSide, yoloSeed } from '../src/yolo';

// `--model <yolo.onnx>` end to end on the small Ultralytics-layout exports of scripts/make-onnx-yolo-fixtures.py
// (YOLOv8 [1, 7, 84] and YOLOv5 [1, 240, 8], 64×64, 3 classes) and their 80×48 picture.
const FIXTURES = path.resolve(__dirname, '..', '..', 'onnx', 'test', 'fixtures', 'yolo');
const file = (name: string): string => path.join(FIXTURES, name);
const PICTURE = file('picture.png');

interface Golden {
  detections: { anchor: number; cls: number; score: number; original: number[] }[];
}
const golden = (name: string): Golden => JSON.parse(fs.readFileSync(file(`${name}.json`), 'utf8')) as Golden;

function tmpOut(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-yolo-cli-')), 'out');
}

/** The library's way: the model, its layout, the letterboxed picture and detection k's target and layer. */
function library(name: string, k: number) {
  const model = loadOnnx(file(`${name}.onnx`), { itemwise: isYoloMetadata });
  const { picture } = letterbox(readImage(PICTURE), 64);
  const x = new Tensor(imageToTensor(picture).data, [1, 3, 64, 64], 'float32');
  const layout = yoloLayout(model.metadata, model.call(x).shape)!;
  const d = yoloDetections(model, x, layout)[k]!;
  return { model, x, target: yoloTarget(layout, d), layer: yoloLevelLayer(model, layout, d.anchor, x.shape)! };
}

/** The command fails with exit `code` and one line on stderr matching `message`. */
async function refused(code: number, message: RegExp, ...argv: string[]): Promise<void> {
  const r = await run(...argv);
  expect(r.code).toBe(code);
  expect(r.err.trim().split('\n')).toHaveLength(1);
  expect(r.err).toMatch(message);
}

describe('gradlens explain --model <an Ultralytics YOLO export.onnx>', () => {
  it('letterboxes the picture, lists the detections (boxes in the picture’s pixels), explains detection 0; the map is the library’s', async () => {
    const out = tmpOut();
    const r = await run('explain', '--method', 'gradcam', '--model', file('yolov8.onnx'), '--image', PICTURE, '--out', out, '--raw');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const g = golden('yolov8').detections;
    expect(r.out).toContain(
      `${g.length} detections (score > 0.25 after NMS; the 80×48 picture letterboxed into 64×64, boxes in its pixels):`,
    );
    const box = (d: Golden['detections'][number]) => d.original.map((v) => Math.round(v)).join(', ');
    expect(r.out).toContain(`  0: person (class 0), score ${g[0]!.score.toFixed(3)}, box [${box(g[0]!)}]`);
    expect(r.out).toContain(
      `  1: ${['person', 'bicycle', "dog's toy"][g[1]!.cls]} (class ${g[1]!.cls}), score ${g[1]!.score.toFixed(3)}, box [${box(g[1]!)}]`,
    );
    expect(r.out).toMatch(
      /yolov8\.onnx: explaining detection 0 \(person \(class 0\), score 0\.\d{3}, box \[.*\]\) \(the best\) of .*; CAM layer model\.17/,
    );
    const lib = library('yolov8', 0);
    const want = tidy(() => Array.from(gradCam(lib.model, lib.x, { target: lib.target, layer: lib.layer }).map.values()));
    const cli = readNpy(path.join(out, 'gradcam.npy'));
    expect(cli.shape).toEqual([4, 4]);
    expect(Array.from(cli.data as Float32Array)).toEqual(want);
    // drawn on the letterboxed picture the model saw (64×64, its grey bands included)
    const drawn = readImage(path.join(out, 'picture_Cam_On_Image.png'));
    expect([drawn.width, drawn.height]).toEqual([64, 64]);
  });

  it('explains YOLOv5’s detection k (objectness × class score) as --target k; the gradient is the library’s', async () => {
    const out = tmpOut();
    const r = await run(
      'explain',
      '--method',
      'vanilla',
      '--model',
      file('yolov5.onnx'),
      '--image',
      PICTURE,
      '--target',
      '3',
      '--out',
      out,
      '--raw',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/explaining detection 3 \(/);
    const lib = library('yolov5', 3);
    const want = tidy(() => Array.from(vanillaGradient(lib.model, lib.x, { target: lib.target }).attribution.values()));
    const cli = readNpy(path.join(out, 'vanilla.npy'));
    expect(Array.from(cli.data as Float32Array)).toEqual(want);
  });

  it('runs every method that applies and names the ones it skips', async () => {
    const r = await run(
      'explain',
      '--method',
      'all',
      '--model',
      file('yolov8.onnx'),
      '--image',
      PICTURE,
      '--out',
      tmpOut(),
      '--steps',
      '4',
      '--samples',
      '2',
      '--target',
      '5',
    );
    expect(r.err).not.toMatch(/gradlens:/);
    expect(r.code).toBe(0);
    for (const m of ['gradcam', 'scorecam', 'occlusion', 'ig', 'ablationcam']) expect(r.out).toMatch(new RegExp(`^${m} \\(`, 'm'));
    expect(r.out).toMatch(/^skipping cam: it needs class scores \[N, K\]; this model's output is \[1, 7, 84\] \(a YOLO model's/m);
    expect(r.out).toMatch(/^skipping lrp: .*YOLO model's SiLU/m);
    expect(r.out).toMatch(/^skipping guided: .*SiLU activations/m);
    expect(r.out).toMatch(/^skipping deeplift: .*runs each picture through its graph alone/m);
  }, 120000);

  it('gradlens layers names the stride-8 grid’s layer as the default CAM layer', async () => {
    const r = await run('layers', '--model', file('yolov8.onnx'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^yolov8\.onnx, input \[1, 3, 64, 64\]; default CAM layer: model\.14$/m);
  });

  it('refuses in one line: a --target beyond the detections, several, none detected; evaluate', async () => {
    const n = golden('yolov8').detections.length;
    await refused(
      2,
      new RegExp(`--target ${n}: .*picture\\.png has only ${n} detections \\(0…${n - 1}\\)`),
      'explain',
      '--method',
      'gradcam',
      '--model',
      file('yolov8.onnx'),
      '--image',
      PICTURE,
      '--target',
      String(n),
      '--out',
      tmpOut(),
    );
    await refused(
      2,
      /--target 1,2: give one detection/,
      'explain',
      '--method',
      'gradcam',
      '--model',
      file('yolov8.onnx'),
      '--image',
      PICTURE,
      '--target',
      '1,2',
      '--out',
      tmpOut(),
    );
    await refused(
      1,
      /the model detected nothing in .*picture\.png \(no score above 0\.25\)/,
      'explain',
      '--method',
      'gradcam',
      '--model',
      file('yolov5_none.onnx'),
      '--image',
      PICTURE,
      '--out',
      tmpOut(),
    );
    await refused(2, /evaluate: .*yolov8\.onnx is a detection model/, 'evaluate', '--model', file('yolov8.onnx'), '--n', '2');
  });
});

describe('the YOLO helpers the CLI and the page share', () => {
  it.each(['yolov8', 'yolov5'])(
    '%s: yoloSeed (the tape’s seed on the page) is the gradient of yoloTarget with respect to the output',
    (name) => {
      const lib = library(name, 2);
      const layout = yoloLayout(lib.model.metadata, lib.model.call(lib.x).shape)!;
      const d = yoloDetections(lib.model, lib.x, layout)[2]!;
      const seed = yoloSeed(layout, modelOutput(lib.model, lib.x), d);
      tidy(() => {
        let out: Tensor | null = null;
        const { output: score, tape } = record(() => yoloTarget(layout, d)((out = lib.model.call(lib.x))));
        const [g] = tape.grad(score, [out!]);
        expect(Array.from(seed)).toEqual(Array.from(g!.dataSync()));
        expect(seed.filter((v) => v !== 0).length).toBe(name === 'yolov8' ? 1 : 2);
        tape.dispose();
      });
    },
  );

  it('yoloDynamicSide: a dynamic YOLO export is fed at its imgsz; fixed inputs and other models keep theirs', () => {
    const dynamic = ['batch', 3, 'height', 'width'];
    expect(yoloDynamicSide({ metadata: { task: 'detect', imgsz: '[640, 640]' }, declaredInputShape: dynamic })).toBe(640);
    expect(yoloDynamicSide({ metadata: { task: 'detect', imgsz: '[640, 640]' }, declaredInputShape: [1, 3, 640, 640] })).toBeUndefined();
    expect(yoloDynamicSide({ metadata: { task: 'detect', imgsz: '[640, 480]' }, declaredInputShape: dynamic })).toBeUndefined();
    expect(yoloDynamicSide({ metadata: { imgsz: '[640, 640]' }, declaredInputShape: dynamic })).toBeUndefined();
  });

  it('refuses Ultralytics pose, oriented-box and segmentation exports in one line', () => {
    for (const task of ['pose', 'obb', 'segment'])
      expect(() => refuseOtherYoloTasks({ task, names: "{0: 'person'}" }, 'm.onnx')).toThrow(
        `m.onnx is an Ultralytics '${task}' model; gradlens explains YOLO detection models (task 'detect')`,
      );
    expect(() => refuseOtherYoloTasks({ task: 'detect', names: "{0: 'person'}" }, 'm.onnx')).not.toThrow();
  });
});
