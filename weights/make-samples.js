#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Writes the bundled sample pictures: weights/samples/NN-<class>.png (64×64 RGB) and
 * weights/samples/samples.json (file, label, class, box [x0, y0, x1, y1] with x1/y1 exclusive,
 * source index). They are cluttered Fashion-MNIST compositions of the TEST split with the seed the
 * cards' test accuracy uses: the first test picture of each class, then the next ones in order,
 * until --count pictures. Needs dataset-fashion-mnist and a build (`npx tsc -b`).
 *
 *   node weights/make-samples.js [--count 12]
 */
const path = require('path');
const fs = require('fs');
const { declareFlags } = require('../scripts/flags');
const { arg } = declareFlags({
  usage: 'node weights/make-samples.js [--count 12] (rewrites weights/samples/)',
  flags: { count: { kind: 'number', help: 'pictures to write: one per class first, then the next ones (default 12)' } },
});
const root = path.resolve(__dirname, '..');
const nn = require(path.join(root, 'packages/nn/dist'));
const io = require(path.join(root, 'packages/io/dist'));

const count = Number(arg('count', '12'));
if (!Number.isInteger(count) || count < 1) throw new Error(`--count must be a positive integer, got ${count}`);
const testSeed = 20240601; // as weights/train.js
const ds = new nn.ClutteredFashionMnist({ split: 'test', seed: testSeed });
const picked = /** @type {number[]} */ ([]);
const seen = new Set();
for (let k = 0; k < ds.length && seen.size < 10; k++) {
  const label = ds.source.labels[k];
  if (!seen.has(label)) { seen.add(label); picked.push(k); }
}
for (let k = 0; picked.length < count; k++) if (!picked.includes(k)) picked.push(k);
picked.sort((a, b) => a - b);

const outDir = path.join(__dirname, 'samples');
fs.mkdirSync(outDir, { recursive: true });
const samples = picked.slice(0, count).map((index, n) => {
  const s = ds.generate(index);
  const cls = nn.FASHION_MNIST_CLASSES[s.label];
  const file = `${String(n).padStart(2, '0')}-${cls.toLowerCase().replace(/[^a-z]+/g, '-')}.png`;
  io.writeImage(path.join(outDir, file), nn.toRgb8(s.image, 64));
  return { file, label: s.label, class: cls, box: s.box, index, source: s.source };
});
const meta = {
  description: 'Cluttered Fashion-MNIST pictures from the test split (ClutteredFashionMnist, default ClutterConfig), made by weights/make-samples.js',
  split: 'test',
  seed: testSeed,
  size: [64, 64],
  boxFormat: '[x0, y0, x1, y1] in pixels, x1 and y1 exclusive',
  classes: nn.FASHION_MNIST_CLASSES,
  samples,
};
// One sample per line, readable in a diff.
const json = JSON.stringify({ ...meta, samples: [] }, null, 2).replace('"samples": []', `"samples": [\n${samples.map((s) => `    ${JSON.stringify(s)}`).join(',\n')}\n  ]`);
fs.writeFileSync(path.join(outDir, 'samples.json'), json.replace(/"size": \[\s*64,\s*64\s*\]/, '"size": [64, 64]') + '\n');
console.log(`wrote ${samples.length} samples to ${outDir}`);
