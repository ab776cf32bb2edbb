import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { BrowserContext, Page } from 'playwright-core';
import type { Tensor } from '@gradlens/tensor';
import { haveChromium as browserThere, launchChromium, missingChromium } from '../../../scripts/chromium.cjs';

/**
 * What the page tests share: the Chromium scripts/chromium.cjs starts (Debian's, never a downloaded
 * browser), the built page, and reading the page's maps back. .ci/run installs chromium; without it the
 * page tests are skipped with a message.
 */
export const haveChromium = browserThere();
if (!haveChromium) console.warn(missingChromium('page test skipped'));

export const WEB = path.resolve(__dirname, '..');
export const DIST = path.join(WEB, 'dist');
export const SAMPLE = path.resolve(__dirname, '../../../weights/samples/00-ankle-boot.png');

/** npm ci builds the page (root `prepare`); builds it when this checkout has not. */
export function ensureBuilt(): void {
  if (!fs.existsSync(path.join(DIST, 'page.js'))) execFileSync(process.execPath, [path.join(WEB, 'build.js')], { stdio: 'pipe' });
}

export interface PageArray {
  shape: number[];
  data: number[];
}
export interface PageResult {
  kind: string;
  raw: PageArray;
  upsampled: PageArray | null;
  target: number | null;
  notes: string[];
  timings: { step: string; backend: string; cpuOps?: string; cpuFallbacks?: string; runs?: number }[];
  perNode?: { sum: number; abs: number }[];
}

/** max |a − b| ≤ 1e-4 · max |b|: the maps agree to 1e-4 relative. */
export function expectClose(page: PageArray, node: Float32Array | number[], shape: readonly number[]): void {
  expect(page.shape).toEqual([...shape]);
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < node.length; i++) {
    scale = Math.max(scale, Math.abs(node[i]!));
    diff = Math.max(diff, Math.abs(page.data[i]! - node[i]!));
  }
  expect(scale).toBeGreaterThan(0);
  expect(diff).toBeLessThanOrEqual(1e-4 * scale);
}

/** Item 0 of a [1, …] tensor as plain numbers. */
export const item0 = (t: Tensor): Float32Array => Float32Array.from(t.dataSync());

/** Evaluates a JavaScript expression in the page (a string: the tests are compiled without the DOM types). */
export const run = <T>(page: Page, expression: string): Promise<T> => page.evaluate(expression) as Promise<T>;

/** The page's float maps of one method, once its card is done. */
export async function resultOf(page: Page, method: string): Promise<PageResult> {
  const m = JSON.stringify(method);
  // SwiftShader's WebGPU compiles each new kernel slowly, and more so on a busy machine
  await page.waitForFunction(`window.gradlensPage.results[${m}] !== undefined && document.body.dataset.busy === '0'`, undefined, {
    timeout: 300000,
  });
  return run<PageResult>(
    page,
    `(() => {
    const r = window.gradlensPage.results[${m}];
    const arr = (a) => (a ? { shape: a.shape, data: Array.from(a.data) } : null);
    return { kind: r.kind, raw: arr(r.raw), upsampled: arr(r.upsampled), target: r.target, notes: r.notes, timings: r.timings, perNode: r.perNode };
  })()`,
  );
}

/** Clicks a rule preset (or sets a picker) and returns the map recomputed from the tape. */
export async function tapeAfter(page: Page, act: () => Promise<unknown>): Promise<PageResult> {
  await run(page, 'delete window.gradlensPage.results.tape');
  await act();
  return resultOf(page, 'tape');
}

/** A canvas's RGBA pixels. */
export const canvasPixels = (page: Page, selector: string): Promise<{ w: number; h: number; data: number[] }> =>
  run(
    page,
    `(() => {
  const c = document.querySelector(${JSON.stringify(selector)});
  return { w: c.width, h: c.height, data: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data) };
})()`,
  );

/** Starts chromium headless on a fresh profile (WebGPU enabled); `close()` also deletes the profile. */
export const launch = (): ReturnType<typeof launchChromium> => launchChromium({ webgpu: true, viewport: { width: 1400, height: 1100 } });

/** Opens the page and waits until it has loaded its first model and sample. */
export async function openPage(context: BrowserContext, url: string, errors: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60000 });
  return page;
}

/** Selects a gpu.js mode ('gpujs:webgl2', 'gpujs:webgpu') on the page, or leaves the CPU. */
export async function selectBackend(page: Page, backend: string): Promise<void> {
  if (backend === 'cpu') return;
  await page.selectOption('#backend-select', backend);
  await page.waitForFunction(`/backend gpujs/.test(document.getElementById('status').textContent)`);
}
