#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Training speed of a bundled model for 1 … N threads of nn.DataParallel (weights/train.js
 * --workers): images per second over --steps optimiser steps after --warmup steps, the task,
 * batches and optimiser of train.js. Prints a table; writes nothing.
 *
 *   node weights/time-workers.js [--model gapnet] [--bn] [--batch 32] [--steps 30] [--warmup 4] [--workers 1,2]
 */
const os = require('os');
const path = require('path');

const { declareFlags } = require('../scripts/flags');
const { arg } = declareFlags({
  usage: 'node weights/time-workers.js [flags] (prints a table, writes nothing)',
  flags: {
    model: { kind: 'string', value: 'NAME', help: 'gapnet (default) or smallvgg' },
    bn: { kind: 'switch', help: 'a BatchNorm after every conv, as train.js --bn' },
    batch: { kind: 'number', help: 'pictures per step (default 32)' },
    steps: { kind: 'number', help: 'timed optimiser steps (default 30)' },
    warmup: { kind: 'number', help: 'untimed steps first (default 4)' },
    workers: { kind: 'string', value: 'N,N,…', help: 'thread counts to time (default 1 and the CPU cores)' },
  },
});

const root = path.resolve(__dirname, '..');
const nn = require(path.join(root, 'packages/nn/dist'));

const name = /** @type {'gapnet' | 'smallvgg'} */ (arg('model', 'gapnet'));
const bn = arg('bn', 'false') === 'true';
const batch = Number(arg('batch', '32'));
const steps = Number(arg('steps', '30'));
const warmup = Number(arg('warmup', '4'));
const counts = arg('workers', `1,${os.cpus().length}`).split(',').map(Number);
if (name !== 'gapnet' && name !== 'smallvgg') throw new Error(`--model must be gapnet or smallvgg, got ${name}`);
if (!counts.every((c) => Number.isInteger(c) && c >= 1)) throw new Error(`--workers must be positive integers separated by commas (as 1,2), got '${arg('workers', '')}'`);
const normalization = { mean: [0.4678, 0.4803, 0.4757], std: [0.2588, 0.257, 0.2553] };

console.log(`${name}${bn ? ' --bn' : ''} · batch ${batch} · ${steps} steps after ${warmup} · node ${process.version} · ${os.cpus().length} cores · load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('threads | images/s | s/step | CPU s/step');
for (const threads of counts) {
  const dp = new nn.DataParallel({
    module: path.join(__dirname, 'train-task.js'),
    config: { name, seed: 1, bn, images: batch * (steps + warmup), normalization, rampEpochs: 0 },
    threads, batchSize: batch, shuffle: true, seed: 1, dropLast: true,
  });
  try {
    const optimizer = new nn.AdamW(dp.model.parameters(), { lr: 1e-3, weightDecay: 5e-4 });
    dp.model.train();
    let done = 0;
    let t0 = 0;
    let c0 = process.cpuUsage();
    for (const b of dp.train) {
      if (done === warmup) {
        t0 = performance.now();
        c0 = process.cpuUsage();
      }
      const g = dp.gradients(b, optimizer.params);
      optimizer.step(g.grads);
      for (const t of g.grads) t.dispose();
      done++;
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    const n = done - warmup;
    console.log(`${threads} | ${(n * batch / seconds).toFixed(1)} | ${(seconds / n).toFixed(3)} | ${((cpu.user + cpu.system) / 1e6 / n).toFixed(3)}`);
  } finally {
    void dp.close();
  }
}
