/**
 * Float64 finite differences through every importer op, as it composes gradlens ops (HardSwish as
 * x·relu6(x+3)/6, InstanceNormalization from mean and variance, Gemm's transposes and scales, AveragePool
 * with explicit padding, Resize as gathers along each axis times constant weights, …): the tensor package checks each primitive rule
 * (packages/tensor/test/gradcheck.test.ts); this checks that the compositions differentiate as the ONNX
 * op does. Every supported op has an entry, or says why it has no gradient.
 */
import * as T from '@gradlens/tensor';
import { Generator, grad, mul, rand, randn, sum, Tensor, tensor } from '@gradlens/tensor';
import { Const, contribOps, OnnxOptional, OnnxSequence, onnxOps, onnxValueOps, supportedContribOps, supportedOps } from '@gradlens/onnx';
import type { GraphValue, Value } from '@gradlens/onnx';
import type { AttrValue } from './op-harness';
import { attrsOf } from './op-harness';

interface Case {
  /** Differentiated float64 inputs. */
  xs: () => Tensor[];
  /** The op's inputs from the differentiated tensors (constants and omitted inputs in between). */
  values: (xs: Tensor[]) => (GraphValue | null)[];
  attrs?: Record<string, AttrValue>;
  opset?: number;
  outputs?: number;
  label?: string;
}

const g = new Generator(99);
const rn = (...shape: number[]) => randn(shape, { dtype: 'float64', generator: g });
const positive = (...shape: number[]) => T.add(rand(shape, { dtype: 'float64', generator: g }), 0.5);
/** Values at least 0.2 from zero, for kinks at 0. */
const away = (...shape: number[]) =>
  T.assign(rand(shape, { dtype: 'float64', generator: g }), (v) => {
    for (let k = 0; k < v.length; k++) v[k] = (k % 2 ? -1 : 1) * (0.2 + v[k]!);
  });
/** Distinct values (no ties), for max-like ops. */
const distinct = (...shape: number[]) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const perm = [...Array(n).keys()].sort(() => g.uniform() - 0.5);
  return tensor(
    perm.map((p) => p * 0.37 - n * 0.1),
    shape,
    'float64',
  );
};
/** Inside and outside [-0.1, 0.15], away from both bounds. */
const clipInput = () => tensor([-0.3, -0.05, 0, 0.1, 0.4, -0.02, 0.05, 0.3], [2, 4], 'float64');
const ints = (...v: number[]) => new Const(v, [v.length], 'int');
const scalar = (v: number) => new Const([v], [], 'float64');
const i = (v: number): AttrValue => ({ i: v });
const f = (v: number): AttrValue => ({ f: v });
const is = (...v: number[]): AttrValue => ({ ints: v });
const s = (v: string): AttrValue => ({ s: v });

const one = (x: () => Tensor): Pick<Case, 'xs' | 'values'> => ({ xs: () => [x()], values: ([a]) => [a!] });
const two = (x: () => Tensor, y: () => Tensor): Pick<Case, 'xs' | 'values'> => ({ xs: () => [x(), y()], values: ([a, b]) => [a!, b!] });

