import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { grad, numTensors, record, reshape, tensor, type Tensor } from '@gradlens/tensor';
import { imageToTensor } from '@gradlens/io';
import {
  batchedNms,
  BoxCoder,
  createDetectionModel,
  type DetectionOptions,
  type FasterRCNN,
  FrozenBatchNorm2d,
  loadWeights,
  toTensor,
} from '@gradlens/nn';
import { npzFixture, relError, reportErrors } from './parity';

/**
 * torchvision's fasterrcnn_resnet50_fpn, reduced (scripts/make-nn-detection-fixtures.py builds it from torchvision's
 * classes, random weights): its .pth loads with no renaming, and detect() gives torchvision's boxes, labels and
 * scores for two images of different sizes; the input gradient of the first detection's score matches autograd's.
 */
const DIR = path.join(__dirname, 'fixtures', 'detection');
const info = JSON.parse(fs.readFileSync(path.join(DIR, 'model.json'), 'utf8')) as {
  options: DetectionOptions;
  stateDictNames: string;
  numel: number;
  fullSize: [string, number[]][];
};
const { arr } = npzFixture(path.join(DIR, 'expected.npz'));
const PTH = path.join(DIR, 'fasterrcnn_resnet50_fpn.pth');

const asTensor = (key: string): Tensor => {
  const a = arr(key);
  return tensor(Float32Array.from(a.data as ArrayLike<number>), a.shape);
};
const ints = (key: string): number[] => Array.from(arr(key).data as ArrayLike<number>, Number);

function reduced(): FasterRCNN {
  return createDetectionModel('fasterrcnn_resnet50_fpn', { ...info.options, init: false });
}

function loaded(): FasterRCNN {
  const model = reduced();
  expect(loadWeights(model, PTH)).toEqual({ missingKeys: [], unexpectedKeys: [] });
  return model.eval();
}

test('the state dict has torchvision’s names (FrozenBatchNorm2d: no num_batches_tracked), reduced and full size', () => {
  const model = reduced();
  const sd = model.stateDict();
  expect(createHash('sha256').update(Object.keys(sd).sort().join('\n')).digest('hex')).toBe(info.stateDictNames);
  expect(Object.values(sd).reduce((n, t) => n + t.size, 0)).toBe(info.numel);
  expect(model.getModule('backbone.body.layer1.0.bn1')).toBeInstanceOf(FrozenBatchNorm2d);
  const full = createDetectionModel('fasterrcnn_resnet50_fpn', { init: false });
  const mine = Object.entries(full.stateDict()).map(([k, t]) => `${k} ${t.shape.join('x')}`);
  const theirs = info.fullSize.map(([k, s]) => `${k} ${s.join('x')}`);
  expect(mine.sort()).toEqual(theirs.sort());
  for (const t of Object.values(full.stateDict())) t.dispose();
});

test('detect() matches torchvision: boxes, labels, scores of two images of different sizes', () => {
  const model = loaded();
  const before = numTensors();
  const images = [asTensor('image0'), asTensor('image1')];
  const dets = model.detect(images);
  const errs: Record<string, number> = {};
  dets.forEach((d, i) => {
    expect(d.labels).toEqual(ints(`labels${i}`));
    errs[`boxes${i}`] = relError(d.boxes, arr(`boxes${i}`));
    const want = arr(`scores${i}`).data as ArrayLike<number>;
    const got = d.scores.dataSync();
    errs[`scores${i}`] = Math.max(...Array.from(want, (w, k) => Math.abs(got[k]! - w)));
  });
  reportErrors('fasterrcnn_resnet50_fpn vs torchvision', errs);
  expect(dets.map((d) => d.labels.length)).toEqual([ints('labels0').length, ints('labels1').length]);
  expect(ints('labels0').length).toBeGreaterThan(2);
  for (const [k, e] of Object.entries(errs)) expect([k, e]).toEqual([k, expect.any(Number)]);
  for (const [k, e] of Object.entries(errs)) expect(e).toBeLessThanOrEqual(k.startsWith('boxes') ? 1e-3 : 1e-4);
  for (const d of dets) (d.boxes.dispose(), d.scores.dispose());
  for (const t of images) t.dispose();
  expect(numTensors()).toBe(before);
});

