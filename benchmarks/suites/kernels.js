// @ts-check
/**
 * Kernel suite: conv2d forward / backward-input / backward-weight on three ResNet/VGG-like layers and a
 * 1024³ matmul, float32, batch 1, for gradlens' CPU kernels and the tfjs CPU and WASM backends.
 * tfjs runs in its native NHWC layout; gradlens in NCHW. FLOPs are 2·MACs of the direct convolution.
 * gradlens runs on 1 thread (`gradlens-cpu`), 2 threads (`gradlens-cpu-2t`) and 1 thread with Winograd
 * off (`gradlens-cpu-im2col`). A WebAssembly SIMD probe (../simd_probe.c: independent f32x4 mul+add
 * chains) measures one core's ceiling first; gradlens rows note the share of it their CPU time reached
 * (FLOPs ÷ CPU time of all threads ÷ the probe's FLOPs per CPU second; Winograd rows can pass 100%,
 * since their FLOPs are the direct convolution's). `pytorch` and `pytorch-2t` (not in the default list: they
 * need /usr/bin/python3 with torch) run the same workloads in PyTorch on 1 and 2 threads; their share of the
 * same WebAssembly ceiling shows what native 256-bit FMA reaches beyond it.
 */
'use strict';
const path = require('path');
const { runTorchScript } = require('../torch-process');

const name = 'kernels';
const description =
  'conv2d fwd/bwd-input/bwd-weight (3x3, pad 1, N=1) and matmul 1024^3, float32, 1 and 2 threads, beside a SIMD ceiling probe';

const CONVS = [
  { label: 'conv3x3 64->64 56x56', cin: 64, cout: 64, hw: 56 },
  { label: 'conv3x3 256->256 14x14', cin: 256, cout: 256, hw: 14 },
  { label: 'conv3x3 3->64 224x224', cin: 3, cout: 64, hw: 224 },
];
const DIRECTIONS = ['forward', 'backward-input', 'backward-weight'];
const MATMUL_N = 1024;

function randomArray(n, seed) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}

function loadGradlens() {
  const file = path.join(__dirname, '..', '..', 'packages', 'tensor', 'dist', 'backends', 'cpu', 'kernels', 'index.js');
  try {
    return require(file);
  } catch (e) {
    throw new Error(`cannot load ${file}: build first with \`npx tsc -b packages/tensor\` (${e instanceof Error ? e.message : e})`);
  }
}

/**
 * Each system returns per-workload closures, or null for an unsupported kernel.
 * gradlens-cpu: float32 GEMMs on the WebAssembly SIMD engine (the default); gradlens-cpu-js: the
 * same packers and driver with the JavaScript float64 micro-kernel (GRADLENS_CPU_GEMM=js).
 * @param {'wasm' | 'js'} engine
 */
