import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { BrowserContext, Page } from 'playwright-core';
import { gradCam, guidedBackprop, segmentationTarget, vanillaGradient } from '@gradlens/explain';
import { imageToTensor, letterbox, readImage, writeImage } from '@gradlens/io';
import { archInputOptions, createModel, imageToInput, saveCheckpoint, SegmentationModel } from '@gradlens/nn';
import { isYoloMetadata, loadOnnx, yoloDetections, yoloLayout, yoloTarget } from '@gradlens/onnx';
import { Tensor } from '@gradlens/tensor';
import { startStaticServer } from '../../cli/src/commands/serve';
import type { StaticServer } from '../../cli/src/commands/serve';
import { detections } from '../../cli/src/detections';
import { predictedClasses } from '../../cli/src/map-targets';
import { modelOutput } from '../../cli/src/model-output';
import { seedStateDict } from '../../nn/test/segmentation-fixture';
import { DIST, ensureBuilt, expectClose, haveChromium, item0, launch, openPage, resultOf, run, SAMPLE } from './chromium-page';

/**
 * Models whose output is not class scores, on the page: a segmentation model from a safetensors file (its class count
 * and aux_classifier read from the file; the classes predicted on most pixels listed; a target a class's logits summed
 * over its predicted pixels) and an ONNX detection model (its detections listed; a target a detection's score). Their
 * maps equal the library's with the same targets.
 */
const maybe = haveChromium ? describe : describe.skip;

interface Row {
  kind: string;
  index: number;
  name: string;
  share?: number;
  pixels?: number;
  label?: number | null;
  score?: number;
  box?: number[] | null;
}