test('the first detection’s score has torchvision’s input gradient (through RoIAlign, the FPN and the resize)', () => {
  const model = loaded();
  const before = numTensors();
  const images = [asTensor('image0'), asTensor('image1')];
  const [g0, g1] = grad((a, b) => model.detectionScore([a!, b!], 0, 0), images);
  const err = relError(g0!, arr('grad0'));
  reportErrors('fasterrcnn_resnet50_fpn score gradient', { image0: err });
  expect(err).toBeLessThanOrEqual(2e-3);
  // the other image's rois are not image 0's: no gradient reaches it
  expect(Math.max(...Array.from(g1!.dataSync(), Math.abs))).toBe(0);
  for (const t of [g0!, g1!, ...images]) t.dispose();
  expect(numTensors()).toBe(before);
});

test('a recorded detection carries torchvision’s module paths', () => {
  const model = loaded();
  const images = [asTensor('image0'), asTensor('image1')];
  const { output, tape } = record(() => model.detectionScore(images, 0));
  // both images padded to 128 × 160; layer4 at stride 32, 128 channels at width / 16
  expect(tape.activation('backbone.body.layer4').shape).toEqual([2, 128, 4, 5]);
  expect(tape.activation('backbone.fpn.layer_blocks.0').shape).toEqual([2, 16, 32, 40]);
  // the box head runs on every proposal of both images, as many as torchvision's RPN kept
  const proposals = ints('proposals').reduce((a, b) => a + b, 0);
  expect(tape.activation('roi_heads.box_head').shape).toEqual([proposals, 64]);
  expect(tape.activation('roi_heads.box_predictor.cls_score').shape).toEqual([proposals, 5]);
  expect(output.shape).toEqual([]);
  tape.dispose();
  for (const t of [output, ...images]) t.dispose();
});

test('a picture as ToTensor gives it, alone or in a batch [N, 3, H, W]; no detection above the threshold gives empty results', () => {
  const model = loaded();
  const none = createDetectionModel('fasterrcnn_resnet50_fpn', { ...info.options, init: false, boxScoreThresh: 1 });
  loadWeights(none, PTH);
  const before = numTensors();
  const raster = { width: 120, height: 100, channels: 3 as const, bitDepth: 8 as const, data: new Uint8Array(120 * 100 * 3) };
  const image0 = asTensor('image0');
  const v = image0.dataSync();
  for (let p = 0; p < 120 * 100; p++) for (let c = 0; c < 3; c++) raster.data[p * 3 + c] = Math.round(v[c * 120 * 100 + p]! * 255);
  const x = toTensor(imageToTensor(raster));
  expect(x.shape).toEqual([3, 100, 120]);
  const [one] = model.detect(x);
  const [listed] = model.detect([x]);
  expect(one!.labels.length).toBeGreaterThan(0);
  expect(one!.labels).toEqual(listed!.labels);
  expect(Array.from(one!.scores.dataSync())).toEqual(Array.from(listed!.scores.dataSync()));
  const batch = reshape(image0, [1, 3, 100, 120]);
  const batched = model.detect(batch);
  expect(batched).toHaveLength(1);
  expect(batched[0]!.labels).toEqual(ints('labels0'));
  const [empty] = none.eval().detect([image0]);
  expect([empty!.labels, empty!.boxes.shape, empty!.scores.shape]).toEqual([[], [0, 4], [0]]);
  for (const d of [one!, listed!, ...batched, empty!]) (d.boxes.dispose(), d.scores.dispose());
  for (const t of [x, batch, image0]) t.dispose();
  expect(numTensors()).toBe(before);
});