const NOT_DIFFERENTIABLE = 'not differentiable';
const STRAIGHT_THROUGH = 'rounding passes the gradient straight through inside the range (test/quantize.test.ts)';
const RANDOM = 'a random draw, a new tensor off the tape: no gradient (test/random.test.ts)';
const WINDOW = 'a load-time constant from integer inputs: nothing to differentiate';
const CONSTANTS_ONLY = 'folded on load-time constants only (test/constant-folding.test.ts)';
const cases: Record<string, Case[] | string> = {
  Add: [
    two(
      () => rn(2, 3),
      () => rn(3),
    ),
  ],
  Sub: [
    two(
      () => rn(2, 1),
      () => rn(1, 3),
    ),
  ],
  Mul: [
    two(
      () => rn(2, 3),
      () => rn(2, 1),
    ),
  ],
  Div: [
    two(
      () => rn(2, 3),
      () => positive(3),
    ),
  ],
  Pow: [
    two(
      () => positive(2, 3),
      () => rn(2, 3),
    ),
    { label: 'x^2 as x·x', ...one(() => rn(2, 3)), values: ([a]) => [a!, scalar(2)] },
  ],
  Max: [
    two(
      () => distinct(2, 3),
      () => T.add(distinct(3), 0.05),
    ),
  ],
  Min: [
    two(
      () => distinct(2, 3),
      () => T.add(distinct(2, 1), 0.05),
    ),
  ],
  Sum: [{ xs: () => [rn(2, 3), rn(3), rn(2, 1)], values: (x) => x }],
  Where: [{ xs: () => [rn(2, 3), rn(3)], values: ([a, b]) => [new Const([1, 0, 1, 0, 0, 1], [2, 3], 'bool'), a!, b!] }],
  Neg: [one(() => rn(4))],
  Abs: [one(() => away(4))],
  Sqrt: [one(() => positive(4))],
  Exp: [one(() => rn(4))],
  Log: [one(() => positive(4))],
  Erf: [one(() => rn(4))],
  Relu: [one(() => away(2, 3))],
  Sigmoid: [one(() => rn(2, 3))],
  Tanh: [one(() => rn(2, 3))],
  Reciprocal: [one(() => positive(5))],
  LeakyRelu: [{ ...one(() => away(2, 3)), attrs: { alpha: f(0.1) } }],
  HardSigmoid: [{ ...one(() => T.mul(away(2, 4), 2)), attrs: { alpha: f(0.2), beta: f(0.5) } }],
  HardSwish: [
    {
      ...one(() =>
        T.assign(rand([2, 4], { dtype: 'float64', generator: g }), (v) => {
          for (let k = 0; k < v.length; k++) v[k] = (k % 2 ? -1 : 1) * (0.3 + 4 * v[k]!);
        }),
      ),
      opset: 14,
    },
  ],
  Gelu: [
    { ...one(() => rn(2, 3)), opset: 20 },
    { ...one(() => rn(2, 3)), opset: 20, attrs: { approximate: s('tanh') }, label: 'tanh' },
  ],
  Clip: [
    { label: 'min/max inputs', ...one(clipInput), values: ([a]) => [a!, scalar(-0.1), scalar(0.15)], opset: 13 },
    { label: 'min/max attributes', ...one(clipInput), attrs: { min: f(-0.1), max: f(0.15) }, opset: 9 },
  ],
  Elu: [{ ...one(() => T.mul(away(2, 4), 3)), attrs: { alpha: f(0.7) } }],
  Celu: [{ ...one(() => T.mul(away(2, 4), 3)), attrs: { alpha: f(1.5) } }],
  Selu: [{ ...one(() => T.mul(away(2, 4), 3)) }],
  ThresholdedRelu: [{ ...one(() => tensor([-1, 0.2, 0.9, 1.6, 2.5, -0.3], [2, 3], 'float64')), attrs: { alpha: f(1.2) } }],
  PRelu: [
    two(
      () => away(2, 3, 2, 2),
      () => rn(3, 1, 1),
    ),
  ],
  // Both sides of the threshold at 20 where softplus becomes x.
  Softplus: [one(() => tensor([-30, -3, -0.5, 0, 0.7, 4, 19.5, 25], [2, 4], 'float64'))],
  Softsign: [one(() => away(2, 3))],
  Mish: [{ ...one(() => tensor([-30, -3, -0.5, 0, 0.7, 4, 19.5, 25], [2, 4], 'float64')), opset: 18 }],
  Shrink: [{ ...one(() => tensor([-1.4, -0.8, -0.2, 0.1, 0.3, 0.9, 1.7, 0], [2, 4], 'float64')), attrs: { lambd: f(0.5), bias: f(0.25) } }],
  Mean: [{ xs: () => [rn(2, 3), rn(3), rn(2, 1)], values: (x) => x }],
  // a / b kept away from integers, where the remainder jumps.
  Mod: [
    {
      xs: () => [tensor([5.3, -4.3, 7.9, -2.6], [4], 'float64'), tensor([2.1, 2.1, -3.2, -1.1], [4], 'float64')],
      values: (x) => x,
      attrs: { fmod: i(1) },
      opset: 13,
    },
  ],
  Sign: NOT_DIFFERENTIABLE,
  Floor: NOT_DIFFERENTIABLE,
  Ceil: NOT_DIFFERENTIABLE,
  Round: NOT_DIFFERENTIABLE,
  IsNaN: NOT_DIFFERENTIABLE,
  IsInf: NOT_DIFFERENTIABLE,
  GreaterOrEqual: NOT_DIFFERENTIABLE,
  LessOrEqual: NOT_DIFFERENTIABLE,
  And: NOT_DIFFERENTIABLE,
  Or: NOT_DIFFERENTIABLE,
  Xor: NOT_DIFFERENTIABLE,
  Einsum: [
    { label: 'batched matmul', xs: () => [rn(2, 3, 4), rn(2, 4, 2)], values: (x) => x, attrs: { equation: s('bij,bjk->bik') }, opset: 12 },
    {
      label: 'three operands, a summed label',
      xs: () => [rn(2, 3), rn(3, 4), rn(4, 2)],
      values: (x) => x,
      attrs: { equation: s('ij,jk,kl->l') },
      opset: 12,
    },
    {
      label: 'broadcast ellipsis, implicit output',
      xs: () => [rn(2, 1, 3, 4), rn(5, 4, 2)],
      values: (x) => x,
      attrs: { equation: s('...ij,...jk') },
      opset: 12,
    },
  ],
  If: 'control flow: the model runs the branch its condition picks (test/control-flow.test.ts)',
  Loop: 'control flow: the model unrolls the body on the tape (test/control-flow.test.ts)',
  Scan: 'control flow: the model unrolls the body on the tape (test/control-flow.test.ts)',
  RandomNormal: RANDOM,
  RandomUniform: RANDOM,
  RandomNormalLike: RANDOM,
  RandomUniformLike: RANDOM,
  Bernoulli: RANDOM,
  Multinomial: RANDOM,
  HannWindow: WINDOW,
  HammingWindow: WINDOW,
  BlackmanWindow: WINDOW,
  MelWeightMatrix: WINDOW,
  SequenceMap: 'control flow: the model unrolls the body on the tape (test/sequences.test.ts)',
  // The features get the gradient; the rois and batch indices are read as numbers (no gradient, as torchvision's).
  RoiAlign: [
    {
      label: 'avg, half_pixel, adaptive grid, two batch items',
      xs: () => [rn(2, 2, 5, 6)],
      values: ([x]) => [x!, new Const([0.3, 0.6, 4.2, 3.9, 1.1, 0.2, 5.4, 4.4, -1, -1, 2, 2], [3, 4], 'float64'), ints(1, 0, 1)],
      attrs: { output_height: i(2), output_width: i(3), spatial_scale: f(1) },
      opset: 16,
    },
    {
      label: 'max, output_half_pixel, sampling_ratio 2',
      xs: () => [rn(1, 2, 6, 5)],
      values: ([x]) => [x!, new Const([1.2, 0.4, 7.7, 9.1, 0, 0, 3.3, 2.1], [2, 4], 'float64'), ints(0, 0)],
      attrs: { mode: s('max'), output_height: i(2), output_width: i(2), sampling_ratio: i(2), spatial_scale: f(0.5) },
      opset: 16,
    },
    {
      label: 'RoiAlign-10',
      xs: () => [rn(1, 1, 4, 4)],
      values: ([x]) => [x!, new Const([0.5, 0.5, 2.5, 3.0], [1, 4], 'float64'), ints(0)],
      attrs: { output_height: i(2), output_width: i(2), sampling_ratio: i(1) },
      opset: 10,
    },
  ],
  GridSample: [
    {
      label: 'bilinear, zeros',
      xs: () => [rn(1, 2, 3, 4), T.mul(rn(1, 3, 2, 2), 0.7)],
      values: (x) => x,
      opset: 16,
    },
    {
      label: 'bilinear, border, align_corners',
      xs: () => [rn(2, 1, 4, 3), T.mul(rn(2, 2, 3, 2), 0.8)],
      values: (x) => x,
      attrs: { padding_mode: s('border'), align_corners: i(1) },
      opset: 16,
    },
    {
      label: 'bicubic, reflection',
      xs: () => [rn(1, 1, 4, 5), T.mul(rn(1, 2, 3, 2), 1.2)],
      values: (x) => x,
      attrs: { mode: s('bicubic'), padding_mode: s('reflection') },
      opset: 16,
    },
    {
      label: 'bilinear, reflection',
      xs: () => [rn(1, 1, 3, 5), T.mul(rn(1, 2, 4, 2), 1.5)],
      values: (x) => x,
      attrs: { padding_mode: s('reflection') },
      opset: 16,
    },
  ],
  DequantizeLinear: [
    {
      label: 'per axis',
      ...one(() => T.mul(rn(2, 3, 2), 4)),
      values: ([a]) => [a!, new Const([0.5, 0.25, 2], [3], 'float64'), new Const([1, -2, 0], [3], 'int', 3)],
      attrs: { axis: i(1) },
      opset: 13,
    },
  ],
  QuantizeLinear: STRAIGHT_THROUGH,
  DynamicQuantizeLinear: STRAIGHT_THROUGH,
  ConvInteger: NOT_DIFFERENTIABLE,
  MatMulInteger: NOT_DIFFERENTIABLE,
  BitShift: NOT_DIFFERENTIABLE,
  QLinearConv: STRAIGHT_THROUGH,
  QLinearMatMul: STRAIGHT_THROUGH,
  NegativeLogLikelihoodLoss: [
    {
      label: 'weighted mean, an ignored position',
      xs: () => [rn(3, 4, 2), positive(4)],
      values: ([x, w]) => [x!, new Const([1, 3, 0, 2, 1, 1], [3, 2], 'int'), w!],
      attrs: { ignore_index: i(2) },
      opset: 13,
    },
    {
      label: 'none',
      ...one(() => rn(2, 3)),
      values: ([x]) => [x!, new Const([2, 0], [2], 'int')],
      attrs: { reduction: s('none') },
      opset: 13,
    },
  ],
  SoftmaxCrossEntropyLoss: [
    {
      label: 'sum, with log_prob',
      ...one(() => rn(2, 3, 2)),
      values: ([x]) => [x!, new Const([1, 2, 0, 1], [2, 2], 'int')],
      attrs: { reduction: s('sum') },
      opset: 13,
      outputs: 2,
    },
  ],
  RNN: [
    {
      label: 'reverse, sequence_lens',
      xs: () => [T.mul(rn(3, 2, 2), 0.5), T.mul(rn(1, 3, 2), 0.5), T.mul(rn(1, 3, 3), 0.5), T.mul(rn(1, 6), 0.5)],
      values: ([x, w, r, b]) => [x!, w!, r!, b!, new Const([3, 2], [2], 'int')],
      attrs: { hidden_size: i(3), direction: s('reverse') },
      outputs: 2,
    },
  ],
  GRU: [
    {
      label: 'bidirectional, linear_before_reset, initial_h',
      xs: () => [T.mul(rn(3, 2, 2), 0.5), T.mul(rn(2, 6, 2), 0.5), T.mul(rn(2, 6, 2), 0.5), T.mul(rn(2, 12), 0.5), T.mul(rn(2, 2, 2), 0.5)],
      values: ([x, w, r, b, h]) => [x!, w!, r!, b!, null, h!],
      attrs: { hidden_size: i(2), direction: s('bidirectional'), linear_before_reset: i(1) },
      outputs: 2,
    },
  ],
  LSTM: [
    {
      label: 'bidirectional, peepholes, sequence_lens, batch first',
      xs: () => [T.mul(rn(2, 3, 2), 0.5), T.mul(rn(2, 8, 2), 0.5), T.mul(rn(2, 8, 2), 0.5), T.mul(rn(2, 16), 0.5), T.mul(rn(2, 6), 0.5)],
      values: ([x, w, r, b, p]) => [x!, w!, r!, b!, new Const([3, 2], [2], 'int'), null, null, p!],
      attrs: { hidden_size: i(2), direction: s('bidirectional'), layout: i(1) },
      opset: 14,
      outputs: 3,
    },
    {
      label: 'activations Elu, Softplus, ScaledTanh with their alpha and beta',
      xs: () => [rn(2, 1, 3), T.mul(rn(1, 8, 3), 0.8), T.mul(rn(1, 8, 2), 0.8)],
      values: ([x, w, r]) => [x!, w!, r!],
      attrs: {
        hidden_size: i(2),
        activations: { strings: ['Elu', 'Softplus', 'ScaledTanh'] },
        activation_alpha: { floats: [0.7, 0, 1.5] },
        activation_beta: { floats: [0, 0, 0.8] },
      },
      outputs: 3,
    },
    {
      label: 'input_forget, clip',
      xs: () => [rn(2, 1, 3), T.mul(rn(1, 8, 3), 0.8), T.mul(rn(1, 8, 2), 0.8)],
      values: ([x, w, r]) => [x!, w!, r!],
      attrs: { hidden_size: i(2), input_forget: i(1), clip: f(1.5) },
      outputs: 3,
    },
  ],
  TopK: [
    {
      label: 'largest along axis 1',
      ...one(() => distinct(2, 5, 3)),
      values: ([a]) => [a!, ints(2)],
      attrs: { axis: i(1) },
      opset: 11,
      outputs: 2,
    },
    { label: 'smallest', ...one(() => distinct(3, 4)), values: ([a]) => [a!, ints(3)], attrs: { largest: i(0) }, opset: 11, outputs: 2 },
  ],
  OneHot: NOT_DIFFERENTIABLE,
  Hardmax: NOT_DIFFERENTIABLE,
  NonZero: NOT_DIFFERENTIABLE,
  EyeLike: NOT_DIFFERENTIABLE,
  NonMaxSuppression: NOT_DIFFERENTIABLE,
  Sin: CONSTANTS_ONLY,
  Cos: CONSTANTS_ONLY,
  Tan: CONSTANTS_ONLY,
  Asin: CONSTANTS_ONLY,
  Acos: CONSTANTS_ONLY,
  Atan: CONSTANTS_ONLY,
  Sinh: CONSTANTS_ONLY,
  Cosh: CONSTANTS_ONLY,
  Asinh: CONSTANTS_ONLY,
  Acosh: CONSTANTS_ONLY,
  Atanh: CONSTANTS_ONLY,
  Equal: NOT_DIFFERENTIABLE,
  Less: NOT_DIFFERENTIABLE,
  Greater: NOT_DIFFERENTIABLE,
  Not: NOT_DIFFERENTIABLE,
  Shape: NOT_DIFFERENTIABLE,
  Size: NOT_DIFFERENTIABLE,
  Constant: NOT_DIFFERENTIABLE,
  ConstantOfShape: NOT_DIFFERENTIABLE,
  Range: NOT_DIFFERENTIABLE,

  Conv: [
    {
      label: 'groups, dilation, strides, asymmetric pads',
      xs: () => [rn(1, 4, 6, 7), rn(4, 2, 2, 3), rn(4)],
      values: (x) => x,
      attrs: { group: i(2), dilations: is(2, 1), strides: is(1, 2), pads: is(1, 0, 2, 1) },
    },
    {
      label: '1-D: stride, dilation, asymmetric pads',
      xs: () => [rn(2, 2, 9), rn(3, 2, 3), rn(3)],
      values: (x) => x,
      attrs: { dilations: is(2), strides: is(2), pads: is(2, 1) },
    },
    {
      label: '3-D with a depth kernel of 1 (depth folded into the batch)',
      xs: () => [rn(2, 2, 3, 4, 5), rn(3, 2, 1, 2, 3), rn(3)],
      values: (x) => x,
      attrs: { strides: is(1, 2, 1), pads: is(0, 1, 0, 0, 0, 1) },
    },
    {
      label: 'auto_pad SAME_UPPER',
      xs: () => [rn(1, 2, 5, 5), rn(3, 2, 2, 2)],
      values: (x) => x,
      attrs: { auto_pad: s('SAME_UPPER'), strides: is(2, 2) },
    },
  ],
  ConvTranspose: [
    {
      label: 'strides with output_padding',
      xs: () => [rn(1, 2, 3, 4), rn(2, 3, 3, 2), rn(3)],
      values: (x) => x,
      attrs: { strides: is(2, 3), output_padding: is(1, 2) },
    },
    {
      label: 'groups with dilation',
      xs: () => [rn(1, 4, 3, 3), rn(4, 1, 2, 3), rn(2)],
      values: (x) => x,
      attrs: { group: i(2), dilations: is(2, 1), strides: is(1, 2) },
    },
    {
      label: 'asymmetric pads',
      xs: () => [rn(1, 2, 4, 4), rn(2, 2, 3, 3), rn(2)],
      values: (x) => x,
      attrs: { strides: is(2, 2), pads: is(1, 0, 0, 2) },
    },
    {
      label: 'auto_pad SAME_UPPER with output_shape',
      xs: () => [rn(1, 2, 3, 3), rn(2, 2, 3, 3), rn(2)],
      values: (x) => x,
      attrs: { auto_pad: s('SAME_UPPER'), strides: is(2, 2), output_shape: is(6, 4) },
    },
    {
      label: 'auto_pad SAME_LOWER, output_shape past the full size',
      xs: () => [rn(1, 1, 3, 3), rn(1, 2, 2, 3), rn(2)],
      values: (x) => x,
      attrs: { auto_pad: s('SAME_LOWER'), strides: is(2, 2), output_shape: is(7, 8) },
    },
    {
      label: '1-D',
      xs: () => [rn(1, 2, 5), rn(2, 3, 3), rn(3)],
      values: (x) => x,
      attrs: { strides: is(2), pads: is(1, 0), output_padding: is(1) },
    },
  ],
  MatMul: [
    two(
      () => rn(2, 1, 3, 4),
      () => rn(3, 4, 2),
    ),
    two(
      () => rn(5),
      () => rn(5, 2),
    ),
  ],
  Gemm: [
    {
      label: 'transA, transB, alpha, beta, broadcast C',
      xs: () => [rn(4, 2), rn(3, 4), rn(1, 3)],
      values: (x) => x,
      attrs: { transA: i(1), transB: i(1), alpha: f(0.5), beta: f(2) },
    },
    { label: 'linear form', xs: () => [rn(2, 4), rn(3, 4), rn(3)], values: (x) => x, attrs: { transB: i(1) } },
  ],
  BatchNormalization: [
    {
      xs: () => [rn(2, 3, 2, 2), rn(3), rn(3)],
      values: ([x, w, b]) => [x!, w!, b!, new Const([0.1, -0.2, 0.3], [3], 'float64'), new Const([0.5, 1.5, 2], [3], 'float64')],
      attrs: { epsilon: f(1e-3) },
    },
  ],
  LayerNormalization: [
    { xs: () => [rn(2, 3, 4), rn(4), rn(4)], values: (x) => x, opset: 17 },
    { label: 'over the last two axes', xs: () => [rn(2, 3, 4), rn(3, 4), rn(3, 4)], values: (x) => x, attrs: { axis: i(-2) }, opset: 17 },
    { label: 'with Mean and InvStdDev', xs: () => [rn(2, 3, 4), rn(4), rn(4)], values: (x) => x, opset: 17, outputs: 3 },
  ],
  SimplifiedLayerNormalization: [
    { xs: () => [rn(2, 3, 4), rn(4)], values: (x) => x, attrs: { epsilon: f(1e-3) }, opset: 13 },
    {
      label: 'over the last two axes, with InvStdDev',
      xs: () => [rn(2, 3, 4), rn(3, 4)],
      values: (x) => x,
      attrs: { axis: i(1) },
      outputs: 2,
    },
  ],
  GroupNormalization: [
    {
      label: 'scale and bias per channel',
      xs: () => [rn(2, 6, 2, 3), rn(6), rn(6)],
      values: (x) => x,
      attrs: { num_groups: i(3) },
      opset: 21,
    },
    {
      label: 'scale and bias per group',
      xs: () => [rn(1, 4, 3), rn(2), rn(2)],
      values: (x) => x,
      attrs: { num_groups: i(2), epsilon: f(1e-3) },
      opset: 18,
    },
  ],
  LpNormalization: [
    { label: 'p = 2', ...one(() => rn(2, 3, 4)), attrs: { axis: i(1) } },
    { label: 'p = 1', ...one(() => away(2, 5)), attrs: { p: i(1) } },
  ],
  MeanVarianceNormalization: [{ ...one(() => rn(2, 3, 2, 2)), opset: 13 }],
  LRN: [{ ...one(() => rn(1, 5, 2, 3)), attrs: { size: i(3), alpha: f(0.5), beta: f(0.75), bias: f(2) } }],
  InstanceNormalization: [{ xs: () => [rn(2, 3, 3, 2), rn(3), rn(3)], values: (x) => x, attrs: { epsilon: f(1e-5) } }],
  GlobalAveragePool: [one(() => rn(2, 3, 3, 2))],
  GlobalMaxPool: [one(() => distinct(2, 3, 3, 2))],
  MaxPool: [
    {
      label: 'ceil_mode, pads',
      ...one(() => distinct(1, 2, 5, 6)),
      attrs: { kernel_shape: is(3, 2), strides: is(2, 2), pads: is(1, 0, 1, 0), ceil_mode: i(1) },
    },
    {
      label: '1-D, SAME_LOWER',
      ...one(() => distinct(1, 2, 7)),
      attrs: { kernel_shape: is(3), strides: is(2), auto_pad: s('SAME_LOWER') },
    },
    {
      label: '3-D over the first and last axes',
      ...one(() => distinct(1, 2, 4, 3, 5)),
      attrs: { kernel_shape: is(2, 1, 3), strides: is(2, 1, 1) },
    },
    { label: 'with Indices', ...one(() => distinct(1, 2, 4, 5)), attrs: { kernel_shape: is(2, 2), pads: is(1, 0, 0, 1) }, outputs: 2 },
  ],
  AveragePool: [
    {
      label: 'count_include_pad',
      ...one(() => rn(1, 2, 5, 5)),
      attrs: { kernel_shape: is(3, 3), strides: is(2, 2), pads: is(1, 1, 1, 1), count_include_pad: i(1) },
    },
    {
      label: 'asymmetric pads',
      ...one(() => rn(1, 2, 5, 5)),
      attrs: { kernel_shape: is(2, 2), pads: is(0, 0, 1, 1), count_include_pad: i(1) },
    },
    { label: 'ceil_mode', ...one(() => rn(1, 1, 5, 6)), attrs: { kernel_shape: is(2, 2), strides: is(2, 2), ceil_mode: i(1) } },
    { label: '1-D', ...one(() => rn(2, 3, 8)), attrs: { kernel_shape: is(3), strides: is(2), pads: is(1, 1), count_include_pad: i(1) } },
    {
      label: '3-D over one axis (as LRN exports)',
      ...one(() => rn(1, 1, 5, 2, 3)),
      attrs: { kernel_shape: is(3, 1, 1), pads: is(1, 0, 0, 1, 0, 0) },
    },
    {
      label: 'asymmetric pads, count_include_pad 0',
      ...one(() => rn(1, 2, 5, 5)),
      attrs: { kernel_shape: is(3, 3), pads: is(0, 1, 2, 1), strides: is(2, 1) },
    },
  ],
  Softmax: [
    { ...one(() => rn(2, 3, 4)), attrs: { axis: i(1) }, opset: 13 },
    { label: 'opset 11: flattened', ...one(() => rn(2, 3, 4)), attrs: { axis: i(1) }, opset: 11 },
  ],
  LogSoftmax: [{ ...one(() => rn(2, 3, 4)), attrs: { axis: i(0) }, opset: 13 }],
  ReduceMean: [{ ...one(() => rn(2, 3, 4)), attrs: { axes: is(1, 2), keepdims: i(1) }, opset: 13 }],
  ReduceSum: [{ ...one(() => rn(2, 3, 4)), values: ([a]) => [a!, ints(-1)], attrs: { keepdims: i(0) }, opset: 13 }],
  ReduceMax: [{ ...one(() => distinct(2, 3, 4)), values: ([a]) => [a!, ints(1)], opset: 18 }],
  ReduceMin: [{ ...one(() => distinct(2, 3, 4)), values: ([a]) => [a!, ints(0, 2)], attrs: { keepdims: i(0) }, opset: 18 }],
  ReduceL1: [{ ...one(() => away(2, 3, 4)), attrs: { axes: is(1) }, opset: 13 }],
  ReduceL2: [{ ...one(() => rn(2, 3, 4)), values: ([a]) => [a!, ints(-1)], opset: 18 }],
  ReduceSumSquare: [{ ...one(() => rn(2, 3, 4)), attrs: { axes: is(0, 2), keepdims: i(0) }, opset: 13 }],
  ReduceLogSum: [{ ...one(() => positive(2, 3, 4)), attrs: { axes: is(1) }, opset: 13 }],
  ReduceLogSumExp: [
    { ...one(() => T.mul(rn(2, 3, 4), 5)), attrs: { axes: is(2), keepdims: i(0) }, opset: 13 },
    { label: 'all axes', ...one(() => rn(2, 3)), opset: 18 },
  ],
  ReduceProd: [
    { label: 'odd and even lengths', ...one(() => T.add(rn(3, 4, 5), 0.3)), attrs: { axes: is(0, 2), keepdims: i(1) }, opset: 13 },
    { label: 'all axes', ...one(() => rn(2, 3)), opset: 18 },
  ],
  ArgMax: NOT_DIFFERENTIABLE,
  ArgMin: NOT_DIFFERENTIABLE,
  Resize: [
    {
      label: 'linear, half_pixel',
      ...one(() => rn(1, 2, 3, 4)),
      values: ([a]) => [a!, null, new Const([1, 1, 2, 1.5], [4], 'float32')],
      attrs: { mode: s('linear') },
      opset: 13,
    },
    {
      label: 'nearest, sizes',
      ...one(() => rn(1, 2, 3, 4)),
      values: ([a]) => [a!, null, null, ints(1, 2, 6, 8)],
      attrs: { mode: s('nearest'), coordinate_transformation_mode: s('asymmetric'), nearest_mode: s('floor') },
      opset: 13,
    },
    {
      label: 'cubic, exclude_outside',
      ...one(() => rn(1, 1, 4, 5)),
      values: ([a]) => [a!, null, new Const([1, 1, 1.5, 0.6], [4], 'float32')],
      attrs: { mode: s('cubic'), cubic_coeff_a: f(-0.5), exclude_outside: i(1) },
      opset: 13,
    },
    {
      label: 'nearest, half_pixel, round_prefer_ceil',
      ...one(() => rn(1, 2, 3, 4)),
      values: ([a]) => [a!, null, null, ints(1, 2, 5, 3)],
      attrs: { mode: s('nearest'), coordinate_transformation_mode: s('half_pixel'), nearest_mode: s('round_prefer_ceil') },
      opset: 13,
    },
    {
      label: 'linear, align_corners, to a 1-pixel axis',
      ...one(() => rn(1, 1, 2, 4)),
      values: ([a]) => [a!, null, new Const([1, 1, 0.6, 0.6], [4], 'float32')],
      attrs: { mode: s('linear'), coordinate_transformation_mode: s('align_corners') },
      opset: 13,
    },
    {
      label: 'tf_crop_and_resize, roi and extrapolation',
      ...one(() => rn(1, 1, 4, 4)),
      values: ([a]) => [a!, new Const([0, 0, -0.2, 0.4, 1, 1, 0.6, 1.3], [8], 'float32'), null, ints(1, 1, 3, 5)],
      attrs: { mode: s('linear'), coordinate_transformation_mode: s('tf_crop_and_resize'), extrapolation_value: f(2) },
      opset: 13,
    },
    {
      label: 'linear, antialias, downsampling',
      ...one(() => rn(1, 1, 6, 7)),
      values: ([a]) => [a!, null, new Const([1, 1, 0.5, 0.3], [4], 'float32')],
      attrs: { mode: s('linear'), antialias: i(1) },
      opset: 18,
    },
    {
      label: 'cubic, axes on a 3-D input',
      ...one(() => rn(3, 2, 4)),
      values: ([a]) => [a!, null, null, ints(2, 5)],
      attrs: { mode: s('cubic'), axes: is(2, 0) },
      opset: 18,
    },
  ],
  Upsample: [
    {
      ...one(() => rn(1, 2, 3, 3)),
      values: ([a]) => [a!, new Const([1, 1, 2, 2], [4], 'float32')],
      attrs: { mode: s('nearest') },
      opset: 9,
    },
  ],

  Identity: [one(() => rn(2, 3))],
  Dropout: [{ ...one(() => rn(2, 3)), opset: 13 }],
  Cast: [{ ...one(() => rn(2, 3)), attrs: { to: i(11) } }],
  CastLike: [{ ...one(() => rn(2, 3)), values: ([a]) => [a!, new Const([0], [1], 'float64')], opset: 15 }],
  Reshape: [{ ...one(() => rn(2, 3, 4)), values: ([a]) => [a!, ints(0, -1, 2)] }],
  Flatten: [{ ...one(() => rn(2, 3, 4)), attrs: { axis: i(2) } }],
  Transpose: [{ ...one(() => rn(2, 3, 4)), attrs: { perm: is(2, 0, 1) } }],
  Squeeze: [{ ...one(() => rn(2, 1, 3)), values: ([a]) => [a!, ints(1)], opset: 13 }],
  Unsqueeze: [{ ...one(() => rn(2, 3)), values: ([a]) => [a!, ints(0, -1)], opset: 13 }],
  Concat: [{ xs: () => [rn(2, 3), rn(2, 1)], values: (x) => x, attrs: { axis: i(-1) } }],
  Split: [{ ...one(() => rn(2, 5)), values: ([a]) => [a!, ints(2, 3)], attrs: { axis: i(1) }, opset: 13, outputs: 2 }],
  Slice: [
    { ...one(() => rn(3, 6)), values: ([a]) => [a!, ints(1, 0), ints(3, 100), ints(0, 1), ints(1, 2)], opset: 13 },
    {
      label: 'negative steps',
      ...one(() => rn(3, 6)),
      values: ([a]) => [a!, ints(-1, 5), ints(-100, 0), ints(0, 1), ints(-1, -2)],
      opset: 13,
    },
  ],
  DepthToSpace: [
    { label: 'DCR', ...one(() => rn(1, 8, 2, 3)), attrs: { blocksize: i(2) }, opset: 13 },
    { label: 'CRD', ...one(() => rn(1, 8, 2, 3)), attrs: { blocksize: i(2), mode: s('CRD') }, opset: 13 },
  ],
  SpaceToDepth: [{ ...one(() => rn(1, 2, 4, 6)), attrs: { blocksize: i(2) } }],
  Tile: [{ ...one(() => rn(2, 3)), values: ([a]) => [a!, ints(2, 3)] }],
  Trilu: [{ ...one(() => rn(2, 3, 4)), values: ([a]) => [a!, new Const([1], [], 'int')], attrs: { upper: i(0) }, opset: 14 }],
  GatherElements: [
    { ...one(() => rn(3, 4)), values: ([a]) => [a!, new Const([2, 0, -1, 1, 0, 0, 2, 1], [2, 4], 'int')], attrs: { axis: i(0) } },
  ],
  GatherND: [{ ...one(() => rn(2, 3, 4)), values: ([a]) => [a!, new Const([1, 2, 0, 0, 1, 2], [3, 2], 'int')] }],
  ScatterND: [
    {
      xs: () => [rn(4, 3), rn(2, 3)],
      values: ([d, u]) => [d!, new Const([2, 0], [2, 1], 'int'), u!],
      opset: 13,
    },
    {
      label: 'add, a position updated twice',
      xs: () => [rn(4, 3), rn(3, 3)],
      values: ([d, u]) => [d!, new Const([1, 3, 1], [3, 1], 'int'), u!],
      attrs: { reduction: s('add') },
      opset: 16,
    },
  ],
  ScatterElements: [
    {
      label: 'mul',
      xs: () => [rn(3, 4), rn(2, 4)],
      values: ([d, u]) => [d!, new Const([2, 0, 1, 2, 0, 0, 2, 1], [2, 4], 'int'), u!],
      attrs: { axis: i(0), reduction: s('mul') },
      opset: 16,
    },
    {
      label: 'max',
      xs: () => [distinct(3, 4), T.add(distinct(3, 2), 0.05)],
      values: ([d, u]) => [d!, new Const([3, 0, 1, 1, 2, 2], [3, 2], 'int'), u!],
      attrs: { axis: i(1), reduction: s('max') },
      opset: 18,
    },
  ],
  Scatter: [
    {
      xs: () => [rn(3, 4), rn(2, 2)],
      values: ([d, u]) => [d!, new Const([1, 3, 0, 2], [2, 2], 'int'), u!],
      attrs: { axis: i(1) },
      opset: 9,
    },
  ],
  Compress: [
    { label: 'along an axis', ...one(() => rn(3, 4)), values: ([a]) => [a!, new Const([1, 0, 1, 1], [4], 'bool')], attrs: { axis: i(1) } },
    { label: 'flattened', ...one(() => rn(2, 3)), values: ([a]) => [a!, new Const([0, 1, 1, 0, 1], [5], 'bool')] },
  ],
  ReverseSequence: [
    { ...one(() => rn(4, 3, 2)), values: ([a]) => [a!, ints(4, 1, 3)], attrs: { time_axis: i(0), batch_axis: i(1) }, opset: 10 },
  ],
  CumSum: [
    { ...one(() => rn(2, 5)), values: ([a]) => [a!, ints(1)] },
    { label: 'exclusive, reverse', ...one(() => rn(7, 2)), values: ([a]) => [a!, ints(0)], attrs: { exclusive: i(1), reverse: i(1) } },
  ],
  Gather: [{ ...one(() => rn(4, 3)), values: ([a]) => [a!, new Const([3, -4, 1], [3], 'int')], attrs: { axis: i(0) } }],
  Expand: [{ ...one(() => rn(3, 1)), values: ([a]) => [a!, ints(2, 3, 4)] }],
  Pad: [
    { label: 'constant', ...one(() => rn(1, 2, 3, 3)), values: ([a]) => [a!, ints(0, 0, 1, 2, 0, 0, 2, 0)], opset: 13 },
    { label: 'negative pads crop', ...one(() => rn(1, 1, 4, 4)), values: ([a]) => [a!, ints(0, 0, -1, 1, 0, 0, 0, -2)], opset: 13 },
    {
      label: 'reflect',
      ...one(() => rn(1, 2, 3, 4)),
      values: ([a]) => [a!, ints(0, 0, 2, 3, 0, 0, 1, 2)],
      attrs: { mode: s('reflect') },
      opset: 13,
    },
    {
      label: 'edge',
      ...one(() => rn(1, 2, 3, 4)),
      values: ([a]) => [a!, ints(0, 0, 2, 0, 0, 0, 1, 3)],
      attrs: { mode: s('edge') },
      opset: 13,
    },
    {
      label: 'wrap, cropping too',
      ...one(() => rn(2, 5)),
      values: ([a]) => [a!, ints(3, -1, 0, 6)],
      attrs: { mode: s('wrap') },
      opset: 19,
    },
  ],
  // Last, so their random draws leave the earlier cases' inputs as they were.
  // Sequences hold their elements as they are: each differentiates back to what made it.
  SequenceEmpty: 'makes an empty sequence, which holds nothing to differentiate',
  SequenceLength: NOT_DIFFERENTIABLE,
  OptionalHasElement: NOT_DIFFERENTIABLE,
  SequenceConstruct: [{ xs: () => [rn(2, 3), rn(4)], values: (x) => x }],
  SequenceAt: [
    {
      label: 'negative position',
      xs: () => [rn(2, 3)],
      values: ([a]) => [new OnnxSequence([tensor([1, 2], [2], 'float64'), a!]), ints(-1)],
    },
  ],
  SequenceInsert: [
    { label: 'at the back', xs: () => [rn(2), rn(3)], values: ([a, b]) => [new OnnxSequence([a!]), b!] },
    { label: 'at position 0', xs: () => [rn(2), rn(3)], values: ([a, b]) => [new OnnxSequence([a!]), b!, ints(0)] },
  ],
  SequenceErase: [
    {
      label: 'position 1',
      xs: () => [rn(2), rn(3)],
      values: ([a, b]) => [new OnnxSequence([a!, tensor([5], [1], 'float64'), b!]), new Const([1], [], 'int')],
    },
  ],
  SplitToSequence: [
    { label: 'chunks of 1, squeezed', ...one(() => rn(3, 4)), attrs: { axis: i(1), keepdims: i(0) } },
    { label: 'scalar split, the last chunk shorter', ...one(() => rn(5, 2)), values: ([a]) => [a!, new Const([2], [], 'int')] },
    { label: 'sizes', ...one(() => rn(2, 5)), values: ([a]) => [a!, ints(1, 4)], attrs: { axis: i(-1) } },
  ],
  ConcatFromSequence: [
    { label: 'axis 1', xs: () => [rn(2, 3), rn(2, 1)], values: (x) => [new OnnxSequence(x)], attrs: { axis: i(1) } },
    {
      label: 'new_axis at the end',
      xs: () => [rn(2, 3), rn(2, 3)],
      values: (x) => [new OnnxSequence(x)],
      attrs: { axis: i(-1), new_axis: i(1) },
    },
  ],
  Optional: [one(() => rn(2, 3)), { label: 'of a sequence', xs: () => [rn(2), rn(3)], values: (x) => [new OnnxSequence(x)] }],
  OptionalGetElement: [
    { label: 'a tensor', ...one(() => rn(2, 3)), values: ([a]) => [new OnnxOptional(a!)] },
    { label: 'a sequence', xs: () => [rn(2), rn(3)], values: (x) => [new OnnxOptional(new OnnxSequence(x))] },
    { label: "opset 18's plain tensor", ...one(() => rn(3)), opset: 18 },
  ],
  DFT: [
    { label: 'real, axis 1', ...one(() => rn(2, 5, 1)) },
    {
      label: 'complex inverse, axis 2, zero-padded',
      ...one(() => rn(1, 2, 3, 2)),
      values: ([a]) => [a!, new Const([5], [], 'int')],
      attrs: { axis: i(2), inverse: i(1) },
    },
    { label: 'onesided, cut', ...one(() => rn(2, 6, 1)), values: ([a]) => [a!, new Const([5], [], 'int')], attrs: { onesided: i(1) } },
  ],
  STFT: [
    { label: 'window', xs: () => [rn(1, 12, 1), rn(4)], values: ([a, w]) => [a!, new Const([3], [], 'int'), w!] },
    {
      label: 'complex, frame_length, onesided 0',
      ...one(() => rn(2, 9, 2)),
      values: ([a]) => [a!, new Const([2], [], 'int'), null, new Const([4], [], 'int')],
      attrs: { onesided: i(0) },
    },
  ],
};

