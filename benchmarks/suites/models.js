// @ts-check
/**
 * Models suite: whole torchvision models at 1x3x224x224, eval mode, random weights — forward, and
 * forward + backward to the input (the saliency workload: d logit[0] / d x, parameters frozen) — for
 * gradlens (CPU on 1 and 2 threads — `--threads 1,2` — the built packages/*\/dist), PyTorch (spawned /usr/bin/python3 running
 * ../models_torch.py, 1 and 2 threads, NCHW and channels-last) and tfjs-backend-wasm (the same
 * architectures rebuilt from the gradlens model's weights with tfjs ops, NHWC).
 *
 * GFLOP/s counts 2·MACs of the convolutions and linear layers (the forward pass); forward + backward
 * to the input counts twice that (backward-input costs as much as the forward; weight gradients are
 * not computed by any system). tfjs logits are checked against gradlens on the same weights.
 *
 * Use through the runner (`node benchmarks/run.js --suite models`) or on its own:
 * `node benchmarks/suites/models.js [--json] [--models vgg16,resnet18] [--threads 1,2] [--systems gradlens-cpu,pytorch,tfjs-wasm] [--no-winograd] [--reps 5] [--max-seconds 4]`
 * (`--no-winograd`: gradlens's 3×3 convolutions on im2col only, system `gradlens-cpu-im2col`; `--help` lists the flags).
 */
'use strict';
const path = require('path');
const { runTorchScript } = require('../torch-process');

const name = 'models';
const description = 'whole models 1x3x224x224: forward and forward+backward-to-input (saliency), float32';
const MODELS = ['vgg16', 'alexnet', 'resnet18', 'resnet50', 'squeezenet1_1', 'mobilenet_v2', 'vit_b_16'];
const WORKLOADS = ['forward', 'forward+backward-input'];
const SHAPE = [1, 3, 224, 224];

/**
 * @typedef {{ suite: string, name: string, system: string, threads: number, ms: number | null, gflops: number | null, cpuMs?: number, reps?: number, note?: string }} Row
 * @typedef {{ ms: number, cpuMs?: number, reps: number }} Timing
 */

function load(pkg) {
  const file = path.join(__dirname, '..', '..', 'packages', pkg, 'dist', 'index.js');
  try {
    return require(file);
  } catch (e) {
    throw new Error(`cannot load ${file}: build first with \`npx tsc -b packages/nn\` (${e instanceof Error ? e.message : e})`);
  }
}

/** Median-of-reps timer used when the suite runs without the runner's. */
function makeMeasure(reps = 5, maxSeconds = 4) {
  return (/** @type {() => unknown} */ fn) => {
    const once = () => {
      const t = process.hrtime.bigint();
      const c = process.cpuUsage();
      fn();
      const u = process.cpuUsage(c);
      return { ms: Number(process.hrtime.bigint() - t) / 1e6, cpu: (u.user + u.system) / 1e3 };
    };
    const first = once();
    if (first.ms > maxSeconds * 1000) return { ms: first.ms, cpuMs: first.cpu, reps: 1 };
    once();
    const n = Math.max(1, Math.min(reps, Math.floor((maxSeconds * 1000) / Math.max(first.ms, 1e-3))));
    const runs = [];
    for (let i = 0; i < n; i++) runs.push(once());
    const med = (/** @type {number[]} */ v) => v.sort((a, b) => a - b)[v.length >> 1] ?? 0;
    return { ms: med(runs.map((r) => r.ms)), cpuMs: med(runs.map((r) => r.cpu)), reps: n };
  };
}

/** Forward FLOPs (2·MACs of convs, linears and attention) from one listing pass. */
function forwardFlops(nn, model) {
  let flops = 0;
  for (const row of nn.layers(model, SHAPE)) {
    const m = model.getModule(row.path);
    if (!row.outputShape) continue;
    const out = row.outputShape.reduce((a, b) => a * b, 1);
    if (m instanceof nn.Conv2d) flops += 2 * out * (m.inChannels / m.groups) * m.kernelSize[0] * m.kernelSize[1];
    else if (m instanceof nn.Linear) flops += 2 * out * m.inFeatures;
    else if (m instanceof nn.MultiheadAttention) {
      // the q/k/v projection (a parameter, not a Linear child) and the two attention matmuls; out_proj is a Linear row
      const [n, l, e] = row.outputShape;
      flops += 2 * n * l * e * 3 * e + 2 * 2 * n * l * l * e;
    }
  }
  return flops;
}

