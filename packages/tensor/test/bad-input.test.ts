/**
 * Every bad input gets an Error whose message names the op, what was expected and what came,
 * before any kernel runs. Each row: what is wrong, the call, the message it must match.
 */
import {
  adaptiveAvgPool2d,
  adaptiveMaxPool2d,
  add,
  arange,
  argmax,
  avgPool2d,
  batchNorm,
  cast,
  cat,
  clamp,
  conv2d,
  crossEntropy,
  dropout,
  erf,
  exp,
  expand,
  flatten,
  gelu,
  grad,
  layerNorm,
  scaledDotProductAttention,
  indexSelect,
  interpolate,
  linear,
  logSoftmax,
  matmul,
  max,
  maxPool2d,
  maxPool2dWithIndices,
  mean,
  mseLoss,
  mul,
  narrow,
  nllLoss,
  numTensors,
  ones,
  pad,
  permute,
  record,
  reluBackward,
  clampBackward,
  reshape,
  scalar,
  slice,
  softmax,
  squeeze,
  stack,
  sum,
  tensor,
  tidy,
  transpose,
  unsqueeze,
  variance,
  where,
  zeros,
} from '../src';
import type { InterpolateOptions, Reduction, Tape, Tensor } from '../src';

type Row = [what: string, call: () => unknown, message: RegExp];

const x4 = (shape: number[] = [1, 4, 5, 5]) => zeros(shape);
const disposed = (shape: number[], dtype: 'float32' | 'int32' = 'float32'): Tensor => {
  const t = zeros(shape, dtype);
  t.dispose();
  return t;
};
/** Records `fn`, hands its tape to `use`, and always disposes the tape. */
function onTape<T extends Tensor | Tensor[]>(fn: () => T, use: (tape: Tape, output: T) => unknown): unknown {
  const { output, tape } = record(fn);
  try {
    return use(tape, output);
  } finally {
    tape.dispose();
  }
}
/** Values a JavaScript caller can pass that the types forbid. */
const untyped = <T>(v: unknown): T => v as T;

const conv: Row[] = [
  ['input of rank 3', () => conv2d(zeros([4, 5, 5]), zeros([2, 4, 3, 3])), /^conv2d: input must be 4-D \[N, C, H, W\], got \[4, 5, 5\]/],
  ['weight of rank 2', () => conv2d(x4(), zeros([2, 4])), /^conv2d: weight must be 4-D .*got \[2, 4\]/],
  ['int32 input', () => conv2d(zeros([1, 4, 5, 5], 'int32'), zeros([2, 4, 3, 3])), /^conv2d: input must be float32 or float64, got int32/],
  [
    'float64 weight for float32 input',
    () => conv2d(x4(), zeros([2, 4, 3, 3], 'float64')),
    /^conv2d: input is float32 but weight is float64/,
  ],
  [
    'groups that do not divide in_channels',
    () => conv2d(x4(), zeros([3, 1, 3, 3]), null, { groups: 3 }),
    /^conv2d: .*groups=3.*in_channels=4/,
  ],
  [
    'groups that do not divide out_channels',
    () => conv2d(x4(), zeros([3, 2, 3, 3]), null, { groups: 2 }),
    /^conv2d: groups=2 must divide .*out_channels=3/,
  ],
  [
    'fractional groups',
    () => conv2d(x4(), zeros([4, 4, 3, 3]), null, { groups: 1.5 }),
    /^conv2d: groups must be a positive integer, got 1\.5/,
  ],
  ['zero groups', () => conv2d(x4(), zeros([4, 4, 3, 3]), null, { groups: 0 }), /^conv2d: groups must be a positive integer, got 0/],
  [
    'weight channels that do not match the input',
    () => conv2d(x4(), zeros([2, 3, 3, 3])),
    /^conv2d: weight \[2, 3, 3, 3\] expects 3 input channels \(groups=1\), input \[1, 4, 5, 5\] has 4/,
  ],
  [
    'weight channels that do not match with groups',
    () => conv2d(x4(), zeros([4, 4, 3, 3]), null, { groups: 2 }),
    /^conv2d: weight \[4, 4, 3, 3\] expects 8 input channels \(groups=2\).* has 4/,
  ],
  [
    'kernel larger than the padded input',
    () => conv2d(zeros([1, 1, 3, 3]), zeros([1, 1, 5, 5]), null, { padding: [0, 1] }),
    /^conv2d: kernel \[5, 5\] .*larger than the padded input 3 along height/,
  ],
  [
    'dilated kernel larger than the padded input',
    () => conv2d(zeros([1, 1, 6, 6]), zeros([1, 1, 3, 3]), null, { dilation: [1, 3] }),
    /^conv2d: kernel \[3, 3\] \(dilated extent 7\) is larger than the padded input 6 along width/,
  ],
  ['empty kernel', () => conv2d(x4(), zeros([2, 4, 0, 3])), /^conv2d: kernel must be at least 1x1, got weight \[2, 4, 0, 3\]/],
  ['negative stride', () => conv2d(x4(), zeros([2, 4, 3, 3]), null, { stride: -1 }), /^conv2d: stride must be positive integers, got -1/],
  [
    'zero stride',
    () => conv2d(x4(), zeros([2, 4, 3, 3]), null, { stride: [1, 0] }),
    /^conv2d: stride must be positive integers, got \[1,0\]/,
  ],
  [
    'fractional stride',
    () => conv2d(x4(), zeros([2, 4, 3, 3]), null, { stride: [1, 1.5] }),
    /^conv2d: stride must be positive integers, got \[1,1\.5\]/,
  ],
  [
    'negative padding',
    () => conv2d(x4(), zeros([2, 4, 3, 3]), null, { padding: -1 }),
    /^conv2d: padding must be non-negative integers, got -1/,
  ],
  [
    'fractional dilation',
    () => conv2d(x4(), zeros([2, 4, 3, 3]), null, { dilation: 0.5 }),
    /^conv2d: dilation must be positive integers, got 0\.5/,
  ],
  [
    'three strides',
    () => conv2d(x4(), zeros([2, 4, 3, 3]), null, { stride: untyped([1, 1, 1]) }),
    /^conv2d: stride must be a number or \[h, w\], got \[1, 1, 1\]/,
  ],
  [
    "padding 'same'",
    () => conv2d(x4(), zeros([2, 4, 3, 3]), null, { padding: untyped('same') }),
    /^conv2d: padding must be a number or \[h, w\], got "same" \(string paddings .* not supported\)/,
  ],
  ['bias of the wrong length', () => conv2d(x4(), zeros([2, 4, 3, 3]), zeros([3])), /^conv2d: bias must be \[2\], got \[3\]/],
  ['disposed weight', () => conv2d(x4(), disposed([2, 4, 3, 3])), /^conv2d: input 1 \(Tensor\(\[2, 4, 3, 3\], float32\)\) was disposed/],
];

