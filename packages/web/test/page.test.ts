import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import type { BrowserContext } from 'playwright-core';
import { gradCam, guidedBackprop, lrp } from '@gradlens/explain';
import { applyColormap, readImage } from '@gradlens/io';
import { createModel, evalInputOptions, imageToInput, loadBundledModel, saveCheckpoint } from '@gradlens/nn';
import { loadOnnx } from '@gradlens/onnx';
import { copyPage, startStaticServer } from '../../cli/src/commands/serve';
import type { StaticServer } from '../../cli/src/commands/serve';
import {
  canvasPixels,
  DIST,
  ensureBuilt,
  expectClose,
  haveChromium,
  item0,
  launch,
  openPage,
  resultOf,
  run,
  SAMPLE,
  selectBackend,
  tapeAfter,
} from './chromium-page';
import type { PageResult } from './chromium-page';

/**
 * Drives the built page in Debian's chromium: a sample, Grad-CAM, guided backprop, LRP, and rule swaps
 * on one recorded tape, each compared with the Node library on the same model and picture, and the
 * canvas read back; files through the pickers; cancelling; the page from file://.
 */
const maybe = haveChromium ? describe : describe.skip;

maybe('the page in chromium', () => {
  let server: StaticServer;
  let context: BrowserContext;
  let close: (() => Promise<void>) | undefined;
  const errors: string[] = [];
  // the Node library on the same model and picture
  const { model, input: inputOptions, info } = loadBundledModel('gapnet');
  const x = imageToInput(readImage(SAMPLE), inputOptions);

  beforeAll(async () => {
    ensureBuilt();
    server = await startStaticServer(DIST, 0);
    ({ context, close } = await launch());
  }, 120000);
  afterAll(async () => {
    await close?.();
    await server?.close();
  });

  test.each([
    ['cpu', /^cpu · .*gemm wasm/],
    ['gpujs:webgl2', /^gpujs · webgl2/],
    ['gpujs:webgpu', /^gpujs · webgpu/],
  ] as const)(
    'served, on %s: Grad-CAM, guided backprop and LRP equal the Node library, rule swaps on one tape, the canvas shows the map',
    async (backend, label) => {
      const page = await openPage(context, server.url, errors);
      // served with COOP/COEP: cross-origin isolated, so the WebAssembly GEMM runs
      expect(await run(page, 'crossOriginIsolated')).toBe(true);
      expect(await page.isHidden('#degraded')).toBe(true);
      expect(await page.textContent('#top5 tbody tr:first-child td:first-child')).toBe('Ankle boot');
      expect(await page.inputValue('#layer-select')).toBe(info.targetLayer);
      await selectBackend(page, backend);
      /**
       * On a GPU backend every op of these methods runs on the device: no op without a kernel, no call a
       * kernel declined (the registry's one fallback would list either), and the card says nothing ran on the CPU.
       */
      const expectOnDevice = async (r: PageResult, method: string): Promise<void> => {
        if (backend === 'cpu') return;
        for (const t of r.timings) {
          expect(t.backend).toMatch(label);
          expect(t.cpuFallbacks).toBeUndefined();
          expect(t.cpuOps).toBeUndefined();
        }
        expect(await page.textContent(`figure[data-method="${method}"] figcaption`)).not.toMatch(/on the CPU/);
      };

      await page.click('#run');
      const cam = await resultOf(page, 'gradcam');
      const guided = await resultOf(page, 'guided');
      const relevance = await resultOf(page, 'lrp');
      expect(cam.timings[0]!.backend).toMatch(label);
      // WebGPU's results arrive later: the methods read them under awaitReads, which ran each again after a pending read
      if (backend === 'gpujs:webgpu') for (const r of [cam, guided, relevance]) expect(r.timings[0]!.runs).toBeGreaterThan(1);
      else for (const r of [cam, guided, relevance]) expect(r.timings[0]!.runs).toBeUndefined();
      await expectOnDevice(cam, 'gradcam');
      await expectOnDevice(guided, 'guided');
      await expectOnDevice(relevance, 'lrp');

      const nodeCam = gradCam(model, x, { target: 'top1', layer: info.targetLayer });
      expectClose(cam.raw, item0(nodeCam.map), nodeCam.map.shape.slice(1));
      expectClose(cam.upsampled!, item0(nodeCam.upsampled), nodeCam.upsampled.shape.slice(1));
      const nodeGuided = guidedBackprop(model, x, { target: 'top1' });
      expectClose(guided.raw, item0(nodeGuided.attribution), nodeGuided.attribution.shape.slice(1));
      const nodeLrp = lrp(model, x, { target: 'top1', composite: 'epsilon' });
      expectClose(relevance.raw, item0(nodeLrp.relevance), nodeLrp.relevance.shape.slice(1));

      // the canvas: (1 − α)·picture + α·jet(min–max normalised Grad-CAM), α = 0.5, at the input's size
      const pixels = await canvasPixels(page, 'figure[data-method="gradcam"] canvas');
      const up = item0(nodeCam.upsampled);
      const [h, w] = nodeCam.upsampled.shape.slice(1) as [number, number];
      expect([pixels.h, pixels.w]).toEqual([h, w]);
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of up) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      const jet = applyColormap(
        up.map((v) => (v - lo) / (hi - lo)),
        h,
        w,
        'jet',
      ).data;
      const picture = readImage(SAMPLE).data;
      let worst = 0;
      for (let i = 0; i < h * w; i++) {
        for (let c = 0; c < 3; c++)
          worst = Math.max(worst, Math.abs(pixels.data[i * 4 + c]! - (0.5 * picture[i * 3 + c]! + 0.5 * jet[i * 3 + c]!)));
      }
      expect(worst).toBeLessThanOrEqual(1);
      // opacity 1 shows the colormap alone
      await page.fill('#opacity', '1');
      await page.dispatchEvent('#opacity', 'input');
      const solid = await canvasPixels(page, 'figure[data-method="gradcam"] canvas');
      expect(solid.data.filter((_, i) => i % 4 !== 3)).toEqual(Array.from(jet));

      // the tape: one recorded pass, its ops with module paths, and rules swapped per op type
      await page.click('#record');
      await page.waitForSelector('#rule-pickers select[data-op="relu"]');
      const rows = await run<string[][]>(
        page,
        `Array.from(document.querySelectorAll('#tape-table tbody tr')).map((tr) => Array.from(tr.children).map((td) => td.textContent))`,
      );
      expect(rows.some((r) => r[1] === 'conv2d' && r[2] === 'features.0')).toBe(true);
      expect(rows.some((r) => r[1] === 'linear' && r[2] === 'classifier.0')).toBe(true);
      const guidedTape = await tapeAfter(page, () => page.click('#presets button[data-preset="guided"]'));
      expectClose(guidedTape.raw, item0(nodeGuided.attribution), nodeGuided.attribution.shape.slice(1));
      await expectOnDevice(guidedTape, 'tape');
      const lrpTape = await tapeAfter(page, () => page.click('#presets button[data-preset="lrp-epsilon"]'));
      expectClose(lrpTape.raw, item0(nodeLrp.relevance), nodeLrp.relevance.shape.slice(1));
      await expectOnDevice(lrpTape, 'tape');
      expect(await page.textContent('#tape-table tbody tr[data-op="conv2d"] td:nth-child(6)')).toBe('lrp-epsilon');
      // op by op: the walk starts from the target's logit under LRP, from 1 for a gradient
      const logits = Float32Array.from(model.call(x).dataSync());
      const top1 = logits.indexOf(Math.max(...logits));
      const last = lrpTape.perNode![lrpTape.perNode!.length - 1]!;
      expect(Math.abs(last.sum - logits[top1]!)).toBeLessThanOrEqual(1e-5 * Math.abs(logits[top1]!));
      expect(guidedTape.perNode![guidedTape.perNode!.length - 1]!.sum).toBe(1);
      expect(lrpTape.perNode).toHaveLength(rows.length);
      expect(await page.textContent('#tape-table tbody tr:last-child td:nth-child(7)')).not.toBe('');
      // one picker back to vanilla: the convolutions pass their ordinary gradient, the head stays LRP
      const mixed = await tapeAfter(page, () => page.selectOption('#rule-pickers select[data-op="conv2d"]', 'vanilla'));
      expect(mixed.raw.data).not.toEqual(lrpTape.raw.data);
      // a zero rule on the linear head stops everything
      const stopped = await tapeAfter(page, () => page.selectOption('#rule-pickers select[data-op="linear"]', 'zero'));
      expect(stopped.raw.data.every((v) => v === 0)).toBe(true);
      expect(errors).toEqual([]);
      await page.close();
    },
    900000,
  );

  test("a picture and model files through the pickers: a PNG, a safetensors file for a torchvision architecture, ONNX graphs (RGB, channels-last and grayscale: logits equal the library's), a .pth that does not fit refused in one line", async () => {
    const page = await openPage(context, server.url, errors);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-page-files-'));
    try {
      const imagenet = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
      const picture = readImage(SAMPLE);
      await page.click('#setup details summary');
      /** Loads a file through the page's picker and returns the page's top-5 afterwards. */
      const load = async (
        file: string,
        arch: string,
        size: number | '',
        classes: number | '',
      ): Promise<{ index: number; logit: number }[]> => {
        await run(page, 'window.gradlensPage.top = []');
        await page.selectOption('#arch-select', arch);
        await page.fill('#file-size', String(size));
        await page.fill('#file-classes', String(classes));
        await page.setInputFiles('#model-file', file);
        await page.waitForFunction(
          `window.gradlensPage.top.length > 0 || /error/.test(document.getElementById('status').textContent)`,
          undefined,
          { timeout: 60000 },
        );
        return run(page, 'window.gradlensPage.top');
      };
      /** The page's top-5 logits against the model's logits in Node. */
      const expectLogits = (top: { index: number; logit: number }[], logits: Float32Array): void => {
        expect(top).toHaveLength(5);
        const scale = Math.max(...Array.from(logits, Math.abs));
        for (const t of top) expect(Math.abs(t.logit - logits[t.index]!)).toBeLessThanOrEqual(1e-4 * scale);
        expect(top[0]!.index).toBe(logits.indexOf(Math.max(...logits)));
      };

      // a picture through the picker: decoded by the browser, the same top class and logits as the library's
      await run(page, 'window.gradlensPage.top = []');
      const sandal = path.resolve(__dirname, '../../../weights/samples/07-sandal.png');
      await page.setInputFiles('#image-file', sandal);
      await page.waitForFunction('window.gradlensPage.top.length > 0');
      const sandalTop = await run<{ index: number; logit: number; name: string }[]>(page, 'window.gradlensPage.top');
      expect(sandalTop[0]!.name).toBe('Sandal');
      expectLogits(sandalTop, Float32Array.from(model.call(imageToInput(readImage(sandal), inputOptions)).dataSync()));
      await page.setInputFiles('#image-file', SAMPLE);
      await page.waitForFunction('window.gradlensPage.top.length > 0 && window.gradlensPage.top[0].name === "Ankle boot"');

      const squeeze = createModel('squeezenet1_1', { numClasses: 10 }).eval();
      const weights = path.join(tmp, 'squeeze.safetensors');
      saveCheckpoint(weights, squeeze);
      // the classes field left empty: the file's classifier says 10
      const top = await load(weights, 'squeezenet1_1', 64, '');
      expect(await page.textContent('#status')).toMatch(/squeeze\.safetensors: 10 classes, input 64×64/);
      expectLogits(top, Float32Array.from(squeeze.call(imageToInput(picture, { size: 64, ...imagenet })).dataSync()));

      // the input side left empty: the architecture's torchvision transform (regnet_x_400mf: 232 → 224, not 256 → 224)
      const regnet = createModel('regnet_x_400mf', { numClasses: 10 }).eval();
      const regnetWeights = path.join(tmp, 'regnet.safetensors');
      saveCheckpoint(regnetWeights, regnet);
      const regnetTop = await load(regnetWeights, 'regnet_x_400mf', '', 10);
      expect(await page.textContent('#status')).toMatch(/regnet\.safetensors: 10 classes, input 224×224/);
      expectLogits(regnetTop, Float32Array.from(regnet.call(imageToInput(picture, evalInputOptions('regnet_x_400mf'))).dataSync()));

      const onnxFile = path.resolve(__dirname, '../../onnx/test/fixtures/resnet50.onnx');
      const onnx = loadOnnx(onnxFile);
      const size = onnx.inputShape[2]!;
      const onnxTop = await load(onnxFile, 'resnet18', 224, 1000);
      expect(await page.textContent('#status')).toMatch(new RegExp(`resnet50\\.onnx: \\d+ classes, input ${size}×${size}`));
      expectLogits(onnxTop, Float32Array.from(onnx.call(imageToInput(picture, { size, ...imagenet })).dataSync()));
      expect(await page.inputValue('#layer-select')).toBe(onnx.defaultCamLayer());

      // a Keras-style channels-last graph (tf2onnx) and a grayscale one take the page's RGB pictures (pictureInput)
      const keras = path.resolve(__dirname, '../../onnx/test/fixtures/tf2onnx_names.onnx');
      const kerasTop = await load(keras, 'resnet18', '', '');
      expect(await page.textContent('#status')).toMatch(/tf2onnx_names\.onnx: 5 classes, input 16×16/);
      const kerasModel = loadOnnx(keras, { pictureInput: true });
      expectLogits(kerasTop, Float32Array.from(kerasModel.call(imageToInput(picture, { size: 16, ...imagenet })).dataSync()));
      const gray = path.resolve(__dirname, '../../onnx/test/fixtures/tiny_gray.onnx');
      const grayTop = await load(gray, 'resnet18', 12, '');
      expect(await page.textContent('#status')).toMatch(/tiny_gray\.onnx: 3 classes, input 12×12/);
      const grayModel = loadOnnx(gray, { pictureInput: true, inputShape: [1, 1, 12, 12] });
      const luma = grayModel.call(imageToInput(picture, { size: 12, mean: [0, 0, 0], std: [1, 1, 1] })).dataSync();
      expect(grayTop).toHaveLength(3);
      for (const t of grayTop)
        expect(Math.abs(t.logit - luma[t.index]!)).toBeLessThanOrEqual(1e-4 * Math.max(...Array.from(luma, Math.abs)));

      // a torch.save file of another width: read in the browser (zip, pickle, CRC), refused in one line
      const pth = path.resolve(__dirname, '../../nn/test/fixtures/alexnet.pth');
      await load(pth, 'alexnet', 224, 1000);
      const status = (await page.textContent('#status'))!;
      expect(status).toMatch(
        /^error: alexnet\.pth does not fit alexnet: .*shape mismatches: features\.0\.weight: checkpoint \[2, 3, 11, 11\] vs model \[64, 3, 11, 11\]/,
      );
      expect(status).not.toContain('\n');
      await page.close();
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, 120000);

  test('gpu.js modes: webgl2 and webgpu offered (their maps are compared above)', async () => {
    const page = await openPage(context, server.url, errors);
    const options = await run<{ value: string; text: string; disabled: boolean }[]>(
      page,
      `Array.from(document.querySelectorAll('#backend-select option')).map((o) => ({ value: o.value, text: o.textContent, disabled: o.disabled }))`,
    );
    expect(options.map((o) => o.value)).toEqual(['cpu', 'gpujs:webgl2', 'gpujs:webgpu']);
    expect(options[0]!.disabled).toBe(false);
    expect(options[1]!).toMatchObject({ disabled: false, text: 'gpu.js WebGL2' });
    expect(options[2]!).toMatchObject({ disabled: false, text: 'gpu.js WebGPU' });
    expect(errors).toEqual([]);
    await page.close();
  }, 120000);

  test('a many-pass method shows progress and is cancelled; the page stays responsive and works after', async () => {
    const page = await openPage(context, server.url, errors);
    await page.uncheck('#methods input[value="gradcam"]');
    await page.uncheck('#methods input[value="guided"]');
    await page.uncheck('#methods input[value="lrp"]');
    await page.check('#methods input[value="smoothgrad"]');
    await page.fill('#samples-n', '100000');
    await page.click('#run');
    await page.waitForFunction(`/\\d+ \\/ 100000/.test(document.getElementById('progress-text').textContent)`, undefined, {
      timeout: 60000,
    });
    // the worker computes; the page answers at once
    const t0 = Date.now();
    await run(page, 'document.title');
    expect(Date.now() - t0).toBeLessThan(2000);
    await page.click('#cancel');
    await page.waitForFunction(`/cancelled/.test(document.getElementById('status').textContent)`, undefined, { timeout: 60000 });
    expect(await run(page, 'window.gradlensPage.results.smoothgrad === undefined')).toBe(true);
    // the restarted worker has the model and picture again
    await page.uncheck('#methods input[value="smoothgrad"]');
    await page.check('#methods input[value="gradcam"]');
    await page.click('#run');
    const cam = await resultOf(page, 'gradcam');
    expect(cam.upsampled!.data.some((v) => v > 0)).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 120000);

  test('copied into a demo folder and opened from file:// it works without a server, says what degrades, and Grad-CAM still equals the library', async () => {
    const demo = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-demo-page-'));
    const copied = copyPage(demo);
    expect(copied).toBe(path.join(demo, 'page', 'index.html'));
    const page = await openPage(context, pathToFileURL(copied!).href, errors);
    expect(await page.isVisible('#degraded')).toBe(true);
    expect(await page.textContent('#degraded')).toMatch(/no SharedArrayBuffer/);
    await page.uncheck('#methods input[value="guided"]');
    await page.uncheck('#methods input[value="lrp"]');
    await page.click('#run');
    const cam = await resultOf(page, 'gradcam');
    // without SharedArrayBuffer the WebAssembly GEMM runs on unshared memory, one thread
    expect(cam.timings[0]!.backend).toMatch(/gemm wasm-simd/);
    const nodeCam = gradCam(model, x, { target: 'top1', layer: info.targetLayer });
    expectClose(cam.upsampled!, item0(nodeCam.upsampled), nodeCam.upsampled.shape.slice(1));
    expect(errors).toEqual([]);
    await page.close();
    fs.rmSync(demo, { recursive: true, force: true });
  }, 120000);
});
