#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Probe of the ViT's slow start (issue 16), the gradlens half of scripts/vit_probe.py:
 *
 *   node scripts/vit-probe.js dump  --out DIR [--pictures 12288] [--level 0]   pictures as uint8 .npy + labels
 *   node scripts/vit-probe.js init  --out DIR                                   initial weights (smallvit, --bn, seed 1) and step-1 gradients
 *   node scripts/vit-probe.js train --out DIR [--steps 300] [--lr 0.002] …      gradlens's loss per step on the dumped pictures
 *
 * The pictures are train.js's (ClutteredFashionMnist, seed 1, curriculum level --level, epoch 0) quantised
 * to uint8 so that both libraries read the very same inputs: x = (u8 / 255 − mean) / std per channel.
 * One thread, batches in order (no shuffle), AdamW with warm-up then cosine as train.js.
 */
const fs = require('fs');
const path = require('path');
const root = path.resolve(__dirname, '..');
const { declareFlags } = require('./flags');
const { arg, command: mode } = declareFlags({
  usage: 'node scripts/vit-probe.js dump|init|train --out DIR [flags]',
  commands: ['dump', 'init', 'train'],
  flags: {
    out: { kind: 'string', value: 'DIR', help: 'folder of the dumped pictures, weights and losses (default /tmp/vitprobe)' },
    pictures: { kind: 'number', help: 'dump: pictures (default 12288)' },
    level: { kind: 'number', help: 'dump: curriculum level (default 0)' },
    epoch: { kind: 'number', help: 'dump: epoch of the compositions (default 0)' },
    tag: { kind: 'string', value: 'NAME', help: 'name of the dumped pictures (default level<level>)' },
    batch: { kind: 'number', help: 'init, train: pictures per step (default 32)' },
    steps: { kind: 'number', help: 'train: steps (default 300)' },
    lr: { kind: 'number', help: 'train: AdamW learning rate (default 0.002)' },
    wd: { kind: 'number', help: 'train: AdamW weight decay (default 0.05)' },
    warmup: { kind: 'number', help: 'train: warm-up steps (default 100)' },
    total: { kind: 'number', help: 'train: steps of the whole cosine (default --steps)' },
    name: { kind: 'string', value: 'NAME', help: 'train: name of the losses file (default base)' },
    layers: { kind: 'number', help: 'encoder layers (default 2)' },
    heads: { kind: 'number', help: 'attention heads (default 4)' },
    hidden: { kind: 'number', help: 'token width (default 64)' },
    mlp: { kind: 'number', help: 'MLP width (default 128)' },
    stem: { kind: 'string', value: 'C:S,…', help: 'conv stem, channels:stride per conv (default 32:2,32:1,64:2,64:1,96:2,96:1)' },
  },
});
const T = require(path.join(root, 'packages/tensor/dist'));
const nn = require(path.join(root, 'packages/nn/dist'));
const { levelConfig } = require(path.join(root, 'weights/train-task.js'));

const out = path.resolve(arg('out', '/tmp/vitprobe'));
fs.mkdirSync(out, { recursive: true });
const NORM = { mean: [0.4678, 0.4803, 0.4757], std: [0.2588, 0.257, 0.2553] };

