#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * The page's methods, timed in the page (packages/web/dist, served as `gradlens serve` serves it) on one
 * backend: per model and method, the wall time the page reports, how many times `awaitReads` ran the method
 * (WebGPU: once more per pending read), the gpu.js kernels run on the device and the launches a replay took
 * from its previous run instead (the launch memo). Headless Debian chromium renders with SwiftShader, a CPU
 * rasteriser: the times are not GPU figures, the kernel counts are exact.
 *
 *   node benchmarks/browser-page.js [--backend gpujs:webgpu|gpujs:webgl2|cpu]
 *                                   [--models gapnet,vit] [--methods gradcam,guided,lrp]
 *                                   [--chromium /path/to/chrome] [--headed]
 */
const fs = require('fs');
const path = require('path');
const { CHROMIUM, haveChromium, launchChromium, missingChromium } = require('../scripts/chromium.cjs');
const { declareFlags } = require('../scripts/flags');

const root = path.resolve(__dirname, '..');
const DEFAULT_METHODS = {
  gapnet: ['gradcam', 'guided', 'lrp', 'smoothgrad'],
  smallvgg: ['gradcam', 'guided', 'lrp'],
  vit: ['gradcam', 'rollout', 'generic-attention', 'transformer-attribution', 'transformer-lrp'],
};

/**
 * The command line, read before the server or a browser starts: --help prints the flags, a mistyped or
 * malformed one stops here with one line and exit code 2 (scripts/flags.js, shared with weights/).
 */
function options() {
  const { arg, list } = declareFlags({
    usage: 'node benchmarks/browser-page.js [flags]',
    flags: {
      backend: { kind: 'string', value: 'B', help: "the page's backend: gpujs:webgpu (default), gpujs:webgl2 or cpu" },
      models: { kind: 'string', value: 'a,b', help: 'the models to load in turn (default gapnet,vit)' },
      methods: {
        kind: 'string',
        value: 'a,b',
        help: "the methods to time on each model (default: each model's few, as gapnet's gradcam,guided,lrp,smoothgrad)",
      },
      chromium: { kind: 'string', value: 'PATH', help: `the browser to drive (default ${CHROMIUM})` },
      headed: { kind: 'switch', help: 'a visible window, so a real GPU renders instead of SwiftShader' },
    },
  });
  return {
    backend: arg('backend', 'gpujs:webgpu'),
    models: list('models') ?? ['gapnet', 'vit'],
    methods: list('methods') ?? null,
    chromium: arg('chromium', CHROMIUM),
    headed: arg('headed', 'false') === 'true',
  };
}

async function main() {
  const o = options();
  const dist = path.join(root, 'packages/web/dist');
  if (!fs.existsSync(path.join(dist, 'page.js')))
    throw new Error('no packages/web/dist/page.js: run npm ci (or node packages/web/build.js)');
  if (!haveChromium(o.chromium)) throw new Error(missingChromium('pass --chromium PATH', o.chromium));
  const { startStaticServer } = require(path.join(root, 'packages/cli/dist/commands/serve'));
  const server = await startStaticServer(dist, 0);
  const { context: ctx, close } = await launchChromium({ executablePath: o.chromium, webgpu: true, headed: o.headed });
  const rows = [];
  try {
    const page = await ctx.newPage();
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 600000 });
    if (o.backend !== 'cpu') {
      await page.selectOption('#backend-select', o.backend);
      await page.waitForFunction(`/backend gpujs/.test(document.getElementById('status').textContent)`);
    }
    for (const model of o.models) {
      console.error(`${model}…`);
      await page.selectOption('#model-select', model);
      await page.waitForFunction(`new RegExp('^${model}: ').test(document.getElementById('status').textContent)`, undefined, {
        timeout: 600000,
      });
      await page.waitForFunction(`window.gradlensPage.top.length > 0 && document.body.dataset.busy === '0'`, undefined, {
        timeout: 600000,
      });
      const methods = o.methods ?? DEFAULT_METHODS[model] ?? ['gradcam'];
      await page.evaluate(`(() => {
        window.gradlensPage.results = {};
        document.querySelectorAll('#methods input').forEach((i) => { i.checked = ${JSON.stringify(methods)}.includes(i.value); });
      })()`);
      await page.click('#run');
      const last = JSON.stringify(methods[methods.length - 1]);
      await page.waitForFunction(`window.gradlensPage.results[${last}] !== undefined && document.body.dataset.busy === '0'`, undefined, {
        timeout: 1800000,
      });
      for (const m of methods) {
        const t = await page.evaluate(`window.gradlensPage.results[${JSON.stringify(m)}]?.timings[0] ?? null`);
        rows.push({ model, method: m, ...(t ?? { ms: NaN, backend: 'not offered' }) });
      }
    }
  } finally {
    await close();
    await server.close();
  }
  console.log(`backend: ${rows[0]?.backend ?? o.backend}${o.headed ? '' : ' (headless chromium: SwiftShader renders, a CPU rasteriser)'}`);
  console.log('| model | method | ms | runs | kernels run | launches reused |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const r of rows)
    console.log(
      `| ${r.model} | ${r.method} | ${Number.isFinite(r.ms) ? r.ms.toFixed(0) : '—'} | ${r.runs ?? 1} | ${r.launches ?? '—'} | ${r.reused ?? 0} |`,
    );
}

main().catch((e) => {
  console.error(`benchmarks/browser-page.js: ${e.message}`);
  process.exit(1);
});
