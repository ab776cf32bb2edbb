#!/usr/bin/env node
'use strict';
// Packs every package under packages/ with `npm pack`, checks each tarball's contents (LICENSE,
// README, no tests, every source map's sources shipped), installs the tarballs offline into a fresh
// folder and runs a strict TypeScript program, an ES module and a CommonJS program against them and
// loads an ONNX model with @gradlens/onnx,
// then `npx gradlens demo --quick` and `gradlens serve` (the page from the installed @gradlens/web) there. Needs a built checkout (`npx tsc -b`) and npm's cache
// (after `npm ci`). Usage: node scripts/pack-install-check.js [--keep]   (exit 0 when all pass)
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** Every publishable package; backend-gpujs is packed and checked but not installed (gpu.js builds the native `gl` module). */
const PACKAGES = ['tensor', 'io', 'nn', 'explain', 'onnx', 'cli', 'weights', 'web', 'backend-gpujs'];
const INSTALL = PACKAGES.filter((p) => p !== 'backend-gpujs');

function run(cmd, args, cwd, env = {}) {
  try {
    return execFileSync(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 << 20,
    });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${e.stderr || e.message}`.slice(0, 4000));
  }
}

/** Packs one package; returns the tarball path and the file list npm reports. */
function pack(dir, dest) {
  const out = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', dest], path.join(root, 'packages', dir)));
  const info = out[0];
  const files = new Set(info.files.map((f) => f.path));
  const problems = [];
  for (const f of ['LICENSE', 'README.md', 'package.json']) if (!files.has(f)) problems.push(`${f} missing`);
  for (const f of files) {
    if (/\.test\.(ts|js|d\.ts)$/.test(f) || f.startsWith('test/')) problems.push(`test file shipped: ${f}`);
    if (!f.endsWith('.map')) continue;
    const map = JSON.parse(fs.readFileSync(path.join(root, 'packages', dir, f), 'utf8'));
    for (const s of map.sources) {
      const src = path.posix.normalize(path.posix.join(path.posix.dirname(f), map.sourceRoot || '', s));
      if (!files.has(src)) problems.push(`${f} points at ${src}, which is not shipped`);
    }
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'packages', dir, 'package.json'), 'utf8'));
  for (const k of ['description', 'repository', 'keywords', 'engines', 'exports', 'files', 'license'])
    if (pkg[k] === undefined) problems.push(`package.json has no "${k}"`);
  if (problems.length)
    throw new Error(`${info.name}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}`);
  return { name: info.name, tarball: path.join(dest, info.filename), files };
}

const TS_PROGRAM = `import { Tensor, tensor, matmul, sum } from '@gradlens/tensor';
import { readImage, type RasterImage } from '@gradlens/io';
import { imageToInput, loadBundledModel, type BundledModelName } from '@gradlens/nn';
import { gradCam, saveMap } from '@gradlens/explain';
import { samplesDir } from '@gradlens/weights';
import { loadOnnx, type OnnxModel } from '@gradlens/onnx';
import * as path from 'path';

const a: Tensor = tensor([[1, 2], [3, 4]]);
const s: number = sum(matmul(a, a)).item();
const name: BundledModelName = 'gapnet';
const image: RasterImage = readImage(path.join(samplesDir, '00-ankle-boot.png'));
const { model, input } = loadBundledModel(name);
const cam = gradCam(model, imageToInput(image, input));
saveMap('ts-gradcam.png', cam, { image });
const load: (file: string) => OnnxModel = loadOnnx;
console.log(JSON.stringify({ s, shape: cam.map.shape, onnx: typeof load }));
`;

const ESM_PROGRAM = `import { tensor, matmul, sum } from '@gradlens/tensor';
import { readImage } from '@gradlens/io';
import { imageToInput, loadBundledModel } from '@gradlens/nn';
import { gradCam } from '@gradlens/explain';
import weights from '@gradlens/weights';
import * as path from 'node:path';

