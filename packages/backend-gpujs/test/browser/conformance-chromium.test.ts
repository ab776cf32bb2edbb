/**
 * The gpujs conformance suite inside Chromium (Debian's, headless; SwiftShader renders here): the same
 * cases and tolerance as conformance.test.ts (test/cases.ts), on the CPU backend and on gpujs in webgl2
 * and webgpu mode, in the page; every gpujs result must have been made on the device (no silent fallback).
 * webgpu runs them with gpu.js's asynchronous results (read with `await data()`); WEBGPU_GAPS lists any it cannot run, with why.
 */
import * as path from 'path';
import { relError } from '../run-case';
import { TOL } from '../cases';
import type { PageCase } from './page-entry';
import { bundle, chromiumPresent, launch, openPage } from './chromium';

const MODES = ['webgl2', 'webgpu'] as const;

/**
 * Cases gpu.js's WebGPU mode cannot run, by name prefix, with why: none today (conv and matmul run as
 * one-value-per-thread kernels there, and a CPU op between device ops awaits its inputs: see
 * src/async-contract.ts). A case listed here must still fail, so the list shrinks when one is fixed, never silently.
 */
const WEBGPU_GAPS: readonly [string, string][] = [];
const webgpuGap = (name: string): string | undefined => WEBGPU_GAPS.find(([prefix]) => name.startsWith(prefix))?.[1];
const run = chromiumPresent() ? describe : describe.skip;
jest.setTimeout(180_000);

run.each(MODES)('gpujs conformance in Chromium, %s mode', (mode) => {
  let results: { cases: PageCase[]; info: Record<string, string> };
  let modeInfo: Record<string, string>;

  beforeAll(async () => {
    const script = await bundle(path.join(__dirname, 'page-entry.ts'));
    const chrome = await launch({ webgpu: mode === 'webgpu' });
    try {
      const page = await openPage(chrome.context, {
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
    // an op without a device kernel runs on the CPU between device ops, and says so (webgpu: after its input arrived)
    for (const c of results.cases.filter((k) => k.name.startsWith('conv, batchNorm'))) expect(c.got?.info?.cpuOps).toMatch(/batchNorm/);
    // a vision transformer's ops, the CAM and many-pass methods' ones, and their rules run wholly on the device
    const transformerOps = /^(exp|erf|gelu|neg, log|pow|eq, minimum|softmax|layerNorm|permute|slice|cat|ne, |min over|expand|indexSelect)/;
    const onCpu = results.cases
      .filter((c) => transformerOps.test(c.name))
      .map((c) => [c.name, c.got?.info?.cpuOps, c.got?.info?.cpuFallbacks].filter((v) => v !== undefined).join(': '));
    expect(onCpu.filter((line) => line.includes(': '))).toEqual([]);
    expect(onCpu.length).toBeGreaterThanOrEqual(20);
    // every case but the listed gaps
    expect(checked).toBe(results.cases.length - (mode === 'webgpu' ? results.cases.filter((c) => webgpuGap(c.name)).length : 0));
  });
});
