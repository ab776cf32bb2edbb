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
  // Every library comes through its browser entry (the `browser` export condition): no Node module and
  // no stub; an import of one (fs, path, …) is a build error here, as platform 'browser' cannot resolve it.
  plugins: [],
};

/** data.js: every bundled model (weights and card; nn's `bundledModels`) and the sample pictures, from @gradlens/weights. */
function dataScript() {
  const { weightsDir, samplesDir } = require('@gradlens/weights');
  const models = Object.keys(require('@gradlens/nn').bundledModels).map((name) => ({
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
    plugins: [workerSource(workerText)],
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
