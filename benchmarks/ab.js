// @ts-check
/**
 * A/B of one CPU-backend setting in one process: forward + backward-to-input at 1×3×224×224 (eval mode, random
 * weights) with the setting off and on, alternated pass by pass so both see the same machine. Settings:
 *   - resident: weights kept resident in the WebAssembly memory (kernels/resident.ts) against copied in per call;
 *   - overlap: `startJob` returning at once (the next chunk of a batch-1 linear layer's weight, or a Winograd
 *     layer's input, copied in while the worker threads work) against each job run whole first;
 *   - tile-split: GEMM row blocks with few B panels (7×7 images) split by tiles against by B panels;
 *   - spin: worker threads spinning briefly for the next job before they sleep against sleeping at once;
 *   - winograd-4x4: Winograd F(4×4, 3×3) where it is chosen per layer against F(2×2, 3×3) only;
 *   - winograd-small: Winograd on layers from 16 channels and 4 tiles (ResNet's 7×7 layers) against the thresholds
 *     of 2026-12-04 (64 channels, 40 tiles);
 *   - arena: float32 kernel outputs in the tensor arena (the module's shared memory, reached by its threads)
 *     against ordinary arrays;
 *   - packed-weights: dense convs' weights kept packed as the GEMM's left operand against kept as they are;
 *   - matmul-packing: matmuls' operands packed and results stored by the module's jobs against JavaScript loops;
 *   - packed-b: a matmul's B used again and again (a linear layer's weight) kept packed against packed per call.
 *
 * `node benchmarks/ab.js [--switch resident] [--models vgg16,resnet50] [--threads 1,2] [--rounds 5]` (built dist
 * first; `--help` lists the flags).
 */
'use strict';
const path = require('path');
const { performance } = require('perf_hooks');

const { declareFlags } = require('../scripts/flags');
/** Each setting's @internal switch: the module under packages/tensor/dist and its export (returns the previous value). */
const SWITCHES = {
  resident: ['backends/cpu/kernels/resident.js', 'setResidentReads'],
  overlap: ['backends/cpu/kernels/wasm-gemm.js', 'setStagingOverlap'],
  'tile-split': ['backends/cpu/kernels/wasm-gemm.js', 'setGemmTileSplit'],
  spin: ['backends/cpu/threads/job-pool.js', 'setSpinReads'],
  'winograd-4x4': ['backends/cpu/kernels/winograd.js', 'setWinogradTile'],
  'winograd-small': ['backends/cpu/kernels/winograd.js', 'setSmallLayerWinograd'],
  arena: ['backends/cpu/storage-pool.js', 'setTensorArena'],
  'packed-weights': ['backends/cpu/kernels/conv2d.js', 'setPackedWeights'],
  'matmul-packing': ['backends/cpu/kernels/matmul-module.js', 'setModuleMatmulPacking'],
  'packed-b': ['backends/cpu/kernels/matmul-module.js', 'setKeepPackedB'],
};
// Read before the packages load: --help or a mistyped flag must not start minutes of passes.
const { arg, refuse } = declareFlags({
  usage: 'node benchmarks/ab.js [flags]   (after npx tsc -b packages/nn)',
  flags: {
    switch: { kind: 'string', value: 'name', help: `the setting compared: ${Object.keys(SWITCHES).join(', ')} (default resident)` },
    models: { kind: 'string', value: 'a,b', help: 'the torchvision models to time (default vgg16,resnet50)' },
    threads: { kind: 'numbers', help: 'the thread counts, each timed in turn (default 1,2)' },
    rounds: { kind: 'number', help: 'passes with the setting off and on each, alternated; medians are printed (default 5)' },
  },
});
const which = arg('switch', 'resident');
if (!(which in SWITCHES)) refuse(`unknown --switch '${which}'; settings: ${Object.keys(SWITCHES).join(', ')}`);
const models = arg('models', 'vgg16,resnet50').split(',');
const threadCounts = arg('threads', '1,2').split(',').map(Number);
const rounds = Number(arg('rounds', '5'));

const dist = (/** @type {string} */ pkg, /** @type {string} */ file = 'index.js') =>
  path.join(__dirname, '..', 'packages', pkg, 'dist', file);
const T = require(dist('tensor'));
const nn = require(dist('nn'));
const [file, exported] = SWITCHES[/** @type {keyof typeof SWITCHES} */ (which)];
const setter = require(dist('tensor', file))[exported];
/** Turns the setting on or off and says whether it was on (spin: the default count of reads, or none). */
const spinDefault = which === 'spin' ? setter(0) : 0;
if (which === 'spin') setter(spinDefault);
const set = (/** @type {boolean} */ on) =>
  which === 'spin'
    ? setter(on ? spinDefault : 0) > 0
    : which === 'winograd-4x4'
      ? setter(on ? null : 2) !== 2 // on: sizes chosen per layer; off: F(2×2) only
      : setter(on);

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
  const initial = set(true);
  for (const threads of threadCounts) {
    T.setNumThreads(threads);
    pass(model);
    pass(model);
    /** @type {{ off: number[], on: number[] }} */
    const ms = { off: [], on: [] };
    for (let r = 0; r < rounds; r++) {
      for (const on of r % 2 === 0 ? [false, true] : [true, false]) {
        set(on);
        ms[on ? 'on' : 'off'].push(pass(model));
      }
    }
    set(initial);
    const [off, on] = [median(ms.off), median(ms.on)];
    console.log(
      `${name}, ${threads} thread(s), fwd + bwd-input, median of ${rounds}: ${which} off ${off.toFixed(0)} ms, on ${on.toFixed(0)} ms (${((1 - on / off) * 100).toFixed(1)}% less)`,
    );
  }
}
x.dispose();
