// @ts-check
/**
 * Where a saliency pass's time goes, per op: each CPU kernel is timed (wall ms) during forward +
 * backward-to-input of a torchvision model at 1×3×224×224 (eval mode, random weights), on each thread
 * count, with the garbage collector's pauses counted apart and the rest of the pass (tape, dispatch,
 * scopes) as "outside kernels". An op whose time does not fall with a second thread runs on the calling
 * thread only: that is the serial remainder that caps 2 threads ÷ 1.
 *
 * With `--jobs`, the WebAssembly module's jobs instead (gemm_f32.c's run_job: GEMMs, transforms, packing, the
 * arena's elementwise jobs): per job kind, how many a pass, their wall ms, and whether they were split across the
 * threads or ran whole on the calling thread (too little work to split) — what the op table cannot tell apart.
 *
 * `node benchmarks/op-profile.js [--models vgg16,resnet50] [--threads 1,2] [--reps 3] [--top 14] [--jobs] [--json]`
 * (the built packages/*\/dist: `npx tsc -b packages/nn` first; `--help` lists the flags). Never part of `npm test`.
 */
'use strict';
const path = require('path');
const { PerformanceObserver, performance } = require('perf_hooks');

const { declareFlags } = require('../scripts/flags');
// Read before the packages load: --help or a mistyped flag must not start minutes of profiling.
const { arg, refuse } = declareFlags({
  usage: 'node benchmarks/op-profile.js [flags]   (after npx tsc -b packages/nn)',
  flags: {
    models: { kind: 'string', value: 'a,b', help: 'the torchvision models to profile (default vgg16,resnet50)' },
    threads: { kind: 'numbers', help: 'the thread counts, each profiled in turn (default 1,2)' },
    reps: { kind: 'number', help: 'profiled passes per model and thread count, after 3 warm-ups (default 3)' },
    top: { kind: 'number', help: 'ops listed per model, slowest first (default 14)' },
    jobs: { kind: 'switch', help: "time the WebAssembly module's jobs (split across the threads or not) instead of the ops" },
    json: { kind: 'switch', help: 'one JSON row per op, model and thread count instead of tables' },
  },
});
const models = arg('models', 'vgg16,resnet50').split(',');
const threadCounts = arg('threads', '1,2').split(',').map(Number);
const reps = Number(arg('reps', '3'));
const top = Number(arg('top', '14'));
const json = arg('json', 'false') === 'true';
const jobs = arg('jobs', 'false') === 'true';
/** The row for the rest of a pass: JavaScript between kernels (or, with --jobs, everything outside the module's jobs). */
const OUTSIDE = jobs ? '(outside jobs)' : '(outside kernels)';
if (!threadCounts.every((n) => Number.isInteger(n) && n >= 1)) refuse(`--threads takes counts >= 1, as 1,2, got '${arg('threads', '')}'`);
if (!Number.isInteger(reps) || reps < 1) refuse(`--reps takes a count >= 1, got '${arg('reps', '')}'`);

const load = (/** @type {string} */ pkg) => require(path.join(__dirname, '..', 'packages', pkg, 'dist', 'index.js'));
const T = load('tensor');
const nn = load('nn');

/** Accumulated wall ms and calls per op while `phase` is set; null outside a measured pass. */
let phase = /** @type {null | 'fwd' | 'bwd'} */ (null);
/** @type {Map<string, { ms: number, calls: number, wholeMs: number }>} (wholeMs: jobs not split across the threads) */
const perOp = new Map();
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (phase !== null) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

const kernels = /** @type {Record<string, (inputs: unknown, attrs: unknown) => unknown>} */ (T.cpuBackend.kernels);
if (jobs) {
  // Each job once it is done, by name, with the time of those that ran whole on the calling thread apart.
  const wasm = require(path.join(__dirname, '..', 'packages', 'tensor', 'dist', 'backends', 'cpu', 'kernels', 'wasm-gemm.js'));
  wasm.setJobObserver((/** @type {{ job: string, split: boolean, ms: number }} */ r) => {
    if (phase === null) return;
    const e = perOp.get(r.job) ?? { ms: 0, calls: 0, wholeMs: 0 };
    e.ms += r.ms;
    e.calls++;
    if (!r.split) e.wholeMs += r.ms;
    perOp.set(r.job, e);
  });
}
for (const op of Object.keys(kernels)) {
  const kernel = /** @type {(inputs: unknown, attrs: unknown) => unknown} */ (kernels[op]);
  kernels[op] = (inputs, attrs) => {
    if (phase === null || jobs) return kernel(inputs, attrs);
    const key = `${op} (${phase})`;
    const t = performance.now();
    const out = kernel(inputs, attrs);
    const e = perOp.get(key) ?? { ms: 0, calls: 0, wholeMs: 0 };
    e.ms += performance.now() - t;
    e.calls++;
    perOp.set(key, e);
    return out;
  };
}

