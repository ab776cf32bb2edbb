import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { grad, mul, numTensors, record, reshape, sum, tensor, tidy, type Tensor } from '@gradlens/tensor';
import { imageToTensor, type NdArray, writeSafetensors } from '@gradlens/io';
import {
  batchedNms,
  BoxCoder,
  createDetectionModel,
  type DetectionModelName,
  DetectionScores,
  detectionFileOptions,
  type DetectionOptions,
  type Detector,
  type FasterRCNN,
  FrozenBatchNorm2d,
  loadWeights,
  type MobileNetDetectionOptions,
  type RetinaNetOptions,
  roiAlign,
  toTensor,
} from '@gradlens/nn';
import { npzFixture, relError, reportErrors } from './parity';

/**
 * torchvision's Faster R-CNN detectors, reduced (scripts/make-nn-detection-fixtures.py builds them from torchvision's
 * classes, random weights): their .pth loads with no renaming, and detect() gives torchvision's boxes, labels and
 * scores for two images of different sizes; the input gradient of the first detection's score matches autograd's.
 */
const DIR = path.join(__dirname, 'fixtures', 'detection');
interface ModelInfo {
  options: DetectionOptions & MobileNetDetectionOptions & RetinaNetOptions;
  stateDictNames: string;
  numel: number;
  fullSize: [string, number[]][];
}
const models = JSON.parse(fs.readFileSync(path.join(DIR, 'models.json'), 'utf8')) as Record<DetectionModelName, ModelInfo>;
const common = npzFixture(path.join(DIR, 'common.npz')).arr;
const pth = (name: string) => path.join(DIR, `${name}.pth`);

const asTensor = (a: NdArray): Tensor => tensor(Float32Array.from(a.data as ArrayLike<number>), a.shape);
const ints = (a: NdArray): number[] => Array.from(a.data as ArrayLike<number>, Number);
const images = (): Tensor[] => [asTensor(common('image0')), asTensor(common('image1'))];

const build = (name: DetectionModelName, options: ModelInfo['options']): Detector =>
  createDetectionModel(name as 'fasterrcnn_resnet50_fpn', options as DetectionOptions);

function reduced(name: DetectionModelName = 'fasterrcnn_resnet50_fpn'): Detector {
  return build(name, { ...models[name].options, init: false });
}

function loaded(name: DetectionModelName = 'fasterrcnn_resnet50_fpn'): Detector {
  const model = reduced(name);
  expect(loadWeights(model, pth(name))).toEqual({ missingKeys: [], unexpectedKeys: [] });
  return model.eval();
}

const FROZEN: Record<string, string> = {
  fasterrcnn_resnet50_fpn: 'backbone.body.layer1.0.bn1',
  fasterrcnn_mobilenet_v3_large_fpn: 'backbone.body.1.block.0.1',
  retinanet_resnet50_fpn: 'backbone.body.layer2.0.downsample.1',
};

test('the fixture covers the detectors with their own backbones', () => {
  expect(Object.keys(models).sort()).toEqual(['fasterrcnn_mobilenet_v3_large_fpn', 'fasterrcnn_resnet50_fpn', 'retinanet_resnet50_fpn']);
});

