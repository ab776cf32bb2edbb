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

const root = path.resolve(__dirname, '..');
const DEFAULT_METHODS = {
  gapnet: ['gradcam', 'guided', 'lrp', 'smoothgrad'],
  smallvgg: ['gradcam', 'guided', 'lrp'],
  vit: ['gradcam', 'rollout', 'generic-attention', 'transformer-attribution', 'transformer-lrp'],
};

function parseArgs(argv) {
  const o = { backend: 'gpujs:webgpu', models: ['gapnet', 'vit'], methods: null, chromium: CHROMIUM, headed: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} expects a value`);
      return v;
    };
    if (a === '--backend') o.backend = next();
    else if (a === '--models') o.models = next().split(',');
    else if (a === '--methods') o.methods = next().split(',');
    else if (a === '--chromium') o.chromium = next();
    else if (a === '--headed') o.headed = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node benchmarks/browser-page.js [--backend B] [--models m1,m2] [--methods a,b] [--chromium PATH] [--headed]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (try --help)`);
  }
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
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