/** Deterministic input values in [0, 1). */
function inputValues() {
  const v = new Float32Array(SHAPE.reduce((a, b) => a * b, 1));
  let s = 12345;
  for (let i = 0; i < v.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = s / 4294967296;
  }
  return v;
}

/** gradlens closures for one model. */
function gradlensCases(T, model) {
  const x = T.keep(T.tensor(inputValues(), SHAPE));
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
        g.dispose();
        tape.dispose();
      }),
    logits: () => T.tidy(() => model.call(x).dataSync()),
    dispose: () => x.dispose(),
  };
}

/**
 * Rebuilds a gradlens model with tfjs ops (NHWC), sharing its weights. Max pools pad with zeros
 * explicitly (PyTorch's symmetric padding and ceil mode), which is exact here because every max pool
 * in these models follows a ReLU.
 */
function tfjsModel(tf, model) {
  /** @type {import('@tensorflow/tfjs-core').Tensor[]} */
  const owned = [];
  const cache = new Map();
  const weight = (t, perm) => {
    if (!cache.has(t)) {
      const w = tf.tensor(t.dataSync(), [...t.shape], 'float32');
      const p = perm ? tf.transpose(w, perm) : w;
      if (p !== w) w.dispose();
      tf.keep(p); // made inside the first tidy; lives until dispose()
      owned.push(p);
      cache.set(t, p);
    }
    return cache.get(t);
  };
  const run = (m, x) => {
    const kind = m.constructor.name;
    const kids = new Map(m.children());
    const child = (n) => kids.get(n);
    switch (kind) {
      case 'Sequential': {
        let y = x;
        for (const [, c] of m.children()) y = run(c, y);
        return y;
      }
      case 'Conv2d': {
        if (m.groups !== 1) throw new Error('tfjs model: grouped convs are not used by this suite');
        const [ph, pw] = m.padding;
        const pad =
          ph === pw
            ? ph
            : [
                [0, 0],
                [ph, ph],
                [pw, pw],
                [0, 0],
              ];
        const y = tf.conv2d(x, weight(m.weight, [2, 3, 1, 0]), m.stride, /** @type {any} */ (pad), 'NHWC', m.dilation);
        return m.bias ? tf.add(y, weight(m.bias)) : y;
      }
      case 'ReLU':
        return tf.relu(x);
      case 'Dropout':
      case 'Identity':
        return x;
      case 'BatchNorm2d':
        return tf.batchNorm(x, weight(m.runningMean), weight(m.runningVar), weight(m.bias), weight(m.weight), m.eps);
      case 'MaxPool2d': {
        const o = m.options;
        const k = typeof o.kernelSize === 'number' ? o.kernelSize : o.kernelSize[0];
        const s = o.stride === undefined ? k : typeof o.stride === 'number' ? o.stride : o.stride[0];
        const p = o.padding === undefined ? 0 : typeof o.padding === 'number' ? o.padding : o.padding[0];
        const size = x.shape[1];
        let out = (o.ceilMode ? Math.ceil : Math.floor)((size + 2 * p - k) / s) + 1;
        if (o.ceilMode && (out - 1) * s >= size + p) out--;
        const extra = Math.max(0, (out - 1) * s + k - (size + 2 * p));
        const padded =
          p || extra
            ? tf.pad(x, [
                [0, 0],
                [p, p + extra],
                [p, p + extra],
                [0, 0],
              ])
            : x;
        return tf.maxPool(padded, k, s, 'valid');
      }
      case 'AdaptiveAvgPool2d': {
        const [h, w] = typeof m.outputSize === 'number' ? [m.outputSize, m.outputSize] : m.outputSize;
        if (h === x.shape[1] && w === x.shape[2]) return x;
        if (h === 1 && w === 1) return tf.mean(x, [1, 2], true);
        throw new Error(`tfjs model: adaptive pool ${x.shape} → ${h}x${w} is not needed at 224x224`);
      }
      case 'Linear': {
        const y = tf.matMul(x, weight(m.weight), false, true);
        return m.bias ? tf.add(y, weight(m.bias)) : y;
      }
      case 'BasicBlock': {
        let y = tf.relu(run(child('bn1'), run(child('conv1'), x)));
        y = run(child('bn2'), run(child('conv2'), y));
        return tf.relu(tf.add(y, child('downsample') ? run(child('downsample'), x) : x));
      }
      case 'Fire': {
        const s = tf.relu(run(child('squeeze'), x));
        return tf.concat([tf.relu(run(child('expand1x1'), s)), tf.relu(run(child('expand3x3'), s))], 3);
      }
      default:
        throw new Error(`tfjs model: no translation for ${kind}`);
    }
  };
  // Flatten in PyTorch's NCHW order so the classifier weights mean the same thing.
  const flatNCHW = (x) => tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [x.shape[0], -1]);
  const kind = model.constructor.name;
  const c = new Map(model.children());
  /** @param {import('@tensorflow/tfjs-core').Tensor} x NHWC */
  const forward = (x) => {
    if (kind === 'VGG' || kind === 'AlexNet') return run(c.get('classifier'), flatNCHW(run(c.get('avgpool'), run(c.get('features'), x))));
    if (kind === 'SqueezeNet') return flatNCHW(run(c.get('classifier'), run(c.get('features'), x)));
    if (kind === 'ResNet') {
      let y = run(c.get('maxpool'), tf.relu(run(c.get('bn1'), run(c.get('conv1'), x))));
      for (const l of ['layer1', 'layer2', 'layer3', 'layer4']) y = run(c.get(l), y);
      return run(c.get('fc'), flatNCHW(run(c.get('avgpool'), y)));
    }
    throw new Error(`tfjs model: no translation for ${kind}`);
  };
  return { forward, dispose: () => owned.forEach((t) => t.dispose()) };
}

