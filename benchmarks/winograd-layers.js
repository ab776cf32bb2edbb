// @ts-check
/**
 * im2col, Winograd F(2×2, 3×3) and F(4×4, 3×3) side by side on the 3×3 stride-1 layer shapes of VGG16 and the
 * ResNets (batch 1, pad 1, float32): per layer, forward + backward-to-input wall ms, median of `--reps` after two
 * warm-ups, on each thread count. Weights are kept resident from their third use (as in a model's passes).
 *
 * `node benchmarks/winograd-layers.js [--threads 1,2] [--reps 7]` (build first: npx tsc -b packages/tensor;
 * `--help` lists the flags).
 */
'use strict';
const path = require('path');
const { performance } = require('perf_hooks');

const { declareFlags } = require('../scripts/flags');
const { arg } = declareFlags({
  usage: 'node benchmarks/winograd-layers.js [flags]   (after npx tsc -b packages/tensor)',
  flags: {
    threads: { kind: 'numbers', help: 'the thread counts, each timed in turn (default 1,2)' },
    reps: { kind: 'number', help: 'timed runs per layer and algorithm; the median is printed (default 7)' },
  },
});
const threadCounts = arg('threads', '1,2').split(',').map(Number);
const reps = Number(arg('reps', '7'));

const dist = (/** @type {string} */ file) => path.join(__dirname, '..', 'packages', 'tensor', 'dist', file);
const T = require(dist('index.js'));
const k = require(dist('backends/cpu/kernels/index.js'));
const w = require(dist('backends/cpu/kernels/winograd.js'));
k.setFloat32Engine(k.createWasmFloat32Engine());

/** [Cin, Cout, side]: VGG16's 3×3 layers (its first stays on im2col: 3 input channels), then ResNet's at 56, 28, 14 and 7. */
const LAYERS = [
  [3, 64, 224],
  [64, 64, 224],
  [64, 128, 112],
  [128, 128, 112],
  [128, 256, 56],
  [256, 256, 56],
  [256, 512, 28],
  [512, 512, 28],
  [512, 512, 14],
  [64, 64, 56],
  [128, 128, 28],
  [256, 256, 14],
  [512, 512, 7],
];
/** The algorithms compared, each set before its runs (null tile: Winograd off, im2col). */
const ALGORITHMS = /** @type {const} */ ([
  ['im2col', null],
  ['F(2×2)', 2],
  ['F(4×4)', 4],
]);

function seeded(/** @type {number} */ n, /** @type {number} */ seed) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}
const median = (/** @type {number[]} */ v) => [...v].sort((a, b) => a - b)[v.length >> 1] ?? NaN;

for (const threads of threadCounts) {
  T.setNumThreads(threads);
  console.log(`\n${threads} thread(s), forward + backward-input, wall ms (median of ${reps}):`);
  console.log(`| layer | ${ALGORITHMS.map(([name]) => name).join(' | ')} | F(4×4) ÷ F(2×2) |`);
  console.log(`|---|${ALGORITHMS.map(() => '---:').join('|')}|---:|`);
  for (const [ci, co, side] of LAYERS) {
    const g = {
      batch: 1,
      inChannels: ci,
      inHeight: side,
      inWidth: side,
      outChannels: co,
      kernelHeight: 3,
      kernelWidth: 3,
      strideH: 1,
      strideW: 1,
      padH: 1,
      padW: 1,
      dilationH: 1,
      dilationW: 1,
      groups: 1,
      outHeight: side,
      outWidth: side,
    };
    const x = seeded(ci * side * side, 1),
      weight = seeded(co * ci * 9, 2),
      bias = seeded(co, 3);
    const y = new Float32Array(co * side * side),
      dx = new Float32Array(x.length);
    /** @type {number[]} */
    const ms = [];
    for (const [, tile] of ALGORITHMS) {
      k.setWinograd(tile !== null);
      w.setWinogradTile(tile);
      const runs = [];
      for (let r = 0; r < reps + 2; r++) {
        const t = performance.now();
        k.conv2dForward(x, weight, bias, g, y);
        k.conv2dBackwardInput(y, weight, g, dx);
        if (r >= 2) runs.push(performance.now() - t);
      }
      ms.push(median(runs));
    }
    const note = w.useWinograd(g, y) ? '' : ' (not Winograd: too small)';
    console.log(
      `| ${ci}→${co} at ${side}×${side}${note} | ${ms.map((v) => v.toFixed(1)).join(' | ')} | ${((ms[2] ?? NaN) / (ms[1] ?? NaN)).toFixed(2)} |`,
    );
  }
}
k.setWinograd(true);
w.setWinogradTile(null);
