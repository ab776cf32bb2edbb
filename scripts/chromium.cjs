'use strict';
// How gradlens starts a browser, in one place, for the TypeScript tests (page, conformance, gallery) and the
// plain-JS scripts (benchmarks/browser*.js, packages/web/screenshots.js): Debian's chromium (/usr/bin/chromium,
// or GRADLENS_CHROMIUM; never a browser a tool downloads), driven by playwright-core, on a fresh profile.
const fs = require('fs');
const os = require('os');
const path = require('path');

/** The browser gradlens drives: GRADLENS_CHROMIUM, else Debian's chromium (.ci/run installs it). */
const CHROMIUM = process.env.GRADLENS_CHROMIUM || '/usr/bin/chromium';

/** Whether a browser is at `executablePath` (default CHROMIUM). */
function haveChromium(executablePath = CHROMIUM) {
  return fs.existsSync(executablePath);
}

/** The one-line reason `what` cannot run without a browser at `executablePath`, and how to get one. */
function missingChromium(what, executablePath = CHROMIUM) {
  return `${what}: no browser at ${executablePath} (apt-get install -y chromium, or set GRADLENS_CHROMIUM; gradlens never downloads one)`;
}

/**
 * Chromium's command-line flags: headless unless `headed`, no sandbox, nothing from the network, WebGPU when
 * `webgpu` (--enable-unsafe-webgpu: Chromium keeps it behind a flag on Linux), no GPU process when `gpu` is false.
 */
function chromiumArgs({ webgpu = false, headed = false, gpu = true } = {}) {
  const args = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
  if (!headed) args.unshift('--headless');
  if (webgpu) args.push('--enable-unsafe-webgpu');
  if (!gpu) args.push('--disable-gpu');
  return args;
}

/**
 * Starts the browser on a fresh profile (a persistent context: playwright passes it as --user-data-dir) and
 * returns the context and `close()`, which also deletes the profile. Throws one line when no browser is there.
 * Options: executablePath, webgpu, headed, gpu (see chromiumArgs), viewport.
 */
async function launchChromium(options = {}) {
  const executablePath = options.executablePath || CHROMIUM;
  if (!haveChromium(executablePath)) throw new Error(missingChromium('cannot start Chromium', executablePath));
  const { chromium } = require('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: !options.headed,
      args: chromiumArgs(options),
      ...(options.viewport ? { viewport: options.viewport } : {}),
    });
    return {
      context,
      async close() {
        await context.close();
        fs.rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (e) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw e;
  }
}

module.exports = { CHROMIUM, haveChromium, missingChromium, chromiumArgs, launchChromium };