test.each(['nms_trick', 'nms_vanilla'])('batched_nms (%s path) keeps torchvision’s boxes in its order', (tag) => {
  const boxes = Float32Array.from(arr(`${tag}_boxes`).data as ArrayLike<number>);
  const scores = Float32Array.from(arr(`${tag}_scores`).data as ArrayLike<number>);
  expect(batchedNms(boxes, scores, ints(`${tag}_groups`), 0.5)).toEqual(ints(`${tag}_keep`));
});

test('BoxCoder decodes as torchvision’s, clamping width and height deltas at log(1000 / 16)', () => {
  const got = new BoxCoder([10, 10, 5, 5]).decode(
    arr('coder_deltas').data as ArrayLike<number>,
    arr('coder_refs').data as ArrayLike<number>,
  );
  const want = arr('coder_boxes').data as ArrayLike<number>;
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want[i]!))));
});

describe('bad input fails in one line', () => {
  test('a state dict key the model lacks, or of the wrong shape, is named', () => {
    const model = reduced();
    const sd = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, { shape: [...t.shape], data: t.dataSync() }]));
    expect(() => model.loadStateDict({ ...sd, 'roi_heads.box_head.fc8.weight': { shape: [1], data: new Float32Array(1) } })).toThrow(
      /^loadStateDict: unexpected keys: roi_heads\.box_head\.fc8\.weight$/,
    );
    const bad = { ...sd, 'rpn.head.cls_logits.bias': { shape: [4], data: new Float32Array(4) } };
    expect(() => model.loadStateDict(bad)).toThrow(
      /^loadStateDict: shape mismatches: rpn\.head\.cls_logits\.bias: checkpoint \[4\] vs model \[3\]$/,
    );
    const extra = { ...sd, 'backbone.body.bn1.num_batches_tracked': { shape: [], data: new Float32Array(1) } };
    expect(() => model.loadStateDict(extra)).toThrow(/unexpected keys: backbone\.body\.bn1\.num_batches_tracked$/);
  });

  test.each([
    [
      'a grey image',
      () => [tensor(new Float32Array(20 * 20), [1, 20, 20])],
      /^fasterrcnn_resnet50_fpn: image 0 must be \[3, H, W\], got \[1, 20, 20\]$/,
    ],
    ['no image', () => [], /^fasterrcnn_resnet50_fpn: no images given$/],
    [
      'a tensor of rank 2',
      () => tensor(new Float32Array(3 * 4), [3, 4]),
      /^fasterrcnn_resnet50_fpn: input must be an image \[3, H, W\], a batch \[N, 3, H, W\] or a list of images, got \[3, 4\]$/,
    ],
  ] as const)('%s', (_what, images, message) => {
    expect(() => loaded().detect(images())).toThrow(message);
  });

  test('training mode, a missing detection, and bad options', () => {
    const model = reduced();
    const x = [tensor(new Float32Array(3 * 40 * 40), [3, 40, 40])];
    expect(() => model.detect(x)).toThrow(/^fasterrcnn_resnet50_fpn: detection runs in eval mode only/);
    expect(() => model.eval().detectionScore(x, 500)).toThrow(/^fasterrcnn_resnet50_fpn: detection 500 of image 0 does not exist/);
    expect(() => createDetectionModel('fasterrcnn_resnet50_fpn', { init: false, minSize: 0 })).toThrow(
      /^fasterrcnn_resnet50_fpn: minSize must be a positive number, got 0$/,
    );
    expect(() => createDetectionModel('fasterrcnn_resnet50_fpm' as 'fasterrcnn_resnet50_fpn')).toThrow(
      /^createDetectionModel: unknown model 'fasterrcnn_resnet50_fpm'.*did you mean/,
    );
    expect(() => model.call(x[0]!)).toThrow(/use detect\(images\)/);
  });
});
