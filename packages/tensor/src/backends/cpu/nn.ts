import type { FloatDType } from '../../dtype';
import type { ConvAttrs, PoolAttrs, ResizeAttrs } from '../../ops/op-attrs';
import type { NamedKernelTable } from '../backend';
import { matmulDims, windowOutSize } from '../../shape';
import type { Tensor } from '../../tensor';
import * as k from './kernels';
import { floats, output, outputToFill } from './util';

/** Batch, channels and plane of an [N, C, H, W] shape, as the geometry records name them. */
function inputDims(x: readonly number[]): { batch: number; channels: number; inHeight: number; inWidth: number } {
  const [batch, channels, inHeight, inWidth] = x as [number, number, number, number];
  return { batch, channels, inHeight, inWidth };
}

/** The stride, padding and dilation fields of a conv or pool geometry from resolved [h, w] pairs. */
function windowDims(a: Pick<ConvAttrs, 'stride' | 'padding' | 'dilation'>) {
  return {
    strideH: a.stride[0],
    strideW: a.stride[1],
    padH: a.padding[0],
    padW: a.padding[1],
    dilationH: a.dilation[0],
    dilationW: a.dilation[1],
  };
}

function convGeometry(xShape: readonly number[], wShape: readonly number[], outShape: readonly number[], a: ConvAttrs): k.Conv2dGeometry {
  const { channels: inChannels, ...input } = inputDims(xShape);
  const [outChannels, , kernelHeight, kernelWidth] = wShape as [number, number, number, number];
  return {
    ...input,
    inChannels,
    outChannels,
    kernelHeight,
    kernelWidth,
    ...windowDims(a),
    groups: a.groups,
    outHeight: outShape[2]!,
    outWidth: outShape[3]!,
  };
}

function poolGeometry(x: readonly number[], a: PoolAttrs): k.Pool2dGeometry {
  return { ...inputDims(x), kernelH: a.kernel[0], kernelW: a.kernel[1], ...windowDims(a), outHeight: a.outSize[0], outWidth: a.outSize[1] };
}

function adaptiveGeometry(x: readonly number[], outSize: readonly number[]): k.AdaptivePoolGeometry {
  return { ...inputDims(x), outHeight: outSize[0]!, outWidth: outSize[1]! };
}

function resizeGeometry(x: readonly number[], a: ResizeAttrs): k.ResizeGeometry {
  return {
    ...inputDims(x),
    outHeight: a.outSize[0],
    outWidth: a.outSize[1],
    scaleH: a.scale[0],
    scaleW: a.scale[1],
    alignCorners: a.alignCorners,
  };
}

const nchw = (x: Tensor, outSize: readonly number[]) => [x.shape[0]!, x.shape[1]!, outSize[0]!, outSize[1]!];
const dtypeOf = (x: Tensor) => x.dtype as FloatDType;

