'use strict';
// `npm pack` runs this before packing (copies the repository's weights/ files the package ships into
// data/) and with --clean after (removes data/ again, so a checkout never reads a stale copy).
const fs = require('fs');
const path = require('path');

const data = path.join(__dirname, 'data');
const source = path.resolve(__dirname, '..', '..', 'weights');
/** The files of weights/ the package ships; everything else there (training scripts, logs, runs) stays in the repository. */
const FILES = ['gapnet.safetensors', 'gapnet.json', 'smallvgg.safetensors', 'smallvgg.json'];

fs.rmSync(data, { recursive: true, force: true });
if (process.argv[2] !== '--clean') {
  if (!fs.existsSync(source)) throw new Error(`@gradlens/weights: ${source} not found (pack from a gradlens checkout)`);
  fs.mkdirSync(path.join(data, 'samples'), { recursive: true });
  for (const f of FILES) fs.copyFileSync(path.join(source, f), path.join(data, f));
  const samples = path.join(source, 'samples');
  for (const f of fs.readdirSync(samples)) {
    if (f.endsWith('.png') || f.endsWith('.json')) fs.copyFileSync(path.join(samples, f), path.join(data, 'samples', f));
  }
}