const pooling: Row[] = [
  [
    'maxPool2d input of rank 2',
    () => maxPool2d(zeros([5, 5]), { kernelSize: 2 }),
    /^maxPool2d: input must be 3-D \[C, H, W\] or 4-D \[N, C, H, W\], got \[5, 5\]/,
  ],
  [
    'maxPool2d int32 input',
    () => maxPool2d(zeros([1, 1, 4, 4], 'int32'), { kernelSize: 2 }),
    /^maxPool2d: input must be float32 or float64, got int32/,
  ],
  [
    'maxPool2d kernel larger than the input',
    () => maxPool2d(zeros([1, 1, 2, 2]), { kernelSize: 3 }),
    /^maxPool2d: kernel \[3, 3\] is larger than the padded input \[2, 2\] of \[1, 1, 2, 2\]/,
  ],
  [
    'maxPool2d padding more than half the kernel',
    () => maxPool2d(zeros([1, 1, 6, 6]), { kernelSize: 2, padding: 2 }),
    /^maxPool2d: padding \[2, 2\] must be at most half the .*kernel size \[2, 2\]/,
  ],
  [
    'maxPool2d zero kernel',
    () => maxPool2d(zeros([1, 1, 6, 6]), { kernelSize: 0 }),
    /^maxPool2d: kernelSize must be positive integers, got 0/,
  ],
  [
    'maxPool2d negative kernel',
    () => maxPool2d(zeros([1, 1, 6, 6]), { kernelSize: [2, -2] }),
    /^maxPool2d: kernelSize must be positive integers, got \[2,-2\]/,
  ],
  [
    'maxPool2d fractional kernel',
    () => maxPool2d(zeros([1, 1, 6, 6]), { kernelSize: 2.5 }),
    /^maxPool2d: kernelSize must be positive integers, got 2\.5/,
  ],
  [
    'maxPool2d zero stride',
    () => maxPool2d(zeros([1, 1, 6, 6]), { kernelSize: 2, stride: 0 }),
    /^maxPool2d: stride must be positive integers, got 0/,
  ],
  [
    'maxPool2d zero dilation',
    () => maxPool2d(zeros([1, 1, 6, 6]), { kernelSize: 2, dilation: 0 }),
    /^maxPool2d: dilation must be positive integers, got 0/,
  ],
  [
    'maxPool2dWithIndices input of rank 3',
    () => maxPool2dWithIndices(zeros([1, 6, 6]), { kernelSize: 2 }),
    /^maxPool2d: input must be 4-D \[N, C, H, W\], got \[1, 6, 6\]/,
  ],
  [
    'avgPool2d zero divisorOverride',
    () => avgPool2d(zeros([1, 1, 6, 6]), { kernelSize: 2, divisorOverride: 0 }),
    /^avgPool2d: divisorOverride must be a non-zero integer, got 0/,
  ],
  [
    'avgPool2d fractional divisorOverride',
    () => avgPool2d(zeros([1, 1, 6, 6]), { kernelSize: 2, divisorOverride: 1.5 }),
    /^avgPool2d: divisorOverride must be a non-zero integer, got 1\.5/,
  ],
  [
    'avgPool2d kernel wider than the input',
    () => avgPool2d(zeros([1, 1, 2, 2]), { kernelSize: [1, 3] }),
    /^avgPool2d: kernel \[1, 3\] is larger than the padded input \[2, 2\]/,
  ],
  [
    'avgPool2d input of rank 5',
    () => avgPool2d(zeros([1, 1, 1, 4, 4]), { kernelSize: 2 }),
    /^avgPool2d: input must be 3-D .* got \[1, 1, 1, 4, 4\]/,
  ],
  [
    'adaptiveAvgPool2d zero output size',
    () => adaptiveAvgPool2d(zeros([1, 1, 6, 6]), 0),
    /^adaptiveAvgPool2d: outputSize must be positive integers, got 0/,
  ],
  [
    'adaptiveAvgPool2d negative output size',
    () => adaptiveAvgPool2d(zeros([1, 1, 6, 6]), [-1, 2]),
    /^adaptiveAvgPool2d: outputSize must be positive integers, got \[-1,2\]/,
  ],
  [
    'adaptiveAvgPool2d fractional output size',
    () => adaptiveAvgPool2d(zeros([1, 1, 6, 6]), [2, 2.5]),
    /^adaptiveAvgPool2d: outputSize must be positive integers, got \[2,2\.5\]/,
  ],
  [
    'adaptiveAvgPool2d three output sizes',
    () => adaptiveAvgPool2d(zeros([1, 1, 6, 6]), [2, 2, 2]),
    /^adaptiveAvgPool2d: outputSize must be a number or \[h, w\], got \[2,2,2\]/,
  ],
  [
    'adaptiveAvgPool2d empty input',
    () => adaptiveAvgPool2d(zeros([1, 1, 0, 6]), 2),
    /^adaptiveAvgPool2d: input \[1, 1, 0, 6\] has an empty spatial dimension/,
  ],
  [
    'adaptiveMaxPool2d input of rank 5',
    () => adaptiveMaxPool2d(zeros([1, 1, 1, 6, 6]), 2),
    /^adaptiveMaxPool2d: input must be 3-D .* got \[1, 1, 1, 6, 6\]/,
  ],
  [
    'adaptiveMaxPool2d int32 input',
    () => adaptiveMaxPool2d(zeros([1, 1, 6, 6], 'int32'), 2),
    /^adaptiveMaxPool2d: input must be float32 or float64, got int32/,
  ],
];

