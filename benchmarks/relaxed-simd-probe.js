// @ts-check
/**
 * Relaxed-SIMD probe (issue 17, FMA): does this Node's V8 compile f32x4.relaxed_madd, and does it multiply-add
 * faster than WebAssembly SIMD's f32x4.mul + f32x4.add? A hand-assembled module runs `chains` independent
 * accumulators c = c + a·b for n steps, once with mul+add, once with relaxed_madd (TurboFan only: Liftoff
 * never tiers up inside one long call). Prints G multiply-adds per second (4 lanes each).
 *
 * `node benchmarks/relaxed-simd-probe.js [--chains 8] [--steps 20000000]` (`--help` lists the flags)
 * Node 20 (V8 11.3) compiles relaxed_madd only with --experimental-wasm-relaxed-simd, set here at run time.
 */
'use strict';
const v8 = require('v8');
const { declareFlags } = require('../scripts/flags');

const { arg } = declareFlags({
  usage: 'node benchmarks/relaxed-simd-probe.js [flags]',
  flags: {
    chains: { kind: 'number', help: 'independent accumulators, f32x4 each (default 8)' },
    steps: { kind: 'number', help: 'multiply-adds per accumulator and lane (default 20000000)' },
  },
});
const chains = Number(arg('chains', '8'));
const steps = Number(arg('steps', '2e7'));

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
v8.setFlagsFromString('--no-liftoff');

/** @param {number} n */
const leb = (n) => {
  const o = [];
  do {
    let b = n & 127;
    n >>>= 7;
    if (n) b |= 128;
    o.push(b);
  } while (n);
  return o;
};
const f32 = (/** @type {number} */ x) => [...new Uint8Array(new Float32Array([x]).buffer)];
const SIMD = 0xfd;

/** (func (param i32 steps) (result f32)): `chains` accumulators, each c = c + a·b per step; lane 0 of their sum. */
function module(/** @type {boolean} */ fma) {
  const a = chains + 1,
    b = chains + 2;
  const body = [1, chains + 2, 0x7b]; // locals: chains + 2 v128 (accumulators 1..chains, a, b)
  body.push(0x43, ...f32(1.0001), SIMD, ...leb(0x13), 0x21, a); // a = f32x4.splat
  body.push(0x43, ...f32(0.9999), SIMD, ...leb(0x13), 0x21, b);
  body.push(0x03, 0x40); // loop
  for (let k = 1; k <= chains; k++) {
    if (fma)
      body.push(0x20, a, 0x20, b, 0x20, k, SIMD, ...leb(0x105), 0x21, k); // f32x4.relaxed_madd(a, b, c)
    else body.push(0x20, k, 0x20, a, 0x20, b, SIMD, ...leb(0xe6), SIMD, ...leb(0xe4), 0x21, k); // f32x4.add(c, f32x4.mul(a, b))
  }
  body.push(0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b); // steps -= 1; br_if; end loop
  body.push(0x20, 1);
  for (let k = 2; k <= chains; k++) body.push(0x20, k, SIMD, ...leb(0xe4));
  body.push(SIMD, ...leb(0x1f), 0, 0x0b); // f32x4.extract_lane 0; end
  const sec = (/** @type {number} */ id, /** @type {number[]} */ s) => [id, ...leb(s.length), ...s];
  return new Uint8Array([
    0,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...sec(1, [1, 0x60, 1, 0x7f, 1, 0x7d]), // type: (i32) -> f32
    ...sec(3, [1, 0]),
    ...sec(7, [1, 1, 0x66, 0, 0]), // export "f"
    ...sec(10, [1, ...leb(body.length), ...body]),
  ]);
}

for (const fma of [false, true]) {
  const label = fma ? 'f32x4.relaxed_madd' : 'f32x4.mul + f32x4.add';
  let f;
  try {
    f = /** @type {(n: number) => number} */ (new WebAssembly.Instance(new WebAssembly.Module(module(fma))).exports.f);
  } catch (e) {
    console.log(`${label}: does not compile here (${e instanceof Error ? e.message : e})`);
    continue;
  }
  f(1000);
  const t = process.hrtime.bigint();
  f(steps);
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  console.log(`${label}: ${((steps * chains * 4) / s / 1e9).toFixed(2)} G multiply-adds/s (${chains} chains)`);
}