const a = tensor([[1, 2], [3, 4]]);
const { model, input } = loadBundledModel('smallvgg');
const cam = gradCam(model, imageToInput(readImage(path.join(weights.samplesDir, '01-pullover.png')), input));
console.log(JSON.stringify({ s: sum(matmul(a, a)).item(), shape: cam.map.shape }));
`;

/** A small torch.onnx export (a reduced DenseNet, 44 kB) from the onnx package's test fixtures, not shipped. */
const ONNX_FIXTURE = path.join(root, 'packages', 'onnx', 'test', 'fixtures', 'densenet121.onnx');

// loadOnnx reads onnx.proto from beside dist/: this fails if the tarball leaves it out.
const ONNX_PROGRAM = `const { loadOnnx } = require('@gradlens/onnx');
const { gradCam } = require('@gradlens/explain');
const { randn } = require('@gradlens/tensor');

const model = loadOnnx(process.argv[2]);
const x = randn([1, ...model.inputShape.slice(1)]);
const cam = gradCam(model, x, { layer: model.defaultCamLayer() });
const v = Array.from(cam.map.dataSync());
console.log(JSON.stringify({ shape: cam.map.shape, finite: v.every(Number.isFinite), max: Math.max(...v) }));
`;

const CJS_PROGRAM = `const { tensor, matmul, sum } = require('@gradlens/tensor');
const { readImage } = require('@gradlens/io');
const { imageToInput, loadBundledModel } = require('@gradlens/nn');
const { gradCam } = require('@gradlens/explain');
const { samplesDir } = require('@gradlens/weights');
const path = require('path');

const a = tensor([[1, 2], [3, 4]]);
const { model, input } = loadBundledModel('gapnet');
const cam = gradCam(model, imageToInput(readImage(path.join(samplesDir, '02-trouser.png')), input));
console.log(JSON.stringify({ s: sum(matmul(a, a)).item(), shape: cam.map.shape }));
`;

function expectResult(out, what) {
  const last = out.trim().split('\n').pop() ?? '';
  const r = JSON.parse(last);
  // [[1,2],[3,4]]² = [[7,10],[15,22]], sum 54; a CAM map is [1, h, w]
  if (r.s !== 54 || r.shape.length !== 3 || r.shape[0] !== 1) throw new Error(`${what}: unexpected result ${last}`);
}

/** Starts the installed `gradlens serve --port 0`, fetches the page's index.html and page.js, stops it; prints JSON. */
const SERVE_PROGRAM = `const { spawn } = require('child_process');
const http = require('http');
const bin = require.resolve('@gradlens/cli/package.json').replace(/package\\.json$/, 'bin/gradlens.js');
const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const get = (url) => new Promise((resolve, reject) =>
  http.get(url, (res) => { let body = ''; res.on('data', (d) => (body += d)); res.on('end', () => resolve({ status: res.statusCode, body, headers: res.headers })); }).on('error', reject));