function gradlensSystem(engine, threads = 1, winograd = true) {
  const k = loadGradlens();
  const T = require(path.join(__dirname, '..', '..', 'packages', 'tensor', 'dist', 'index.js'));
  T.setNumThreads(threads);
  k.setWinograd(winograd);
  const previous = k.setFloat32Engine(engine === 'js' ? null : k.createWasmFloat32Engine());
  return {
    system: engine === 'js' ? 'gradlens-cpu-js' : `gradlens-cpu${threads > 1 ? `-${threads}t` : ''}${winograd ? '' : '-im2col'}`,
    threads: Number(T.getBackendInfo().threads),
    conv(c, direction) {
      const g = {
        batch: 1,
        inChannels: c.cin,
        inHeight: c.hw,
        inWidth: c.hw,
        outChannels: c.cout,
        kernelHeight: 3,
        kernelWidth: 3,
        strideH: 1,
        strideW: 1,
        padH: 1,
        padW: 1,
        dilationH: 1,
        dilationW: 1,
        groups: 1,
        outHeight: c.hw,
        outWidth: c.hw,
      };
      const x = randomArray(c.cin * c.hw * c.hw, 1);
      const w = randomArray(c.cout * c.cin * 9, 2);
      const b = randomArray(c.cout, 3);
      const dy = randomArray(c.cout * c.hw * c.hw, 4);
      const out = new Float32Array(dy.length),
        dx = new Float32Array(x.length),
        dw = new Float32Array(w.length);
      if (direction === 'forward') return () => k.conv2dForward(x, w, b, g, out);
      if (direction === 'backward-input') return () => k.conv2dBackwardInput(dy, w, g, dx);
      return () => k.conv2dBackwardWeight(x, dy, g, dw);
    },
    matmul(n) {
      const a = randomArray(n * n, 5),
        b = randomArray(n * n, 6),
        out = new Float32Array(n * n);
      const o = { batch: 1, m: n, n, k: n, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
      return () => k.matmul(a, b, out, o);
    },
    dispose() {
      k.setFloat32Engine(previous);
      k.setWinograd(true);
    },
  };
}

async function tfjsSystem(backend) {
  const tf = require('@tensorflow/tfjs-core');
  let threads = 1;
  if (backend === 'cpu') {
    require('@tensorflow/tfjs-backend-cpu');
  } else {
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dist + path.sep);
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend failed to initialise');
    threads = typeof wasm.getThreadsCount === 'function' ? wasm.getThreadsCount() : 1;
  }
  await tf.setBackend(backend);
  await tf.ready();
  /** @type {import('@tensorflow/tfjs-core').Tensor[]} */
  const keep = [];
  const t = (/** @type {Float32Array} */ data, /** @type {number[]} */ shape) => {
    const x = tf.tensor(data, shape, 'float32');
    keep.push(x);
    return x;
  };
  const hasKernel = (/** @type {string} */ k) => tf.getKernel(k, backend) !== undefined;
  const run = (/** @type {() => import('@tensorflow/tfjs-core').Tensor} */ f) => () => {
    const y = f();
    y.dataSync(); // no-op cost for sync backends, but guarantees completion
    y.dispose();
  };
  return {
    system: `tfjs-${backend}`,
    threads,
    conv(c, direction) {
      const x = t(randomArray(c.hw * c.hw * c.cin, 1), [1, c.hw, c.hw, c.cin]);
      const w = t(randomArray(9 * c.cin * c.cout, 2), [3, 3, c.cin, c.cout]);
      const b = t(randomArray(c.cout, 3), [c.cout]);
      const dy = t(randomArray(c.hw * c.hw * c.cout, 4), [1, c.hw, c.hw, c.cout]);
      if (direction === 'forward') return run(() => tf.add(tf.conv2d(/** @type {any} */ (x), /** @type {any} */ (w), 1, 'same'), b));
      if (direction === 'backward-input') {
        if (!hasKernel('Conv2DBackpropInput')) return null;
        return run(() => tf.conv2dTranspose(/** @type {any} */ (dy), /** @type {any} */ (w), [1, c.hw, c.hw, c.cin], 1, 'same'));
      }
      if (!hasKernel('Conv2DBackpropFilter')) return null;
      const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [3, 3, c.cin, c.cout] };
      return run(() => /** @type {any} */ (tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, /** @type {any} */ (attrs))));
    },
    matmul(n) {
      const a = t(randomArray(n * n, 5), [n, n]),
        b = t(randomArray(n * n, 6), [n, n]);
      return run(() => tf.matMul(a, b));
    },
    dispose() {
      for (const x of keep) x.dispose();
      keep.length = 0;
    },
  };
}

/**
 * PyTorch's rows for the same workloads (../kernels_torch.py: oneDNN convolutions, OpenBLAS matmul, on AVX2
 * FMA), one process per thread count.
 * @param {number} threads
 * @returns {{ name: string, threads: number, ms: number, cpuMs: number, reps: number }[]}
 */
function pytorchKernelRows(threads) {
  return runTorchScript('kernels_torch.py', ['--threads', String(threads)], threads);
}

