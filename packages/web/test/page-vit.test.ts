import type { BrowserContext } from 'playwright-core';
import { attentionRollout, genericAttention, gradCam, lrp, transformerAttribution } from '@gradlens/explain';
import { readImage } from '@gradlens/io';
import { imageToInput, loadBundledModel } from '@gradlens/nn';
import { startStaticServer } from '../../cli/src/commands/serve';
import type { StaticServer } from '../../cli/src/commands/serve';
import {
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
 * The bundled ViT on the page: its transformer methods (attention rollout, generic attention, transformer
 * attribution, transformer LRP, Grad-CAM on the tokens laid on the patch grid) equal the Node library's,
 * the tape's LRP-ε preset equals `lrp`, and the ReLU-rule presets say they do not apply instead of drawing
 * a map. On the GPU modes every op runs on the device.
 */
const maybe = haveChromium ? describe : describe.skip;

const VIT_METHODS = ['gradcam', 'rollout', 'generic-attention', 'transformer-attribution', 'transformer-lrp', 'lrp'] as const;

maybe('the bundled ViT on the page in chromium', () => {
  let server: StaticServer;
  let context: BrowserContext;
  let close: (() => Promise<void>) | undefined;
  const errors: string[] = [];
  const { model, input: inputOptions, info } = loadBundledModel('vit');
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

  test.each([['cpu'], ['gpujs:webgl2'], ['gpujs:webgpu']] as const)(
    'on %s: the transformer methods and Grad-CAM equal the library; the tape takes LRP, not the ReLU rules',
    async (backend) => {
      const page = await openPage(context, server.url, errors);
      await selectBackend(page, backend);
      await page.selectOption('#model-select', 'vit');
      await page.waitForFunction(`/^vit: 10 classes, input 64×64/.test(document.getElementById('status').textContent)`, undefined, {
        timeout: 60000,
      });
      await page.waitForFunction(`window.gradlensPage.top.length > 0 && document.body.dataset.busy === '0'`, undefined, { timeout: 60000 });
      // the CAM layer is the card's: the last block's input norm, tokens [1, 65, C] (listed with the 4-D layers)
      expect(await page.inputValue('#layer-select')).toBe(info.targetLayer);
      const offered = await run<string[]>(page, `Array.from(document.querySelectorAll('#methods input')).map((i) => i.value)`);
      for (const m of VIT_METHODS) expect(offered).toContain(m);
      for (const m of ['guided', 'deconvnet', 'guided-gradcam', 'cam']) expect(offered).not.toContain(m);
      await run(
        page,
        `document.querySelectorAll('#methods input').forEach((i) => { i.checked = ${JSON.stringify(VIT_METHODS)}.includes(i.value); })`,
      );
      await page.click('#run');
      const results: Record<string, PageResult> = {};
      for (const m of VIT_METHODS) results[m] = await resultOf(page, m);

      const cam = gradCam(model, x, { target: 'top1', layer: info.targetLayer });
      expectClose(results.gradcam!.raw, item0(cam.map), cam.map.shape.slice(1));
      expectClose(results.gradcam!.upsampled!, item0(cam.upsampled), cam.upsampled.shape.slice(1));
      for (const [name, r] of [
        ['rollout', attentionRollout(model, x)],
        ['generic-attention', genericAttention(model, x, { target: 'top1' })],
        ['transformer-attribution', transformerAttribution(model, x, { target: 'top1' })],
      ] as const) {
        expectClose(results[name]!.raw, item0(r.map), r.map.shape.slice(1));
        expectClose(results[name]!.upsampled!, item0(r.upsampled), r.upsampled.shape.slice(1));
      }
      const conservative = lrp(model, x, { target: 'top1', composite: 'conservative' });
      expectClose(results['transformer-lrp']!.raw, item0(conservative.relevance), conservative.relevance.shape.slice(1));
      const epsilon = lrp(model, x, { target: 'top1', composite: 'epsilon' });
      expectClose(results.lrp!.raw, item0(epsilon.relevance), epsilon.relevance.shape.slice(1));
      // on a GPU mode every op of these methods has a device kernel (layer norm, GELU, softmax, the data movement…)
      const label = backend === 'cpu' ? /^cpu/ : new RegExp(`^gpujs · ${backend.split(':')[1]!}`);
      const expectOnDevice = (r: PageResult): void => {
        for (const t of r.timings) {
          expect(t.backend).toMatch(label);
          expect(t.cpuFallbacks).toBeUndefined();
          if (backend !== 'cpu') expect(t.cpuOps).toBeUndefined();
        }
      };
      for (const m of VIT_METHODS) expectOnDevice(results[m]!);
      // WebGPU's results arrive later: each method ran again after its pending reads (awaitReads)
      if (backend === 'gpujs:webgpu') for (const m of VIT_METHODS) expect(results[m]!.timings[0]!.runs).toBeGreaterThan(1);

      // the tape: LRP-ε on every op is `lrp` with the ε composite; the ReLU-rule presets say why they do not apply
      await page.click('#record');
      await page.waitForSelector('#rule-pickers select[data-op="layerNorm"]');
      expect(await page.isDisabled('#presets button[data-preset="guided"]')).toBe(true);
      expect(await page.isDisabled('#presets button[data-preset="deconvnet"]')).toBe(true);
      expect(await page.textContent('#preset-note')).toMatch(/do not apply: .*gelu, layerNorm ops would pass the plain gradient/);
      expect(await page.isVisible('#preset-note')).toBe(true);
      const lrpTape = await tapeAfter(page, () => page.click('#presets button[data-preset="lrp-epsilon"]'));
      expectClose(lrpTape.raw, item0(epsilon.relevance), epsilon.relevance.shape.slice(1));
      expectOnDevice(lrpTape);
      // back on a CNN the presets are offered again
      await page.selectOption('#model-select', 'gapnet');
      await page.waitForFunction(`/^gapnet: /.test(document.getElementById('status').textContent)`, undefined, { timeout: 60000 });
      await page.waitForFunction(`document.body.dataset.busy === '0'`);
      await page.click('#record');
      await page.waitForSelector('#rule-pickers select[data-op="relu"]');
      expect(await page.isDisabled('#presets button[data-preset="guided"]')).toBe(false);
      expect(await page.isHidden('#preset-note')).toBe(true);
      expect(errors).toEqual([]);
      await page.close();
    },
    900000,
  );
});
