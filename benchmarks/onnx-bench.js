// @ts-check
/**
 * ONNX import benchmark (issue 15): for full-size resnet50 and vit_b_16 exported by torch.onnx with random
 * weights (benchmarks/onnx-export.py):
 *   - load: wall time and peak memory of `loadOnnx(file)` (decode, weights as views, one check pass on
 *     zeros) and of `loadOnnx(file, { check: false })` (decode only), beside onnxruntime-node's
 *     `InferenceSession.create(file)` (one intra-op thread, all graph optimisations); each in a fresh child
 *     process, peak memory as the child's VmHWM minus its resident memory before loading;
 *   - run: forward and forward + backward to the input (the saliency workload) of the imported model
 *     against the same architecture built with gradlens nn and loaded with the same weights (.pth), on
 *     one input [1, 3, 224, 224]; the ratio imported / built is the import's cost at run time.
 *
 *   /usr/bin/python3 benchmarks/onnx-export.py            # once: writes $TMPDIR/gradlens-onnx-bench
 *   ONNXRUNTIME_NODE_INSTALL=skip npm install --no-save onnxruntime-node@1.31.1   # once (see benchmarks/README.md)
 *   npx tsc -b && node benchmarks/onnx-bench.js [--models resnet50,resnet50_bn,vit_b_16] [--reps 3] [--only load|run] [--dir DIR] [--json]
 *   (`--help` lists the flags)
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { declareFlags } = require('../scripts/flags');

const ROOT = path.join(__dirname, '..');
const SHAPE = [1, 3, 224, 224];
const DEFAULT_DIR = path.join(os.tmpdir(), 'gradlens-onnx-bench');

function load(pkg) {
  const file = path.join(ROOT, 'packages', pkg, 'dist', 'index.js');
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: build first with \`npx tsc -b\``);
  return require(file);
}

/** Resident and peak-resident memory of this process in MiB (Linux /proc). */
function memory() {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => Number((new RegExp(`${k}:\\s+(\\d+)`).exec(status) ?? [])[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** Child process: loads `file` with `system` and prints { ms, peakMiB }. */
async function child(system, file) {
  if (system.startsWith('gradlens')) load('onnx');
  const ort = system === 'onnxruntime-node' ? require('onnxruntime-node') : null;
  const before = memory();
  const t = process.hrtime.bigint();
  if (ort) await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  else load('onnx').loadOnnx(file, { check: system !== 'gradlens-decode' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  const after = memory();
  process.stdout.write(`${JSON.stringify({ ms, peakMiB: after.hwm - before.rss, rssMiB: after.rss - before.rss })}\n`);
}

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1] ?? NaN;
}

/** Load time and peak memory of one system: the median of `reps` fresh child processes. */
function measureLoad(system, file, reps) {
  const runs = [];
  for (let i = 0; i < reps; i++) {
    const r = spawnSync(process.execPath, [__filename, '--child', system, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) return { note: (r.stderr || r.stdout).trim().split('\n').slice(-1)[0] ?? 'failed' };
    runs.push(JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}'));
  }
  return { ms: median(runs.map((r) => r.ms)), peakMiB: median(runs.map((r) => r.peakMiB)), rssMiB: median(runs.map((r) => r.rssMiB)) };
}

/** Median wall time of `reps` runs after one warm-up. */
function time(fn, reps) {
  fn();
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const t = process.hrtime.bigint();
    fn();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(ms);
}

/** Forward and forward + backward-to-input closures (as benchmarks/suites/models.js times them). */
function workloads(T, model, x) {
  return {
    forward: () =>
      T.tidy(() => {
        model.call(x).dataSync();
      }),
    'forward+backward-input': () =>
      T.tidy(() => {
        const { output, tape } = T.record(() => model.call(x));
        const seed = T.zeros(output.shape);
        seed.values()[0] = 1;
        const [g] = tape.grad(output, [x], { gradOutputs: [seed] });
        g.dataSync();
        tape.dispose();
      }),
  };
}

/**
 * The command line, read before anything loads: --help prints the flags, a mistyped or malformed one
 * stops here with one line and exit code 2 (scripts/flags.js, shared with weights/).
 */
function options() {
  const { arg, list } = declareFlags({
    usage: 'node benchmarks/onnx-bench.js [flags]   (after /usr/bin/python3 benchmarks/onnx-export.py and npx tsc -b)',
    flags: {
      models: { kind: 'string', value: 'a,b', help: 'the exported models to time (default resnet50,resnet50_bn,vit_b_16)' },
      reps: { kind: 'number', help: 'child processes per load, runs per workload; medians are printed (default 3)' },
      only: { kind: 'string', value: 'load|run', help: 'only the load rows or only the run rows (default: both)' },
      dir: { kind: 'string', value: 'DIR', help: `where onnx-export.py wrote the models (default ${DEFAULT_DIR})` },
      json: { kind: 'switch', help: 'one JSON row per line' },
    },
  });
  return {
    models: list('models') ?? ['resnet50', 'resnet50_bn', 'vit_b_16'],
    reps: Math.max(1, Number(arg('reps', '3'))),
    dir: arg('dir', DEFAULT_DIR),
    json: arg('json', 'false') === 'true',
    only: arg('only', ''),
  };
}

async function main() {
  const argv = process.argv.slice(2);
  // measureLoad's re-invocation of this file (`--child SYSTEM FILE`): the parent's words, not a user's flags
  if (argv[0] === '--child') return child(argv[1] ?? '', argv[2] ?? '');
  const o = options();
  const T = load('tensor');
  const nn = load('nn');
  const { loadOnnx } = load('onnx');
  let ortNote = '';
  try {
    require.resolve('onnxruntime-node');
  } catch {
    ortNote = 'onnxruntime-node is not installed (npm install in benchmarks/)';
  }
  const fmt = (v) => (typeof v !== 'number' ? v : v !== 0 && Math.abs(v) < 0.1 ? v.toExponential(1) : v.toFixed(2));
  const out = (row) =>
    o.json
      ? console.log(JSON.stringify(row))
      : console.log(
          Object.entries(row)
            .map(([k, v]) => `${k}=${fmt(v)}`)
            .join('  '),
        );
  console.error(
    `node ${process.version}, ${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, threads ${T.getNumThreads ? T.getNumThreads() : '?'}`,
  );
  for (const name of o.models) {
    const file = path.join(o.dir, `${name}.onnx`);
    // resnet50_bn.onnx: resnet50 exported without folding BatchNorm into the convolutions (onnx-export.py)
    const arch = name.replace(/_bn$/, '');
    const pth = path.join(o.dir, `${arch}.pth`);
    if (!fs.existsSync(file) || !fs.existsSync(pth))
      throw new Error(`${file} or ${pth} is missing: run /usr/bin/python3 benchmarks/onnx-export.py ${o.dir}`);
    const mib = fs.statSync(file).size / 2 ** 20;
    if (o.only !== 'run') {
      out({ model: name, what: 'load', system: 'gradlens loadOnnx', fileMiB: mib, ...measureLoad('gradlens', file, o.reps) });
      out({
        model: name,
        what: 'load',
        system: 'gradlens loadOnnx check:false',
        fileMiB: mib,
        ...measureLoad('gradlens-decode', file, o.reps),
      });
      out({
        model: name,
        what: 'load',
        system: 'onnxruntime-node session',
        fileMiB: mib,
        ...(ortNote ? { note: ortNote } : measureLoad('onnxruntime-node', file, o.reps)),
      });
    }
    if (o.only === 'load') continue;

    const imported = loadOnnx(file);
    const built = nn.createModel(arch, { init: false });
    nn.loadWeights(built, pth);
    built.eval();
    const x = T.keep(T.randn(SHAPE, { generator: new T.Generator(1) }));
    const a = T.tidy(() => Array.from(imported.call(x).values()));
    const b = T.tidy(() => Array.from(built.call(x).values()));
    const scale = Math.max(...b.map(Math.abs));
    const diff = Math.max(...a.map((v, i) => Math.abs(v - (b[i] ?? NaN)))) / scale;
    const wi = workloads(T, imported, x);
    const wb = workloads(T, built, x);
    for (const w of /** @type {const} */ (['forward', 'forward+backward-input'])) {
      // alternate the two so load changes on the shared machine hit both alike
      const ti = [];
      const tb = [];
      for (let r = 0; r < o.reps; r++) {
        ti.push(time(wi[w], 1));
        tb.push(time(wb[w], 1));
      }
      const mi = median(ti);
      const mb = median(tb);
      out({ model: name, what: w, importedMs: mi, builtMs: mb, ratio: mi / mb, logitsRelDiff: diff });
    }
    x.dispose();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