/** @param {{ systems: string[] | null, measure: (fn: () => unknown) => { ms: number, cpuMs: number, reps: number }, report: (row: any) => void }} ctx */
/** GFLOP per CPU second of one core on WebAssembly SIMD mul+add (../simd_probe.c), reported as a row. */
function simdCeiling(ctx) {
  const bytes = Buffer.from(require('../simd-probe-wasm.js'), 'base64');
  const probe = /** @type {(iters: number, seed: number) => number} */ (
    new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports.probe
  );
  const iters = 4e6;
  const { ms, cpuMs, reps } = ctx.measure(() => probe(iters, 1));
  const flops = iters * 104; // 13 chains × 4 lanes × mul + add (simd_probe.c)
  ctx.report({
    suite: name,
    name: 'simd mul+add probe (ceiling)',
    system: 'wasm-simd-probe',
    threads: 1,
    ms,
    gflops: flops / ms / 1e6,
    cpuMs,
    reps,
    note: `${(flops / cpuMs / 1e6).toFixed(2)} GFLOP per CPU second`,
  });
  return flops / cpuMs / 1e6;
}

async function run(ctx) {
  const wanted = ctx.systems ?? ['gradlens-cpu', 'gradlens-cpu-2t', 'gradlens-cpu-im2col', 'gradlens-cpu-js', 'tfjs-cpu', 'tfjs-wasm'];
  const ceiling = simdCeiling(ctx);
  const workloads = [];
  for (const c of CONVS)
    for (const d of DIRECTIONS)
      workloads.push({ name: `${c.label} ${d}`, flops: 2 * c.cout * c.cin * 9 * c.hw * c.hw, make: (s) => s.conv(c, d) });
  workloads.push({ name: `matmul ${MATMUL_N}^3`, flops: 2 * MATMUL_N ** 3, make: (s) => s.matmul(MATMUL_N) });

  const share = (/** @type {number} */ flops, /** @type {number} */ cpuMs) =>
    `${((flops / cpuMs / 1e6 / ceiling) * 100).toFixed(0)}% of the SIMD ceiling (CPU time)`;
  for (const sysName of wanted) {
    const torchThreads = { pytorch: 1, 'pytorch-2t': 2 }[sysName];
    if (torchThreads !== undefined) {
      const rows = pytorchKernelRows(torchThreads);
      for (const w of workloads) {
        const r = rows.find((row) => row.name === w.name);
        if (r === undefined) throw new Error(`kernels_torch.py printed no row for ${w.name}`);
        const { ms, cpuMs, reps } = r;
        ctx.report({
          suite: name,
          name: w.name,
          system: sysName,
          threads: torchThreads,
          ms,
          gflops: w.flops / ms / 1e6,
          cpuMs,
          reps,
          note: share(w.flops, cpuMs),
        });
      }
      continue;
    }
    let sys;
    if (sysName === 'gradlens-cpu') sys = gradlensSystem('wasm');
    else if (sysName === 'gradlens-cpu-2t') sys = gradlensSystem('wasm', 2);
    else if (sysName === 'gradlens-cpu-im2col') sys = gradlensSystem('wasm', 1, false);
    else if (sysName === 'gradlens-cpu-js') sys = gradlensSystem('js');
    else if (sysName === 'tfjs-cpu') sys = await tfjsSystem('cpu');
    else if (sysName === 'tfjs-wasm') sys = await tfjsSystem('wasm');
    else
      throw new Error(
        `unknown system ${sysName} (gradlens-cpu, gradlens-cpu-2t, gradlens-cpu-im2col, gradlens-cpu-js, tfjs-cpu, tfjs-wasm, pytorch, pytorch-2t)`,
      );
    for (const w of workloads) {
      const fn = w.make(sys);
      if (fn === null) {
        ctx.report({ suite: name, name: w.name, system: sys.system, threads: sys.threads, ms: null, gflops: null, note: 'no kernel' });
        continue;
      }
      const { ms, cpuMs, reps } = ctx.measure(fn);
      const note = sys.system.startsWith('gradlens-cpu') ? share(w.flops, cpuMs) : undefined;
      ctx.report({
        suite: name,
        name: w.name,
        system: sys.system,
        threads: sys.threads,
        ms,
        gflops: w.flops / ms / 1e6,
        cpuMs,
        reps,
        note,
      });
    }
    sys.dispose();
  }
}

module.exports = { name, description, run };