const resize: Row[] = [
  ['input of rank 3', () => interpolate(zeros([1, 6, 6]), { size: 2 }), /^interpolate: input must be 4-D \[N, C, H, W\], got \[1, 6, 6\]/],
  ['neither size nor scaleFactor', () => interpolate(x4(), {}), /^interpolate: give exactly one of size and scaleFactor/],
  [
    'both size and scaleFactor',
    () => interpolate(x4(), { size: 2, scaleFactor: 2 }),
    /^interpolate: give exactly one of size and scaleFactor/,
  ],
  ['zero size', () => interpolate(x4(), { size: [0, 2] }), /^interpolate: size must be positive integers, got \[0,2\]/],
  ['fractional size', () => interpolate(x4(), { size: 2.5 }), /^interpolate: size must be positive integers, got 2\.5/],
  ['negative scaleFactor', () => interpolate(x4(), { scaleFactor: -1 }), /^interpolate: scaleFactor must be positive numbers, got -1/],
  [
    'infinite scaleFactor',
    () => interpolate(x4(), { scaleFactor: Infinity }),
    /^interpolate: scaleFactor must be positive numbers, got null/,
  ],
  [
    'scaleFactor that leaves no pixels',
    () => interpolate(x4(), { scaleFactor: 0.1 }),
    /^interpolate: scaleFactor \[0\.1, 0\.1\] leaves no output pixels for \[1, 4, 5, 5\]/,
  ],
  [
    'unknown mode',
    () => interpolate(x4(), { size: 2, mode: untyped<InterpolateOptions['mode']>('bicubic') }),
    /^interpolate: mode must be 'nearest' or 'bilinear', got 'bicubic'/,
  ],
  [
    'alignCorners in nearest mode',
    () => interpolate(x4(), { size: 2, alignCorners: true }),
    /^interpolate: alignCorners only applies to bilinear mode/,
  ],
  [
    'int32 input',
    () => interpolate(zeros([1, 1, 4, 4], 'int32'), { size: 2 }),
    /^interpolate: input must be float32 or float64, got int32/,
  ],
  ['empty input', () => interpolate(zeros([1, 1, 4, 0]), { size: 2 }), /^interpolate: input \[1, 1, 4, 0\] has an empty spatial dimension/],
];

const norm: Row[] = [
  ['input of rank 1', () => batchNorm(zeros([4]), null, null), /^batchNorm: input must be \[N, C, …\], got \[4\]/],
  ['int32 input', () => batchNorm(zeros([2, 3], 'int32'), null, null), /^batchNorm: input must be float32 or float64, got int32/],
  [
    'runningMean of the wrong length',
    () => batchNorm(zeros([2, 3, 4]), zeros([4]), ones([3])),
    /^batchNorm: runningMean must be \[3\] for input \[2, 3, 4\], got \[4\]/,
  ],
  [
    'weight of the wrong length',
    () => batchNorm(zeros([2, 3, 4]), null, null, zeros([2])),
    /^batchNorm: weight must be \[3\] for input \[2, 3, 4\], got \[2\]/,
  ],
  [
    'int32 running statistics',
    () => batchNorm(zeros([2, 3]), zeros([3], 'int32'), ones([3], 'int32'), null, null, { training: true }),
    /^batchNorm: runningMean must be float32 like the input, got int32/,
  ],
  [
    'float64 bias for a float32 input',
    () => batchNorm(zeros([2, 3]), null, null, ones([3]), zeros([3], 'float64')),
    /^batchNorm: bias must be float32 like the input, got float64/,
  ],
  [
    'runningMean without runningVar',
    () => batchNorm(zeros([2, 3]), zeros([3]), null, null, null, { training: true }),
    /^batchNorm: runningMean and runningVar must both be given or both be null, got only runningMean/,
  ],
  [
    'negative eps',
    () => batchNorm(zeros([2, 3]), null, null, null, null, { eps: -1 }),
    /^batchNorm: eps must be a non-negative number, got -1/,
  ],
  [
    'one value per channel in training',
    () => batchNorm(zeros([1, 3]), zeros([3]), ones([3]), null, null, { training: true }),
    /^batchNorm: expected more than 1 value per channel when training, got input \[1, 3\]/,
  ],
  [
    'disposed running statistics',
    () => batchNorm(zeros([2, 3]), disposed([3]), ones([3]), null, null, { training: true }),
    /^batchNorm: runningMean \(Tensor\(\[3\], float32\)\) was disposed/,
  ],
  ['dropout p above 1', () => dropout(zeros([3]), { p: 1.5 }), /^dropout: p must be in \[0, 1\], got 1\.5/],
  ['dropout p NaN', () => dropout(zeros([3]), { p: NaN }), /^dropout: p must be in \[0, 1\], got NaN/],
];