/** onnxruntime's contrib ops (domain com.microsoft), each as its contrib_defs definition composes gradlens ops. */
const contribCases: Record<string, Case[]> = {
  Gelu: [one(() => rn(2, 5))],
  BiasGelu: [
    two(
      () => rn(2, 5),
      () => rn(5),
    ),
  ],
  FastGelu: [
    one(() => rn(2, 5)),
    {
      label: 'with a bias',
      ...two(
        () => rn(2, 5),
        () => rn(5),
      ),
    },
  ],
  QuickGelu: [{ ...one(() => rn(2, 5)), attrs: { alpha: f(1.3) } }],
  FusedConv: [
    {
      label: 'LeakyRelu, with Z',
      xs: () => [rn(1, 2, 5, 5), rn(3, 2, 3, 3), rn(3), rn(1, 3, 3, 3)],
      values: (x) => x,
      attrs: { activation: s('LeakyRelu'), activation_params: { floats: [0.2] } },
    },
    {
      label: 'Clip, groups, pads',
      xs: () => [rn(1, 4, 5, 5), rn(4, 2, 3, 3)],
      values: (x) => x,
      attrs: { activation: s('Clip'), activation_params: { floats: [-0.5, 0.7] }, group: i(2), pads: is(1, 1, 1, 1) },
    },
    {
      label: 'HardSigmoid',
      xs: () => [rn(1, 2, 4, 4), rn(2, 2, 3, 3)],
      values: (x) => x,
      attrs: { activation: s('HardSigmoid'), activation_params: { floats: [0.3, 0.4] } },
    },
  ],
  FusedMatMul: [
    {
      label: 'transA, transB, alpha',
      ...two(
        () => rn(2, 4, 3),
        () => rn(5, 4),
      ),
      attrs: { transA: i(1), transB: i(1), alpha: f(0.7) },
    },
  ],
  SkipLayerNormalization: [
    { label: 'with beta and bias, every output', xs: () => [rn(2, 3, 4), rn(3, 4), rn(4), rn(4), rn(4)], values: (x) => x, outputs: 4 },
    { label: 'gamma only', xs: () => [rn(2, 3, 4), rn(2, 3, 4), rn(4)], values: (x) => x, attrs: { epsilon: f(1e-3) } },
  ],
};