/** Deterministic input in [0, 1). */
function input() {
  const v = new Float32Array(3 * 224 * 224);
  let s = 12345;
  for (let i = 0; i < v.length; i++) v[i] = (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  return T.keep(T.tensor(v, [1, 3, 224, 224]));
}

/** One forward + backward-to-input pass (d logit[0] / d x), timed by phase when `timed`. */
function pass(/** @type {any} */ model, /** @type {any} */ x, /** @type {boolean} */ timed) {
  T.tidy(() => {
    phase = timed ? 'fwd' : null;
    const { output, tape } = T.record(() => model.call(x));
    const seed = T.zeros(output.shape);
    seed.values()[0] = 1;
    phase = timed ? 'bwd' : null;
    const [g] = tape.grad(output, [x], { gradOutputs: [seed] });
    g.dataSync();
    phase = null;
    g.dispose();
    tape.dispose();
  });
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function main() {
  /** @type {any[]} */
  const rows = [];
  for (const name of models) {
    const model = nn.createModel(name).eval();
    const x = input();
    for (const threads of threadCounts) {
      T.setNumThreads(threads);
      // Three warm-ups: the third use of each weight copies it into the module's memory to keep (resident.ts).
      for (let w = 0; w < 3; w++) pass(model, x, false);
      perOp.clear();
      gcMs = 0;
      let wall = 0;
      for (let r = 0; r < reps; r++) {
        const t = performance.now();
        pass(model, x, true);
        wall += performance.now() - t;
        phase = 'fwd'; // let the GC observer's entries of this pass arrive and count
        await tick();
        phase = null;
      }
      const inKernels = [...perOp.values()].reduce((s, e) => s + e.ms, 0);
      const per = (/** @type {number} */ ms) => ms / reps;
      for (const [op, e] of perOp) rows.push({ model: name, threads, op, ms: per(e.ms), calls: e.calls / reps, wholeMs: per(e.wholeMs) });
      rows.push({ model: name, threads, op: '(gc pauses, inside kernels or not)', ms: per(gcMs), calls: 0 });
      rows.push({ model: name, threads, op: OUTSIDE, ms: per(wall - inKernels), calls: 0 });
      rows.push({ model: name, threads, op: '(pass)', ms: per(wall), calls: 0 });
    }
    x.dispose();
  }
  T.setNumThreads(1);
  if (json) {
    for (const r of rows) console.log(JSON.stringify(r));
    return;
  }
  for (const name of models) {
    const of = (/** @type {number} */ threads, /** @type {string} */ op) =>
      rows.find((r) => r.model === name && r.threads === threads && r.op === op);
    const base = threadCounts[0] ?? 1;
    const passMs = of(base, '(pass)')?.ms ?? 1;
    const ops = rows
      .filter((r) => r.model === name && r.threads === base && !r.op.startsWith('('))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map((r) => r.op);
    const head = [
      jobs ? 'job (split or whole)' : 'op (phase)',
      'calls',
      ...threadCounts.map((n) => `${n}t ms`),
      'share',
      ...threadCounts.slice(1).map((n) => `${base}t÷${n}t`),
      ...(jobs ? threadCounts.slice(1).map((n) => `${n}t ms whole`) : []),
    ];
    console.log(`\n${name}, forward + backward-input, wall ms per pass (${reps} passes)`);
    console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
    for (const op of [...ops, OUTSIDE, '(gc pauses, inside kernels or not)', '(pass)']) {
      const ms = threadCounts.map((n) => of(n, op)?.ms ?? 0);
      const calls = of(base, op)?.calls ?? 0;
      const speed = ms.slice(1).map((m) => (m > 0 ? `${((ms[0] ?? 0) / m).toFixed(2)}×` : '–'));
      const cells = [
        op,
        calls ? String(calls) : '',
        ...ms.map((m) => m.toFixed(1)),
        `${((100 * (ms[0] ?? 0)) / passMs).toFixed(1)}%`,
        ...speed,
        ...(jobs ? threadCounts.slice(1).map((n) => (op.startsWith('(') ? '' : (of(n, op)?.wholeMs ?? 0).toFixed(1))) : []),
      ];
      console.log(`| ${cells.join(' | ')} |`);
    }
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
