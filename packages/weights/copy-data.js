'use strict';
// `npm pack` runs this before packing (copies the repository's weights/ files the package ships into
// data/) and with --clean after (removes data/ again, so a checkout never reads a stale copy).
const fs = require('fs');
const path = require('path');

const data = path.join(__dirname, 'data');
const source = path.resolve(__dirname, '..', '..', 'weights');
/**
 * The files of weights/ the package ships: each bundled model's weights and card (@gradlens/nn's
 * bundledModels; a test checks the two lists agree). Everything else there (training scripts, logs,
 * runs) stays in the repository.
 */
const FILES = ['gapnet.safetensors', 'gapnet.json', 'smallvgg.safetensors', 'smallvgg.json', 'vit.safetensors', 'vit.json'];

/** Copies the shipped files into data/ (or, with clean, only removes data/). */
function copyData(clean) {
  fs.rmSync(data, { recursive: true, force: true });
  if (clean) return;
  if (!fs.existsSync(source)) throw new Error(`@gradlens/weights: ${source} not found (pack from a gradlens checkout)`);
  const missing = FILES.filter((f) => !fs.existsSync(path.join(source, f)));
  if (missing.length > 0) throw new Error(`@gradlens/weights: ${missing.join(', ')} not found in ${source} (train them with weights/train.js)`);
  fs.mkdirSync(path.join(data, 'samples'), { recursive: true });
  for (const f of FILES) fs.copyFileSync(path.join(source, f), path.join(data, f));
  const samples = path.join(source, 'samples');
  for (const f of fs.readdirSync(samples)) {
    if (f.endsWith('.png') || f.endsWith('.json')) fs.copyFileSync(path.join(samples, f), path.join(data, 'samples', f));
  }
}

if (require.main === module) copyData(process.argv[2] === '--clean');

module.exports = { FILES };
