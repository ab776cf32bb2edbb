/**
 * The gradient checks' table: one or more float64 cases per op name (a mapped type over the op names, so a new op
 * does not compile without one), or 'not differentiable'; and central differences to check against. Shared by
 * gradcheck.test.ts (first derivatives) and double-backward.test.ts (second derivatives, through createGraph).
 */
import type { Tensor } from '../src';
import { Generator, tensor, randn, rand, sum, mul } from '../src';
import * as T from '../src';
import type { OpName } from '../src/ops/op-attrs';
import { runOp } from '../src/ops/run';

export type Fn = (...xs: Tensor[]) => Tensor;
export interface Case {
  /** Float64 inputs; non-float inputs (indices) are passed through and not differentiated. */
  inputs: () => Tensor[];
  f: Fn;
  /** Step and tolerance, for cases whose forward pass rounds to float32 on purpose. */
  h?: number;
  tol?: number;
}
export type Entry = Case[] | 'not differentiable';

export const g = new Generator(1234);
export const rn = (...shape: number[]) => randn(shape, { dtype: 'float64', generator: g });
/** Values bounded away from zero, for rules with a kink at 0 (relu, abs, sign). */
export const away = (...shape: number[]) => {
  const t = rand(shape, { dtype: 'float64', generator: g });
  return T.assign(t, (v) => {
    for (let i = 0; i < v.length; i++) v[i] = (i % 2 ? -1 : 1) * (0.2 + v[i]!);
  });
};
/** Distinct values (no ties), for max-like rules. */
const distinct = (...shape: number[]) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const perm = [...Array(n).keys()].sort(() => g.uniform() - 0.5);
  return tensor(
    perm.map((p) => p * 0.37 - n * 0.1),
    shape,
    'float64',
  );
};
const positive = (...shape: number[]) => T.add(rand(shape, { dtype: 'float64', generator: g }), 0.5);
/** Values in (−0.8, 0.8), inside the inverse sine's, cosine's and atanh's domain. */
const inside = (...shape: number[]) => T.sub(T.mul(rand(shape, { dtype: 'float64', generator: g }), 1.6), 0.8);
const idx = (values: number[], shape = [values.length]) => tensor(values, shape, 'int32');

const conv = { stride: [2, 1] as [number, number], padding: [1, 2] as [number, number], dilation: [1, 2] as [number, number], groups: 2 };
const pool = {
  kernel: [3, 2] as [number, number],
  stride: [2, 1] as [number, number],
  padding: [1, 1] as [number, number],
  dilation: [1, 1] as [number, number],
  outSize: [3, 6] as [number, number],
};
const resize = { outSize: [7, 5] as [number, number], scale: [4 / 7, 3 / 5] as [number, number], alignCorners: false };
// x1, y1, x2, y2 in input pixels (spatial scale 1/2 on the maps above)
const roiBoxes = [1, 0.4, 7.3, 6.1, 4.2, 3, 13, 11.5, -3, -2, 2.5, 3.3, 0.5, 1.5, 11.9, 9.9];
const roi = { outputSize: [3, 2] as [number, number], spatialScale: 0.5, samplingRatio: 2 };
const roiAttrs = { ...roi, rois: roiBoxes, batchIndices: [0, 0, 1, 1], aligned: false };