const losses: Row[] = [
  [
    'softmax dim out of range',
    () => softmax(zeros([2, 3]), 2),
    /^softmax: dim 2 is out of range for a tensor of rank 2 \(expected -2\.\.1\)/,
  ],
  [
    'logSoftmax negative dim out of range',
    () => logSoftmax(zeros([2, 3]), -3),
    /^logSoftmax: dim -3 is out of range for a tensor of rank 2/,
  ],
  ['softmax fractional dim', () => softmax(zeros([2, 3]), 0.5), /^softmax: dim 0\.5 is out of range/],
  ['softmax int32 input', () => softmax(zeros([2, 3], 'int32'), 1), /^softmax: input must be float32 or float64, got int32/],
  ['crossEntropy logits of rank 1', () => crossEntropy(zeros([4]), [1]), /^crossEntropy: input must be \[N, C\], got \[4\]/],
  [
    'crossEntropy too many targets',
    () => crossEntropy(zeros([2, 4]), [1, 2, 3]),
    /^crossEntropy: target must be 2 int32 class indices \[2\], got int32 \[3\]/,
  ],
  ['crossEntropy class target = C', () => crossEntropy(zeros([2, 4]), [1, 4]), /^crossEntropy: target 4 is out of range for 4 classes/],
  [
    'crossEntropy negative class target',
    () => crossEntropy(zeros([2, 4]), [-1, 0]),
    /^crossEntropy: target -1 is out of range for 4 classes/,
  ],
  [
    'crossEntropy out of range with ignoreIndex set',
    () => crossEntropy(zeros([2, 4]), [-100, 0], { ignoreIndex: 3 }),
    /^crossEntropy: target -100 is out of range for 4 classes/,
  ],
  [
    'crossEntropy fractional class target',
    () => crossEntropy(zeros([2, 4]), [1, 0.5]),
    /^crossEntropy: target must hold integer class indices, got 0\.5/,
  ],
  [
    'crossEntropy float class indices',
    () => crossEntropy(zeros([2, 4]), zeros([2])),
    /^crossEntropy: probability targets must be \[2, 4\], got float32 \[2\] \(class-index targets must be int32 \[2\]\)/,
  ],
  [
    'crossEntropy bool targets',
    () => crossEntropy(zeros([2, 4]), zeros([2], 'bool')),
    /^crossEntropy: target must be 2 int32 class indices \[2\], got bool \[2\]/,
  ],
  [
    'crossEntropy weight of the wrong length',
    () => crossEntropy(zeros([2, 4]), [1, 2], { weight: ones([3]) }),
    /^crossEntropy: weight must be \[4\], got \[3\]/,
  ],
  [
    'crossEntropy float64 weight',
    () => crossEntropy(zeros([2, 4]), [1, 2], { weight: ones([4], 'float64') }),
    /^crossEntropy: weight must be float32 like the input, got float64/,
  ],
  [
    'crossEntropy probability targets with ignoreIndex',
    () => crossEntropy(zeros([2, 4]), zeros([2, 4]), { ignoreIndex: 1 }),
    /^crossEntropy: ignoreIndex \(1\) applies to class-index targets, not to probability targets \[2, 4\]/,
  ],
  [
    'crossEntropy unknown reduction',
    () => crossEntropy(zeros([2, 4]), [1, 2], { reduction: untyped<Reduction>('avg') }),
    /^crossEntropy: reduction must be 'mean', 'sum' or 'none', got "avg"/,
  ],
  [
    'crossEntropy disposed target',
    () => crossEntropy(zeros([2, 4]), disposed([2], 'int32')),
    /^crossEntropy: target \(Tensor\(\[2\], int32\)\) was disposed/,
  ],
  [
    'nllLoss unknown reduction',
    () => nllLoss(zeros([2, 4]), [1, 2], { reduction: untyped<Reduction>('avg') }),
    /^nllLoss: reduction must be 'mean', 'sum' or 'none', got "avg"/,
  ],
  ['nllLoss int32 input', () => nllLoss(zeros([2, 4], 'int32'), [1, 2]), /^nllLoss: input must be float32 or float64, got int32/],
  ['nllLoss input of rank 3', () => nllLoss(zeros([2, 4, 3]), [1, 2]), /^nllLoss: input must be \[N, C\], got \[2, 4, 3\]/],
  ['nllLoss class target out of range', () => nllLoss(zeros([2, 4]), [7, 2]), /^nllLoss: target 7 is out of range for 4 classes/],
  [
    'nllLoss 2-D targets',
    () => nllLoss(zeros([2, 4]), zeros([2, 1], 'int32')),
    /^nllLoss: target must be 2 int32 class indices \[2\], got int32 \[2, 1\]/,
  ],
  ['mseLoss shapes differ', () => mseLoss(zeros([2, 4]), zeros([4, 2])), /^mseLoss: input \[2, 4\] and target \[4, 2\] differ in shape/],
  ['mseLoss int32 target', () => mseLoss(zeros([2, 4]), zeros([2, 4], 'int32')), /^mseLoss: target must be float32 or float64, got int32/],
  [
    'mseLoss unknown reduction',
    () => mseLoss(zeros([2]), zeros([2]), { reduction: untyped<Reduction>('batchmean') }),
    /^mseLoss: reduction must be 'mean', 'sum' or 'none', got "batchmean"/,
  ],
];

