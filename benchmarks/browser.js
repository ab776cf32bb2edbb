#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * The kernel benchmark inside a browser, per backend mode: conv2d forward and backward (input and weight
 * gradients from one recorded pass; 3x3, pad 1, batch 1), a matmul, max pooling, the CAM heads' and LRP rules'
 * kernels (a sum, adaptive pooling, bilinear upsampling, where/div) and a vision transformer's (layer norm, GELU,
 * softmax, a permute, a per-head matmul: ViT-B/16's sizes, or the bundled ViT's with --small), each timed with its result read back
 * (`await data()`), on gpujs `webgl2`, gpujs `webgpu` and the CPU backend (WebAssembly SIMD GEMM), in a
 * page built from the packages' browser entries with esbuild and driven by playwright-core. The page
 * prints the GL renderer, so figures say what ran them: here (headless Debian chromium) it is SwiftShader,
 * a CPU rasteriser, not a GPU.
 *
 *   node benchmarks/browser.js [--modes cpu,webgl2,webgpu] [--reps N] [--small] [--ops layerNorm,softmax]
 *                              [--chromium /path/to/chrome] [--headed]
 *
 * --ops keeps the rows whose name contains one of the words. Each row says which ops ran on the CPU
 * instead (getBackendInfo().cpuOps / cpuFallbacks of that row alone), so no CPU figure passes for a device one.
 *
 * On a machine with a real GPU: pass your Chrome or Chromium with --chromium and add --headed (a visible
 * window, so the browser uses the GPU driver instead of SwiftShader); the renderer line then names the GPU.
 */
const path = require('path');
const { CHROMIUM, haveChromium, launchChromium, missingChromium } = require('../scripts/chromium.cjs');
const { declareFlags } = require('../scripts/flags');

const root = path.resolve(__dirname, '..');

/**
 * The command line, read before esbuild or a browser starts: --help prints the flags, a mistyped or
 * malformed one stops here with one line and exit code 2 (scripts/flags.js, shared with weights/).
 */
function options() {
  const { arg, list } = declareFlags({
    usage: 'node benchmarks/browser.js [flags]',
    flags: {
      modes: { kind: 'string', value: 'a,b', help: 'backend modes, one browser each: cpu, webgl2, webgpu (default: all three)' },
      reps: { kind: 'number', help: 'timed runs per op after a compiling one; the median is printed (default 5)' },
      small: { kind: 'switch', help: "the bundled ViT's sizes and a smaller conv and matmul instead of ViT-B/16's" },
      ops: { kind: 'string', value: 'a,b', help: 'keep the rows whose name holds one of the words (default: every row)' },
      chromium: { kind: 'string', value: 'PATH', help: `the browser to drive (default ${CHROMIUM})` },
      headed: { kind: 'switch', help: 'a visible window, so a real GPU renders instead of SwiftShader' },
    },
  });
  return {
    modes: list('modes') ?? ['cpu', 'webgl2', 'webgpu'],
    reps: Math.max(1, parseInt(arg('reps', '5'), 10)),
    small: arg('small', 'false') === 'true',
    ops: list('ops') ?? null,
    chromium: arg('chromium', CHROMIUM),
    headed: arg('headed', 'false') === 'true',
  };
}

