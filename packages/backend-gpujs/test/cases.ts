/**
 * The conformance cases, one source for the Node suite (conformance.test.ts) and the one that runs in
 * Chromium (browser/conformance-chromium.test.ts): ops and small networks, with gradients, run on a
 * backend and compared with the CPU reference to float32 tolerance.
 */
import {
  abs,
  adaptiveAvgPool2d,
  add,
  avgPool2d,
  batchNorm,
  cast,
  cat,
  conv2d,
  div,
  eq,
  erf,
  exp,
  expand,
  ge,
  gelu,
  gt,
  indexSelect,
  interpolate,
  layerNorm,
  linear,
  log,
  matmul,
  max,
  maxPool2d,
  mean,
  min,
  minimum,
  mul,
  ne,
  neg,
  permute,
  pow,
  relu,
  reluBackward,
  reshape,
  sigmoid,
  slice,
  softmax,
  sqrt,
  sub,
  sum,
  tanh,
  where,
} from '@gradlens/tensor';
import type { GradRule, RuleOverrides, Tensor } from '@gradlens/tensor';
import type { InputSpec } from './run-case';

/** One conformance case: inputs, the function, optional rule overrides. */
export interface Case {
  name: string;
  inputs: InputSpec[];
  fn: (...xs: Tensor[]) => Tensor;
  rules?: RuleOverrides;
  /** gradients that a gpujs run makes on the CPU (e.g. a bias gradient, a sum): skip the device check */
  gradOnCpu?: boolean;
}

/** max |a − b| / (max |b| + 1) every value and gradient must stay under. */
export const TOL = 1e-4;

/** Distinct values (a shuffled ramp), so that max pooling has no ties whose argmax could differ. */
function distinct(shape: number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Float32Array.from({ length: n }, (_, i) => (i - n / 2) / 7);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [v[i], v[j]] = [v[j]!, v[i]!];
  }
  return v;
}

type P = [number, number];
const convCases: { x: number[]; w: number[]; bias: boolean; stride: P; padding: P; dilation: P; groups: number }[] = [
  { x: [2, 3, 9, 7], w: [5, 3, 3, 3], bias: true, stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 },
  { x: [1, 4, 11, 13], w: [6, 2, 3, 2], bias: true, stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2 },
  { x: [2, 6, 8, 9], w: [6, 1, 3, 3], bias: false, stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 6 },
  { x: [1, 5, 7, 7], w: [7, 5, 1, 1], bias: true, stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 },
  { x: [1, 3, 15, 10], w: [4, 3, 5, 5], bias: false, stride: [3, 3], padding: [2, 2], dilation: [1, 1], groups: 1 },
  { x: [2, 8, 6, 5], w: [12, 2, 3, 3], bias: true, stride: [1, 1], padding: [2, 2], dilation: [2, 2], groups: 4 },
  { x: [1, 2, 5, 6], w: [3, 2, 2, 3], bias: false, stride: [1, 2], padding: [0, 1], dilation: [1, 1], groups: 1 },
  { x: [3, 9, 5, 5], w: [10, 9, 3, 3], bias: true, stride: [2, 2], padding: [0, 0], dilation: [1, 1], groups: 1 },
];