const linalg: Row[] = [
  ['linear weight of rank 1', () => linear(zeros([2, 4]), zeros([4])), /^linear: weight must be \[out, in\], got \[4\]/],
  [
    'linear in_features mismatch',
    () => linear(zeros([2, 4]), zeros([3, 5])),
    /^linear: input \[2, 4\] must end in in_features=5 \(weight \[3, 5\]\)/,
  ],
  ['linear scalar input', () => linear(scalar(1), zeros([3, 4])), /^linear: input \[\] must end in in_features=4/],
  ['linear bias of the wrong length', () => linear(zeros([2, 4]), zeros([3, 4]), zeros([4])), /^linear: bias must be \[3\], got \[4\]/],
  ['linear float64 weight', () => linear(zeros([2, 4]), zeros([3, 4], 'float64')), /^linear: input is float32 but weight is float64/],
  ['linear int32 input', () => linear(zeros([2, 4], 'int32'), zeros([3, 4])), /^linear: input must be float32 or float64, got int32/],
  [
    'matmul inner dimensions differ',
    () => matmul(zeros([2, 3]), zeros([4, 5])),
    /^matmul: inner dimensions differ: \[2, 3\] @ \[4, 5\] \(3 vs 4\)/,
  ],
  ['matmul 1-D operands of different lengths', () => matmul(zeros([3]), zeros([4])), /^matmul: inner dimensions differ: \[3\] @ \[4\]/],
  ['matmul scalar operand', () => matmul(scalar(1), zeros([4, 5])), /^matmul: operands must have at least 1 dim, got \[\] and \[4, 5\]/],
  [
    'matmul batches that do not broadcast',
    () => matmul(zeros([2, 3, 4]), zeros([3, 4, 5])),
    /^matmul: batch dimensions \[2\] of \[2, 3, 4\] and \[3\] of \[3, 4, 5\] cannot be broadcast together/,
  ],
  [
    'matmul mixed float dtypes',
    () => matmul(zeros([3, 4]), zeros([4, 5], 'float64')),
    /^matmul: operands must share a dtype, got float32 and float64/,
  ],
  ['matmul int32 operand', () => matmul(zeros([3, 4]), zeros([4, 5], 'int32')), /^matmul: b must be float32 or float64, got int32/],
];

const elementwise: Row[] = [
  [
    'add shapes that do not broadcast',
    () => add(zeros([2, 3]), zeros([4])),
    /^add: shapes \[2, 3\] and \[4\] cannot be broadcast together \(dimension 1: 3 vs 4\)/,
  ],
  [
    'mul shapes that do not broadcast',
    () => mul(zeros([2, 3, 4]), zeros([3, 1, 5])),
    /^mul: shapes \[2, 3, 4\] and \[3, 1, 5\] cannot be broadcast together \(dimension 0: 2 vs 3\)/,
  ],
  ['add a string', () => add(zeros([2]), untyped<number>('1')), /^add: expected a Tensor or a number, got string/],
  ['exp of a string', () => exp(untyped<Tensor>('x')), /^exp: expected a Tensor, got string/],
  ['where with a float condition', () => where(zeros([2]), zeros([2]), zeros([2])), /^where: condition must be a bool tensor, got float32/],
  [
    'where shapes that do not broadcast',
    () => where(zeros([2], 'bool'), zeros([3]), zeros([2])),
    /^where: shapes \[2\] and \[3\] cannot be broadcast together/,
  ],
  ['clamp with no bounds', () => clamp(zeros([2]), {}), /^clamp: at least one of min and max is needed/],
  ['clamp with min above max', () => clamp(zeros([2]), { min: 2, max: 1 }), /^clamp: min 2 is greater than max 1/],
  [
    'cast to an unknown dtype',
    () => cast(zeros([2]), untyped('int8')),
    /^cast: dtype must be 'float32', 'float64', 'int32' or 'bool', got "int8"/,
  ],
  ['add a disposed tensor', () => add(disposed([2]), 1), /^add: input 0 \(Tensor\(\[2\], float32\)\) was disposed/],
  [
    'reluBackward shapes that differ',
    () => reluBackward(zeros([2, 3]), zeros([3])),
    /^reluBackward: dy \[2, 3\] and x \[3\] must have the same shape \(no broadcasting\)/,
  ],
  [
    'reluBackward shapes that would broadcast',
    () => reluBackward(zeros([2, 3]), zeros([1, 3])),
    /^reluBackward: dy \[2, 3\] and x \[1, 3\] must have the same shape/,
  ],
  [
    'reluBackward mixed float dtypes',
    () => reluBackward(zeros([2]), zeros([2], 'float64')),
    /^reluBackward: dy and x must have one float dtype \(float32 or float64\), got dy float32 and x float64/,
  ],
  [
    'clampBackward shapes that differ',
    () => clampBackward(zeros([2, 3]), zeros([3]), { min: 0, max: 6 }),
    /^clampBackward: dy \[2, 3\] and x \[3\] must have the same shape \(no broadcasting\)/,
  ],
  [
    'clampBackward mixed float dtypes',
    () => clampBackward(zeros([2]), zeros([2], 'float64'), { min: 0 }),
    /^clampBackward: dy and x must have one float dtype \(float32 or float64\), got dy float32 and x float64/,
  ],
  [
    'clampBackward min over max',
    () => clampBackward(zeros([2]), zeros([2]), { min: 1, max: 0 }),
    /^clampBackward: min 1 is greater than max 0/,
  ],
  ['reluBackward int32 inputs', () => reluBackward(zeros([2], 'int32'), zeros([2], 'int32')), /^reluBackward: .* got dy int32 and x int32/],
  [
    'reluBackward a disposed x',
    () => reluBackward(zeros([2]), disposed([2])),
    /^reluBackward: input 1 \(Tensor\(\[2\], float32\)\) was disposed/,
  ],
];