/** The page: runs every kernel on one mode, returns rows { op, ms (median), gflops }. */
const PAGE = `
import * as T from '@gradlens/tensor';
import '@gradlens/backend-gpujs';

function renderer() {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) return 'no WebGL2';
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  return String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
}

/** The WebGPU adapter's vendor and architecture (SwiftShader here), or why there is none. */
async function adapter() {
  if (!navigator.gpu) return 'no WebGPU';
  const a = await navigator.gpu.requestAdapter();
  if (!a) return 'no WebGPU adapter';
  const info = a.info ?? (a.requestAdapterInfo ? await a.requestAdapterInfo() : {});
  return [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'an adapter that does not say';
}

/** Selects the mode afresh, so that getBackendInfo() afterwards names only what one row ran on the CPU. */
function select(mode) {
  T.setBackend('cpu');
  if (mode !== 'cpu') T.setBackend('gpujs', { mode });
}

async function bench(mode, reps, small, ops) {
  select(mode);
  const g = new T.Generator(1);
  const rand = (shape) => T.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => g.normal()), shape, 'float32');
  const c = small ? { cin: 16, cout: 16, hw: 28 } : { cin: 64, cout: 64, hw: 56 };
  const n = small ? 256 : 512;
  const convFlops = 2 * c.cin * c.cout * 9 * c.hw * c.hw;
  const x = rand([1, c.cin, c.hw, c.hw]), w = rand([c.cout, c.cin, 3, 3]), dy = rand([1, c.cout, c.hw, c.hw]);
  const a = rand([n, n]), b = rand([n, n]);
  const vit = small ? { t: 65, d: 192, h: 3 } : { t: 197, d: 768, h: 12 };
  const tok = rand([1, vit.t, vit.d]), lnW = rand([vit.d]), lnB = rand([vit.d]), mlp = rand([1, vit.t, 4 * vit.d]);
  const att = rand([1, vit.h, vit.t, vit.t]), qkv = rand([1, vit.t, 3, vit.h, vit.d / vit.h]);
  const q = rand([1, vit.h, vit.t, vit.d / vit.h]), k = rand([1, vit.h, vit.t, vit.d / vit.h]);
  const cases = [
    ['conv2d forward', convFlops, () => T.conv2d(x, w, null, { padding: 1 })],
    // both backward passes (input and weight) from one recorded forward pass, read back together
    ['conv2d backward (input + weight)', 2 * convFlops, () => {
      const { output, tape } = T.record(() => T.conv2d(x, w, null, { padding: 1 }));
      const [dx, dw] = tape.grad(output, [x, w], { gradOutputs: [dy] });
      tape.dispose();
      output.dispose();
      return { data: async () => { await dx.data(); await dw.data(); }, dispose: () => { dx.dispose(); dw.dispose(); } };
    }],
    [\`matmul \${n}^3\`, 2 * n * n * n, () => T.matmul(a, b)],
    ['maxPool2d 2x2', 0, () => T.maxPool2d(x, { kernelSize: 2 })],
    // the CAM heads' and LRP rules' kernels
    ['sum over H, W', 0, () => T.sum(x, { dim: [2, 3], keepdim: true })],
    ['adaptiveAvgPool2d to 1x1', 0, () => T.adaptiveAvgPool2d(x, [1, 1])],
    ['bilinear upsampling x4', 0, () => T.interpolate(x, { scaleFactor: 4, mode: 'bilinear' })],
    ['where(x >= 0, x / y, 0)', 0, () => T.where(T.ge(x, 0), T.div(x, dy), 0)],
    // a vision transformer's kernels: tokens [1, t, d], attention [1, heads, t, t]
    ['layerNorm tokens', 0, () => T.layerNorm(tok, vit.d, lnW, lnB)],
    ['gelu tokens x4', 0, () => T.gelu(mlp)],
    ['gelu (tanh) tokens x4', 0, () => T.gelu(mlp, { approximate: 'tanh' })],
    ['pow tokens by a per-column tensor', 0, () => T.pow(T.abs(tok), lnW)],
    ['cat of three token blocks', 0, () => T.cat([tok, tok, tok], 1)],
    ['softmax attention', 0, () => T.softmax(att, -1)],
    ['permute heads', 0, () => T.permute(qkv, [2, 0, 3, 1, 4])],
    ['matmul q.kT per head (with the permute)', 2 * vit.h * vit.t * vit.t * (vit.d / vit.h), () => T.matmul(q, T.permute(k, [0, 1, 3, 2]))],
  ];
  const rows = [];
  for (const [op, flops, f] of cases) {
    if (ops && !ops.some((w) => op.toLowerCase().includes(w.toLowerCase()))) continue;
    select(mode);
    const times = [];
    try {
      for (let r = 0; r <= reps; r++) {
        const t0 = performance.now();
        const out = f();
        await out.data();
        const dt = performance.now() - t0;
        out.dispose();
        if (r > 0) times.push(dt); // the first run compiles the kernel
      }
    } catch (e) {
      rows.push({ op: \`\${op}: failed (\${String(e.message).split('\\n')[0].slice(0, 80)})\`, ms: null, gflops: null, onCpu: '' });
      continue;
    }
    times.sort((p, q) => p - q);
    const ms = times[times.length >> 1];
    const i = T.getBackendInfo();
    rows.push({ op, ms, gflops: flops ? flops / ms / 1e6 : null, onCpu: [i.cpuOps, i.cpuFallbacks].filter(Boolean).join('; ') });
  }
  select(mode);
  const info = T.getBackendInfo();
  T.setBackend('cpu');
  return { rows, info };
}
Object.assign(window, { bench, renderer, adapter });
`;

