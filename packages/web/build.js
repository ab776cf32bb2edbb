'use strict';
// Builds the page into dist/: index.html, style.css, page.js (the page, with the worker's bundle inside
// as a string, so a Blob worker starts from file:// too) and data.js (the bundled models and samples,
// base64, loaded by a <script> tag, which also works from file://). Prints the size of each file.
// Run by the root `prepare` (npm ci) after `tsc -b`, since the bundles start from the packages' dist/.
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const here = __dirname;
const out = path.join(here, 'dist');

/**
 * Node built-ins that a library module imports on a path the page never takes (file reading, Node's
 * worker threads, the Node PNG codec): each becomes a module whose every export throws, naming itself.
 * The page decodes pictures with the browser and hands the libraries bytes, never paths.
 */
const NODE_ONLY = [
  'fs',
  'path',
  'zlib',
  'os',
  'worker_threads',
  'crypto',
  'child_process',
  'url',
  'util',
  'module',
  'stream',
  'assert',
  'pngjs',
  'gl',
  'webgpu',
];
/** Optional native packages the gpujs backend tries to load in Node; in the page they fail to load. */
const OPTIONAL_PACKAGES = ['gl', 'webgpu'];
/** Functions a library probes for and does without when absent (io's CRC-32 uses zlib.crc32 only where Node has it). */
const PROBED = { zlib: ['crc32'] };
const nodeStubs = {
  name: 'node-stubs',
  setup(build) {
    const filter = new RegExp(`^(node:)?(${NODE_ONLY.join('|')})$`);
    build.onResolve({ filter }, (a) => ({ path: a.path.replace(/^node:/, ''), namespace: 'node-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'node-stub' }, (a) => ({
      // an optional native package (headless-gl, Dawn) fails to load, as it does where it is not installed
      contents: OPTIONAL_PACKAGES.includes(a.path)
        ? `throw new Error(${JSON.stringify(`${a.path} is not available in the browser`)});`
        : `const fail = (k) => () => { throw new Error(${JSON.stringify(`${a.path} is not available in the browser`)} + ' (' + String(k) + ')'); };
const optional = new Set(${JSON.stringify(PROBED[a.path] ?? [])});
module.exports = new Proxy({}, { get: (_t, k) => (k === '__esModule' || optional.has(k) ? undefined : k === 'sep' ? '/' : fail(k)) });`,
      loader: 'js',
    }));
  },
};

/**
 * @gradlens/onnx reads its onnx.proto from the disk (protobufjs's loadSync); in the page the schema is
 * inlined and parsed with protobuf.parse (the same camelCase names as loadSync). The build fails if the
 * call it replaces is gone, so a change in @gradlens/onnx cannot ship a broken page.
 */
const onnxSchema = {
  name: 'onnx-schema',
  setup(build) {
    build.onLoad({ filter: /[\\/]onnx[\\/]dist[\\/]proto\.js$/ }, (a) => {
      const text = fs.readFileSync(a.path, 'utf8');
      const call = "protobuf.loadSync(path.join(__dirname, '..', 'onnx.proto'))";
      if (!text.includes(call)) throw new Error(`${a.path} no longer calls ${call}; update packages/web/build.js`);
      const schema = fs.readFileSync(path.join(path.dirname(a.path), '..', 'onnx.proto'), 'utf8');
      return { contents: text.replace(call, `protobuf.parse(${JSON.stringify(schema)}).root`), loader: 'js' };
    });
  },
};

/** `import source from 'gradlens:worker-source'` gives the worker bundle's text. */
const workerSource = (text) => ({
  name: 'worker-source',
  setup(build) {
    build.onResolve({ filter: /^gradlens:worker-source$/ }, () => ({ path: 'worker-source', namespace: 'gradlens' }));
    build.onLoad({ filter: /.*/, namespace: 'gradlens' }, () => ({ contents: `export default ${JSON.stringify(text)};`, loader: 'js' }));
  },
});

const common = {
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: true,
  // layers() names module types by their class names, which plain minification would rename
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  // the core reads no environment in the browser: every process.env.X is undefined
  define: { 'process.env': '{}' },
  plugins: [nodeStubs, onnxSchema],
};

/** data.js: the bundled models (weights and card) and the sample pictures, from @gradlens/weights. */
function dataScript() {
  const { weightsDir, samplesDir } = require('@gradlens/weights');
  const models = ['gapnet', 'smallvgg'].map((name) => ({
    name,
    card: JSON.parse(fs.readFileSync(path.join(weightsDir, `${name}.json`), 'utf8')),
    weights: fs.readFileSync(path.join(weightsDir, `${name}.safetensors`)).toString('base64'),
  }));
  const listing = JSON.parse(fs.readFileSync(path.join(samplesDir, 'samples.json'), 'utf8'));
  const samples = listing.samples.map((s) => ({
    file: s.file,
    className: s.class,
    png: fs.readFileSync(path.join(samplesDir, s.file)).toString('base64'),
  }));
  const archs = Object.keys(require('@gradlens/nn').modelBuilders);
  return `window.GRADLENS_DATA = ${JSON.stringify({ models, samples, archs })};\n`;
}

/** Writes `file` whole (a temporary file renamed into place). */
function write(file, contents) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, contents);
  fs.renameSync(tmp, file);
}

async function main() {
  fs.mkdirSync(out, { recursive: true });
  const worker = await esbuild.build({ ...common, entryPoints: [path.join(here, 'src/worker/worker.ts')], write: false });
  const workerText = worker.outputFiles[0].text;
  const page = await esbuild.build({
    ...common,
    entryPoints: [path.join(here, 'src/page/page.ts')],
    write: false,
    plugins: [nodeStubs, onnxSchema, workerSource(workerText)],
  });
  write(path.join(out, 'page.js'), page.outputFiles[0].contents);
  write(path.join(out, 'data.js'), dataScript());
  for (const f of ['index.html', 'style.css']) write(path.join(out, f), fs.readFileSync(path.join(here, 'src', f)));
  const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;
  const sizes = ['index.html', 'style.css', 'page.js', 'data.js'].map((f) => [f, fs.statSync(path.join(out, f)).size]);
  const report = sizes.map(([f, n]) => `${f} ${kb(n)}`).join(', ');
  console.log(
    `@gradlens/web: built ${path.relative(process.cwd(), out) || '.'}/ (${report}; the worker is ${kb(workerText.length)} of page.js)`,
  );
}

main().catch((e) => {
  console.error(`@gradlens/web build failed: ${e.message}`);
  process.exit(1);
});