/**
 * tfjs-core's CommonJS build registers no gradients (the full @tensorflow/tfjs package does, from ES
 * modules Node cannot load here), so the input-gradient rules this workload needs are registered
 * here, written as tfjs-core's own gradient files write them. Only gradients along the path from the
 * input are asked for, so weight gradients are left out.
 */
function registerInputGradients(tf) {
  /** @param {any} cfg */
  const reg = (cfg) => {
    if (!tf.getGradient(cfg.kernelName)) tf.registerGradient(cfg);
  };
  // Sums a broadcast gradient back to `shape` (tfjs' getReductionAxes + sum + reshape).
  const unbroadcast = (dy, shape) => {
    const lead = dy.rank - shape.length;
    const axes = [];
    for (let i = 0; i < dy.rank; i++) if (i < lead || (shape[i - lead] === 1 && dy.shape[i] !== 1)) axes.push(i);
    return tf.reshape(axes.length ? tf.sum(dy, axes) : dy, shape);
  };
  const keepDimsShape = (x, axis) => {
    const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + x.rank : a));
    return x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  };
  reg({
    kernelName: 'Conv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, [x, filter], a) => ({
      x: () => tf.conv2dTranspose(dy, filter, x.shape, a.strides, a.pad, a.dimRoundingMode),
    }),
  });
  reg({
    kernelName: 'Add',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({ a: () => unbroadcast(dy, a.shape), b: () => unbroadcast(dy, b.shape) }),
  });
  reg({ kernelName: 'Relu', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy, tf.cast(tf.step(x), 'float32')) }) });
  reg({
    kernelName: 'MaxPool',
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, [x, y], a) => ({
      x: () =>
        tf
          .engine()
          .runKernel(
            'MaxPoolGrad',
            { dy, input: x, output: y },
            { filterSize: a.filterSize, strides: a.strides, pad: a.pad, dimRoundingMode: a.dimRoundingMode },
          ),
    }),
  });
  reg({
    kernelName: 'PadV2',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], a) => ({
      x: () =>
        tf.slice(
          dy,
          a.paddings.map((p) => p[0]),
          x.shape,
        ),
    }),
  });
  reg({
    kernelName: 'Mean',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], a) => {
      const kd = keepDimsShape(x, a.axis);
      const n = x.size / kd.reduce((p, q) => p * q, 1);
      return { x: () => tf.div(tf.mul(tf.reshape(dy, kd), tf.ones(x.shape)), n) };
    },
  });
  reg({
    kernelName: 'Sum',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], a) => ({ x: () => tf.mul(tf.reshape(dy, keepDimsShape(x, a.axis)), tf.ones(x.shape)) }),
  });
  reg({
    kernelName: 'FusedBatchNorm',
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy, [, , variance, scale], a) => ({
      x: () => tf.mul(dy, tf.mul(scale, tf.rsqrt(tf.add(variance, a.varianceEpsilon)))),
    }),
  });
  reg({
    kernelName: 'Transpose',
    gradFunc: (dy, _s, a) => {
      const inv = new Array(a.perm.length);
      a.perm.forEach((p, i) => {
        inv[p] = i;
      });
      return { x: () => tf.transpose(dy, inv) };
    },
  });
  reg({ kernelName: 'Reshape', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.reshape(dy, x.shape) }) });
  reg({
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b], o) => ({
      a: () => (o.transposeA ? tf.matMul(b, dy, o.transposeB, true) : tf.matMul(dy, b, false, !o.transposeB)),
      b: () => (o.transposeB ? tf.matMul(dy, a, true, o.transposeA) : tf.matMul(a, dy, !o.transposeA, false)),
    }),
  });
  reg({
    kernelName: 'Slice',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], a) => ({
      x: () =>
        tf.pad(
          dy,
          x.shape.map((d, i) => [a.begin[i], d - a.begin[i] - dy.shape[i]]),
        ),
    }),
  });
  reg({
    kernelName: 'Concat',
    saveAllInputs: true,
    gradFunc: (dy, saved, a) => {
      const axis = a.axis < 0 ? a.axis + saved[0].rank : a.axis;
      return tf
        .split(
          dy,
          saved.map((t) => t.shape[axis]),
          axis,
        )
        .map((t) => () => t);
    },
  });
}