async function main() {
  const o = options();
  if (!haveChromium(o.chromium)) throw new Error(missingChromium('pass --chromium PATH', o.chromium));
  const esbuild = require('esbuild');
  const alias = Object.fromEntries(
    ['tensor', 'backend-gpujs', 'io', 'nn', 'explain'].map((p) => [`@gradlens/${p}`, path.join(root, 'packages', p, 'src', 'browser.ts')]),
  );
  const built = await esbuild.build({
    stdin: { contents: PAGE, resolveDir: root, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    alias,
    logLevel: 'error',
  });
  const script = built.outputFiles[0].text;
  const rows = [];
  let rendererName = '';
  let adapterName = '';
  for (const mode of o.modes) {
    const { context: ctx, close } = await launchChromium({ executablePath: o.chromium, webgpu: true, headed: o.headed });
    try {
      const page = await ctx.newPage();
      const files = { '/index.html': '<!doctype html><script type="module" src="/page.js"></script>', '/page.js': script };
      await page.route('http://localhost:8124/**', (route) => {
        const p = new URL(route.request().url()).pathname;
        return route.fulfill({
          status: files[p] ? 200 : 404,
          body: files[p] ?? '',
          headers: { 'Content-Type': p.endsWith('.html') ? 'text/html' : 'text/javascript' },
        });
      });
      await page.goto('http://localhost:8124/index.html');
      await page.waitForFunction(() => typeof (/** @type {any} */ (window).bench) === 'function');
      rendererName = await page.evaluate(() => /** @type {any} */ (window).renderer());
      if (mode === 'webgpu') adapterName = await page.evaluate(() => /** @type {any} */ (window).adapter());
      const r = await page.evaluate(
        ([m, reps, small, ops]) => /** @type {any} */ (window).bench(m, reps, small, ops),
        [mode, o.reps, o.small, o.ops],
      );
      const ran =
        r.info.backend === 'cpu'
          ? `cpu (${r.info.float32Gemm}, ${r.info.threads} thread)`
          : `gpujs ${r.info.mode}${r.info.mode !== mode ? ` (asked ${mode}: ${r.info.fallback})` : ''}`;
      for (const row of r.rows) rows.push({ mode: ran, ...row });
    } catch (e) {
      rows.push({ mode, op: `failed: ${String(e.message).split('\n')[0].slice(0, 120)}`, ms: null, gflops: null, onCpu: '' });
    } finally {
      await close();
    }
  }
  console.log(`renderer: ${rendererName}${/SwiftShader/i.test(rendererName) ? ' (a CPU rasteriser: these are not GPU figures)' : ''}`);
  if (adapterName) console.log(`WebGPU adapter: ${adapterName}${/swiftshader/i.test(adapterName) ? ' (SwiftShader on the CPU)' : ''}`);
  console.log('| mode | op | ms | GFLOP/s | ran on the CPU instead |');
  console.log('| --- | --- | ---: | ---: | --- |');
  for (const r of rows) {
    const cpu = r.mode.startsWith('cpu') ? '' : r.onCpu || 'nothing';
    console.log(
      `| ${r.mode} | ${r.op} | ${r.ms === null ? '—' : r.ms.toFixed(2)} | ${r.gflops === null ? '—' : r.gflops.toFixed(2)} | ${cpu} |`,
    );
  }
}

main().catch((e) => {
  console.error(`benchmarks/browser.js: ${e.message}`);
  process.exit(1);
});