/** Every case, in order (its index seeds its inputs). */
export const cases: Case[] = [
  ...convCases.map((c): Case => ({
    name: `conv2d x${c.x.join('x')} w${c.w.join('x')} s${c.stride} p${c.padding} d${c.dilation} g${c.groups}${c.bias ? ' +bias' : ''}`,
    inputs: c.bias ? [{ shape: c.x }, { shape: c.w }, { shape: [c.w[0]!] }] : [{ shape: c.x }, { shape: c.w }],
    fn: (x, w, b) => conv2d(x!, w!, b ?? null, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups }),
  })),
  ...(
    [
      { x: [2, 3, 8, 9], k: [2, 2], s: [2, 2], p: [0, 0], d: [1, 1], ceil: false },
      { x: [1, 4, 9, 7], k: [3, 3], s: [2, 2], p: [1, 1], d: [1, 1], ceil: false },
      { x: [1, 2, 9, 8], k: [3, 3], s: [2, 2], p: [0, 0], d: [1, 1], ceil: true },
      { x: [2, 2, 11, 10], k: [3, 2], s: [2, 1], p: [1, 1], d: [2, 1], ceil: false },
      { x: [1, 3, 7, 11], k: [2, 3], s: [1, 2], p: [1, 1], d: [1, 2], ceil: true },
    ] as { x: number[]; k: P; s: P; p: P; d: P; ceil: boolean }[]
  ).map((c, i): Case => ({
    name: `maxPool2d x${c.x.join('x')} k${c.k} s${c.s} p${c.p} d${c.d}${c.ceil ? ' ceil' : ''}`,
    inputs: [{ shape: c.x, values: distinct(c.x, 11 + i) }],
    fn: (x) => maxPool2d(x!, { kernelSize: c.k, stride: c.s, padding: c.p, dilation: c.d, ceilMode: c.ceil }),
  })),
  ...(
    [
      { x: [2, 3, 8, 9], k: [2, 2], s: [2, 2], p: [0, 0], ceil: false, inc: true },
      { x: [1, 4, 9, 7], k: [3, 3], s: [2, 2], p: [1, 1], ceil: false, inc: true },
      { x: [1, 4, 9, 7], k: [3, 3], s: [2, 2], p: [1, 1], ceil: false, inc: false },
      { x: [1, 2, 10, 9], k: [3, 2], s: [2, 2], p: [1, 1], ceil: true, inc: false },
      { x: [2, 2, 7, 8], k: [3, 3], s: [2, 3], p: [1, 0], ceil: true, inc: true, div: 5 },
    ] as { x: number[]; k: P; s: P; p: P; ceil: boolean; inc: boolean; div?: number }[]
  ).map((c): Case => ({
    name: `avgPool2d x${c.x.join('x')} k${c.k} s${c.s} p${c.p}${c.ceil ? ' ceil' : ''} countIncludePad=${c.inc}${c.div ? ` divisor=${c.div}` : ''}`,
    inputs: [{ shape: c.x }],
    fn: (x) =>
      avgPool2d(x!, { kernelSize: c.k, stride: c.s, padding: c.p, ceilMode: c.ceil, countIncludePad: c.inc, divisorOverride: c.div }),
  })),
  { name: 'relu [3, 5, 7]', inputs: [{ shape: [3, 5, 7] }], fn: (x) => relu(x!) },
  { name: 'relu, guided rule', inputs: [{ shape: [2, 3, 5, 5] }], fn: (x) => relu(x!), rules: { relu: guided } },
  { name: 'relu, deconvnet rule', inputs: [{ shape: [2, 3, 5, 5] }], fn: (x) => relu(x!), rules: { relu: deconvnet } },
  // Standalone, so that its own rule (reluBackward of the seed) runs on the device too.
  {
    name: 'reluBackward [2, 3, 5, 5]',
    inputs: [{ shape: [2, 3, 5, 5] }, { shape: [2, 3, 5, 5], grad: false }],
    fn: (dy, x) => reluBackward(dy!, x!),
  },
  { name: 'mul, gt, cast (mask)', inputs: [{ shape: [4, 9] }, { shape: [4, 9] }], fn: (a, b) => mul(a!, cast(gt(b!, 0), 'float32')) },
  // Broadcasts (Grad-CAM's channel weights times the activations): the broadcast operand's gradient sums on the CPU.
  {
    name: 'mul, broadcast [2, 3, 4, 5]·[2, 3, 1, 1]',
    inputs: [{ shape: [2, 3, 4, 5] }, { shape: [2, 3, 1, 1] }],
    fn: (a, b) => mul(a!, b!),
  },
  {
    name: 'sub, broadcast [5, 1] − [4, 5, 6], add [6]',
    inputs: [{ shape: [5, 1] }, { shape: [4, 5, 6] }, { shape: [6] }],
    fn: (a, b, c) => add(sub(a!, b!), c!),
    gradOnCpu: true,
  },
  // The ops of Grad-CAM's combine, LRP's rules and the CAM heads (reductions, adaptive pooling, bilinear
  // upsampling, div/ge/where/abs): device kernels since the page runs them on webgl2 and webgpu.
  { name: 'abs [3, 4, 5]', inputs: [{ shape: [3, 4, 5] }], fn: (x) => abs(x!), gradOnCpu: true },
  {
    name: 'div, broadcast [2, 3, 4] / [3, 1]',
    inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1], values: Float32Array.from([1.5, -2, 0.75]) }],
    fn: (a, b) => div(a!, b!),
  },
  {
    name: "ge, where: LRP's signed ε, z + (z ≥ 0 ? ε : −ε)",
    inputs: [{ shape: [4, 6] }],
    fn: (z) => add(z!, where(ge(z!, 0), 0.25, -0.25)),
    gradOnCpu: true, // the gradient is the seed itself (ge passes none)
  },
  {
    name: 'where, broadcast: where(a ≥ b, a, 2b) for [2, 3, 4], [3, 1]',
    inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1] }],
    fn: (a, b) => where(ge(a!, b!), a!, mul(b!, 2)),
    gradOnCpu: true,
  },
  { name: 'reshape [2, 3, 4] → [6, 4]', inputs: [{ shape: [2, 3, 4] }], fn: (x) => mul(reshape(x!, [6, 4]), 3) },
  // a sum's gradient is its seed expanded (a view, on the CPU)
  {
    name: 'sum over dims 1, 3 keepdim [2, 3, 4, 5]',
    inputs: [{ shape: [2, 3, 4, 5] }],
    fn: (x) => sum(x!, { dim: [1, 3], keepdim: true }),
    gradOnCpu: true,
  },
  { name: 'sum of all [3, 7]', inputs: [{ shape: [3, 7] }], fn: (x) => sum(x!), gradOnCpu: true },
  { name: 'mean over dims 0, 2 [2, 3, 4, 5]', inputs: [{ shape: [2, 3, 4, 5] }], fn: (x) => mean(x!, { dim: [0, 2] }) },
  {
    name: 'max over dim -1 [2, 3, 7]',
    inputs: [{ shape: [2, 3, 7], values: distinct([2, 3, 7], 5) }],
    fn: (x) => max(x!, { dim: -1 }),
    gradOnCpu: true,
  },
  ...(
    [
      [
        [2, 3, 7, 9],
        [3, 4],
      ],
      [
        [1, 2, 5, 6],
        [1, 1],
      ],
      [
        [1, 2, 3, 4],
        [5, 7],
      ],
    ] as [number[], P][]
  ).map(([x, size]): Case => ({
    name: `adaptiveAvgPool2d x${x.join('x')} → ${size.join('x')}`,
    inputs: [{ shape: x }],
    fn: (t) => adaptiveAvgPool2d(t!, size),
  })),
  ...(
    [
      [[1, 2, 5, 7], [9, 12], false],
      [[2, 1, 4, 4], [7, 5], true],
      [[1, 2, 8, 6], [3, 4], false],
    ] as [number[], P, boolean][]
  ).map(([x, size, alignCorners]): Case => ({
    name: `upsampleBilinear2d x${x.join('x')} → ${size.join('x')}${alignCorners ? ' alignCorners' : ''}`,
    inputs: [{ shape: x }],
    fn: (t) => interpolate(t!, { size, mode: 'bilinear', alignCorners }),
    gradOnCpu: true,
  })),
  { name: 'matmul [5, 7]·[7, 9]', inputs: [{ shape: [5, 7] }, { shape: [7, 9] }], fn: (a, b) => matmul(a!, b!) },
  { name: 'matmul batched [3, 5, 6]·[6, 4]', inputs: [{ shape: [3, 5, 6] }, { shape: [6, 4] }], fn: (a, b) => matmul(a!, b!) },
  // One matrix on the left broadcast over the right's batch: the batch shape is the broadcast of both
  // (a's gradient sums over the batch, on the CPU).
  {
    name: 'matmul batch broadcast [1, 5, 6]·[3, 6, 4]',
    inputs: [{ shape: [1, 5, 6] }, { shape: [3, 6, 4] }],
    fn: (a, b) => matmul(a!, b!),
    gradOnCpu: true,
  },
  {
    name: 'linear [4, 10]·[6, 10]ᵀ + b',
    inputs: [{ shape: [4, 10] }, { shape: [6, 10] }, { shape: [6] }],
    fn: (x, w, b) => linear(x!, w!, b!),
  },
  // A vision transformer's ops and those of their rules (the page runs the ViT's methods on the device).
  { name: 'exp [3, 4, 5]', inputs: [{ shape: [3, 4, 5] }], fn: (x) => exp(x!) },
  {
    name: 'erf [4, 9]',
    inputs: [{ shape: [4, 9], values: Float32Array.from({ length: 36 }, (_, i) => (i - 18) / 6) }],
    fn: (x) => erf(x!),
  },
  { name: 'gelu (exact) [2, 5, 7]', inputs: [{ shape: [2, 5, 7] }], fn: (x) => gelu(x!) },
  {
    name: "pow by −0.5 (layer norm's rule), by 3 of negative values",
    inputs: [{ shape: [3, 5], values: Float32Array.from({ length: 15 }, (_, i) => 0.25 + i / 5) }, { shape: [3, 5] }],
    fn: (a, b) => add(pow(a!, -0.5), pow(b!, 3)),
  },
  {
    name: 'eq, minimum, broadcast [2, 3, 4], [3, 1]',
    inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1] }],
    fn: (a, b) => add(minimum(a!, b!), cast(eq(a!, a!), 'float32')),
    gradOnCpu: true,
  },
  { name: 'gelu (tanh) [2, 5, 7] (tanh in its rule)', inputs: [{ shape: [2, 5, 7] }], fn: (x) => gelu(x!, { approximate: 'tanh' }) },
  {
    name: 'neg, log, sqrt, tanh, sigmoid [3, 11]',
    inputs: [{ shape: [3, 11], values: Float32Array.from({ length: 33 }, (_, i) => 0.1 + i / 8) }],
    fn: (x) => add(add(neg(log(x!)), sqrt(x!)), mul(tanh(sub(x!, 2)), sigmoid(sub(2, x!)))),
  },
  {
    name: 'pow by a tensor, broadcast [3, 4] ^ [4] (log in its rule)',
    inputs: [
      { shape: [3, 4], values: Float32Array.from({ length: 12 }, (_, i) => 0.3 + i / 7) },
      { shape: [4], values: Float32Array.from([-1.5, 0.5, 2, 3.25]) },
    ],
    fn: (a, b) => pow(a!, b!),
  },
  {
    name: 'pow of negative bases by whole numbers [2, 6] ^ [2, 6]',
    inputs: [
      { shape: [2, 6], values: Float32Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? -1 : 1) * (0.5 + i / 5)) },
      { shape: [2, 6], values: Float32Array.from([0, 1, 2, 3, -1, -2, 3, 2, 1, 0, -3, 4]), grad: false },
    ],
    fn: (a, b) => pow(a!, b!),
  },
  { name: 'softmax over dim -1 [2, 3, 7]', inputs: [{ shape: [2, 3, 7] }], fn: (x) => softmax(x!, -1) },
  { name: 'softmax over dim 1 [2, 5, 3]', inputs: [{ shape: [2, 5, 3] }], fn: (x) => softmax(x!, 1) },
  {
    name: 'layerNorm [2, 5, 8] over 8, weight and bias',
    inputs: [{ shape: [2, 5, 8] }, { shape: [8] }, { shape: [8] }],
    fn: (x, w, b) => layerNorm(x!, 8, w!, b!),
  },
  // rows as long as ViT-B's (768 wide; 197 tokens) and odd ones: per-row statistics, then the elements
  { name: 'softmax over dim -1 at ViT-B row length [2, 768]', inputs: [{ shape: [2, 768] }], fn: (x) => softmax(x!, -1) },
  { name: 'softmax over dim 1 [3, 197, 5]', inputs: [{ shape: [3, 197, 5] }], fn: (x) => softmax(x!, 1) },
  {
    name: 'layerNorm at ViT-B width [1, 3, 768], weight and bias',
    inputs: [{ shape: [1, 3, 768] }, { shape: [768] }, { shape: [768] }],
    fn: (x, w, b) => layerNorm(x!, 768, w!, b!),
  },
  {
    name: 'layerNorm [7, 13] over 13, weight and bias',
    inputs: [{ shape: [7, 13] }, { shape: [13] }, { shape: [13] }],
    fn: (x, w, b) => layerNorm(x!, 13, w!, b!),
  },
  { name: 'layerNorm [2, 3, 4, 5] over [4, 5], no affine', inputs: [{ shape: [2, 3, 4, 5] }], fn: (x) => layerNorm(x!, [4, 5]) },
  { name: 'permute [2, 3, 4, 5] → [0, 2, 3, 1]', inputs: [{ shape: [2, 3, 4, 5] }], fn: (x) => permute(x!, [0, 2, 3, 1]) },
  { name: 'slice [2, 7, 3] dim 1, 1:6:2 (unslice in its rule)', inputs: [{ shape: [2, 7, 3] }], fn: (x) => slice(x!, 1, 1, 6, 2) },
  {
    name: 'cat [2, 1, 4], [2, 3, 4] on dim 1 (slice in its rule)',
    inputs: [{ shape: [2, 1, 4] }, { shape: [2, 3, 4] }],
    fn: (a, b) => cat([a!, b!], 1),
  },
  {
    name: 'cat of three [2, 1, 4], [2, 3, 4], [2, 2, 4] on dim 1',
    inputs: [{ shape: [2, 1, 4] }, { shape: [2, 3, 4] }, { shape: [2, 2, 4] }],
    fn: (a, b, c) => cat([a!, b!, c!], 1),
  },
  {
    name: 'cat of six on dim 0, one tensor twice',
    inputs: [{ shape: [1, 3] }, { shape: [2, 3] }, { shape: [3, 3] }, { shape: [1, 3] }, { shape: [2, 3] }],
    fn: (a, b, c, d, e) => cat([a!, b!, c!, d!, b!, e!], 0),
  },
  // the CAM methods' and the many-pass methods' ops: ne (Grad-CAM++'s mask), min (Score-CAM's normalisation),
  // indexSelect (a batch of masked pictures) and expand (a ViT's class token over a batch)
  {
    name: 'ne, broadcast [2, 3, 4], [3, 1], and x ≠ x',
    inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1] }],
    fn: (a, b) => mul(a!, add(cast(ne(a!, b!), 'float32'), cast(ne(a!, a!), 'float32'))),
  },
  { name: 'min over dims 1 and 3 [2, 3, 4, 5]', inputs: [{ shape: [2, 3, 4, 5] }], fn: (x) => min(x!, { dim: [1, 3] }) },
  { name: 'expand [3, 1] → [2, 3, 4]', inputs: [{ shape: [3, 1] }], fn: (x) => expand(x!, [2, 3, 4]) },
  {
    name: 'indexSelect [2, 5, 3] dim 1 at 4, 0, 4, 2 (indexAdd in its rule)',
    inputs: [{ shape: [2, 5, 3] }],
    fn: (x) => indexSelect(x!, 1, [4, 0, 4, 2]),
  },
  // gpujs has no batch-norm kernel: the op runs on the CPU backend between device ops, with a transfer each way.
  {
    name: 'conv, batchNorm (training, on the CPU), relu',
    inputs: [{ shape: [2, 3, 8, 7] }, { shape: [6, 3, 3, 3] }, { shape: [6] }, { shape: [6] }],
    fn: (x, w, g, b) => relu(batchNorm(conv2d(x!, w!, null, { padding: 1 }), null, null, g!, b!, { training: true })),
  },
  {
    name: 'conv, batchNorm (eval, on the CPU), relu',
    inputs: [
      { shape: [2, 3, 8, 7] },
      { shape: [6, 3, 3, 3] },
      { shape: [6], grad: false },
      { shape: [6], grad: false, values: Float32Array.from([0.5, 1, 1.5, 2, 0.8, 1.2]) },
      { shape: [6] },
      { shape: [6] },
    ],
    fn: (x, w, rm, rv, g, b) => relu(batchNorm(conv2d(x!, w!, null, { padding: 1 }), rm!, rv!, g!, b!)),
  },
  {
    name: 'small network: conv, relu, maxpool, conv, avgpool, linear',
    inputs: [{ shape: [2, 3, 12, 11] }, { shape: [8, 3, 3, 3] }, { shape: [8] }, { shape: [6, 8, 3, 3] }, { shape: [5, 6 * 3 * 3] }],
    fn: (x, w1, b1, w2, wl) => {
      let h = relu(conv2d(x!, w1!, b1!, { padding: 1 }));
      h = maxPool2d(h, { kernelSize: 2, stride: 2 });
      h = relu(conv2d(h, w2!, null, { padding: 1, stride: [1, 1] }));
      h = avgPool2d(h, { kernelSize: 2, stride: 2, ceilMode: true });
      return linear(reshape(h, [2, 6 * 3 * 3]), wl!);
    },
  },
];

function guided(...args: Parameters<GradRule<'relu'>>): ReturnType<GradRule<'relu'>> {
  const [
    dy,
    {
      inputs: [x],
    },
  ] = args;
  return [mul(relu(dy), cast(gt(x!, 0), dy.dtype))];
}
function deconvnet(...args: Parameters<GradRule<'relu'>>): ReturnType<GradRule<'relu'>> {
  return [relu(args[0])];
}