describe.each(Object.keys(models) as DetectionModelName[])('%s (reduced)', (name) => {
  const info = models[name];
  const { arr } = npzFixture(path.join(DIR, `${name}.npz`));

  test('the state dict has torchvision’s names (FrozenBatchNorm2d: no num_batches_tracked), reduced and full size', () => {
    const model = reduced(name);
    const sd = model.stateDict();
    expect(createHash('sha256').update(Object.keys(sd).sort().join('\n')).digest('hex')).toBe(info.stateDictNames);
    expect(Object.values(sd).reduce((n, t) => n + t.size, 0)).toBe(info.numel);
    expect(model.getModule(FROZEN[name]!)).toBeInstanceOf(FrozenBatchNorm2d);
    const full = build(name, { init: false });
    const mine = Object.entries(full.stateDict()).map(([k, t]) => `${k} ${t.shape.join('x')}`);
    const theirs = info.fullSize.map(([k, s]) => `${k} ${s.join('x')}`);
    expect(mine.sort()).toEqual(theirs.sort());
    for (const t of Object.values(full.stateDict())) t.dispose();
  });

  test('detect() matches torchvision: boxes, labels, scores of two images of different sizes', () => {
    const model = loaded(name);
    const before = numTensors();
    const xs = images();
    const dets = model.detect(xs);
    const errs: Record<string, number> = {};
    dets.forEach((d, i) => {
      expect(d.labels).toEqual(ints(arr(`labels${i}`)));
      errs[`boxes${i}`] = relError(d.boxes, arr(`boxes${i}`));
      const want = arr(`scores${i}`).data as ArrayLike<number>;
      const got = d.scores.dataSync();
      errs[`scores${i}`] = Math.max(...Array.from(want, (w, k) => Math.abs(got[k]! - w)));
    });
    reportErrors(`${name} vs torchvision`, errs);
    expect(dets.map((d) => d.labels.length)).toEqual([ints(arr('labels0')).length, ints(arr('labels1')).length]);
    expect(ints(arr('labels0')).length).toBeGreaterThan(2);
    for (const [k, e] of Object.entries(errs)) expect(e).toBeLessThanOrEqual(k.startsWith('boxes') ? 1e-3 : 1e-4);
    for (const d of dets) (d.boxes.dispose(), d.scores.dispose());
    for (const t of xs) t.dispose();
    expect(numTensors()).toBe(before);
  });

  test('the first detection’s score has torchvision’s input gradient (through RoIAlign, the FPN and the resize)', () => {
    const model = loaded(name);
    const before = numTensors();
    const xs = images();
    const [g0, g1] = grad((a, b) => model.detectionScore([a!, b!], 0, 0), xs);
    const err = relError(g0!, arr('grad0'));
    reportErrors(`${name} score gradient`, { image0: err });
    expect(err).toBeLessThanOrEqual(1e-3);
    // the other image's rois are not image 0's: no gradient reaches it (torchvision's is 0 too: checked by the script)
    expect(Math.max(...Array.from(g1!.dataSync(), Math.abs))).toBe(0);
    for (const t of [g0!, g1!, ...xs]) t.dispose();
    expect(numTensors()).toBe(before);
  });
});

test('FrozenBatchNorm2d: four buffers, no parameters, running statistics in training mode too, eps as torchvision overwrites it', () => {
  const bn = new FrozenBatchNorm2d(2);
  expect(Object.keys(bn.stateDict()).sort()).toEqual(['bias', 'running_mean', 'running_var', 'weight']);
  expect(bn.parameters()).toEqual([]);
  bn.loadStateDict({ running_var: { shape: [2], data: new Float32Array([1e-6, 4]) } }, { strict: false });
  const x = tensor(new Float32Array([1, 1]), [1, 2, 1, 1]);
  const run = () => Array.from(bn.train().call(x).dataSync());
  const [a, b] = run();
  expect(a).toBeCloseTo(1 / Math.sqrt(1e-6 + 1e-5), 3);
  expect(b).toBeCloseTo(0.5, 5);
  expect(run()).toEqual([a, b]); // no running statistics updated
  bn.setEps(0);
  expect(run()[0]).toBeCloseTo(1000, 2);
  // torchvision's overwrite_eps(model, 0.0) for its COCO_V1 R-CNN weights
  const m = createDetectionModel('fasterrcnn_resnet50_fpn', {
    ...models.fasterrcnn_resnet50_fpn.options,
    init: false,
    frozenBatchNormEps: 0,
  });
  const frozen = m.namedModules().filter(([, k]) => k instanceof FrozenBatchNorm2d);
  expect(frozen.length).toBe(53);
  expect(frozen.every(([, k]) => (k as FrozenBatchNorm2d).eps === 0)).toBe(true);
  expect(() => bn.setEps(-1)).toThrow(/^FrozenBatchNorm2d: eps must be a finite number ≥ 0, got -1$/);
});