const reductions: Row[] = [
  ['sum dim out of range', () => sum(zeros([2, 3]), { dim: 2 }), /^sum: dim 2 is out of range for a tensor of rank 2 \(expected -2\.\.1\)/],
  ['sum fractional dim', () => sum(zeros([2, 3]), { dim: 0.5 }), /^sum: dim 0\.5 is out of range/],
  ['sum repeated dims', () => sum(zeros([2, 3]), { dim: [1, -1] }), /^sum: dims \[1, -1\] repeat a dimension/],
  ['mean of int32', () => mean(zeros([2, 3], 'int32')), /^mean: input must be float32 or float64, got int32/],
  ['max over an empty dim', () => max(zeros([2, 0]), { dim: 1 }), /^max: cannot reduce an empty dimension of shape \[2, 0\]/],
  ['argmax dim out of range', () => argmax(zeros([2, 3]), { dim: -3 }), /^argmax: dim -3 is out of range for a tensor of rank 2/],
  ['argmax of an empty tensor', () => argmax(zeros([0])), /^argmax: cannot search an empty tensor of shape \[0\]/],
  ['var of int32', () => variance(zeros([2, 3], 'int32')), /^var: input must be float32 or float64, got int32/],
  ['var dim out of range', () => variance(zeros([2, 3]), { dim: [0, 5] }), /^var: dim 5 is out of range for a tensor of rank 2/],
];

const shapes: Row[] = [
  ['reshape to a different size', () => reshape(zeros([2, 3]), [4, 2]), /^reshape: cannot view \[2, 3\] \(6 elements\) as \[4, 2\]/],
  ['reshape with two -1', () => reshape(zeros([2, 3]), [-1, -1]), /^reshape: only one dimension can be -1, got \[-1, -1\]/],
  [
    'reshape to negative sizes',
    () => reshape(zeros([2, 3]), [-2, -3]),
    /^reshape: a shape needs non-negative integer sizes, got \[-2, -3\]/,
  ],
  [
    'reshape to fractional sizes',
    () => reshape(zeros([2, 3]), [2.5, 2]),
    /^reshape: a shape needs non-negative integer sizes, got \[2\.5, 2\]/,
  ],
  ['reshape -1 that does not divide', () => reshape(zeros([2, 3]), [4, -1]), /^reshape: .*got \[4, 1\.5\]/],
  ['permute with too few dims', () => permute(zeros([2, 3]), [0]), /^permute: expected 2 dims for shape \[2, 3\], got \[0\]/],
  ['permute with a repeated dim', () => permute(zeros([2, 3]), [0, 0]), /^permute: dims \[0, 0\] repeat a dimension/],
  ['transpose dim out of range', () => transpose(zeros([2, 3]), 0, 2), /^transpose: dim 2 is out of range for a tensor of rank 2/],
  ['expand a non-1 dim', () => expand(zeros([2, 3]), [2, 4]), /^expand: shapes \[2, 3\] and \[2, 4\] cannot be broadcast together/],
  ['expand to fewer dims', () => expand(zeros([2, 3]), [3]), /^expand: cannot expand \[2, 3\] to \[3\]/],
  ['flatten start after end', () => flatten(zeros([2, 3]), 1, 0), /^flatten: startDim 1 comes after endDim 0/],
  ['squeeze dim out of range', () => squeeze(zeros([2, 3]), 2), /^squeeze: dim 2 is out of range for a tensor of rank 2/],
  ['unsqueeze dim out of range', () => unsqueeze(zeros([2, 3]), 4), /^unsqueeze: dim 4 is out of range for a tensor of rank 3/],
  ['slice step 0', () => slice(zeros([4]), 0, 0, 4, 0), /^slice: step must be a positive integer, got 0/],
  ['slice negative step', () => slice(zeros([4]), 0, 3, 0, -1), /^slice: step must be a positive integer, got -1/],
  ['slice dim out of range', () => slice(zeros([4]), 1), /^slice: dim 1 is out of range for a tensor of rank 1/],
  ['slice fractional start', () => slice(zeros([4]), 0, 1.5), /^slice: start and end must be integers, got start 1\.5/],
  ['narrow past the end', () => narrow(zeros([4]), 0, 2, 3), /^narrow: start 2 and length 3 do not fit dim 0 of size 4/],
  ['narrow negative length', () => narrow(zeros([4]), 0, 0, -1), /^narrow: start 0 and length -1 do not fit dim 0 of size 4/],
  ['narrow fractional start', () => narrow(zeros([4]), 0, 0.5, 2), /^narrow: start 0\.5 and length 2 do not fit/],
  ['pad with an odd count', () => pad(zeros([4]), [1]), /^pad: pads must hold pairs for at most 1 dims, got \[1\]/],
  [
    'pad more dims than the tensor has',
    () => pad(zeros([4]), [1, 1, 1, 1]),
    /^pad: pads must hold pairs for at most 1 dims, got \[1, 1, 1, 1\]/,
  ],
  ['pad negative', () => pad(zeros([4]), [-1, 1]), /^pad: pads must be non-negative integers, got \[-1, 1\]/],
  ['cat of nothing', () => cat([]), /^cat: needs at least one tensor/],
  [
    'cat mismatched shapes',
    () => cat([zeros([2, 3]), zeros([3, 2])], 1),
    /^cat: tensor 1 has shape \[3, 2\], which does not match \[2, 3\] outside dim 1/,
  ],
  ['cat mismatched ranks', () => cat([zeros([2, 3]), zeros([3])]), /^cat: tensor 1 has shape \[3\], which does not match \[2, 3\]/],
  ['cat mismatched dtypes', () => cat([zeros([2, 3]), zeros([2, 3], 'float64')]), /^cat: tensor 1 is float64, tensor 0 is float32/],
  ['cat dim out of range', () => cat([zeros([2, 3]), zeros([2, 3])], 2), /^cat: dim 2 is out of range for a tensor of rank 2/],
  ['stack mismatched shapes', () => stack([zeros([2, 3]), zeros([3, 2])]), /^stack: tensor 1 has shape \[3, 2\], tensor 0 has \[2, 3\]/],
  ['stack dim out of range', () => stack([zeros([2, 3]), zeros([2, 3])], 3), /^stack: dim 3 is out of range for a tensor of rank 3/],
  [
    'indexSelect index out of range',
    () => indexSelect(zeros([2, 3]), 1, [0, 3]),
    /^indexSelect: index 3 is out of range for dim 1 of size 3/,
  ],
  ['indexSelect negative index', () => indexSelect(zeros([2, 3]), 1, [-1]), /^indexSelect: index -1 is out of range for dim 1 of size 3/],
  ['indexSelect fractional index', () => indexSelect(zeros([2, 3]), 1, [0.5]), /^indexSelect: index must hold integers, got 0\.5/],
  [
    'indexSelect float index',
    () => indexSelect(zeros([2, 3]), 1, zeros([2])),
    /^indexSelect: index must be a 1-D int32 tensor, got float32 \[2\]/,
  ],
  [
    'indexSelect 2-D index',
    () => indexSelect(zeros([2, 3]), 1, zeros([1, 1], 'int32')),
    /^indexSelect: index must be a 1-D int32 tensor, got int32 \[1, 1\]/,
  ],
  [
    'indexSelect disposed index',
    () => indexSelect(zeros([2, 3]), 1, disposed([1], 'int32')),
    /^indexSelect: index \(Tensor\(\[1\], int32\)\) was disposed/,
  ],
  ['indexSelect dim out of range', () => indexSelect(zeros([2, 3]), 2, [0]), /^indexSelect: dim 2 is out of range/],
];