async function tfjsWasm() {
  const tf = require('@tensorflow/tfjs-core');
  registerInputGradients(tf);
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  wasm.setWasmPaths(dist + path.sep);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend failed to initialise');
  await tf.ready();
  return { tf, threads: typeof wasm.getThreadsCount === 'function' ? wasm.getThreadsCount() : 1 };
}

function tfjsCases(tf, model) {
  const net = tfjsModel(tf, model);
  const nchw = tf.tensor(inputValues(), SHAPE, 'float32');
  const x = tf.transpose(nchw, [0, 2, 3, 1]);
  nchw.dispose();
  const saliency = tf.grad((xi) => tf.sum(tf.slice(net.forward(xi), [0, 0], [1, 1])));
  return {
    forward: () =>
      tf.tidy(() => {
        net.forward(x).dataSync();
      }),
    'forward+backward-input': () =>
      tf.tidy(() => {
        saliency(x).dataSync();
      }),
    logits: () => tf.tidy(() => net.forward(x).dataSync()),
    dispose: () => {
      x.dispose();
      net.dispose();
    },
  };
}

/** Runs ../models_torch.py once per memory format and thread count (../torch-process.js); returns its JSON lines. */
function pytorchRuns(models, channelsLast, threads) {
  const args = ['--models', models.join(','), '--threads', String(threads)];
  if (channelsLast) args.push('--channels-last');
  return runTorchScript('models_torch.py', args, threads);
}

