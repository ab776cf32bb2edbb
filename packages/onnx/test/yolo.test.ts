import * as fs from 'fs';
import * as path from 'path';
import { cat, record, Tensor, tidy } from '@gradlens/tensor';
import { disposeResult, gradCam, occlusion, vanillaGradient } from '@gradlens/explain';
import { imageToTensor, letterbox, readImage, readNpy, unletterboxBox } from '@gradlens/io';
import { decodeYolo, isYoloMetadata, loadOnnx, yoloDetections, yoloLayout, yoloLevel, yoloLevelLayer, yoloTarget } from '@gradlens/onnx';
import type { YoloDetection } from '@gradlens/onnx';
import { relError } from './op-harness';

// Small YOLO-like networks exported in Ultralytics' exact layouts with its metadata (scripts/make-onnx-yolo-fixtures.py):
// YOLOv8 ([1, 4 + C, A], DFL box head, strides 8/16/32) and YOLOv5 ([1, A, 5 + C], anchor head, strides 8/16), 64×64,
// 3 classes. Goldens: Ultralytics' postprocess written with torchvision.ops.nms, the letterbox with PIL's bilinear,
// and autograd's gradient of detection 0's score.
const FIXTURES = path.join(__dirname, 'fixtures', 'yolo');
const file = (name: string): string => path.join(FIXTURES, name);

interface Golden {
  output_shape: number[];
  output: number[];
  detections: (YoloDetection & { original: number[] })[];
  detections_iou_0_3: YoloDetection[];
  letterbox: { gain: number; left: number; top: number; width: number; height: number };
}

const golden = (name: string): Golden => JSON.parse(fs.readFileSync(file(`${name}.json`), 'utf8')) as Golden;

/** The letterboxed fixture picture as the model's input [1, 3, 64, 64] and its geometry. */
function input() {
  const { picture, geometry } = letterbox(readImage(file('picture.png')), 64);
  const t = imageToTensor(picture);
  return { x: new Tensor(t.data, [1, 3, 64, 64], 'float32'), picture, geometry };
}

/** Detections agree: same anchors and classes in the same order, scores and boxes to float32 rounding. */
function expectSame(got: readonly YoloDetection[], want: readonly YoloDetection[], boxTol = 1e-4): void {
  expect(got.map((d) => [d.anchor, d.cls])).toEqual(want.map((d) => [d.anchor, d.cls]));
  got.forEach((d, i) => {
    expect(Math.abs(d.score - want[i]!.score)).toBeLessThan(1e-5);
    d.box.forEach((v, j) => expect(Math.abs(v - want[i]!.box[j]!)).toBeLessThan(boxTol));
  });
}

describe('letterbox', () => {
  it('equals the script’s (Ultralytics’ LetterBox with PIL’s bilinear) exactly, and its geometry', () => {
    const { picture, geometry } = input();
    const want = readImage(file('letterbox.png'));
    expect(picture.width).toBe(64);
    expect(Buffer.from(picture.data).equals(Buffer.from(want.data))).toBe(true);
    const g = golden('yolov8').letterbox;
    expect([geometry.gain, geometry.left, geometry.top, geometry.width, geometry.height]).toEqual([
      g.gain,
      g.left,
      g.top,
      g.width,
      g.height,
    ]);
    // the padding is Ultralytics' grey
    expect(Array.from(picture.data.subarray(0, 3))).toEqual([114, 114, 114]);
  });

  it('maps a box back as scale_boxes: padding off, divided by the gain, clipped', () => {
    const { geometry } = input();
    expect(unletterboxBox([-5, 13, 32, 64], geometry)).toEqual([0, 0, 40, 48]);
  });
});

