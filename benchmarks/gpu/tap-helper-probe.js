#!/usr/bin/env node
'use strict';
// D1 probe (issue 18): a 3×3 conv forward (one value per thread, 32→32 channels at 28×28) with its tap geometry
// inline, as kernels/conv2d*.ts write it, and through a scalar gpu.js helper (`gpu.addFunction(tapIn)`), the
// only kind of helper gpu.js's WebGPU and WebAssembly modes take. Same results; the helper's cost is why
// conv2d.ts and conv2d-single.ts keep their index arithmetic inline (see packages/backend-gpujs/README.md).
// Usage: node benchmarks/gpu/tap-helper-probe.js [webasm|cpu|headlessgl]
const { GPU } = require('gpu.js');

const mode = process.argv[2] || 'webasm';
function tapIn(o, k, stride, pad, dil, size) {
  const i = o * stride - pad + k * dil;
  if (i >= 0 && i < size) return i;
  return -1;
}
function inline(x, w) {
  const ow = this.thread.x,
    oh = this.thread.y,
    co = this.thread.z;
  let s = 0;
  for (let ci = 0; ci < this.constants.C; ci++) {
    for (let kh = 0; kh < 3; kh++) {
      const ih = oh - 1 + kh;
      if (ih >= 0 && ih < this.constants.H) {
        for (let kw = 0; kw < 3; kw++) {
          const iw = ow - 1 + kw;
          if (iw >= 0 && iw < this.constants.W)
            s += x[(ci * this.constants.H + ih) * this.constants.W + iw] * w[((co * this.constants.C + ci) * 3 + kh) * 3 + kw];
        }
      }
    }
  }
  return s;
}
function helper(x, w) {
  const ow = this.thread.x,
    oh = this.thread.y,
    co = this.thread.z;
  let s = 0;
  for (let ci = 0; ci < this.constants.C; ci++) {
    for (let kh = 0; kh < 3; kh++) {
      const ih = tapIn(oh, kh, 1, 1, 1, this.constants.H);
      if (ih >= 0) {
        for (let kw = 0; kw < 3; kw++) {
          const iw = tapIn(ow, kw, 1, 1, 1, this.constants.W);
          if (iw >= 0) s += x[(ci * this.constants.H + ih) * this.constants.W + iw] * w[((co * this.constants.C + ci) * 3 + kh) * 3 + kw];
        }
      }
    }
  }
  return s;
}
const C = 32,
  H = 28,
  W = 28,
  CO = 32;
const x = Float32Array.from({ length: C * H * W }, (_, i) => Math.sin(i));
const w = Float32Array.from({ length: CO * C * 9 }, (_, i) => Math.cos(i));
for (const [name, fn] of [
  ['inline', inline],
  ['helper', helper],
]) {
  const gpu = new GPU({ mode });
  gpu.addFunction(tapIn);
  const k = gpu.createKernel(fn, { output: [W, H, CO], constants: { C, H, W }, precision: 'single', tactic: 'precision' });
  let r = k(x, w);
  const times = [];
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint();
    r = k(x, w);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  const flat = [];
  for (const p of r) for (const row of p) flat.push(...row);
  let sum = 0;
  for (const v of flat) sum += v;
  console.log(
    `${mode} ${name}: median ${times[2].toFixed(1)} ms, checksum ${sum.toFixed(3)}, mode ran ${k.kernel ? k.kernel.constructor.mode : '?'}`,
  );
  gpu.destroy();
}
