/**
 * The browser bundle (dist/browser/gradlens.mjs, built by scripts/build-browser.js in `npm ci`): it holds
 * no Node-only module, loads in Chromium, computes what Node computes, and in a cross-origin isolated
 * Web Worker runs the WebAssembly GEMM on Web Worker threads (bitwise equal to one thread); on a page's
 * main thread it runs on one thread and says why.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { conv2d, Generator, record, relu, sum, tensor } from '@gradlens/tensor';
import { chromiumPresent, launch, openPage } from './chromium';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const BUNDLE = path.join(ROOT, 'dist', 'browser', 'gradlens.mjs');
const NODE_ONLY = [
  'fs',
  'path',
  'os',
  'worker_threads',
  'child_process',
  'zlib',
  'crypto',
  'module',
  'url',
  'util',
  'stream',
  'buffer',
  'http',
  'net',
  'gl',
  'webgpu',
];
jest.setTimeout(180_000);

beforeAll(() => {
  if (!fs.existsSync(BUNDLE)) execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-browser.js')], { stdio: 'inherit' });
});

/** The computation both sides run: a seeded conv + ReLU, its sum's gradient with respect to the input. */
const PROGRAM = `(T) => {
  const g = new T.Generator(5);
  const x = T.tensor(Float32Array.from({ length: 2 * 3 * 9 * 9 }, () => g.normal()), [2, 3, 9, 9], 'float32');
  const w = T.tensor(Float32Array.from({ length: 4 * 3 * 3 * 3 }, () => g.normal()), [4, 3, 3, 3], 'float32');
  const { output, tape } = T.record(() => T.relu(T.conv2d(x, w, null, { padding: 1 })));
  const [dx] = tape.grad(T.sum(output), [x]);
  return { y: Array.from(output.dataSync()), dx: Array.from(dx.dataSync()) };
}`;

describe('browser bundle', () => {
  test('holds no Node-only module: every input is bundled, none is a Node builtin', () => {
    const meta = JSON.parse(fs.readFileSync(path.join(ROOT, 'dist', 'browser', 'meta.json'), 'utf8')) as {
      inputs: Record<string, { imports: { path: string; external?: boolean }[] }>;
    };
    const inputs = Object.keys(meta.inputs);
    expect(inputs.length).toBeGreaterThan(100);
    // (esbuild lists erased type-only imports as external relative paths; a package left outside would be a bare name)
    const bad = Object.entries(meta.inputs).flatMap(([file, v]) =>
      v.imports
        .filter((i) => (i.external && !i.path.startsWith('.')) || NODE_ONLY.includes(i.path.replace(/^node:/, '')))
        .map((i) => `${file} → ${i.path}`),
    );
    expect(bad).toEqual([]);
    // Every input is a source file (ours or a dependency's browser build), none a Node builtin.
    expect(inputs.filter((f) => !/^(packages\/|node_modules\/|gradlens-browser\.js$)/.test(f))).toEqual([]);
  });

  const run = chromiumPresent() ? test : test.skip;
  run(
    'loads in Chromium and computes what Node computes; threads in a cross-origin isolated worker, one thread on the main thread',
    async () => {
      const T = { conv2d, Generator, record, relu, sum, tensor };
      const inNode = (eval(PROGRAM) as (t: typeof T) => { y: number[]; dx: number[] })(T);
      const worker = `
      import { tensor as T } from '/gradlens.mjs';
      const g = new T.Generator(9);
      const a = T.tensor(Float32Array.from({ length: 300 * 400 }, () => g.normal()), [300, 400], 'float32');
      const b = T.tensor(Float32Array.from({ length: 400 * 500 }, () => g.normal()), [400, 500], 'float32');
      T.setNumThreads(1);
      const one = T.matmul(a, b).dataSync().slice();
      T.setNumThreads(3);
      const three = T.matmul(a, b).dataSync();
      postMessage({ info: T.getBackendInfo(), same: one.every((v, i) => Object.is(v, three[i])), isolated: self.crossOriginIsolated });
    `;
      const page = `
      import * as G from '/gradlens.mjs';
      window.result = { program: (${PROGRAM})(G.tensor), info: G.tensor.getBackendInfo(), names: Object.keys(G) };
      const w = new Worker('/worker.js', { type: 'module' });
      window.workerResult = new Promise((resolve, reject) => { w.onmessage = (e) => resolve(e.data); w.onerror = (e) => reject(new Error(e.message)); });
    `;
      const chrome = await launch();
      try {
        const p = await openPage(chrome.context, {
          '/index.html': '<!doctype html><script type="module" src="/page.js"></script>',
          '/page.js': page,
          '/worker.js': worker,
          '/gradlens.mjs': fs.readFileSync(BUNDLE, 'utf8'),
        });
        await p.waitForFunction(() => (globalThis as unknown as { result?: unknown }).result !== undefined);
        const r = await p.evaluate(
          () =>
            (globalThis as unknown as { result: { program: { y: number[]; dx: number[] }; info: Record<string, string>; names: string[] } })
              .result,
        );
        expect(r.names.sort()).toEqual(['explain', 'gpujs', 'io', 'nn', 'tensor']);
        const close = (a: number[], b: number[]) =>
          a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) <= 1e-5 * (1 + Math.abs(b[i]!)));
        expect(close(r.program.y, inNode.y)).toBe(true);
        expect(close(r.program.dx, inNode.dx)).toBe(true);
        expect(r.info).toMatchObject({ backend: 'cpu', float32Gemm: expect.stringMatching(/wasm-simd/), threads: '1' });
        expect(r.info.threadsFallback).toMatch(/main thread may not block on Atomics.wait/);
        const w = await p.evaluate(
          () =>
            (globalThis as unknown as { workerResult: Promise<{ info: Record<string, string>; same: boolean; isolated: boolean }> })
              .workerResult,
        );
        expect(w.isolated).toBe(true);
        expect(w.info.threads).toBe('3');
        expect(w.info.threadsFallback).toBeUndefined();
        expect(w.same).toBe(true);
      } finally {
        await chrome.close();
      }
    },
  );
});
