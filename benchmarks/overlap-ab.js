// @ts-check
/**
 * A/B of staging overlap in one process: forward + backward-to-input at 1×3×224×224 (eval mode, random
 * weights) with the WebAssembly engine's `startJob` returning at once (the next chunk of a batch-1 linear
 * layer's weight, or a Winograd layer's input, is copied in while the worker threads work) against it
 * running each job whole first, alternated pass by pass so both settings see the same machine.
 *
 * `node benchmarks/overlap-ab.js [--models vgg16,alexnet] [--threads 1,2] [--rounds 5]` (built dist first;
 * `--help` lists the flags).
 */
'use strict';
const path = require('path');
const { performance } = require('perf_hooks');

const { declareFlags } = require('../scripts/flags');
// Read before the packages load: --help or a mistyped flag must not start minutes of passes.
const { arg } = declareFlags({
  usage: 'node benchmarks/overlap-ab.js [flags]   (after npx tsc -b packages/nn)',
  flags: {
    models: { kind: 'string', value: 'a,b', help: 'the torchvision models to time (default vgg16,alexnet)' },
    threads: { kind: 'numbers', help: 'the thread counts, each timed in turn (default 1,2)' },
    rounds: { kind: 'number', help: 'passes with the overlap off and on each, alternated; medians are printed (default 5)' },
  },
});
const models = arg('models', 'vgg16,alexnet').split(',');
const threadCounts = arg('threads', '1,2').split(',').map(Number);
const rounds = Number(arg('rounds', '5'));

const dist = (/** @type {string} */ pkg, /** @type {string} */ file = 'index.js') =>
  path.join(__dirname, '..', 'packages', pkg, 'dist', file);
const T = require(dist('tensor'));
const nn = require(dist('nn'));
const { setStagingOverlap } = require(dist('tensor', 'backends/cpu/kernels/wasm-gemm.js'));

const x = T.keep(T.rand([1, 3, 224, 224]));
/** One saliency pass; returns its wall ms. */
function pass(/** @type {any} */ model) {
  const t = performance.now();
  T.tidy(() => {
    const { output, tape } = T.record(() => model.call(x));
    const seed = T.zeros(output.shape);
    seed.values()[0] = 1;
    tape.grad(output, [x], { gradOutputs: [seed] })[0].dataSync();
    tape.dispose();
  });
  return performance.now() - t;
}
const median = (/** @type {number[]} */ v) => [...v].sort((a, b) => a - b)[v.length >> 1] ?? NaN;

for (const name of models) {
  const model = nn.createModel(name).eval();
  for (const threads of threadCounts) {
    T.setNumThreads(threads);
    pass(model);
    pass(model);
    /** @type {{ off: number[], on: number[] }} */
    const ms = { off: [], on: [] };
    for (let r = 0; r < rounds; r++) {
      for (const on of r % 2 === 0 ? [false, true] : [true, false]) {
        setStagingOverlap(on);
        ms[on ? 'on' : 'off'].push(pass(model));
      }
    }
    setStagingOverlap(true);
    const [off, on] = [median(ms.off), median(ms.on)];
    console.log(
      `${name}, ${threads} thread(s), fwd + bwd-input, median of ${rounds}: overlap off ${off.toFixed(0)} ms, on ${on.toFixed(0)} ms (${((1 - on / off) * 100).toFixed(1)}% less)`,
    );
  }
}
x.dispose();
