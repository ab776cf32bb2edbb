import type { DType } from '../dtype';

type None = Record<string, never>;

/** Resolved 2-D window geometry shared by the pooling ops (output size already computed). */
export interface PoolAttrs {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  outSize: [number, number];
}

export interface ConvAttrs {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

/**
 * RoIAlign in avg mode (torchvision's roi_align): the rois are numbers, not inputs (no gradient flows to them, as
 * torchvision's detached proposals), four per roi [x1, y1, x2, y2] in input coordinates, with their batch items.
 */
export interface RoiAlignAttrs {
  rois: number[];
  batchIndices: number[];
  /** Bins per roi: [height, width]. */
  outputSize: [number, number];
  /** Multiplies roi coordinates into map positions (1 / the map's stride). */
  spatialScale: number;
  /** Samples per bin along each axis; 0: ceil(roi size / bins). */
  samplingRatio: number;
  /** torchvision's aligned=True: half-pixel offset, no minimum roi size of 1. */
  aligned: boolean;
}

/** The functions `unaryMath` applies: Math's of the same names. */
export type UnaryMathFn = 'sin' | 'cos' | 'tan' | 'asin' | 'acos' | 'atan' | 'sinh' | 'cosh' | 'asinh' | 'acosh' | 'atanh';

export interface ResizeAttrs {
  outSize: [number, number];
  /** Output-to-input coordinate ratios, as PyTorch's upsample kernels compute them. */
  scale: [number, number];
  alignCorners: boolean;
}

/**
 * Batch normalisation over dim 1 of [N, C, …]. Inputs: [x, weight?, bias?] in training mode (the
 * statistics come from the batch) or [x, mean, var, weight?, bias?] in eval mode; `weight` and `bias`
 * say which of the optional inputs are there (batchNormSlots finds them).
 */
export interface BatchNormAttrs {
  training: boolean;
  eps: number;
  weight: boolean;
  bias: boolean;
}

/** Where each input of a batchNorm node sits (-1: absent). */
export function batchNormSlots(a: BatchNormAttrs): { mean: number; var: number; weight: number; bias: number } {
  let next = a.training ? 1 : 3;
  const weight = a.weight ? next++ : -1;
  const bias = a.bias ? next : -1;
  return { mean: a.training ? -1 : 1, var: a.training ? -1 : 2, weight, bias };
}

/**
 * Layer normalisation over the last `dims` dims of x, as F.layer_norm. Inputs: [x, weight?, bias?],
 * `weight` and `bias` saying which are there (each has x's last `dims` dims as its shape).
 */
export interface LayerNormAttrs {
  dims: number;
  eps: number;
  weight: boolean;
  bias: boolean;
}

export interface SliceAttrs {
  begin: number[];
  end: number[];
  step: number[];
}

/**
 * Every primitive op the tape records, with its attributes. Mapped types over these keys make a
 * missing CPU kernel or a missing gradient rule a compile error.
 */
export interface OpAttrs {
  // elementwise, broadcasting
  add: None;
  sub: None;
  mul: None;
  div: None;
  pow: None;
  maximum: None;
  minimum: None;
  eq: None;
  ne: None;
  lt: None;
  le: None;
  gt: None;
  ge: None;
  where: None;
  // elementwise, unary
  neg: None;
  exp: None;
  log: None;
  sqrt: None;
  abs: None;
  sign: None;
  relu: None;
  sigmoid: None;
  tanh: None;
  erf: None;
  /** The trigonometric and hyperbolic functions and their inverses, elementwise (Math's, in float64, rounded once). */
  unaryMath: { fn: UnaryMathFn };
  /** x·Φ(x) exactly (erf), or with PyTorch's tanh approximation of Φ. */
  gelu: { approximate: 'none' | 'tanh' };
  /** The vanilla gradient of relu from inputs [dy, x] (same shape and float dtype): dy where x > 0, else +0. */
  reluBackward: None;
  /** The vanilla gradient of gelu from inputs [dy, x] (same shape and float dtype): dy·gelu′(x), one pass. */
  geluBackward: { approximate: 'none' | 'tanh' };
  clamp: { min: number | null; max: number | null };
  clampBackward: { min: number | null; max: number | null };
  cast: { dtype: DType };
  softmax: { dim: number };
  logSoftmax: { dim: number };
  /** The vanilla gradient of softmax along `dim` from inputs [dy, y] (y the softmax's output): y·(dy − Σ dy·y). */
  softmaxBackward: { dim: number };
  // reductions
  sum: { dims: number[]; keepdim: boolean };
  mean: { dims: number[]; keepdim: boolean };
  max: { dims: number[]; keepdim: boolean };
  min: { dims: number[]; keepdim: boolean };
  argmax: { dim: number | null; keepdim: boolean };
  argmin: { dim: number | null; keepdim: boolean };
  var: { dims: number[]; correction: number; keepdim: boolean };
  // shape and data movement
  reshape: { shape: number[] };
  permute: { dims: number[] };
  expand: { shape: number[] };
  slice: SliceAttrs;
  /** The adjoint of slice: places the input into zeros of `shape`. */
  unslice: SliceAttrs & { shape: number[] };
  /** Constant padding; `pads` has a [before, after] pair for every dimension, outermost first. */
  pad: { pads: [number, number][]; value: number };
  cat: { dim: number };
  indexSelect: { dim: number };
  /** The adjoint of indexSelect: sums the input's slices into zeros of length `size` along `dim`. */
  indexAdd: { dim: number; size: number };
  // linear algebra
  matmul: { transA: boolean; transB: boolean };
  linear: None;
  conv2d: ConvAttrs;
  conv2dBackwardInput: ConvAttrs & { inputShape: number[] };
  conv2dBackwardWeight: ConvAttrs & { weightShape: number[] };
  // normalisation
  /**
   * Per-channel normalisation and affine map; in training mode also returns the batch mean and the
   * biased batch variance ([C], non-differentiable extras) that it normalised with.
   */
  batchNorm: BatchNormAttrs;
  /**
   * dx of training-mode batchNorm from inputs [dy, x, mean, var, weight?] (the batch statistics);
   * its extra outputs Σdy and Σdy·x̂ ([C] each, non-differentiable) are the bias and weight gradients.
   */
  batchNormBackward: { eps: number };
  layerNorm: LayerNormAttrs;
  /**
   * dx of layerNorm over the last `dims` dims from inputs [dy, x, weight?]; its extra output Σ dy·x̂ over the
   * rows (the normalised shape, non-differentiable) is the weight gradient.
   */
  layerNormBackward: { dims: number; eps: number };
  // pooling and resizing
  maxPool2d: PoolAttrs;
  avgPool2d: PoolAttrs & { countIncludePad: boolean; divisorOverride: number | null };
  avgPool2dBackward: PoolAttrs & { countIncludePad: boolean; divisorOverride: number | null; inputShape: number[] };
  adaptiveAvgPool2d: { outSize: [number, number] };
  adaptiveAvgPool2dBackward: { inputShape: number[] };
  adaptiveMaxPool2d: { outSize: [number, number] };
  /** Reads each [N, C] plane at flat indices (the adjoint of scatterPlanes). */
  gatherPlanes: None;
  /** Adds each [N, C] plane's values at flat indices into zero planes of `planeShape`. */
  scatterPlanes: { planeShape: [number, number] };
  upsampleNearest2d: ResizeAttrs;
  upsampleNearest2dBackward: ResizeAttrs & { inputShape: number[] };
  upsampleBilinear2d: ResizeAttrs;
  upsampleBilinear2dBackward: ResizeAttrs & { inputShape: number[] };
  /** [R, C, outH, outW] bins averaged from x [N, C, H, W]. */
  roiAlign: RoiAlignAttrs;
  roiAlignBackward: RoiAlignAttrs & { inputShape: number[] };
}

export type OpName = keyof OpAttrs;