test('fasterrcnn_mobilenet_v3_large_320_fpn: the same model, with torchvision’s low-resolution settings', () => {
  const m = createDetectionModel('fasterrcnn_mobilenet_v3_large_320_fpn', { init: false });
  expect([m.transform.settings.minSize, m.transform.settings.maxSize]).toEqual([320, 640]);
  expect(m.rpn.settings).toEqual({ preNmsTopN: 150, postNmsTopN: 150, nmsThresh: 0.7, scoreThresh: 0.05 });
  const full = createDetectionModel('fasterrcnn_mobilenet_v3_large_fpn', { init: false });
  expect([full.transform.settings.minSize, full.transform.settings.maxSize]).toEqual([800, 1333]);
  expect(full.rpn.settings).toEqual({ preNmsTopN: 1000, postNmsTopN: 1000, nmsThresh: 0.7, scoreThresh: 0 });
  const shapes = (x: FasterRCNN) => Object.entries(x.stateDict()).map(([k, t]) => `${k} ${t.shape.join('x')}`);
  expect(shapes(m)).toEqual(shapes(full));
  // 15 anchors per position (five sizes, three ratios) at each of '0', '1' and 'pool'
  expect(m.rpn.anchorGenerator.numAnchorsPerLocation()).toEqual([15, 15, 15]);
  expect(m.backbone.returnedMaps).toBe(2);
  for (const x of [m, full]) for (const t of Object.values(x.stateDict())) t.dispose();
});

test('a recorded detection carries torchvision’s module paths', () => {
  const model = loaded();
  const xs = images();
  const { output, tape } = record(() => model.detectionScore(xs, 0));
  // both images padded to 128 × 160; layer4 at stride 32, 128 channels at width / 16
  expect(tape.activation('backbone.body.layer4').shape).toEqual([2, 128, 4, 5]);
  expect(tape.activation('backbone.fpn.layer_blocks.0').shape).toEqual([2, 16, 32, 40]);
  // the box head runs on every proposal of both images, as many as torchvision's RPN kept
  const proposals = ints(npzFixture(path.join(DIR, 'fasterrcnn_resnet50_fpn.npz')).arr('proposals')).reduce((a, b) => a + b, 0);
  expect(tape.activation('roi_heads.box_head').shape).toEqual([proposals, 64]);
  expect(tape.activation('roi_heads.box_predictor.cls_score').shape).toEqual([proposals, 5]);
  expect(output.shape).toEqual([]);
  tape.dispose();
  for (const t of [output, ...xs]) t.dispose();
});

test('a picture as ToTensor gives it, alone or in a batch [N, 3, H, W]; no detection above the threshold gives empty results', () => {
  const model = loaded();
  const none = createDetectionModel('fasterrcnn_resnet50_fpn', {
    ...models.fasterrcnn_resnet50_fpn.options,
    init: false,
    boxScoreThresh: 1,
  });
  loadWeights(none, pth('fasterrcnn_resnet50_fpn'));
  const before = numTensors();
  const image0 = asTensor(common('image0'));
  const [, h, w] = image0.shape as [number, number, number];
  const raster = { width: w, height: h, channels: 3 as const, bitDepth: 8 as const, data: new Uint8Array(w * h * 3) };
  const v = image0.dataSync();
  for (let p = 0; p < w * h; p++) for (let c = 0; c < 3; c++) raster.data[p * 3 + c] = Math.round(v[c * w * h + p]! * 255);
  const x = toTensor(imageToTensor(raster));
  expect(x.shape).toEqual([3, h, w]);
  const [one] = model.detect(x);
  const [listed] = model.detect([x]);
  expect(one!.labels.length).toBeGreaterThan(0);
  expect(one!.labels).toEqual(listed!.labels);
  expect(Array.from(one!.scores.dataSync())).toEqual(Array.from(listed!.scores.dataSync()));
  const batch = reshape(image0, [1, 3, h, w]);
  const batched = model.detect(batch);
  expect(batched).toHaveLength(1);
  expect(batched[0]!.labels).toEqual(ints(npzFixture(path.join(DIR, 'fasterrcnn_resnet50_fpn.npz')).arr('labels0')));
  const [empty] = none.eval().detect([image0]);
  expect([empty!.labels, empty!.boxes.shape, empty!.scores.shape]).toEqual([[], [0, 4], [0]]);
  for (const d of [one!, listed!, ...batched, empty!]) (d.boxes.dispose(), d.scores.dispose());
  for (const t of [x, batch, image0]) t.dispose();
  expect(numTensors()).toBe(before);
});