function maxRelDiff(a, b) {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

/**
 * Runs the suite. With the runner, ctx gives { systems, measure, report }; alone, { json } prints
 * JSON lines. Returns every row.
 * @param {{ json?: boolean, systems?: string[] | null, models?: string[], threads?: number[], winograd?: boolean, measure?: (fn: () => unknown) => Timing, report?: (row: Row) => void }} [ctx]
 * @returns {Promise<Row[]>}
 */
async function run(ctx = {}) {
  const systems = ctx.systems ?? ['gradlens-cpu', 'pytorch', 'tfjs-wasm'];
  const models = ctx.models ?? MODELS;
  const threadCounts = ctx.threads ?? [1, 2];
  const winograd = ctx.winograd ?? true;
  const gSystem = winograd ? 'gradlens-cpu' : 'gradlens-cpu-im2col';
  const measure = ctx.measure ?? makeMeasure();
  /** @type {Row[]} */
  const rows = [];
  const report = (/** @type {Row} */ row) => {
    rows.push(row);
    if (ctx.report) ctx.report(row);
    else if (ctx.json) console.log(JSON.stringify(row));
  };
  const T = load('tensor');
  const nn = load('nn');
  T.setWinograd(winograd);
  const flops = new Map();
  const wasm = systems.includes('tfjs-wasm') ? await tfjsWasm() : null;
  for (const m of models) {
    T.manualSeed(0);
    const model = nn.createModel(m).eval();
    flops.set(m, forwardFlops(nn, model));
    const gfl = (/** @type {string} */ w, /** @type {number} */ ms) => ((w === 'forward' ? 1 : 2) * (flops.get(m) ?? 0)) / ms / 1e6;
    let reference = null;
    if (systems.includes('gradlens-cpu') || wasm) {
      const g = gradlensCases(T, model);
      reference = g.logits();
      if (systems.includes('gradlens-cpu')) {
        for (const n of threadCounts) {
          T.setNumThreads(n);
          const threads = Number(T.getBackendInfo().threads); // the count the kernels really use
          for (const w of WORKLOADS) {
            const t = measure(g[w]);
            report({
              suite: name,
              name: `${m} ${w}`,
              system: gSystem,
              threads,
              ms: t.ms,
              gflops: gfl(w, t.ms),
              cpuMs: t.cpuMs,
              reps: t.reps,
            });
          }
        }
        T.setNumThreads(1); // tfjs-wasm below runs its own threads
      }
      g.dispose();
    }
    if (wasm && model instanceof nn.VisionTransformer) {
      // tfjsModel rebuilds the CNNs' layers only; a ViT gets rows that say so instead of a crash
      for (const w of WORKLOADS)
        report({
          suite: name,
          name: `${m} ${w}`,
          system: 'tfjs-wasm',
          threads: wasm.threads,
          ms: null,
          gflops: null,
          note: 'not measured: the tfjs rebuild covers CNN layers only',
        });
    } else if (wasm) {
      const c = tfjsCases(wasm.tf, model);
      const note = reference ? `logits vs gradlens: rel. diff ${maxRelDiff(c.logits(), reference).toExponential(1)}` : undefined;
      for (const w of WORKLOADS) {
        const t = measure(c[w]);
        report({
          suite: name,
          name: `${m} ${w}`,
          system: 'tfjs-wasm',
          threads: wasm.threads,
          ms: t.ms,
          gflops: gfl(w, t.ms),
          cpuMs: t.cpuMs,
          reps: t.reps,
          note,
        });
      }
      c.dispose();
    }
    for (const t of Object.values(model.stateDict())) t.dispose();
  }
  if (systems.includes('pytorch')) {
    for (const cl of [false, true]) {
      for (const r of threadCounts.flatMap((t) => pytorchRuns(models, cl, t))) {
        const f = (r.workload === 'forward' ? 1 : 2) * (flops.get(r.model) ?? 0);
        report({
          suite: name,
          name: `${r.model} ${r.workload}`,
          system: cl ? 'pytorch-cl' : 'pytorch',
          threads: r.threads,
          ms: r.ms,
          gflops: f / r.ms / 1e6,
          cpuMs: r.cpuMs,
          reps: r.reps,
        });
      }
    }
  }
  return rows;
}

module.exports = { name, description, run, inputValues, SHAPE };

if (require.main === module) {
  const { declareFlags } = require('../../scripts/flags');
  const { arg, list } = declareFlags({
    usage: 'node benchmarks/suites/models.js [flags]   (through the runner: node benchmarks/run.js --suite models)',
    flags: {
      json: { kind: 'switch', help: 'one JSON row per line instead of a table' },
      models: { kind: 'string', value: 'a,b', help: `the torchvision models (default ${MODELS.join(',')})` },
      systems: { kind: 'string', value: 'a,b', help: 'gradlens-cpu, pytorch, tfjs-wasm (default: all three)' },
      threads: { kind: 'numbers', help: "gradlens's and PyTorch's thread counts, each in turn (default 1,2)" },
      'no-winograd': { kind: 'switch', help: "gradlens's 3×3 convolutions on im2col only (system gradlens-cpu-im2col)" },
      reps: { kind: 'number', help: 'timed runs per case, at most, after 2 warm-ups (default 5)' },
      'max-seconds': { kind: 'number', value: 'S', help: 'a case whose first run takes longer is timed by that run alone (default 4)' },
    },
  });
  const json = arg('json', 'false') === 'true';
  run({
    json,
    models: list('models'),
    systems: list('systems'),
    threads: list('threads')?.map(Number),
    winograd: arg('no-winograd', 'false') !== 'true',
    measure: makeMeasure(Number(arg('reps', '5')), Number(arg('max-seconds', '4'))),
  })
    .then((rows) => {
      if (json) return;
      const w = Math.max(...rows.map((r) => r.name.length));
      console.log(`${'workload'.padEnd(w)}  ${'system'.padEnd(12)} thr ${'ms'.padStart(9)} ${'GFLOP/s'.padStart(8)}`);
      for (const r of rows.sort((a, b) => a.name.localeCompare(b.name))) {
        console.log(
          `${r.name.padEnd(w)}  ${r.system.padEnd(12)} ${String(r.threads).padStart(3)} ${(r.ms ?? NaN).toFixed(1).padStart(9)} ${(r.gflops ?? NaN).toFixed(2).padStart(8)}${r.note ? `  ${r.note}` : ''}`,
        );
      }
    })
    .catch((e) => {
      console.error(e instanceof Error ? e.stack : e);
      process.exit(1);
    });
}