/** The op's outputs, flattened and joined, as one tensor. */
function runCase(op: string, c: Case, xs: Tensor[]): Tensor {
  const ctx = { attrs: attrsOf(c.attrs, op), opset: c.opset ?? 17, outputs: c.outputs ?? 1 };
  const impl = onnxOps[op] ?? contribOps[op];
  const given = c.values(xs);
  const outs: GraphValue[] = impl
    ? impl.run({ ...ctx, values: given.map((v) => v as Value | null) })
    : onnxValueOps[op]!.runValues({ ...ctx, values: given });
  // Sequences and optionals by their elements; integer outputs (MaxPool's Indices) have no gradient.
  const elements = (v: GraphValue): Value[] =>
    v instanceof OnnxSequence ? [...v.items] : v instanceof OnnxOptional ? (v.value ? elements(v.value) : []) : [v];
  const ts = outs
    .flatMap(elements)
    .filter((o) => !(o instanceof Tensor && o.dtype === 'int32'))
    .map((o) => {
      if (!(o instanceof Tensor)) throw new Error(`${op} gave a constant`);
      return T.reshape(o, [-1]);
    });
  return ts.length === 1 ? ts[0]! : T.cat(ts, 0);
}

function numericGrad(fn: (xs: Tensor[]) => Tensor, xs: Tensor[], which: number, r: Tensor, h = 1e-6): Float64Array {
  const x = xs[which]!;
  const v = x.values();
  const out = new Float64Array(v.length);
  const objective = () => T.tidy(() => sum(mul(fn(xs), r)).item());
  for (let k = 0; k < v.length; k++) {
    const keep = v[k]!;
    T.assign(x, (w) => (w[k] = keep + h));
    const up = objective();
    T.assign(x, (w) => (w[k] = keep - h));
    const down = objective();
    T.assign(x, (w) => (w[k] = keep));
    out[k] = (up - down) / (2 * h);
  }
  return out;
}

