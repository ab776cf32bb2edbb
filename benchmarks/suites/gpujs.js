// @ts-check
/**
 * gpujs kernel benchmark: conv3x3 (forward, backward-input, backward-weight) at three VGG-like sizes
 * and matmul 1024³, on the CPU backend and on every gpu.js mode available here. Uses the built
 * packages (packages/*\/dist: run `npx tsc -b` first).
 *
 *   node benchmarks/suites/gpujs.js [--json]      GPUJS_BENCH_MODES=webasm,headlessgl,cpu to choose modes (--help)
 *
 * Each figure is the median of timed calls after warm-up calls (compilation, V8's wasm tier-up);
 * gpu.js results are read back to the host inside the timing (a texture download in GL modes), and
 * each gpu.js result is compared with the CPU backend's once, after the timing (the `max err` note).
 * "webasm×threads" calls the same kernel functions through gpu.js's async contract, which splits a
 * kernel across a worker pool; the tensor API is synchronous, so the backend itself runs one thread.
 */
const path = require('path');
const os = require('os');
const root = path.resolve(__dirname, '..', '..');
const T = require(path.join(root, 'packages/tensor/dist'));
const G = require(path.join(root, 'packages/backend-gpujs/dist'));
const { GPU } = require(path.join(root, 'node_modules/gpu.js'));

const WORKLOADS = [
  { name: 'conv3x3 64→64 56×56', n: 1, c: 64, h: 56, co: 64 },
  { name: 'conv3x3 256→256 14×14', n: 1, c: 256, h: 14, co: 256 },
  { name: 'conv3x3 3→64 224×224', n: 1, c: 3, h: 224, co: 64 },
];
const ATTRS = {
  stride: /** @type {[number, number]} */ ([1, 1]),
  padding: /** @type {[number, number]} */ ([1, 1]),
  dilation: /** @type {[number, number]} */ ([1, 1]),
  groups: 1,
};

