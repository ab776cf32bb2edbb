/**
 * The gpujs conformance suite inside Chromium (Debian's, headless; SwiftShader renders here): the same
 * cases and tolerance as conformance.test.ts (test/cases.ts), on the CPU backend and on gpujs in webgl2
 * and webgpu mode, in the page; every gpujs result must have been made on the device (no silent fallback).
 * webgpu runs the cases gpu.js's WebGPU mode can run today; the others are listed in WEBGPU_GAPS with why.
 */
import * as path from 'path';
import { relError } from '../run-case';
import { TOL } from '../cases';
import type { PageCase } from './page-entry';
import { bundle, haveChromium, launch, openPage } from './chromium';

const MODES = ['webgl2', 'webgpu'] as const;

/**
 * Cases gpu.js 2.24.1's WebGPU mode cannot run yet (measured in Chromium 1xx with SwiftShader), by name
 * prefix, with why. They must still fail, so this list shrinks when they are fixed, never silently.
 */
const WEBGPU_GAPS: readonly [string, string][] = [
  ['conv2d ', "gpu.js's WGSL translation of the Array(4) result kernels (conv, matmul, linear) does not compile"],
  ['matmul ', 'the same Array(4) kernels, and batched gradient shapes'],
  ['linear ', 'the same Array(4) kernels'],
  ['relu, guided rule', 'an immutable WebGPU result buffer is deleted while the rule still reads it'],
  ['conv, batchNorm', 'a CPU op between device ops needs synchronous reads, which WebGPU does not give'],
  ['mul, broadcast', "the same synchronous reads: the broadcast operand's gradient sums on the CPU"],
  ['small network', 'the same synchronous reads, and the Array(4) kernels'],
];
const webgpuGap = (name: string): string | undefined => WEBGPU_GAPS.find(([prefix]) => name.startsWith(prefix))?.[1];
const run = haveChromium() ? describe : describe.skip;
jest.setTimeout(180_000);

run.each(MODES)('gpujs conformance in Chromium, %s mode', (mode) => {
  let results: { cases: PageCase[]; info: Record<string, string> };
  let modeInfo: Record<string, string>;

  beforeAll(async () => {
    const script = await bundle(path.join(__dirname, 'page-entry.ts'));
    const chrome = await launch({ webgpu: mode === 'webgpu' });
    try {
      const page = await openPage(chrome.browser, {
        '/index.html': '<!doctype html><script type="module" src="/page.js"></script>',
        '/page.js': script,
      });
      await page.waitForFunction(() => typeof (globalThis as { runConformance?: unknown }).runConformance === 'function');
      modeInfo = await page.evaluate((m) => (globalThis as unknown as { modeInfo(m: string): Record<string, string> }).modeInfo(m), mode);
      results = await page.evaluate(
        (m) => (globalThis as unknown as { runConformance(m: string): Promise<typeof results> }).runConformance(m),
        mode,
      );
    } finally {
      await chrome.close();
    }
  });

  test('the page runs gpujs in the mode asked for, with no fallback', () => {
    expect(modeInfo).toMatchObject({ mode, requested: mode });
    expect(modeInfo.fallback).toBeUndefined();
    expect(results.info.kernelFallbacks).toBeUndefined();
  });

  test('every case equals the CPU reference, made on the device', () => {
    expect(results.cases.length).toBeGreaterThan(25);
    const problems: string[] = [];
    let checked = 0;
    for (const c of results.cases) {
      const gap = mode === 'webgpu' ? webgpuGap(c.name) : undefined;
      if (gap !== undefined) {
        if (c.got !== null) problems.push(`${c.name}: listed as a WebGPU gap (${gap}) but now runs: check it and drop it from WEBGPU_GAPS`);
        continue;
      }
      checked++;
      if (c.got === null) {
        problems.push(`${c.name}: ${c.error}`);
        continue;
      }
      const outErr = relError(Float32Array.from(c.got.out), Float32Array.from(c.ref.out));
      if (!(outErr < TOL)) problems.push(`${c.name}: output differs by ${outErr}`);
      c.got.grads.forEach((g, j) => {
        const e = relError(Float32Array.from(g), Float32Array.from(c.ref.grads[j]!));
        if (!(e < TOL)) problems.push(`${c.name}: gradient ${j} differs by ${e}`);
      });
      if (c.got.grads.length !== c.ref.grads.length)
        problems.push(`${c.name}: ${c.got.grads.length} gradients, expected ${c.ref.grads.length}`);
      if (!c.got.outOnDevice) problems.push(`${c.name}: output not made on the device`);
      if (!c.gradOnCpu && c.got.grads.length > 0 && !c.got.gradOnDevice) problems.push(`${c.name}: gradient not made on the device`);
    }
    expect(problems).toEqual([]);
    // webgl2 runs every case; webgpu the pooling, ReLU (plain and deconvnet rule), reluBackward and mask cases.
    expect(checked).toBeGreaterThanOrEqual(mode === 'webgl2' ? results.cases.length : 14);
  });
});
