#!/usr/bin/env node
'use strict';
// Builds the ES module outputs with esbuild (run by `npm run build` and the root `prepare`, so `npm ci`
// on a clean clone makes them; tsc -b must have run first for the CommonJS it wraps):
//  - packages/<p>/dist/esm/browser.mjs: the package's browser entry (src/browser.ts) as one ES module,
//    its dependencies left as imports (the `browser` export condition);
//  - packages/<p>/dist/esm/index.mjs: an ES module face on the CommonJS Node build (the `node`+`import`
//    condition), so ESM and CommonJS importers in Node share one module instance (one backend registry);
//  - dist/browser/gradlens.mjs: tensor, backend-gpujs, io, nn and explain for browsers in one minified ES
//    module with its dependencies inside (`import { tensor, nn, explain, io, gpujs } from '…'`), and
//    dist/browser/meta.json, esbuild's list of what went in (the bundle test reads it).
// Usage: node scripts/build-browser.js
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const root = path.resolve(__dirname, '..');
/** Packages that have (or will have) a browser entry, src/browser.ts. */
const BROWSER_PACKAGES = { tensor: 'tensor', gpujs: 'backend-gpujs', io: 'io', nn: 'nn', explain: 'explain' };

/** Packages with a browser entry that the one-module bundle leaves out (the page imports them itself). */
const BROWSER_ONLY_ENTRY = ['onnx'];

async function main() {
  for (const p of [...Object.values(BROWSER_PACKAGES), ...BROWSER_ONLY_ENTRY]) {
    const dir = path.join(root, 'packages', p);
    if (!fs.existsSync(path.join(dir, 'src', 'browser.ts'))) continue;
    await esbuild.build({
      entryPoints: [path.join(dir, 'src', 'browser.ts')],
      outfile: path.join(dir, 'dist', 'esm', 'browser.mjs'),
      bundle: true,
      packages: 'external',
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      logLevel: 'error',
    });
  }
  for (const p of ['tensor', 'backend-gpujs', 'io', 'nn', 'explain', 'cli']) {
    const dir = path.join(root, 'packages', p);
    const main = path.basename(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).main, '.js');
    fs.mkdirSync(path.join(dir, 'dist', 'esm'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'dist', 'esm', `${main}.mjs`),
      `// ES module face of the CommonJS build (one module instance for both).\nexport * from '../${main}.js';\n`,
    );
  }
  // The whole library for a <script type="module">, built from source: '@gradlens/<p>' → src/browser.ts.
  const alias = Object.fromEntries(
    Object.values(BROWSER_PACKAGES).map((p) => [`@gradlens/${p}`, path.join(root, 'packages', p, 'src', 'browser.ts')]),
  );
  const out = path.join(root, 'dist', 'browser');
  fs.mkdirSync(out, { recursive: true });
  const contents = Object.entries(BROWSER_PACKAGES)
    .map(([name, p]) => `export * as ${name} from '@gradlens/${p}';`)
    .join('\n');
  const result = await esbuild.build({
    stdin: { contents, resolveDir: root, sourcefile: 'gradlens-browser.js', loader: 'js' },
    outfile: path.join(out, 'gradlens.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    metafile: true,
    alias,
    logLevel: 'error',
  });
  fs.writeFileSync(path.join(out, 'meta.json'), JSON.stringify(result.metafile));
  const bundle = fs.readFileSync(path.join(out, 'gradlens.mjs'));
  const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
  console.log(`build-browser: dist/browser/gradlens.mjs ${kib(bundle.length)} (${kib(zlib.gzipSync(bundle).length)} gzipped)`);
}

main().catch((e) => {
  console.error(`build-browser: ${e.message}`);
  process.exit(1);
});