/** Median milliseconds of fn() after `warm` untimed calls, over at least `reps` calls or ~minMs. */
async function time(fn, { warm = 2, reps = 3, minMs = 1500 } = {}) {
  for (let i = 0; i < warm; i++) await fn();
  const ts = [];
  const start = Date.now();
  while (ts.length < reps || (Date.now() - start < minMs && ts.length < 20)) {
    const t0 = process.hrtime.bigint();
    await fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ts.sort((a, b) => a - b);
  return ts[ts.length >> 1];
}

/** Modes to measure: the env list, else every gpu.js mode that really runs here (cpu mode only on request). */
let webgpuAdapter = false;
function modes() {
  const asked = process.env.GPUJS_BENCH_MODES
    ? process.env.GPUJS_BENCH_MODES.split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : ['webasm', 'headlessgl', 'webgpu'];
  // webgpu only where an adapter answered (checked once in run(); the mode itself resolves optimistically)
  return asked.filter((m) => m !== 'webgpu' || webgpuAdapter);
}

/** One kernel call through a backend's kernel table, read back to the host. */
function op(backend, name, inputs, attrs) {
  const r = backend.kernels[name](inputs, attrs);
  const out = r.out;
  return Promise.resolve(out.data()).then(() => {
    out.dispose();
    (r.extras || []).forEach((e) => e.dispose());
  });
}

/** One kernel call's result, read back; and max |a − b| / (max |b| + 1) against a reference. */
async function values(backend, name, inputs, attrs) {
  const r = backend.kernels[name](inputs, attrs);
  const v = Float32Array.from(await r.out.data());
  r.out.dispose();
  (r.extras || []).forEach((e) => e.dispose());
  return v;
}
function relErr(a, b) {
  let d = 0,
    m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return a.length === b.length ? d / (m + 1) : Infinity;
}

/**
 * Runs the suite; returns rows { suite, name, system, threads, ms, gflops }. Under benchmarks/run.js
 * (ctx.report given) rows go to the runner; standalone, they print unless `json`.
 */
async function run(ctx = {}) {
  const json = !!ctx.json;
  const rows = [];
  if (G.resolveMode('webgpu').mode === 'webgpu') webgpuAdapter = await GPU.isWebGPUAvailable();
  const push = (system, threads, name, ms, flops, note) => {
    const row = {
      suite: 'gpujs',
      name,
      system,
      threads,
      ms: +ms.toFixed(2),
      gflops: +(flops / ms / 1e6).toFixed(2),
      ...(note ? { note } : {}),
    };
    rows.push(row);
    if (ctx.report) ctx.report(row);
    else if (!json)
      console.log(
        `${name.padEnd(34)} ${system.padEnd(24)} ${String(threads).padStart(2)}  ${row.ms.toFixed(1).padStart(9)} ms  ${row.gflops.toFixed(2).padStart(7)} GFLOP/s${note ? `  ${note}` : ''}`,
      );
  };
  const systems = [{ label: 'gradlens cpu', backend: T.cpuBackend, mode: 'cpu-backend' }];
  const seen = new Set();
  for (const m of modes()) {
    const b = G.gpujsBackend(m);
    if (seen.has(b.mode)) continue; // a mode that fell back to one already measured
    seen.add(b.mode);
    systems.push({ label: `gpujs:${b.mode}${b.mode !== m ? ` (asked ${m})` : ''}`, backend: b, mode: b.mode });
  }
  for (const wl of WORKLOADS) {
    const x = T.randn([wl.n, wl.c, wl.h, wl.h]);
    const w = T.randn([wl.co, wl.c, 3, 3]);
    const dy = T.randn([wl.n, wl.co, wl.h, wl.h]);
    const flops = 2 * wl.n * wl.co * wl.c * 9 * wl.h * wl.h;
    const calls = [
      { dir: 'forward', name: 'conv2d', inputs: [x, w], attrs: ATTRS },
      { dir: 'backward-input', name: 'conv2dBackwardInput', inputs: [dy, w], attrs: { ...ATTRS, inputShape: [...x.shape] } },
      { dir: 'backward-weight', name: 'conv2dBackwardWeight', inputs: [x, dy], attrs: { ...ATTRS, weightShape: [...w.shape] } },
    ];
    const refs = [];
    for (const s of systems) {
      const opts = s.mode === 'cpu' ? { warm: 1, reps: 1, minMs: 0 } : {};
      for (const [i, c] of calls.entries()) {
        const ms = await time(() => op(s.backend, c.name, c.inputs, c.attrs), opts);
        // every gpu.js result is checked against the CPU backend's (float32 tolerance: see the README)
        let note;
        if (s.mode === 'cpu-backend') refs[i] = await values(s.backend, c.name, c.inputs, c.attrs);
        else note = `max err vs cpu ${relErr(await values(s.backend, c.name, c.inputs, c.attrs), refs[i]).toExponential(1)}`;
        push(s.label, 1, `${wl.name} ${c.dir}`, ms, flops, note);
      }
    }
    const ref = modes().some((m) => m === 'webasm' || m === 'webgpu') ? T.cpuBackend.kernels.conv2d([x, w], ATTRS).out : null;
    if (modes().includes('webasm') && GPU.isWebAssemblySupported) {
      const r = await rawConv('webasm', x, w, wl, ref);
      push('gpujs:webasm×threads', os.cpus().length, `${wl.name} forward`, r.ms, flops, r.note);
    }
    if (modes().includes('webgpu')) {
      const r = await rawConv('webgpu', x, w, wl, ref);
      push('gpujs:webgpu (kernel)', 1, `${wl.name} forward`, r.ms, flops, r.note);
    }
    if (ref) ref.dispose();
    [x, w, dy].forEach((t) => t.dispose());
  }
  const a = T.randn([1024, 1024]);
  const bm = T.randn([1024, 1024]);
  let mref;
  for (const s of systems) {
    if (s.mode === 'cpu') continue; // gpu.js's JS fallback needs minutes for 2 GFLOP
    const mmAttrs = { transA: false, transB: false };
    const ms = await time(() => op(s.backend, 'matmul', [a, bm], mmAttrs), { warm: 1, reps: 2 });
    let note;
    if (s.mode === 'cpu-backend') mref = await values(s.backend, 'matmul', [a, bm], mmAttrs);
    else note = `max err vs cpu ${relErr(await values(s.backend, 'matmul', [a, bm], mmAttrs), mref).toExponential(1)}`;
    push(s.label, 1, 'matmul 1024³', ms, 2 * 1024 ** 3, note);
  }
  return rows;
}

/**
 * The forward conv kernel called straight through gpu.js under its async contract: in webasm mode a
 * worker pool splits it over every core; in webgpu mode it is a WGSL compute shader (results are
 * promises, which the synchronous tensor API cannot wait for). The note gives the error against the CPU.
 */
async function rawConv(mode, x, w, wl, ref) {
  if (mode === 'webgpu') G.resolveMode('webgpu'); // installs navigator.gpu from the webgpu package
  const gpu = new GPU({ mode });
  const B = Math.ceil(wl.co / 4);
  const constants = {
    N: wl.n,
    C: wl.c,
    H: wl.h,
    W: wl.h,
    CO: wl.co,
    OH: wl.h,
    OW: wl.h,
    KH: 3,
    KW: 3,
    SH: 1,
    SW: 1,
    PH: 1,
    PW: 1,
    DH: 1,
    DW: 1,
    G: 1,
    CIG: wl.c,
    COG: wl.co,
    B,
  };
  const k = gpu.createKernel(G.gpujsKernels.conv2dForward.toString(), { output: [wl.h, wl.h, wl.n * B], constants, asyncMode: true });
  const xv = x.dataSync(),
    wv = w.dataSync(),
    bias = new Float32Array(wl.co);
  const ms = await time(() => k(xv, wv, bias));
  let note = '';
  if (ref) {
    const r = await k(xv, wv, bias);
    let leaf = r;
    while (Array.isArray(leaf)) leaf = leaf[0];
    const flat = new Float32Array(wl.n * B * wl.h * wl.h * 4);
    let o = 0;
    const walk = (v) => {
      if (Array.isArray(v)) v.forEach(walk);
      else {
        flat.set(v, o);
        o += v.length;
      }
    };
    walk(r);
    const got = G.gpujsKernels.unpackBlocksHost(flat, wl.n, 1, wl.co, wl.h, wl.h);
    const want = ref.dataSync();
    let d = 0,
      m = 0;
    for (let i = 0; i < want.length; i++) {
      d = Math.max(d, Math.abs(got[i] - want[i]));
      m = Math.max(m, Math.abs(want[i]));
    }
    note = `max err vs cpu ${(d / (m + 1)).toExponential(1)}`;
  }
  k.destroy();
  await gpu.destroy();
  return { ms, note };
}

const name = 'gpujs';
const description = 'conv3x3 fwd/bwd-input/bwd-weight and matmul 1024³: CPU backend vs every gpu.js mode available';
module.exports = { name, description, run };

if (require.main === module) {
  const { declareFlags } = require('../../scripts/flags');
  const { arg } = declareFlags({
    usage: 'node benchmarks/suites/gpujs.js [flags]   (GPUJS_BENCH_MODES=webasm,headlessgl,webgpu,cpu chooses the modes)',
    flags: { json: { kind: 'switch', help: 'the rows as one JSON array at the end' } },
  });
  const json = arg('json', 'false') === 'true';
  run({ json }).then(
    (rows) => {
      if (json) console.log(JSON.stringify(rows, null, 1));
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