test.each(['nms_trick', 'nms_vanilla'])('batched_nms (%s path) keeps torchvision’s boxes in its order', (tag) => {
  const boxes = Float32Array.from(common(`${tag}_boxes`).data as ArrayLike<number>);
  const scores = Float32Array.from(common(`${tag}_scores`).data as ArrayLike<number>);
  expect(batchedNms(boxes, scores, ints(common(`${tag}_groups`)), 0.5)).toEqual(ints(common(`${tag}_keep`)));
});

test.each([
  ['small rois on a large map', 'roi_small'],
  ['rois as large as the map', 'roi_large'],
])('roiAlign equals torchvision’s roi_align and its gradient (%s)', (_what, tag) => {
  const before = numTensors();
  const rois = Array.from(common(`${tag}_rois`).data as ArrayLike<number>);
  const count = rois.length / 5;
  const boxes = Array.from({ length: count }, (_, k) => rois.slice(5 * k + 1, 5 * k + 5)).flat();
  const batch = Array.from({ length: count }, (_, k) => rois[5 * k]!);
  const x = asTensor(common('roi_map'));
  const weights = asTensor(common(`${tag}_weights`));
  const options = { outputSize: [7, 7] as const, spatialScale: 0.5, samplingRatio: 2, aligned: false };
  // roiAlign leaves its intermediates to the caller's scope (the detectors' tidy, the ONNX runner's)
  const out = tidy(() => roiAlign(x, boxes, batch, options));
  const [g] = tidy(() => grad((m) => sum(mul(roiAlign(m!, boxes, batch, options), weights)), [x]));
  const errs = { out: relError(out, common(`${tag}_out`)), grad: relError(g!, common(`${tag}_grad`)) };
  reportErrors(`roiAlign ${tag}`, errs);
  expect(errs.out).toBeLessThanOrEqual(1e-5);
  expect(errs.grad).toBeLessThanOrEqual(1e-5);
  for (const t of [out, g!, x, weights]) t.dispose();
  expect(numTensors()).toBe(before);
});

test('BoxCoder decodes as torchvision’s, clamping width and height deltas at log(1000 / 16)', () => {
  const got = new BoxCoder([10, 10, 5, 5]).decode(
    common('coder_deltas').data as ArrayLike<number>,
    common('coder_refs').data as ArrayLike<number>,
  );
  const want = common('coder_boxes').data as ArrayLike<number>;
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want[i]!))));
});