export const nnKernels = {
  matmul: ({ a, b }, { transA, transB }) => {
    const { batchShape, m, n, ...dims } = matmulDims(a.shape, b.shape, transA, transB);
    const { t, v } = output([...batchShape, m, n], dtypeOf(a));
    k.matmul(floats(a), floats(b), v, { m, n, ...dims, transA, transB });
    return { out: t };
  },
  linear: ({ x, weight, bias }) => {
    const inF = weight.shape[1]!,
      outF = weight.shape[0]!;
    const rows = x.size / inF;
    const { t, v } = output([...x.shape.slice(0, -1), outF], dtypeOf(x));
    k.matmul(floats(x), floats(weight), v, {
      batch: 1,
      m: rows,
      n: outF,
      k: inF,
      transA: false,
      transB: true,
      aBatchStride: 0,
      bBatchStride: 0,
      bias: bias ? floats(bias) : null,
    });
    return { out: t };
  },
  conv2d: ({ x, weight, bias }, a) => {
    const [oh, ow] = [0, 1].map((i) => windowOutSize(x.shape[2 + i]!, weight.shape[2 + i]!, a.stride[i]!, a.padding[i]!, a.dilation[i]!));
    const shape = [x.shape[0]!, weight.shape[0]!, oh!, ow!];
    const { t, v } = outputToFill(shape, dtypeOf(x)); // every path overwrites (its tests start from NaN)
    k.conv2dForward(floats(x), floats(weight), bias ? floats(bias) : null, convGeometry(x.shape, weight.shape, shape, a), v);
    return { out: t };
  },
  conv2dBackwardInput: ({ dy, weight }, a) => {
    const { t, v } = outputToFill(a.inputShape, dtypeOf(dy)); // overwritten, as above
    k.conv2dBackwardInput(floats(dy), floats(weight), convGeometry(a.inputShape, weight.shape, dy.shape, a), v);
    return { out: t };
  },
  conv2dBackwardWeight: ({ x, dy }, a) => {
    const { t, v } = outputToFill(a.weightShape, dtypeOf(x)); // overwritten, as above
    k.conv2dBackwardWeight(floats(x), floats(dy), convGeometry(x.shape, a.weightShape, dy.shape, a), v);
    return { out: t };
  },
  maxPool2d: ({ x }, a) => {
    const shape = nchw(x, a.outSize);
    const { t, v } = outputToFill(shape, dtypeOf(x)); // values and indices overwritten (tests start from NaN, -7)
    const idx = outputToFill(shape, 'int32');
    k.maxPool2dForward(floats(x), poolGeometry(x.shape, a), v, idx.v);
    return { out: t, extras: [idx.t] };
  },
  avgPool2d: ({ x }, a) => {
    const { t, v } = output(nchw(x, a.outSize), dtypeOf(x));
    k.avgPool2dForward(floats(x), poolGeometry(x.shape, a), a.countIncludePad, a.divisorOverride, v);
    return { out: t };
  },
  avgPool2dBackward: ({ dy }, a) => {
    const { t, v } = output(a.inputShape, dtypeOf(dy));
    k.avgPool2dBackward(floats(dy), poolGeometry(a.inputShape, a), a.countIncludePad, a.divisorOverride, v);
    return { out: t };
  },
  adaptiveAvgPool2d: ({ x }, { outSize }) => {
    const { t, v } = output(nchw(x, outSize), dtypeOf(x));
    k.adaptiveAvgPool2dForward(floats(x), adaptiveGeometry(x.shape, outSize), v);
    return { out: t };
  },
  adaptiveAvgPool2dBackward: ({ dy }, { inputShape }) => {
    const { t, v } = output(inputShape, dtypeOf(dy));
    k.adaptiveAvgPool2dBackward(floats(dy), adaptiveGeometry(inputShape, dy.shape.slice(2)), v);
    return { out: t };
  },
  adaptiveMaxPool2d: ({ x }, { outSize }) => {
    const shape = nchw(x, outSize);
    const { t, v } = output(shape, dtypeOf(x));
    const idx = output(shape, 'int32');
    k.adaptiveMaxPool2dForward(floats(x), adaptiveGeometry(x.shape, outSize), v, idx.v);
    return { out: t, extras: [idx.t] };
  },
  upsampleNearest2d: ({ x }, a) => {
    const { t, v } = output(nchw(x, a.outSize), dtypeOf(x));
    k.upsampleNearest2dForward(floats(x), resizeGeometry(x.shape, a), v);
    return { out: t };
  },
  upsampleNearest2dBackward: ({ dy }, a) => {
    const { t, v } = output(a.inputShape, dtypeOf(dy));
    k.upsampleNearest2dBackward(floats(dy), resizeGeometry(a.inputShape, a), v);
    return { out: t };
  },
  upsampleBilinear2d: ({ x }, a) => {
    const { t, v } = output(nchw(x, a.outSize), dtypeOf(x));
    k.upsampleBilinear2dForward(floats(x), resizeGeometry(x.shape, a), v);
    return { out: t };
  },
  upsampleBilinear2dBackward: ({ dy }, a) => {
    const { t, v } = output(a.inputShape, dtypeOf(dy));
    k.upsampleBilinear2dBackward(floats(dy), resizeGeometry(a.inputShape, a), v);
    return { out: t };
  },
  roiAlign: ({ x }, a) => {
    const { t, v } = outputToFill([a.batchIndices.length, x.shape[1]!, ...a.outputSize], dtypeOf(x));
    k.roiAlignForward(floats(x), x.shape, a, v);
    return { out: t };
  },
  roiAlignBackward: ({ dy }, a) => {
    const { t, v } = output(a.inputShape, dtypeOf(dy));
    k.roiAlignBackward(floats(dy), a.inputShape, a, v);
    return { out: t };
  },
} satisfies Partial<NamedKernelTable>;
