// @ts-check
/**
 * Batch-norm suite: F.batch_norm forward, and forward + backward (gradients for x, weight and bias
 * from a fixed random dy), float32, on activations of the small training CNN (batch 32), in training
 * mode (batch statistics, running statistics updated) and in eval mode (running statistics).
 *
 * Use through the runner (`node benchmarks/run.js --suite batchnorm`), or on its own to compare two
 * builds on a shared machine (best and median of the runs):
 * `node benchmarks/suites/batchnorm.js [--dist packages/tensor/dist] [--reps 15]` (`--help` lists the flags).
 */
'use strict';
const path = require('path');

const name = 'batchnorm';
const description = 'batchNorm fwd and fwd+bwd (x, weight, bias), float32, training and eval mode';
const SHAPES = [
  [32, 64, 16, 16],
  [32, 128, 8, 8],
];

const TENSOR_DIST = path.join(__dirname, '..', '..', 'packages', 'tensor', 'dist');

function load(dist = TENSOR_DIST) {
  const file = path.resolve(dist, 'index.js');
  try {
    return require(file);
  } catch (e) {
    throw new Error(`cannot load ${file}: build first with \`npx tsc -b packages/tensor\` (${e instanceof Error ? e.message : e})`);
  }
}

/** Per shape and mode: a forward closure and a forward + backward closure; each frees what it made. */
function workloads(T) {
  const out = [];
  for (const shape of SHAPES) {
    const c = shape[1];
    const gen = new T.Generator(5);
    const x = T.randn(shape, { generator: gen });
    const dy = T.randn(shape, { generator: gen });
    const weight = T.add(T.mul(T.randn([c], { generator: gen }), 0.1), 1);
    const bias = T.mul(T.randn([c], { generator: gen }), 0.1);
    const rm = T.zeros([c]);
    const rv = T.ones([c]);
    for (const training of [true, false]) {
      const bn = () => T.batchNorm(x, rm, rv, weight, bias, { training, momentum: 0.1, eps: 1e-5 });
      const label = `${shape.join('x')} ${training ? 'train' : 'eval'}`;
      out.push({ name: `${label} forward`, fn: () => bn().dispose() });
      out.push({
        name: `${label} forward+backward`,
        fn: () => {
          const { output, tape } = T.record(() => bn());
          const grads = tape.grad(output, [x, weight, bias], { gradOutputs: [dy] });
          tape.dispose();
          output.dispose();
          for (const g of grads) g.dispose();
        },
      });
    }
  }
  return out;
}

/** @param {{ systems: string[] | null, measure: (fn: () => unknown) => { ms: number, cpuMs?: number, reps: number }, report: (row: object) => void }} ctx */
async function run(ctx) {
  if (ctx.systems && !ctx.systems.includes('gradlens-cpu')) return;
  const T = load();
  for (const w of workloads(T)) {
    const t = ctx.measure(w.fn);
    ctx.report({ suite: name, name: w.name, system: 'gradlens-cpu', threads: 1, ms: t.ms, gflops: null, cpuMs: t.cpuMs, reps: t.reps });
  }
}

module.exports = { name, description, run };

if (require.main === module) {
  const { declareFlags } = require('../../scripts/flags');
  const { arg } = declareFlags({
    usage: 'node benchmarks/suites/batchnorm.js [flags]   (through the runner: node benchmarks/run.js --suite batchnorm)',
    flags: {
      dist: { kind: 'string', value: 'DIR', help: "the build of @gradlens/tensor to time, to compare two (default: this checkout's)" },
      reps: { kind: 'number', help: 'timed runs per workload after 5 warm-ups; best and median printed (default 15)' },
    },
  });
  const reps = Number(arg('reps', '15'));
  const T = load(arg('dist', TENSOR_DIST));
  console.log(`${'workload'.padEnd(36)} ${'best ms'.padStart(9)} ${'median ms'.padStart(10)}`);
  for (const w of workloads(T)) {
    for (let r = 0; r < 5; r++) w.fn();
    const times = [];
    for (let r = 0; r < reps; r++) {
      const t = process.hrtime.bigint();
      w.fn();
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    console.log(
      `${w.name.padEnd(36)} ${(times[0] ?? 0).toFixed(2).padStart(9)} ${(times[times.length >> 1] ?? 0).toFixed(2).padStart(10)}`,
    );
  }
}
