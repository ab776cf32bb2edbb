// @ts-check
/**
 * Perturbation suite: Score-CAM (VGG16, features.29: one masked forward pass per non-constant channel
 * of 512, batch 32) and occlusion (window 16, stride 8, batch 32) with gradlens (1 and 2 threads) beside
 * a plain PyTorch implementation of the same computation (../perturbation_torch.py, 1 and 2 threads),
 * on the same seeded VGG16 weights (written once by ../make_vgg16_weights.py) and the same image.
 * One timed run per case (each is many forward passes). Default input 112×112 to keep a run to minutes
 * on 2 cores; `--size 224` is the full workload (4× the work).
 *
 * `node benchmarks/suites/perturbation.js [--size 112] [--threads 1,2] [--systems gradlens-cpu,pytorch] [--methods scorecam,occlusion] [--weights /tmp/vgg16-bench.pth] [--json]`
 * (`--help` lists the flags; builds: `npx tsc -b packages/explain`; PyTorch runs with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset).
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const name = 'perturbation';
const description = 'Score-CAM and occlusion on VGG16 beside a plain PyTorch implementation, 1 and 2 threads';
const PYTHON = '/usr/bin/python3';
/** The defaults of run() and of the command line: a 112×112 input keeps a run to minutes on 2 cores. */
const SIZE = 112;
const WEIGHTS = '/tmp/vgg16-bench.pth';

function load(pkg) {
  return require(path.join(__dirname, '..', '..', 'packages', pkg, 'dist', 'index.js'));
}

/** PyTorch's environment: OpenBLAS's tuning variables of this machine unset (they slow its GEMM down). */
function torchEnv() {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/** The seeded VGG16 weights both systems load, written by PyTorch when missing. */
function ensureWeights(file) {
  if (fs.existsSync(file)) return;
  const r = spawnSync(PYTHON, [path.join(__dirname, '..', 'make_vgg16_weights.py'), file], { encoding: 'utf8', env: torchEnv() });
  if (r.status !== 0) throw new Error(`make_vgg16_weights.py failed: ${r.stderr}`);
}

/** x[i] = ((i · 7919) mod 1000) / 1000 − 0.5, [1, 3, size, size] (perturbation_torch.py's image). */
function image(T, size) {
  const v = new Float32Array(3 * size * size);
  for (let i = 0; i < v.length; i++) v[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  return T.tensor(v, [1, 3, size, size]);
}

async function run(ctx = {}) {
  const size = ctx.size ?? SIZE;
  const threadCounts = ctx.threads ?? [1, 2];
  const systems = ctx.systems ?? ['gradlens-cpu', 'pytorch'];
  const methods = ctx.methods ?? ['scorecam', 'occlusion'];
  const weights = ctx.weights ?? WEIGHTS;
  const rows = [];
  const report = (row) => {
    rows.push(row);
    if (ctx.report) ctx.report(row);
    else if (ctx.json) console.log(JSON.stringify(row));
  };
  ensureWeights(weights);
  if (systems.includes('gradlens-cpu')) {
    const T = load('tensor');
    const nn = load('nn');
    const ex = load('explain');
    const model = nn.createModel('vgg16', { init: false });
    nn.loadWeights(model, weights);
    model.eval();
    const x = image(T, size);
    const quiet = { onWarning: () => undefined, target: 0, batchSize: 32 };
    for (const n of threadCounts) {
      T.setNumThreads(n);
      const threads = Number(T.getBackendInfo().threads);
      for (const method of methods) {
        let passes = 0;
        const t = process.hrtime.bigint();
        const c = process.cpuUsage();
        const r =
          method === 'scorecam'
            ? ex.scoreCam(model, x, { ...quiet, layer: 'features.29' })
            : ex.occlusion(model, x, {
                ...quiet,
                window: 16,
                stride: 8,
                onProgress: (d) => {
                  passes = d;
                },
              });
        const ms = Number(process.hrtime.bigint() - t) / 1e6;
        const u = process.cpuUsage(c);
        const checksum = Array.from((method === 'scorecam' ? r.map : r.grid).dataSync()).reduce((s, v) => s + v, 0);
        if (method === 'scorecam') passes = Number(r.weights ? r.weights.dataSync().filter((w) => w !== 0).length : NaN);
        ex.disposeResult(r);
        report({
          suite: name,
          name: `vgg16 ${method} ${size}px`,
          system: 'gradlens-cpu',
          threads,
          ms,
          gflops: null,
          cpuMs: (u.user + u.system) / 1e3,
          reps: 1,
          note: `${passes} passes, checksum ${checksum.toPrecision(6)}`,
        });
      }
    }
  }
  if (systems.includes('pytorch')) {
    const args = [
      path.join(__dirname, '..', 'perturbation_torch.py'),
      '--weights',
      weights,
      '--size',
      String(size),
      '--threads',
      threadCounts.join(','),
      '--methods',
      methods.join(','),
    ];
    const r = spawnSync(PYTHON, args, { encoding: 'utf8', env: torchEnv(), maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`perturbation_torch.py failed: ${r.stderr}`);
    for (const line of r.stdout.trim().split('\n')) {
      const o = JSON.parse(line);
      report({
        suite: name,
        name: `vgg16 ${o.method} ${size}px`,
        system: 'pytorch',
        threads: o.threads,
        ms: o.ms,
        gflops: null,
        cpuMs: o.cpuMs,
        reps: 1,
        note: `${o.passes} passes, checksum ${Number(o.checksum).toPrecision(6)}`,
      });
    }
  }
  return rows;
}

module.exports = { name, description, run };

if (require.main === module) {
  const { declareFlags } = require('../../scripts/flags');
  const { arg, list } = declareFlags({
    usage: 'node benchmarks/suites/perturbation.js [flags]   (through the runner: node benchmarks/run.js --suite perturbation)',
    flags: {
      size: { kind: 'number', help: `the input's height and width; 224 is the issue's full workload (default ${SIZE})` },
      threads: { kind: 'numbers', help: 'thread counts, each in turn (default 1,2)' },
      systems: { kind: 'string', value: 'a,b', help: 'gradlens-cpu, pytorch (default: both)' },
      methods: { kind: 'string', value: 'a,b', help: 'scorecam, occlusion (default: both)' },
      weights: {
        kind: 'string',
        value: 'FILE',
        help: `VGG16's seeded weights, written by make_vgg16_weights.py when missing (default ${WEIGHTS})`,
      },
      json: { kind: 'switch', help: 'one JSON row per line' },
    },
  });
  const json = arg('json', 'false') === 'true';
  run({
    json,
    size: Number(arg('size', String(SIZE))),
    threads: list('threads')?.map(Number),
    systems: list('systems'),
    weights: arg('weights', WEIGHTS),
    methods: list('methods'),
  })
    .then((rows) => {
      if (json) return;
      for (const r of rows)
        console.log(
          `${r.name.padEnd(24)} ${r.system.padEnd(13)} ${String(r.threads).padStart(2)} ${r.ms.toFixed(0).padStart(8)} ms  cpu ${(r.cpuMs ?? NaN).toFixed(0).padStart(8)} ms  ${r.note ?? ''}`,
        );
    })
    .catch((e) => {
      console.error(e instanceof Error ? e.stack : e);
      process.exit(1);
    });
}