/** Writes a C-order .npy file. @param {string} file @param {Uint8Array | Int32Array | Float32Array} data @param {number[]} shape */
function writeNpy(file, data, shape) {
  const descr = data instanceof Uint8Array ? '|u1' : data instanceof Int32Array ? '<i4' : '<f4';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

/** Reads a .npy written by writeNpy. @param {string} file */
function readNpy(file) {
  const buf = fs.readFileSync(file);
  const len = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + len);
  const shape = (/\((.*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const body = buf.subarray(10 + len);
  const copy = new Uint8Array(body.length);
  copy.set(body);
  const data = header.includes('|u1') ? copy : header.includes('<i4') ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer);
  return { data, shape };
}

/** Batch b of the dumped pictures as normalised float32 [B, 3, 64, 64] and int32 labels. */
function batchOf(/** @type {Uint8Array} */ u8, /** @type {Int32Array} */ labels, /** @type {number} */ b, /** @type {number} */ size) {
  const per = 3 * 64 * 64;
  const x = new Float32Array(size * per);
  for (let i = 0; i < size; i++) {
    for (let c = 0; c < 3; c++) {
      const m = Math.fround(NORM.mean[c] ?? 0),
        s = Math.fround(NORM.std[c] ?? 1);
      for (let k = 0; k < 4096; k++) {
        const o = i * per + c * 4096 + k;
        x[o] = Math.fround(Math.fround(Math.fround(u8[b * size * per + o] ?? 0) / 255) - m) / s;
      }
    }
  }
  return { x: T.tensor(x, [size, 3, 64, 64]), y: T.tensor(labels.slice(b * size, (b + 1) * size), [size], 'int32') };
}

function shape() {
  return {
    numLayers: Number(arg('layers', '2')),
    numHeads: Number(arg('heads', '4')),
    hiddenDim: Number(arg('hidden', '64')),
    mlpDim: Number(arg('mlp', '128')),
    stem: arg('stem', '32:2,32:1,64:2,64:1,96:2,96:1')
      .split(',')
      .map((p) => /** @type {[number, number]} */ (p.split(':').map(Number))),
  };
}

if (mode === 'dump') {
  const n = Number(arg('pictures', '12288'));
  const lvl = Number(arg('level', '0'));
  const ds = new nn.ClutteredFashionMnist({
    split: 'train',
    seed: 1,
    length: n,
    epoch: Number(arg('epoch', '0')),
    config: levelConfig(lvl),
  });
  const u8 = new Uint8Array(n * 3 * 4096);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const s = ds.generate(i);
    for (let k = 0; k < s.image.length; k++) u8[i * 3 * 4096 + k] = Math.round(255 * Math.min(1, Math.max(0, s.image[k] ?? 0)));
    labels[i] = s.label;
  }
  const tag = arg('tag', `level${lvl}`);
  writeNpy(path.join(out, `${tag}-x.npy`), u8, [n, 3, 64, 64]);
  writeNpy(path.join(out, `${tag}-y.npy`), labels, [n]);
  console.log(`wrote ${n} pictures at level ${lvl} to ${out}/${tag}-{x,y}.npy`);
} else if (mode === 'init' || mode === 'train') {
  T.manualSeed(1);
  const model = nn.smallvit({ generator: new T.Generator(1), batchNorm: true, ...shape() });
  model.train();
  const params = model.parameters();
  const names = model.namedParameters().map(([k]) => k);
  const tag = arg('tag', 'level0');
  const xs = readNpy(path.join(out, `${tag}-x.npy`));
  const ys = readNpy(path.join(out, `${tag}-y.npy`));
  const batch = Number(arg('batch', '32'));
  if (mode === 'init') {
    // torchvision zero-initialises heads.head, so step 1 moves only the head; --random-head makes every gradient non-zero.
    if (argv.includes('--random-head')) {
      model.loadStateDict({
        ...model.stateDict(),
        'heads.head.weight': T.mul(T.randn([10, model.config.hiddenDim], { generator: new T.Generator(5) }), 0.1),
      });
    }
    nn.saveCheckpoint(path.join(out, 'init.safetensors'), model);
    const b = batchOf(/** @type {Uint8Array} */ (xs.data), /** @type {Int32Array} */ (ys.data), 0, batch);
    const g = nn.batchGradients(model, /** @type {any} */ (b), params);
    console.log(`step-1 loss ${g.loss}`);
    // One .npy per parameter, named by its state-dict key (read by scripts/vit_probe.py grads).
    fs.mkdirSync(path.join(out, 'grads'), { recursive: true });
    names.forEach((k, i) =>
      writeNpy(path.join(out, 'grads', `${k}.npy`), /** @type {Float32Array} */ (g.grads[i]?.values()), g.grads[i]?.shape ?? []),
    );
    fs.writeFileSync(path.join(out, 'grads', 'loss.txt'), `${g.loss}\n`);
  } else {
    const steps = Number(arg('steps', '300'));
    const lr = Number(arg('lr', '0.002'));
    const wd = Number(arg('wd', '0.05'));
    const warmup = Number(arg('warmup', '100'));
    const total = Number(arg('total', String(steps)));
    const opt = new nn.AdamW(params, { lr, weightDecay: wd });
    const lrAt = (/** @type {number} */ s) =>
      s < warmup
        ? lr * (0.05 + (0.95 * s) / warmup)
        : (lr * (1 + Math.cos(Math.PI * Math.min(1, (s - warmup) / Math.max(1, total - warmup))))) / 2;
    const nb = Math.floor(ys.shape[0] / batch);
    const t0 = Date.now();
    const losses = [];
    for (let s = 0; s < steps; s++) {
      opt.lr = lrAt(s);
      const b = batchOf(/** @type {Uint8Array} */ (xs.data), /** @type {Int32Array} */ (ys.data), s % nb, batch);
      const g = nn.batchGradients(model, /** @type {any} */ (b), params);
      opt.step(g.grads);
      for (const t of g.grads) t.dispose();
      b.x.dispose();
      b.y.dispose();
      losses.push(g.loss);
      if (s % 10 === 9)
        console.log(
          `step ${s + 1} loss(mean of 10) ${(losses.slice(-10).reduce((a, v) => a + v, 0) / 10).toFixed(4)} · ${((Date.now() - t0) / 1000).toFixed(0)} s`,
        );
    }
    fs.writeFileSync(path.join(out, `gradlens-losses-${arg('name', 'base')}.json`), JSON.stringify(losses));
  }
} else {
  throw new Error('usage: node scripts/vit-probe.js dump|init|train --out DIR …');
}