describe('every importer op differentiates as float64 finite differences say', () => {
  it('has an entry for every supported op', () => {
    expect(supportedOps().filter((op) => !(op in cases))).toEqual([]);
    expect(Object.keys(cases).filter((op) => !supportedOps().includes(op))).toEqual([]);
  });

  it('has an entry for every supported contrib op (com.microsoft)', () => {
    expect(Object.keys(contribCases).sort()).toEqual(supportedContribOps());
  });

  for (const [op, entry] of [...Object.entries(cases), ...Object.entries(contribCases)]) {
    if (typeof entry === 'string') continue;
    entry.forEach((c, k) => {
      it(`${op}${c.label ? ` (${c.label})` : ''} #${k}`, () => {
        const xs = c.xs();
        const fn = (ys: Tensor[]) => runCase(op, c, ys);
        const y = T.tidy(() => fn(xs));
        expect(y.dtype).toBe('float64');
        const r = randn(y.shape, { dtype: 'float64', generator: g });
        const analytic = grad((...ys) => sum(mul(fn(ys), r)), xs);
        xs.forEach((x, n) => {
          const numeric = numericGrad(fn, xs, n, r);
          const a = analytic[n]!.values();
          expect(analytic[n]!.shape).toEqual(x.shape);
          const scale = Math.max(1, ...Array.from(numeric, Math.abs));
          let worst = 0;
          for (let j = 0; j < numeric.length; j++) worst = Math.max(worst, Math.abs(a[j]! - numeric[j]!) / scale);
          expect(worst).toBeLessThan(1e-6);
          // the gradient is not trivially zero
          expect(Math.max(...Array.from(numeric, Math.abs))).toBeGreaterThan(1e-3);
        });
      });
    });
  }
});
