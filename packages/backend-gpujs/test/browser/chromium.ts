/**
 * Pages served from memory at http://localhost:8123/ (routed by playwright, no server) with cross-origin
 * isolation headers (COOP/COEP), so SharedArrayBuffer and WebAssembly threads exist there, in the Chromium
 * that scripts/chromium.cjs starts (Debian's, never a downloaded browser). `bundle` builds a page script with
 * esbuild from the packages' browser entries (src/browser.ts), as the browser build does.
 */
import * as path from 'path';
import type { BrowserContext, Page } from 'playwright-core';
import { haveChromium, launchChromium, missingChromium } from '../../../../scripts/chromium.cjs';

/** localhost is a secure context (WebGPU and SharedArrayBuffer need one); requests never leave playwright's router. */
export const ORIGIN = 'http://localhost:8123';
const ROOT = path.resolve(__dirname, '..', '..', '..', '..');

/** Whether Debian's chromium is installed (CI installs it: .ci/run); says why the browser tests skip when not. */
export function chromiumPresent(): boolean {
  if (haveChromium()) return true;
  console.warn(missingChromium('gpujs browser tests skipped'));
  return false;
}

/** '@gradlens/<p>' resolved to each package's browser entry, so the page is built from source. */
function browserAliases(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of ['tensor', 'backend-gpujs', 'io', 'nn', 'explain'])
    out[`@gradlens/${p}`] = path.join(ROOT, 'packages', p, 'src', 'browser.ts');
  return out;
}

/** One ES module of `entry` and everything it imports, for browsers; throws if a Node module is reached. */
export async function bundle(entry: string): Promise<string> {
  const esbuild = (await import('esbuild')) as typeof import('esbuild');
  const r = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    alias: browserAliases(),
    logLevel: 'silent',
  });
  return r.outputFiles[0]!.text;
}

/** A started Chromium with a fresh profile; `webgpu` adds --enable-unsafe-webgpu. */
export const launch = launchChromium;

/** Opens a page at ORIGIN whose files (path → content) are served from memory, cross-origin isolated unless `isolated` is false. */
export async function openPage(browser: BrowserContext, files: Record<string, string>, isolated = true): Promise<Page> {
  const page = await browser.newPage();
  const headers: Record<string, string> = isolated
    ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }
    : {};
  await page.route(`${ORIGIN}/**`, async (route) => {
    const p = new URL(route.request().url()).pathname;
    const body = files[p];
    if (body === undefined) return route.fulfill({ status: 404, body: 'not found' });
    const type = p.endsWith('.html') ? 'text/html' : 'text/javascript';
    return route.fulfill({ status: 200, body, headers: { 'Content-Type': type, ...headers } });
  });
  await page.goto(`${ORIGIN}/index.html`);
  return page;
}