const creation: Row[] = [
  ['ragged nested arrays', () => tensor([[1, 2], [3]]), /^tensor: ragged nested array at depth 1 \(1 vs 2 elements\)/],
  ['values that do not fill the shape', () => tensor([1, 2, 3], [2, 2]), /^tensor: 3 values cannot fill shape \[2, 2\] \(4 elements\)/],
  [
    'typed array that does not fill the shape',
    () => tensor(new Float32Array(5), [2, 3]),
    /^tensor: 5 values cannot fill shape \[2, 3\] \(6 elements\)/,
  ],
  ['negative size', () => zeros([-1]), /^full: a shape needs non-negative integer sizes, got \[-1\]/],
  ['fractional size', () => ones([2.5]), /^full: a shape needs non-negative integer sizes, got \[2\.5\]/],
  ['arange step 0', () => arange(0, 3, 0), /^arange: step must be a non-zero finite number, got 0/],
  ['item of several values', () => zeros([2]).item(), /^item: expected a tensor with one element, got shape \[2\]/],
  ['reading a disposed tensor', () => disposed([2]).dataSync(), /Tensor #\d+ \[2\] was disposed and cannot be read/],
];

const autodiff: Row[] = [
  ['grad of a non-scalar', () => grad((x) => mul(x, 2), [zeros([3])]), /^grad: f must return a scalar, got shape \[3\]/],
  ['grad of an int32 result', () => grad((x) => argmax(x), [zeros([3])]), /^grad: f must return a floating-point tensor, got int32/],
  ['grad with a disposed input', () => grad((x) => sum(x), [disposed([3])]), /^sum: input 0 \(Tensor\(\[3\], float32\)\) was disposed/],
  [
    'tape.grad after dispose',
    () => {
      const x = zeros([3]);
      const { output, tape } = record(() => sum(x));
      tape.dispose();
      return tape.grad(output, [x]);
    },
    /^tape\.grad: this tape was disposed/,
  ],
  [
    'tape.grad of a non-scalar without gradOutputs',
    () =>
      onTape(
        () => mul(zeros([3]), 2),
        (tape, out) => tape.grad(out, []),
      ),
    /^tape\.grad: output 0 has shape \[3\]; a non-scalar output needs gradOutputs/,
  ],
  [
    'tape.grad with a gradOutput of the wrong shape',
    () =>
      onTape(
        () => mul(zeros([3]), 2),
        (tape, out) => tape.grad(out, [], { gradOutputs: [zeros([2])] }),
      ),
    /^tape\.grad: gradOutputs\[0\] has shape \[2\], output 0 has shape \[3\]/,
  ],
  [
    'tape.grad with too few gradOutputs',
    () =>
      onTape(
        () => [mul(zeros([3]), 2), mul(zeros([3]), 3)],
        (tape, out) => tape.grad(out, [], { gradOutputs: [ones([3])] }),
      ),
    /^tape\.grad: 2 outputs but 1 gradOutputs/,
  ],
  [
    'activation of an unknown module',
    () =>
      onTape(
        () => sum(zeros([2])),
        (tape) => tape.activation('features.3'),
      ),
    /^tape\.activation: no op ran inside module 'features\.3'/,
  ],
];

const transformer: Row[] = [
  ['gelu of int32', () => gelu(zeros([3], 'int32')), /^gelu: input must be float32 or float64, got int32/],
  [
    'gelu with an unknown approximation',
    () => gelu(zeros([3]), { approximate: untyped('fast') }),
    /^gelu: approximate must be 'none' or 'tanh', got "fast"/,
  ],
  ['erf of a non-tensor', () => erf(untyped(3)), /^erf: expected a Tensor, got number/],
  [
    "layerNorm shape that is not the input's end",
    () => layerNorm(zeros([2, 5, 8]), [5]),
    /^layerNorm: input \[2, 5, 8\] must end in normalizedShape \[5\]/,
  ],
  [
    'layerNorm shape longer than the input',
    () => layerNorm(zeros([8]), [2, 8]),
    /^layerNorm: input \[8\] must end in normalizedShape \[2, 8\]/,
  ],
  [
    'layerNorm empty shape',
    () => layerNorm(zeros([2, 8]), []),
    /^layerNorm: normalizedShape must be one or more positive integers, got \[\]/,
  ],
  ['layerNorm weight of the wrong shape', () => layerNorm(zeros([2, 8]), [8], zeros([4])), /^layerNorm: weight must be \[8\], got \[4\]/],
  [
    'layerNorm float64 bias for float32 input',
    () => layerNorm(zeros([2, 8]), [8], null, zeros([8], 'float64')),
    /^layerNorm: bias must be float32 like the input, got float64/,
  ],
  [
    'layerNorm negative eps',
    () => layerNorm(zeros([2, 8]), 8, null, null, { eps: -1 }),
    /^layerNorm: eps must be a non-negative number, got -1/,
  ],
  ['layerNorm of int32', () => layerNorm(zeros([2, 8], 'int32'), 8), /^layerNorm: input must be float32 or float64, got int32/],
  [
    'attention q of rank 1',
    () => scaledDotProductAttention(zeros([4]), zeros([3, 4]), zeros([3, 4])),
    /^scaledDotProductAttention: q must be \[\.\.\., tokens, features\], got \[4\]/,
  ],
  [
    'attention q and k feature sizes differ',
    () => scaledDotProductAttention(zeros([2, 4]), zeros([3, 5]), zeros([3, 4])),
    /^scaledDotProductAttention: q \[2, 4\] and k \[3, 5\] must have the same feature size/,
  ],
  [
    'attention k and v token counts differ',
    () => scaledDotProductAttention(zeros([2, 4]), zeros([3, 4]), zeros([5, 4])),
    /^scaledDotProductAttention: k \[3, 4\] and v \[5, 4\] must have the same number of tokens/,
  ],
  [
    'attention batch dims that do not broadcast',
    () => scaledDotProductAttention(zeros([2, 2, 4]), zeros([3, 3, 4]), zeros([3, 3, 4])),
    /^scaledDotProductAttention: .*cannot be broadcast/,
  ],
  [
    'attention mixed dtypes',
    () => scaledDotProductAttention(zeros([2, 4]), zeros([3, 4], 'float64'), zeros([3, 4])),
    /^scaledDotProductAttention: q, k and v must share a dtype, got float32, float64 and float32/,
  ],
  [
    'attention mask of the wrong shape',
    () => scaledDotProductAttention(zeros([2, 4]), zeros([3, 4]), zeros([3, 4]), { mask: zeros([2, 2]) }),
    /^scaledDotProductAttention: mask \[2, 2\] does not broadcast to the scores \[2, 3\]/,
  ],
  [
    'attention int32 mask',
    () => scaledDotProductAttention(zeros([2, 4]), zeros([3, 4]), zeros([3, 4]), { mask: zeros([2, 3], 'int32') }),
    /^scaledDotProductAttention: mask must be bool or float32 like q, got int32/,
  ],
  [
    'attention infinite scale',
    () => scaledDotProductAttention(zeros([2, 4]), zeros([3, 4]), zeros([3, 4]), { scale: Infinity }),
    /^scaledDotProductAttention: scale must be a finite number, got Infinity/,
  ],
];

const groups: [string, Row[]][] = [
  ['conv2d', conv],
  ['pooling', pooling],
  ['interpolate', resize],
  ['batchNorm and dropout', norm],
  ['softmax and losses', losses],
  ['linear and matmul', linalg],
  ['elementwise', elementwise],
  ['reductions', reductions],
  ['transformer ops', transformer],
  ['shape ops', shapes],
  ['creation and tensors', creation],
  ['autodiff', autodiff],
];

describe.each(groups)('bad input: %s', (_group, rows) => {
  test.each(rows)('%s', (_what, call, message) => {
    tidy(() => {
      expect(call).toThrow(Error);
      expect(call).toThrow(message);
    });
  });
});

test('a rejected call leaks no tensor', () => {
  const before = numTensors();
  for (const [, rows] of groups) {
    for (const [, call] of rows) {
      tidy(() => {
        try {
          call();
        } catch {
          // expected
        }
      });
    }
  }
  expect(numTensors()).toBe(before);
});