describe.each(['yolov8', 'yolov5'])('%s', (name) => {
  const g = golden(name);
  const model = loadOnnx(file(`${name}.onnx`), { itemwise: isYoloMetadata });
  const layout = yoloLayout(model.metadata, g.output_shape)!;

  it('is recognised from its metadata, with its class names', () => {
    expect(layout).toEqual({
      format: name === 'yolov8' ? 'v8' : 'v5',
      classes: 3,
      anchors: name === 'yolov8' ? 84 : 240,
      names: ['person', 'bicycle', "dog's toy"],
      maxStride: name === 'yolov8' ? 32 : 16,
    });
    // the grids the anchors run over, and the layer each is read at (the last top-level module on that grid)
    const last = layout.anchors - 1;
    expect(yoloLevel(layout, 0, [1, 3, 64, 64])).toEqual({ stride: 8, rows: 8, cols: 8 });
    expect(yoloLevel(layout, last, [1, 3, 64, 64])).toEqual(
      name === 'yolov8' ? { stride: 32, rows: 2, cols: 2 } : { stride: 16, rows: 4, cols: 4 },
    );
    // YOLOv8's: the neck's last module on each grid (model.14 / 17 / 20, as yolov8.yaml's 15 / 18 / 21)
    expect(yoloLevelLayer(model, layout, 0, [1, 3, 64, 64])).toBe(name === 'yolov8' ? 'model.14' : 'model.2');
    expect(yoloLevelLayer(model, layout, 64, [1, 3, 64, 64])).toBe(name === 'yolov8' ? 'model.17' : 'model.2');
    expect(yoloLevelLayer(model, layout, last, [1, 3, 64, 64])).toBe(name === 'yolov8' ? 'model.20' : 'model.3');
  });

  it('gives PyTorch’s output and Ultralytics’ detections after NMS, boxes in the picture too', () => {
    const { x, geometry } = input();
    const out = tidy(() => Array.from(model.call(x).dataSync()));
    expect(relError(out, g.output)).toBeLessThan(1e-5);
    const dets = yoloDetections(model, x, layout, { geometry });
    expect(dets.length).toBeGreaterThan(10);
    expectSame(dets, g.detections);
    dets.forEach((d, i) => d.original!.forEach((v, j) => expect(Math.abs(v - g.detections[i]!.original[j]!)).toBeLessThan(2e-4)));
    // NMS has work to do at a lower IoU (the golden made by torchvision.ops.nms at 0.3)
    const tight = decodeYolo(g.output, layout, { iou: 0.3 });
    expect(tight.length).toBeLessThan(dets.length);
    expectSame(tight, g.detections_iou_0_3);
    expect(decodeYolo(g.output, layout, { maxDet: 2 })).toHaveLength(2);
    expect(decodeYolo(g.output, layout, { conf: 0.99 })).toEqual([]);
    x.dispose();
  });

  it('runs a batch item by item (the graph reshapes to a batch of one)', () => {
    expect(model.itemwise).toBe(true);
    const { x } = input();
    tidy(() => {
      const one = model.call(x).dataSync();
      const two = model.call(cat([x, x], 0));
      expect(two.shape).toEqual([2, ...g.output_shape.slice(1)]);
      expect(Array.from(two.dataSync().subarray(one.length))).toEqual(Array.from(one));
    });
    x.dispose();
  });

  it('gives autograd’s gradient of detection 0’s score (v5: objectness × class) through yoloTarget', () => {
    const { x } = input();
    const d = g.detections[0]!;
    tidy(() => {
      const { output, tape } = record(() => yoloTarget(layout, d)(model.call(x)));
      expect(Math.abs(output.item() - d.score)).toBeLessThan(1e-5);
      const [grad] = tape.grad(output, [x]);
      expect(relError(grad!.values(), readNpy(file(`${name}.gradient.npy`)).data as Float32Array)).toBeLessThan(1e-4);
      tape.dispose();
    });
    // every method takes it as its target: the vanilla gradient is the same, Grad-CAM and occlusion run
    const target = yoloTarget(layout, d);
    const v = vanillaGradient(model, x, { target });
    expect(v.scores[0]).toBeCloseTo(d.score, 5);
    expect(relError(v.attribution.dataSync(), readNpy(file(`${name}.gradient.npy`)).data as Float32Array)).toBeLessThan(1e-4);
    disposeResult(v);
    const cam = gradCam(model, x, { layer: yoloLevelLayer(model, layout, d.anchor, x.shape)!, target });
    // detection 0 lies on stride 16 (v8: anchor 68, a 4×4 grid; its layer model.17) or 8 (v5: anchor 119, 8×8,
    // model.2): its grid's layer gives a map that is not blank
    expect(cam.map.shape).toEqual(name === 'yolov8' ? [1, 4, 4] : [1, 8, 8]);
    expect(Math.max(...cam.map.dataSync())).toBeGreaterThan(0);
    disposeResult(cam);
    const occ = occlusion(model, x, { target, window: 16, stride: 16 });
    // the occluder over the detection's box lowers its score somewhere
    expect(Array.from(occ.map.dataSync()).every(Number.isFinite)).toBe(true);
    expect(Math.max(...occ.grid.dataSync())).toBeGreaterThan(0);
    disposeResult(occ);
    x.dispose();
  });
});

describe('yoloLayout refuses or ignores in one line', () => {
  it.each([
    [
      'task detect, output not [1, 4 + C, A]',
      { task: 'detect', names: "{0: 'a', 1: 'b'}" },
      [1, 84, 8400],
      /output is \[1, 84, 8400\], not \[1, 4 \+ 2, anchors\]/,
    ],
  ])('%s', (_what, meta, shape, message) => {
    expect(() => yoloLayout(meta, shape)).toThrow(message);
  });

  it('decides nothing from the shape alone, nor for other tasks', () => {
    expect(yoloLayout({}, [1, 84, 8400])).toBeNull();
    expect(yoloLayout({ task: 'classify', names: "{0: 'a'}" }, [1, 1])).toBeNull();
    // v5 metadata with an output that does not fit its names is not a YOLOv5 export
    expect(yoloLayout({ stride: '32', names: "{0: 'a'}" }, [1, 10, 7])).toBeNull();
    expect(yoloLayout({ task: 'detect' }, [1, 84, 8400])).toMatchObject({
      format: 'v8',
      classes: 80,
      anchors: 8400,
      names: null,
      maxStride: 32,
    });
    // YOLOv8n at 640: 80² + 40² + 20² anchors
    expect(yoloLevel(yoloLayout({ task: 'detect' }, [1, 84, 8400])!, 6400, [1, 3, 640, 640])).toEqual({ stride: 16, rows: 40, cols: 40 });
  });

  it('yoloTarget checks the anchor and class, and the output it is given', () => {
    const layout = yoloLayout({ task: 'detect' }, [1, 7, 84])!;
    expect(() => yoloTarget(layout, { anchor: 84, cls: 0 })).toThrow(/anchor 84/);
    expect(() => yoloTarget(layout, { anchor: 0, cls: 0 })(new Tensor(new Float32Array(10), [1, 10], 'float32'))).toThrow(
      /needs the YOLO output \[1, 7, 84\], got \[1, 10\]/,
    );
  });
});
