// @ts-check
/**
 * A torchvision detector at full size, gradlens beside PyTorch in one run: `detect` on one picture (the median of
 * `--reps` runs after one warm-up; the first run copies the weights into the module's memory) and the input gradient
 * of detection 0's score (one run), each system in processes of its own so that peak memory (max RSS) is its own.
 * Random weights (seeded), a random picture of `--picture HxW` (default 480x640: resized to 800 × 1066 by the
 * detector), eval mode, float32.
 *
 * `node benchmarks/detection.js [--model fasterrcnn_resnet50_fpn] [--threads 2] [--reps 3] [--arena-mb 3072] [--json]`
 * (after `npx tsc -b`; `--help` lists the flags). The PyTorch side is detection_torch.py on /usr/bin/python3.
 */
'use strict';
const path = require('path');
const { spawnSync } = require('child_process');
const { declareFlags } = require('../scripts/flags');
const { runTorchScript } = require('./torch-process');

const { arg } = declareFlags({
  usage: 'node benchmarks/detection.js [flags]   (after npx tsc -b)',
  flags: {
    model: { kind: 'string', value: 'name', help: 'the detector (default fasterrcnn_resnet50_fpn)' },
    picture: { kind: 'string', value: 'HxW', help: 'the picture size before the detector resizes it (default 480x640)' },
    threads: { kind: 'number', help: 'threads for both systems (default 2)' },
    reps: { kind: 'number', help: 'timed detect runs after one warm-up (default 3)' },
    'arena-mb': { kind: 'number', help: "gradlens's tensor arena in MiB (default: the library's, 1024)" },
    json: { kind: 'switch', help: 'one JSON row per system and workload instead of a table' },
    child: { kind: 'string', value: 'workload', help: '(internal) run one gradlens workload in this process' },
  },
});
const model = arg('model', 'fasterrcnn_resnet50_fpn');
const [height, width] = arg('picture', '480x640').split('x').map(Number);
const threads = Number(arg('threads', '2'));
const reps = Number(arg('reps', '3'));
const child = arg('child', '');

/** One gradlens workload in this process: prints {ms: [...], peakMiB} as one JSON line. */
function runChild(/** @type {string} */ workload) {
  const dist = (/** @type {string} */ pkg) => path.join(__dirname, '..', 'packages', pkg, 'dist');
  const T = require(dist('tensor'));
  const nn = require(dist('nn'));
  T.applyCpuEnvironment(process.env);
  T.setNumThreads(threads);
  T.manualSeed(0);
  const detector = nn.createDetectionModel(model).eval();
  const picture = T.rand([3, height, width], { generator: new T.Generator(1) });
  const times = [];
  const runs = workload === 'detect' ? reps + 1 : 1;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    if (workload === 'detect') {
      const dets = detector.detect(picture);
      for (const d of dets) (d.boxes.dispose(), d.scores.dispose());
    } else {
      const [g] = T.grad((x) => detector.detectionScore(x, 0), [picture]);
      g.dispose();
    }
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const ms = workload === 'detect' ? times.slice(1) : times;
  console.log(JSON.stringify({ ms, peakMiB: process.resourceUsage().maxRSS / 1024 }));
}

/** A gradlens workload in a child process of its own. */
function gradlens(/** @type {string} */ workload) {
  const env = { ...process.env };
  const arena = arg('arena-mb', '');
  if (arena !== '') env.GRADLENS_ARENA_MB = arena;
  const argv = [
    __filename,
    '--child',
    workload,
    '--model',
    model,
    '--picture',
    `${height}x${width}`,
    '--threads',
    String(threads),
    '--reps',
    String(reps),
  ];
  const r = spawnSync(process.execPath, argv, { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`gradlens ${workload} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
}

const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function main() {
  if (child !== '') return runChild(child);
  const rows = [];
  for (const workload of ['detect', 'gradient']) {
    const g = gradlens(workload);
    const [t] = runTorchScript(
      'detection_torch.py',
      [workload, model, String(height), String(width), String(reps), String(threads)],
      threads,
    );
    for (const [system, r] of [
      ['gradlens-cpu', g],
      ['pytorch', t],
    ])
      rows.push({
        suite: 'detection',
        model,
        workload,
        system,
        threads,
        ms: median(r.ms),
        peakMiB: Math.round(r.peakMiB),
        runs: r.ms.length,
      });
  }
  if (arg('json', 'false') === 'true') return rows.forEach((r) => console.log(JSON.stringify(r)));
  console.log(`${model}, a ${height}×${width} picture, ${threads} threads (wall ms, median; peak RSS of each process)`);
  console.log('| workload | gradlens ms | PyTorch ms | ÷ PyTorch | gradlens peak MiB | PyTorch peak MiB |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const workload of ['detect', 'gradient']) {
    const [g, t] = ['gradlens-cpu', 'pytorch'].map((s) => rows.find((r) => r.workload === workload && r.system === s));
    console.log(`| ${workload} | ${g.ms.toFixed(0)} | ${t.ms.toFixed(0)} | ${(g.ms / t.ms).toFixed(2)}× | ${g.peakMiB} | ${t.peakMiB} |`);
  }
}

main();