export const cases: { [K in OpName]: Entry } = {
  add: [{ inputs: () => [rn(2, 3), rn(3)], f: T.add }],
  sub: [{ inputs: () => [rn(2, 1), rn(1, 3)], f: T.sub }],
  mul: [{ inputs: () => [rn(2, 3), rn(2, 1)], f: T.mul }],
  div: [{ inputs: () => [rn(2, 3), positive(3)], f: T.div }],
  pow: [{ inputs: () => [positive(2, 3), rn(2, 3)], f: T.pow }],
  maximum: [{ inputs: () => [rn(3, 4), rn(4)], f: T.maximum }],
  minimum: [{ inputs: () => [rn(3, 4), rn(3, 1)], f: T.minimum }],
  eq: 'not differentiable',
  ne: 'not differentiable',
  lt: 'not differentiable',
  le: 'not differentiable',
  gt: 'not differentiable',
  ge: 'not differentiable',
  where: [{ inputs: () => [rn(2, 3), rn(2, 3), rn(3)], f: (c, a, b) => T.where(T.gt(c!, 0), a!, b!) }],
  neg: [{ inputs: () => [rn(4)], f: T.neg }],
  // each function on its domain: inverse sine and cosine and atanh inside (−1, 1), acosh above 1, tan away from π/2
  unaryMath: [
    { inputs: () => [rn(2, 3)], f: T.sin },
    { inputs: () => [rn(2, 3)], f: T.cos },
    { inputs: () => [T.mul(rn(2, 3), 0.4)], f: T.tan },
    { inputs: () => [inside(2, 3)], f: T.asin },
    { inputs: () => [inside(2, 3)], f: T.acos },
    { inputs: () => [rn(2, 3)], f: T.atan },
    { inputs: () => [rn(2, 3)], f: T.sinh },
    { inputs: () => [rn(2, 3)], f: T.cosh },
    { inputs: () => [rn(2, 3)], f: T.asinh },
    { inputs: () => [positive(2, 3)], f: (x) => T.acosh(T.add(x!, 0.6)) },
    { inputs: () => [inside(2, 3)], f: T.atanh },
  ],
  exp: [{ inputs: () => [rn(2, 2)], f: T.exp }],
  log: [{ inputs: () => [positive(5)], f: T.log }],
  sqrt: [{ inputs: () => [positive(5)], f: T.sqrt }],
  abs: [{ inputs: () => [away(6)], f: T.abs }],
  sign: [{ inputs: () => [away(6)], f: T.sign }],
  relu: [{ inputs: () => [away(3, 4)], f: T.relu }],
  // d/ddy is the op itself; d/dx is 0 away from the kink, which the differences confirm.
  reluBackward: [{ inputs: () => [rn(3, 4), away(3, 4)], f: T.reluBackward }],
  sigmoid: [{ inputs: () => [rn(5)], f: T.sigmoid }],
  tanh: [{ inputs: () => [rn(5)], f: T.tanh }],
  erf: [{ inputs: () => [T.mul(rn(3, 4), 1.5)], f: T.erf }],
  gelu: [
    { inputs: () => [T.mul(rn(3, 4), 2)], f: (x) => T.gelu(x!) },
    { inputs: () => [T.mul(rn(3, 4), 2)], f: (x) => T.gelu(x!, { approximate: 'tanh' }) },
  ],
  // Standalone: d/ddy is the op itself, d/dx is dy·gelu″(x).
  geluBackward: [
    { inputs: () => [rn(3, 4), T.mul(rn(3, 4), 2)], f: (dy, x) => runOp('geluBackward', [dy!, x!], { approximate: 'none' }) },
    { inputs: () => [rn(3, 4), T.mul(rn(3, 4), 2)], f: (dy, x) => runOp('geluBackward', [dy!, x!], { approximate: 'tanh' }) },
  ],
  clamp: [{ inputs: () => [away(8)], f: (x) => T.clamp(x!, { min: -0.5, max: 0.6 }) }],
  // x from away() lies in ±[0.2, 1.2): clear of every bound below, so its (zero) gradient is checked too.
  clampBackward: [
    { inputs: () => [rn(3, 4), away(3, 4)], f: (dy, x) => T.clampBackward(dy!, x!, { min: -2, max: 0.1 }) },
    { inputs: () => [rn(8), away(8)], f: (dy, x) => T.clampBackward(dy!, x!, { max: 0 }) },
    { inputs: () => [rn(8), away(8)], f: (dy, x) => T.clampBackward(dy!, x!, { min: 0 }) },
  ],
  cast: [{ inputs: () => [rn(4)], f: (x) => T.cast(T.cast(x!, 'float32'), 'float64'), h: 1e-2, tol: 1e-5 }],
  softmax: [
    { inputs: () => [rn(2, 3, 4)], f: (x) => T.softmax(x!, 1) },
    // Attention is composed of matmul and softmax: q, k, v and an additive mask all get gradients.
    {
      inputs: () => [rn(2, 3, 4), rn(2, 5, 4), rn(1, 5, 3), rn(3, 5)],
      f: (q, k, v, m) => T.scaledDotProductAttention(q!, k!, v!, { mask: m }),
    },
    {
      inputs: () => [rn(2, 2, 3, 4), rn(2, 2, 3, 4), rn(2, 2, 3, 2)],
      f: (q, k, v) => T.scaledDotProductAttention(q!, k!, v!, { scale: 0.7, mask: T.tensor([1, 0, 1, 1, 1, 0], [2, 1, 3], 'bool') }),
    },
  ],
  logSoftmax: [{ inputs: () => [rn(3, 5)], f: (x) => T.logSoftmax(x!, -1) }],
  // Standalone, so y is a free input (any values, not only a softmax's); along an inner and the last dim.
  softmaxBackward: [
    { inputs: () => [rn(2, 3, 4), rn(2, 3, 4)], f: (dy, y) => runOp('softmaxBackward', [dy!, y!], { dim: 1 }) },
    { inputs: () => [rn(3, 5), T.softmax(rn(3, 5), -1)], f: (dy, y) => runOp('softmaxBackward', [dy!, y!], { dim: 1 }) },
  ],
  sum: [{ inputs: () => [rn(2, 3, 4)], f: (x) => T.sum(x!, { dim: [0, 2], keepdim: true }) }],
  mean: [{ inputs: () => [rn(2, 3, 4)], f: (x) => T.mean(x!, { dim: 1 }) }],
  max: [{ inputs: () => [distinct(3, 4)], f: (x) => T.max(x!, { dim: 1 }) }],
  min: [{ inputs: () => [distinct(3, 4)], f: (x) => T.min(x!) }],
  argmax: 'not differentiable',
  argmin: 'not differentiable',
  var: [{ inputs: () => [rn(3, 5)], f: (x) => T.variance(x!, { dim: 1, keepdim: true }) }],
  reshape: [{ inputs: () => [rn(2, 6)], f: (x) => T.reshape(x!, [3, -1]) }],
  permute: [{ inputs: () => [rn(2, 3, 4)], f: (x) => T.permute(x!, [2, 0, 1]) }],
  expand: [{ inputs: () => [rn(3, 1)], f: (x) => T.expand(x!, [2, 3, 4]) }],
  slice: [{ inputs: () => [rn(4, 7)], f: (x) => T.slice(x!, 1, 1, 6, 2) }],
  unslice: [{ inputs: () => [rn(2, 3)], f: (x) => runOp('unslice', [x!], { begin: [1, 0], end: [4, 6], step: [2, 2], shape: [5, 6] }) }],
  pad: [{ inputs: () => [rn(2, 3, 4)], f: (x) => T.pad(x!, [1, 2, 0, 1], 3) }],
  cat: [{ inputs: () => [rn(2, 3), rn(2, 2)], f: (a, b) => T.cat([a!, b!], 1) }],
  indexSelect: [{ inputs: () => [rn(4, 3), idx([3, 0, 3])], f: (x, i) => T.indexSelect(x!, 0, i!) }],
  indexAdd: [{ inputs: () => [rn(3, 2), idx([1, 1, 0])], f: (x, i) => runOp('indexAdd', [x!, i!], { dim: 0, size: 4 }) }],
  matmul: [
    { inputs: () => [rn(2, 3, 4), rn(4, 5)], f: T.matmul },
    { inputs: () => [rn(4, 3), rn(2, 5, 4)], f: (a, b) => runOp('matmul', [a!, b!], { transA: true, transB: true }) },
  ],
  linear: [
    { inputs: () => [rn(2, 3, 4), rn(5, 4), rn(5)], f: T.linear },
    { inputs: () => [rn(3, 4), rn(2, 4)], f: (x, w) => T.linear(x!, w!) },
  ],
  conv2d: [
    { inputs: () => [rn(2, 4, 5, 6), rn(6, 2, 3, 2), rn(6)], f: (x, w, b) => T.conv2d(x!, w!, b, conv) },
    { inputs: () => [rn(1, 3, 4, 4), rn(3, 1, 2, 2)], f: (x, w) => T.conv2d(x!, w!, null, { groups: 3, padding: 1 }) },
  ],
  conv2dBackwardInput: [
    {
      inputs: () => [rn(2, 6, 3, 8), rn(6, 2, 3, 2)],
      f: (dy, w) => runOp('conv2dBackwardInput', [dy!, w!], { ...conv, inputShape: [2, 4, 5, 6] }),
    },
  ],
  conv2dBackwardWeight: [
    {
      inputs: () => [rn(2, 4, 5, 6), rn(2, 6, 3, 8)],
      f: (x, dy) => runOp('conv2dBackwardWeight', [x!, dy!], { ...conv, weightShape: [6, 2, 3, 2] }),
    },
  ],
  maxPool2d: [
    { inputs: () => [distinct(2, 2, 5, 6)], f: (x) => T.maxPool2d(x!, { kernelSize: [3, 2], stride: [2, 1], padding: 1, ceilMode: true }) },
  ],
  avgPool2d: [
    {
      inputs: () => [rn(1, 2, 5, 6)],
      f: (x) => T.avgPool2d(x!, { kernelSize: [3, 2], stride: [2, 1], padding: 1, ceilMode: true, countIncludePad: false }),
    },
  ],
  avgPool2dBackward: [
    {
      inputs: () => [rn(1, 2, 3, 6)],
      f: (dy) => runOp('avgPool2dBackward', [dy!], { ...pool, countIncludePad: true, divisorOverride: null, inputShape: [1, 2, 5, 6] }),
    },
  ],
  adaptiveAvgPool2d: [{ inputs: () => [rn(1, 2, 5, 7)], f: (x) => T.adaptiveAvgPool2d(x!, [3, 4]) }],
  adaptiveAvgPool2dBackward: [
    { inputs: () => [rn(1, 2, 3, 4)], f: (dy) => runOp('adaptiveAvgPool2dBackward', [dy!], { inputShape: [1, 2, 5, 7] }) },
  ],
  adaptiveMaxPool2d: [{ inputs: () => [distinct(1, 2, 5, 7)], f: (x) => T.adaptiveMaxPool2d(x!, [2, 3]) }],
  gatherPlanes: [
    { inputs: () => [rn(1, 2, 3, 3), idx([0, 4, 8, 2, 1, 1], [1, 2, 1, 3])], f: (x, i) => runOp('gatherPlanes', [x!, i!], {}) },
  ],
  scatterPlanes: [
    {
      inputs: () => [rn(1, 2, 1, 3), idx([0, 4, 4, 2, 1, 8], [1, 2, 1, 3])],
      f: (x, i) => runOp('scatterPlanes', [x!, i!], { planeShape: [3, 3] }),
    },
  ],
  batchNorm: [
    // Training: the batch statistics depend on x; running statistics (closure constants) do not change the output.
    { inputs: () => [rn(3, 2, 2, 3), rn(2), rn(2)], f: (x, w, b) => T.batchNorm(x!, null, null, w, b, { training: true }) },
    {
      inputs: () => [rn(5, 3)],
      f: (x) => T.batchNorm(x!, T.zeros([3], 'float64'), T.ones([3], 'float64'), null, null, { training: true, momentum: 0.3, eps: 1e-3 }),
    },
    { inputs: () => [rn(2, 3, 4), rn(3)], f: (x, w) => T.batchNorm(x!, null, null, w, null, { training: true }) },
    { inputs: () => [rn(4, 2), rn(2)], f: (x, b) => T.batchNorm(x!, null, null, null, b, { training: true }) },
    // Eval: gradients for x, the running statistics, weight and bias.
    { inputs: () => [rn(2, 3, 2, 2), rn(3), positive(3), rn(3), rn(3)], f: (x, m, v, w, b) => T.batchNorm(x!, m!, v!, w, b) },
    { inputs: () => [rn(4, 3), rn(3), positive(3)], f: (x, m, v) => T.batchNorm(x!, m!, v!, null, null, { eps: 1e-3 }) },
    { inputs: () => [rn(3, 2, 5), rn(2), positive(2), rn(2)], f: (x, m, v, w) => T.batchNorm(x!, m!, v!, w, null) },
  ],
  batchNormBackward: [
    // Standalone, so mean and var are free inputs (not the batch's statistics).
    {
      inputs: () => [rn(3, 2, 2, 3), rn(3, 2, 2, 3), rn(2), positive(2), rn(2)],
      f: (dy, x, m, v, w) => runOp('batchNormBackward', [dy!, x!, m!, v!, w!], { eps: 1e-5 }),
    },
    {
      inputs: () => [rn(5, 3), rn(5, 3), rn(3), positive(3)],
      f: (dy, x, m, v) => runOp('batchNormBackward', [dy!, x!, m!, v!], { eps: 1e-3 }),
    },
  ],
  layerNorm: [
    { inputs: () => [rn(2, 3, 4), rn(4), rn(4)], f: (x, w, b) => T.layerNorm(x!, [4], w, b) },
    { inputs: () => [rn(2, 3, 4), rn(3, 4)], f: (x, w) => T.layerNorm(x!, [3, 4], w, null, { eps: 1e-3 }) },
    { inputs: () => [rn(5, 3), rn(3)], f: (x, b) => T.layerNorm(x!, 3, null, b) },
    { inputs: () => [rn(6)], f: (x) => T.layerNorm(x!, 6) },
  ],
  // Standalone: dy, x and the weight are free inputs; with and without weight, over one and two dims.
  layerNormBackward: [
    { inputs: () => [rn(2, 3, 4), rn(2, 3, 4), rn(4)], f: (dy, x, w) => runOp('layerNormBackward', [dy!, x!, w!], { dims: 1, eps: 1e-5 }) },
    { inputs: () => [rn(2, 3, 4), rn(2, 3, 4)], f: (dy, x) => runOp('layerNormBackward', [dy!, x!], { dims: 2, eps: 1e-3 }) },
  ],
  upsampleNearest2d: [{ inputs: () => [rn(1, 2, 4, 3)], f: (x) => T.interpolate(x!, { size: [7, 5] }) }],
  upsampleNearest2dBackward: [
    { inputs: () => [rn(1, 2, 7, 5)], f: (dy) => runOp('upsampleNearest2dBackward', [dy!], { ...resize, inputShape: [1, 2, 4, 3] }) },
  ],
  upsampleBilinear2d: [
    { inputs: () => [rn(1, 2, 4, 3)], f: (x) => T.interpolate(x!, { size: [7, 5], mode: 'bilinear' }) },
    { inputs: () => [rn(1, 1, 4, 5)], f: (x) => T.interpolate(x!, { scaleFactor: 0.6, mode: 'bilinear', alignCorners: true }) },
  ],
  upsampleBilinear2dBackward: [
    { inputs: () => [rn(1, 2, 7, 5)], f: (dy) => runOp('upsampleBilinear2dBackward', [dy!], { ...resize, inputShape: [1, 2, 4, 3] }) },
  ],
  roiAlign: [
    // inside, across the last row and column (clamped taps), partly off the map, and on the second batch item
    { inputs: () => [rn(2, 2, 5, 6)], f: (x) => T.roiAlign(x!, roiBoxes, [0, 0, 1, 1], { ...roi, aligned: false }) },
    // half-pixel offsets, an adaptive grid, and a roi of negative extent sampled backwards on a fixed grid
    { inputs: () => [rn(1, 2, 5, 6)], f: (x) => T.roiAlign(x!, roiBoxes.slice(0, 8), [0, 0], { ...roi, samplingRatio: 0, aligned: true }) },
    { inputs: () => [rn(1, 1, 5, 6)], f: (x) => T.roiAlign(x!, [9, 8, 3.2, 1.1], [0], { ...roi, aligned: true }) },
  ],
  roiAlignBackward: [
    { inputs: () => [rn(4, 2, 3, 2)], f: (dy) => runOp('roiAlignBackward', [dy!], { ...roiAttrs, inputShape: [2, 2, 5, 6] }) },
  ],
};

/** Central differences of sum(f(xs) · r) with respect to every element of input `which`. */
export function numericGrad(f: Fn, xs: Tensor[], which: number, r: Tensor, h = 1e-6): Float64Array {
  const x = xs[which]!;
  const v = x.values();
  const out = new Float64Array(v.length);
  const objective = () => T.tidy(() => sum(mul(f(...xs), r)).item());
  const put = (i: number, value: number) => T.assign(x, (w) => (w[i] = value));
  for (let i = 0; i < v.length; i++) {
    const keep = v[i]!;
    put(i, keep + h);
    const up = objective();
    put(i, keep - h);
    const down = objective();
    put(i, keep);
    out[i] = (up - down) / (2 * h);
  }
  return out;
}