const timer = setTimeout(() => { child.kill(); console.error('no URL in 60 s'); process.exit(1); }, 60000);
let out = '';
child.stdout.on('data', async (d) => {
  out += d;
  const m = /http:\\/\\/127\\.0\\.0\\.1:\\d+\\//.exec(out);
  if (!m) return;
  child.stdout.removeAllListeners('data');
  try {
    const index = await get(m[0]);
    const page = await get(m[0] + 'page.js');
    console.log(JSON.stringify({ index: index.status, page: page.status, title: /<title>gradlens/.test(index.body), coop: index.headers['cross-origin-opener-policy'] }));
  } finally {
    clearTimeout(timer);
    child.kill();
  }
});
`;

function main() {
  const keep = process.argv.includes('--keep');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-pack-'));
  const log = (m) => process.stdout.write(`pack-install-check: ${m}\n`);
  try {
    for (const p of PACKAGES)
      if (p !== 'weights' && !fs.existsSync(path.join(root, 'packages', p, 'dist')))
        throw new Error(`packages/${p}/dist missing: build first (npx tsc -b)`);
    const tarballs = path.join(tmp, 'tarballs');
    fs.mkdirSync(tarballs);
    const packed = Object.fromEntries(PACKAGES.map((p) => [p, pack(p, tarballs)]));
    log(
      `packed ${PACKAGES.length} packages (${Object.values(packed)
        .map((x) => path.basename(x.tarball))
        .join(', ')})`,
    );

    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    const deps = Object.fromEntries(INSTALL.map((p) => [packed[p].name, `file:${packed[p].tarball}`]));
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'pack-check-app', private: true, version: '0.0.0', dependencies: deps }, null, 2),
    );
    run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock'], app);
    log('installed the tarballs into a fresh folder (--prefer-offline: third-party packages from the npm cache when there)');

    // Strict TypeScript, resolving through the packages' `exports` (node16), with the workspace's compiler.
    const typesRoot = path.join(root, 'node_modules', '@types');
    fs.writeFileSync(path.join(app, 'main.ts'), TS_PROGRAM);
    fs.writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify(
        {
          compilerOptions: {
            target: 'ES2022',
            module: 'node16',
            moduleResolution: 'node16',
            strict: true,
            noUncheckedIndexedAccess: true,
            exactOptionalPropertyTypes: true,
            noImplicitOverride: true,
            skipLibCheck: false,
            esModuleInterop: true,
            typeRoots: [typesRoot],
            types: ['node'],
            outDir: 'out',
          },
          files: ['main.ts'],
        },
        null,
        2,
      ),
    );
    run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], app);
    expectResult(run(process.execPath, ['out/main.js'], app), 'TypeScript program');
    if (!fs.existsSync(path.join(app, 'ts-gradcam.png'))) throw new Error('TypeScript program: ts-gradcam.png not written');
    log('strict TypeScript program compiled and ran');

    fs.writeFileSync(path.join(app, 'main.mjs'), ESM_PROGRAM);
    expectResult(run(process.execPath, ['main.mjs'], app), 'ES module program');
    log('ES module program ran');
    fs.writeFileSync(path.join(app, 'main.cjs'), CJS_PROGRAM);
    expectResult(run(process.execPath, ['main.cjs'], app), 'CommonJS program');
    log('CommonJS program ran');
    fs.writeFileSync(path.join(app, 'onnx.cjs'), ONNX_PROGRAM);
    const onnx = JSON.parse(run(process.execPath, ['onnx.cjs', ONNX_FIXTURE], app).trim().split('\n').pop() ?? '');
    if (onnx.shape.length !== 3 || !onnx.finite || !(onnx.max > 0))
      throw new Error(`ONNX program: unexpected result ${JSON.stringify(onnx)}`);
    log('ONNX program loaded a torch.onnx export and ran Grad-CAM on it');

    // The installed command finds the bundled weights through @gradlens/weights (no GRADLENS_WEIGHTS, no checkout).
    delete process.env.GRADLENS_WEIGHTS;
    run(npm, ['exec', '--offline', '--no', '--', 'gradlens', 'demo', '--quick', '--out', 'demo'], app);
    const page = fs.readFileSync(path.join(app, 'demo', 'index.html'), 'utf8');
    if (!page.includes('gapnet') || !page.includes('smallvgg'))
      throw new Error('gradlens demo --quick: the page names neither bundled model');
    log('npx gradlens demo --quick wrote demo/index.html');
    // The installed command finds the built page in @gradlens/web (a dependency of the CLI): the demo copies it, serve serves it.
    if (!fs.existsSync(path.join(app, 'demo', 'page', 'index.html'))) throw new Error('gradlens demo --quick: no page/ copied');
    fs.writeFileSync(path.join(app, 'serve.cjs'), SERVE_PROGRAM);
    const served = JSON.parse(run(process.execPath, ['serve.cjs'], app).trim().split('\n').pop() ?? '');
    if (served.index !== 200 || served.page !== 200 || !served.title || served.coop !== 'same-origin')
      throw new Error(`gradlens serve: unexpected answers ${JSON.stringify(served)}`);
    log('npx gradlens serve served the installed page (index.html, page.js, cross-origin isolated)');
  } finally {
    if (keep) log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
}

try {
  main();
} catch (e) {
  process.stderr.write(`pack-install-check: ${e.message}\n`);
  process.exitCode = 1;
}
