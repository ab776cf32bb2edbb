// @ts-check
/**
 * Do whole models give the same numbers on any thread count? For each torchvision model (1×3×224×224, eval
 * mode, random weights of seed 0), the logits and the gradient of logit[0] to the input on each thread count,
 * against one thread's: the largest difference relative to the largest magnitude, and whether a second pass
 * on the same count is bitwise equal (the contract: one thread's result up to float rounding, deterministic
 * for a given count). The tests check this on 1–3 threads and small models; this reaches the counts of a big
 * machine. Exits 1 when a count is not deterministic or strays past --tolerance.
 *
 * `node benchmarks/thread-agreement.js [--models resnet50,vit_b_16] [--threads 1,2,5,16] [--tolerance 1e-4]`
 * (the built packages/*\/dist: `npx tsc -b packages/nn` first; `--help` lists the flags).
 */
'use strict';
const path = require('path');
const { declareFlags } = require('../scripts/flags');

const { arg, refuse } = declareFlags({
  usage: 'node benchmarks/thread-agreement.js [flags]   (after npx tsc -b packages/nn)',
  flags: {
    models: { kind: 'string', value: 'a,b', help: 'the torchvision models to check (default resnet50,vit_b_16)' },
    threads: { kind: 'numbers', help: 'the thread counts compared with one thread (default 1,2,5,16)' },
    tolerance: { kind: 'number', help: 'largest difference allowed, relative to the largest magnitude (default 1e-4)' },
  },
});
const models = arg('models', 'resnet50,vit_b_16').split(',');
const threadCounts = arg('threads', '1,2,5,16').split(',').map(Number);
const tolerance = Number(arg('tolerance', '1e-4'));
if (!threadCounts.every((n) => Number.isInteger(n) && n >= 1)) refuse(`--threads takes counts >= 1, as 1,2,5, got '${arg('threads', '')}'`);
if (!(tolerance > 0)) refuse(`--tolerance takes a number > 0, got '${arg('tolerance', '')}'`);

const load = (/** @type {string} */ pkg) => require(path.join(__dirname, '..', 'packages', pkg, 'dist', 'index.js'));
const T = load('tensor');
const nn = load('nn');
// The models suite's input: 1×3×224×224 of a fixed linear congruential sequence in [0, 1).
const { inputValues, SHAPE } = require('./suites/models');

/** Logits and d logit[0] / d input, copied out. */
function pass(model, x) {
  return T.tidy(() => {
    const { output, tape } = T.record(() => model.call(x));
    const seed = T.zeros(output.shape);
    seed.values()[0] = 1;
    const [g] = tape.grad(output, [x], { gradOutputs: [seed] });
    const result = { logits: Float32Array.from(output.dataSync()), grad: Float32Array.from(g.dataSync()) };
    tape.dispose();
    return result;
  });
}

/** max |a − b| / max |ref|. */
function relativeDifference(a, ref) {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] ?? NaN) - (ref[i] ?? NaN)));
    scale = Math.max(scale, Math.abs(ref[i] ?? 0));
  }
  return diff / (scale || 1);
}

const bitwiseEqual = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

let failed = false;
for (const name of models) {
  T.manualSeed(0);
  const model = nn.createModel(name).eval();
  const x = T.keep(T.tensor(inputValues(), SHAPE));
  T.setNumThreads(1);
  const reference = pass(model, x);
  for (const threads of threadCounts) {
    T.setNumThreads(threads);
    const first = pass(model, x);
    const second = pass(model, x);
    const logits = relativeDifference(first.logits, reference.logits);
    const grad = relativeDifference(first.grad, reference.grad);
    const deterministic = bitwiseEqual(first.logits, second.logits) && bitwiseEqual(first.grad, second.grad);
    const ok = deterministic && logits <= tolerance && grad <= tolerance;
    failed ||= !ok;
    console.log(
      `${name} ${threads} thread${threads > 1 ? 's' : ''}: logits ${logits.toExponential(2)}, gradient ${grad.toExponential(2)} ` +
        `from 1 thread; ${deterministic ? 'a second pass bitwise equal' : 'A SECOND PASS DIFFERS'}${ok ? '' : '  FAIL'}`,
    );
  }
  x.dispose();
}
process.exit(failed ? 1 : 0);