maybe('models whose output is a map or detections, on the page in chromium', () => {
  let server: StaticServer;
  let context: BrowserContext;
  let close: (() => Promise<void>) | undefined;
  let tmp: string;
  const errors: string[] = [];

  beforeAll(async () => {
    ensureBuilt();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-page-outputs-'));
    server = await startStaticServer(DIST, 0);
    ({ context, close } = await launch());
  }, 120000);
  afterAll(async () => {
    await close?.();
    await server?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Loads a file through the page's picker (the classes field left empty) and returns the prediction rows. */
  async function load(page: Page, file: string, arch: string, size: number | '', again = false): Promise<Row[]> {
    if (!again) await page.click('#setup details summary'); // a second load finds it open
    await run(page, 'window.gradlensPage.top = []');
    await page.selectOption('#arch-select', arch);
    await page.fill('#file-size', String(size));
    await page.fill('#file-classes', '');
    await page.setInputFiles('#model-file', file);
    await page.waitForFunction(
      `(window.gradlensPage.top.length > 0 && document.body.dataset.busy === '0') || /error/.test(document.getElementById('status').textContent)`,
      undefined,
      { timeout: 120000 },
    );
    return run<Row[]>(page, 'window.gradlensPage.top');
  }

  /** Runs the checked methods with the target picker at `target` ('' for the default) and returns their results. */
  async function runMethods(page: Page, methods: string[], target: string): Promise<Record<string, Awaited<ReturnType<typeof resultOf>>>> {
    await page.selectOption('#target-select', target);
    await run(page, `window.gradlensPage.results = {}`);
    await run(
      page,
      `document.querySelectorAll('#methods input').forEach((i) => { i.checked = ${JSON.stringify(methods)}.includes(i.value); })`,
    );
    await page.click('#run');
    const out: Record<string, Awaited<ReturnType<typeof resultOf>>> = {};
    for (const m of methods) out[m] = await resultOf(page, m);
    return out;
  }

  test('a segmentation model from safetensors: classes by pixels, a class over its predicted pixels as the target, maps equal the library', async () => {
    const arch = 'deeplabv3_mobilenet_v3_large';
    const model = createModel(arch, { numClasses: 4, auxLoss: true }).eval();
    expect(model).toBeInstanceOf(SegmentationModel);
    // weights drawn from Generator(0) (torchvision's init leaves this head's output constant), on a striped picture,
    // the classifier's biases centred on it so that every class is predicted somewhere
    seedStateDict(model);
    const data = new Uint8Array(80 * 64 * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 37 + Math.floor(i / 240) * 11) % 256;
    const picture = path.join(tmp, 'stripes.png');
    writeImage(picture, { width: 80, height: 64, channels: 3, bitDepth: 8, data });
    // the size field's 64 is the shorter side, as the CLI's --size: the whole 80 × 64 picture, [1, 3, 64, 80]
    const x = imageToInput(readImage(picture), archInputOptions(arch, 64, 'deeplab.safetensors'));
    expect(x.shape).toEqual([1, 3, 64, 80]);
    const HW = 64 * 80;
    const before = modelOutput(model, x).values;
    const bias = Float32Array.from(model.stateDict()['classifier.4.bias']!.dataSync(), (b, c) => {
      const plane = before.subarray(c * HW, (c + 1) * HW);
      return b - plane.reduce((a, v) => a + v, 0) / HW;
    });
    model.loadStateDict({ 'classifier.4.bias': { shape: [4], data: bias } }, { strict: false });
    const file = path.join(tmp, 'deeplab.safetensors');
    saveCheckpoint(file, model);
    const page = await openPage(context, server.url, errors);
    await load(page, file, arch, 64);
    // the class count (4) and the aux_classifier came from the file: a strict load would refuse otherwise
    expect(await page.textContent('#status')).toMatch(/deeplab\.safetensors: 4 classes, input the whole picture, shorter side 64/);
    await run(page, 'window.gradlensPage.top = []');
    await page.setInputFiles('#image-file', picture);
    await page.waitForFunction(`window.gradlensPage.top.length > 0 && document.body.dataset.busy === '0'`, undefined, { timeout: 120000 });
    const top = await run<Row[]>(page, 'window.gradlensPage.top');
    // the picture the overlays are drawn on is the model's input, at the picture's aspect
    expect(await run(page, '[window.gradlensPage.picture.width, window.gradlensPage.picture.height]')).toEqual([80, 64]);

    const out = modelOutput(model, x);
    expect(out.shape).toEqual([1, 4, 64, 80]);
    const { pred, counts } = predictedClasses(out);
    // no pixel's two best classes nearly tie, so the page's float rounding cannot move a pixel to another class
    let gap = Infinity;
    for (let p = 0; p < HW; p++) {
      const v = [0, 1, 2, 3].map((c) => out.values[c * HW + p]!).sort((a, b) => b - a);
      gap = Math.min(gap, v[0]! - v[1]!);
    }
    expect(gap).toBeGreaterThan(2e-6); // 8e-6 here: a hundred times the logits' float32 rounding
    const byPixels = [0, 1, 2, 3].filter((c) => counts[c]! > 0).sort((a, b) => counts[b]! - counts[a]! || a - b);
    expect(await run(page, 'window.gradlensPage.listing')).toBe('pixels');
    expect(top.map((r) => [r.kind, r.index, r.pixels])).toEqual(byPixels.map((c) => ['pixels', c, counts[c]]));
    for (const r of top) expect(r.share).toBeCloseTo(counts[r.index]! / HW, 10);
    expect(await page.textContent('#top5 thead')).toMatch(/pixels/);

    const layer = await page.inputValue('#layer-select');
    expect(layer).toBe('backbone.16');
    const offered = await run<string[]>(page, `Array.from(document.querySelectorAll('#methods input')).map((i) => i.value)`);
    for (const m of ['gradcam', 'gradcam++', 'layercam', 'vanilla', 'guided', 'ig', 'smoothgrad']) expect(offered).toContain(m);
    for (const m of ['cam', 'finercam']) expect(offered).not.toContain(m);

    const targetOf = (c: number) =>
      segmentationTarget(
        pred.map((q) => (q === c ? 1 : 0)),
        c,
        [64, 80],
      );
    // the default: the class predicted on most pixels apart from background (background when no other is)
    const fg = byPixels.filter((c) => c > 0);
    expect(fg.length).toBeGreaterThan(0);
    const first = fg[0]!;
    const shown = await runMethods(page, ['gradcam', 'vanilla', 'guided'], '');
    const cam = gradCam(model, x, { target: targetOf(first), layer });
    expect(shown.gradcam!.target).toBe(first);
    expect(shown.gradcam!.notes[0]).toMatch(new RegExp(`^class ${first} summed over the ${counts[first]} of ${HW} pixels predicted as it`));
    expectClose(shown.gradcam!.raw, item0(cam.map), cam.map.shape.slice(1));
    expectClose(shown.gradcam!.upsampled!, item0(cam.upsampled), cam.upsampled.shape.slice(1));
    expect(shown.gradcam!.upsampled!.shape).toEqual([64, 80]);
    const grad = vanillaGradient(model, x, { target: targetOf(first) });
    expectClose(shown.vanilla!.raw, item0(grad.attribution), grad.attribution.shape.slice(1));
    const guided = guidedBackprop(model, x, { target: targetOf(first) });
    expectClose(shown.guided!.raw, item0(guided.attribution), guided.attribution.shape.slice(1));

    // another predicted class chosen in the picker: its own pixels; the picker offers only predicted classes
    const options = await run<string[]>(page, `Array.from(document.querySelectorAll('#target-select option')).map((o) => o.value)`);
    expect(options).toEqual(['', ...byPixels.map(String)]);
    const other = byPixels.find((c) => c !== first);
    if (other !== undefined) {
      const again = await runMethods(page, ['gradcam', 'vanilla'], String(other));
      const want = gradCam(model, x, { target: targetOf(other), layer });
      expect(again.gradcam!.target).toBe(other);
      // Grad-CAM's ReLU may leave this class's map all zero: then the page's is too
      const wantMap = item0(want.map);
      const top = Math.max(...Array.from(wantMap, Math.abs));
      again.gradcam!.raw.data.forEach((v, i) => expect(Math.abs(v - wantMap[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(top, 1e-3)));
      const otherGrad = vanillaGradient(model, x, { target: targetOf(other) });
      expectClose(again.vanilla!.raw, item0(otherGrad.attribution), otherGrad.attribution.shape.slice(1));
    }
    // the tape's walk starts from the target's pixels: its vanilla gradient is the library's
    await page.selectOption('#target-select', '');
    await run(page, 'delete window.gradlensPage.results.tape');
    await page.click('#record');
    await page.waitForSelector('#presets button[data-preset="vanilla"]');
    await run(page, 'delete window.gradlensPage.results.tape');
    await page.click('#presets button[data-preset="vanilla"]');
    const tape = await resultOf(page, 'tape');
    expectClose(tape.raw, item0(grad.attribution), grad.attribution.shape.slice(1));
    expect(errors).toEqual([]);
    await page.close();
  }, 600000);

  test('an ONNX detection model: its detections listed, detection k the target, the methods that do not apply left out, Grad-CAM equals the library', async () => {
    const file = path.resolve(__dirname, '../../onnx/test/fixtures/detection/faster_rcnn_opset11.onnx');
    const page = await openPage(context, server.url, errors);
    const top = await load(page, file, 'resnet18', '');
    expect(await page.textContent('#status')).toMatch(/faster_rcnn_opset11\.onnx: a detection model .*, input 64×64/);
    expect(await run(page, 'window.gradlensPage.listing')).toBe('detections');

    const model = loadOnnx(file, { output: 'scores', unbatched: true });
    const x = imageToInput(readImage(SAMPLE), { size: 64, shorterSide: 64, mean: [0, 0, 0], std: [1, 1, 1] });
    const scores = modelOutput(model, x).values;
    const found = detections(model);
    expect(found.length).toBeGreaterThan(0);
    expect(top.map((r) => [r.kind, r.index, r.label])).toEqual(found.map((d, i) => ['detection', i, d.label]));
    for (const [i, r] of top.entries()) {
      expect(r.score).toBeCloseTo(scores[i]!, 5);
      expect(r.box).toHaveLength(4);
      for (let j = 0; j < 4; j++) expect(Math.abs(r.box![j]! - found[i]!.box![j]!)).toBeLessThanOrEqual(1e-3);
    }
    expect(await page.textContent('#top5 thead')).toMatch(/detection/);

    const offered = await run<string[]>(page, `Array.from(document.querySelectorAll('#methods input')).map((i) => i.value)`);
    for (const m of ['gradcam', 'vanilla', 'ig']) expect(offered).toContain(m);
    for (const m of ['deeplift', 'layer-ig', 'layer-conductance', 'lrp']) expect(offered).not.toContain(m);
    const layer = await page.inputValue('#layer-select');
    expect(layer).toBe('backbone');

    const k = found.length > 1 ? 1 : 0;
    const shown = await runMethods(page, ['gradcam', 'vanilla'], String(k));
    expect(shown.gradcam!.target).toBe(k);
    expect(await page.textContent('figure[data-method="gradcam"] figcaption')).toMatch(new RegExp(`detection ${k}: .*score 0\\.\\d{3}`));
    const cam = gradCam(model, x, { target: k, layer });
    expectClose(shown.gradcam!.raw, item0(cam.map), cam.map.shape.slice(1));
    const grad = vanillaGradient(model, x, { target: k });
    expectClose(shown.vanilla!.raw, item0(grad.attribution), grad.attribution.shape.slice(1));
    expect(errors).toEqual([]);
    await page.close();
  }, 600000);

  test('an Ultralytics YOLO export: the picture letterboxed, its detections listed, detection k the target, maps equal the library', async () => {
    const dir = path.resolve(__dirname, '../../onnx/test/fixtures/yolo');
    const file = path.join(dir, 'yolov5.onnx');
    const picture = path.join(dir, 'picture.png');
    const page = await openPage(context, server.url, errors);
    await load(page, file, 'resnet18', '');
    expect(await page.textContent('#status')).toMatch(/yolov5\.onnx: a detection model .*, input 64×64/);
    await run(page, 'window.gradlensPage.top = []');
    await page.setInputFiles('#image-file', picture);
    await page.waitForFunction(`window.gradlensPage.top.length > 0 && document.body.dataset.busy === '0'`, undefined, { timeout: 120000 });
    const top = await run<Row[]>(page, 'window.gradlensPage.top');
    expect(await run(page, 'window.gradlensPage.listing')).toBe('detections');

    const model = loadOnnx(file, { itemwise: isYoloMetadata });
    const { picture: boxed, geometry } = letterbox(readImage(picture), 64);
    const x = new Tensor(imageToTensor(boxed).data, [1, 3, 64, 64], 'float32');
    const layout = yoloLayout(model.metadata, [1, 240, 8])!;
    const found = yoloDetections(model, x, layout, { geometry });
    expect(found.length).toBeGreaterThan(3);
    expect(top.map((r) => [r.kind, r.index, r.label])).toEqual(found.map((d, i) => ['detection', i, d.cls]));
    for (const [i, r] of top.entries()) {
      expect(r.score).toBeCloseTo(found[i]!.score, 5);
      for (let j = 0; j < 4; j++) expect(Math.abs(r.box![j]! - found[i]!.original![j]!)).toBeLessThanOrEqual(1e-3);
    }
    const offered = await run<string[]>(page, `Array.from(document.querySelectorAll('#methods input')).map((i) => i.value)`);
    for (const m of ['gradcam', 'vanilla', 'occlusion']) expect(offered).toContain(m);
    for (const m of ['cam', 'finercam', 'lrp', 'guided', 'deeplift']) expect(offered).not.toContain(m);
    const layer = await page.inputValue('#layer-select');
    expect(layer).toBe('model.2');

    const k = 3;
    const shown = await runMethods(page, ['gradcam', 'vanilla'], String(k));
    expect(shown.gradcam!.target).toBe(k);
    expect(await page.textContent('figure[data-method="gradcam"] figcaption')).toMatch(new RegExp(`detection ${k}: .*score 0\\.\\d{3}`));
    const target = yoloTarget(layout, found[k]!);
    const cam = gradCam(model, x, { target, layer });
    expectClose(shown.gradcam!.raw, item0(cam.map), cam.map.shape.slice(1));
    const grad = vanillaGradient(model, x, { target });
    expectClose(shown.vanilla!.raw, item0(grad.attribution), grad.attribution.shape.slice(1));
    expect(errors).toEqual([]);
    await page.close();
  }, 600000);

  test('non-square ONNX models: a fixed [1, 3, 12, 20] classifier fed 12 × 20, a dynamic detector the whole picture, its boxes in the picture’s pixels', async () => {
    const fixtures = path.resolve(__dirname, '../../cli/test/nonsquare');
    const data = new Uint8Array(40 * 24 * 3);
    for (let y = 2; y < 9; y++) for (let x = 26; x < 37; x++) data.fill(255, (y * 40 + x) * 3, (y * 40 + x) * 3 + 3);
    const picture = path.join(tmp, 'corner.png');
    writeImage(picture, { width: 40, height: 24, channels: 3, bitDepth: 8, data });
    const page = await openPage(context, server.url, errors);
    const pick = async (): Promise<Row[]> => {
      await run(page, 'window.gradlensPage.top = []');
      await page.setInputFiles('#image-file', picture);
      await page.waitForFunction(`window.gradlensPage.top.length > 0 && document.body.dataset.busy === '0'`, undefined, {
        timeout: 120000,
      });
      return run<Row[]>(page, 'window.gradlensPage.top');
    };

    const file = path.join(fixtures, 'corner_net.onnx');
    await load(page, file, 'resnet18', '');
    expect(await page.textContent('#status')).toMatch(/corner_net\.onnx: 5 classes, input 12×20/);
    await pick();
    expect(await run(page, '[window.gradlensPage.picture.width, window.gradlensPage.picture.height]')).toEqual([20, 12]);
    const model = loadOnnx(file);
    const x = imageToInput(readImage(picture), { size: 12, height: 12, width: 20 });
    const shown = await runMethods(page, ['gradcam'], '0');
    const cam = gradCam(model, x, { target: 0, layer: await page.inputValue('#layer-select') });
    expect(shown.gradcam!.upsampled!.shape.slice(-2)).toEqual([12, 20]);
    expectClose(shown.gradcam!.upsampled!, item0(cam.upsampled), cam.upsampled.shape.slice(1));

    const detector = path.join(fixtures, 'corner_detector.onnx');
    const top = await load(page, detector, 'resnet18', 12, true);
    expect(await page.textContent('#status')).toMatch(
      /corner_detector\.onnx: a detection model .*, input the whole picture, shorter side 12/,
    );
    const rows = top.length > 0 && (await run<number>(page, 'window.gradlensPage.picture.width')) === 20 ? top : await pick();
    expect(await run(page, '[window.gradlensPage.picture.width, window.gradlensPage.picture.height]')).toEqual([20, 12]);
    const graph = loadOnnx(detector, { output: 'scores', unbatched: true, inputShape: [3, 12, 20] });
    modelOutput(graph, imageToInput(readImage(picture), { size: 12, shorterSide: 12, crop: false, mean: [0, 0, 0], std: [1, 1, 1] }));
    const found = detections(graph);
    expect(rows.map((r) => r.index)).toEqual(found.map((_, i) => i));
    // the 20 × 12 input is the 40 × 24 picture halved: its boxes doubled
    for (const [i, r] of rows.entries())
      for (let j = 0; j < 4; j++) expect(Math.abs(r.box![j]! - 2 * found[i]!.box![j]!)).toBeLessThanOrEqual(2e-3);
    expect(errors).toEqual([]);
    await page.close();
  }, 600000);
});