test("a file with its frozen norms' batch counters (torchvision's untrained detectors use BatchNorm2d) loads the same", () => {
  const model = loaded();
  const entries: Record<string, NdArray> = {};
  for (const [k, t] of Object.entries(model.stateDict()))
    entries[k] = { dtype: 'float32', shape: [...t.shape], data: Float32Array.from(t.dataSync()) };
  for (const [p, m] of model.namedModules())
    if (m instanceof FrozenBatchNorm2d) entries[`${p}.num_batches_tracked`] = { dtype: 'int64', shape: [], data: new BigInt64Array([3n]) };
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-det-')), 'counted.safetensors');
  writeSafetensors(file, entries);
  const fresh = reduced();
  expect(loadWeights(fresh, file)).toEqual({ missingKeys: [], unexpectedKeys: [] });
  expect(Array.from(fresh.stateDict()['backbone.body.layer1.0.bn1.running_var']!.dataSync())).toEqual(
    Array.from(model.stateDict()['backbone.body.layer1.0.bn1.running_var']!.dataSync()),
  );
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
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
    // a frozen norm's batch counter (torchvision's untrained detectors use BatchNorm2d) is passed over; elsewhere it is unexpected
    const counted = { ...sd, 'backbone.body.bn1.num_batches_tracked': { shape: [], data: new Float32Array(1) } };
    expect(() => model.loadStateDict(counted)).not.toThrow();
    const extra = { ...sd, 'rpn.head.conv.0.0.num_batches_tracked': { shape: [], data: new Float32Array(1) } };
    expect(() => model.loadStateDict(extra)).toThrow(/unexpected keys: rpn\.head\.conv\.0\.0\.num_batches_tracked$/);
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

test('DetectionScores: a detector as a model of its detections’ scores, picture by picture, under the detector’s module paths', () => {
  const model = new DetectionScores(loaded());
  const xs = images();
  const before = numTensors();
  // two pictures of different sizes in one batch are not possible: each runs alone, as its own batch
  const [a, b] = xs as [Tensor, Tensor];
  const alone = model.detector.detect([a, b]);
  const rowsOf = (x: Tensor) => tidy(() => Array.from(model.call(reshape(x, [1, ...x.shape])).dataSync()));
  const row0 = rowsOf(a);
  expect(row0).toEqual(Array.from(alone[0]!.scores.dataSync()));
  expect(model.lastDetections.map((d) => d.label)).toEqual(alone[0]!.labels);
  expect(model.lastDetections.flatMap((d) => d.box)).toEqual(Array.from(alone[0]!.boxes.dataSync()));
  // a batch of two copies of image 1 (same size): both rows its scores
  const row1 = rowsOf(b);
  const two = tidy(() =>
    model.call(reshape(tensor(Array.from(b.dataSync()).concat(Array.from(b.dataSync())), [2, ...b.shape]), [2, ...b.shape])),
  );
  expect(two.shape).toEqual([2, row1.length]);
  expect(Array.from(two.dataSync())).toEqual([...row1, ...row1]);
  for (const d of alone) (d.boxes.dispose(), d.scores.dispose());
  two.dispose();
  expect(numTensors()).toBe(before);
  // the same module objects under the same paths, so CAM layers and recorded activations read as torchvision's
  expect(model.namedModules().map(([p]) => p)).toEqual(model.detector.namedModules().map(([p]) => p));
  const { output, tape } = record(() => model.call(reshape(a, [1, ...a.shape])));
  expect(tape.activation('backbone.body.layer4').shape[1]).toBe(128);
  tape.dispose();
  output.dispose();
  // eval mode passes to the detector (detect refuses training mode)
  model.train();
  expect(() => model.call(reshape(a, [1, ...a.shape]))).toThrow(/eval mode only/);
  model.eval();
  expect(() => model.call(a)).toThrow(/give pictures \[N, 3, H, W\] with values in \[0, 1\], got \[3, \d+, \d+\]/);
  for (const t of xs) t.dispose();
});

test('detectionFileOptions: the class count from a file’s head, eps 0 for torchvision’s published ResNet-50 COCO files', () => {
  const shape = (s: number[]) => ({ shape: s });
  expect(
    detectionFileOptions('fasterrcnn_resnet50_fpn', { 'roi_heads.box_predictor.cls_score.weight': shape([3, 1024]) }, 'x/mine.pth'),
  ).toEqual({
    numClasses: 3,
  });
  expect(
    detectionFileOptions(
      'retinanet_resnet50_fpn',
      { 'head.classification_head.cls_logits.weight': shape([819, 256, 3, 3]) },
      'retinanet_resnet50_fpn_coco-eeacb38b.pth',
    ),
  ).toEqual({ numClasses: 91, frozenBatchNormEps: 0 });
  expect(
    detectionFileOptions(
      'fasterrcnn_resnet50_fpn',
      { 'roi_heads.box_predictor.cls_score.weight': shape([91, 1024]) },
      '/w/fasterrcnn_resnet50_fpn_coco-258fb6c6.pth',
    ),
  ).toEqual({ numClasses: 91, frozenBatchNormEps: 0 });
  // the MobileNet files keep 1e-5; a head of no whole class count, or none, says nothing
  expect(detectionFileOptions('fasterrcnn_mobilenet_v3_large_fpn', {}, 'fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth')).toEqual({});
  expect(detectionFileOptions('retinanet_resnet50_fpn', { 'head.classification_head.cls_logits.weight': shape([10, 256, 3, 3]) })).toEqual(
    {},
  );
});
