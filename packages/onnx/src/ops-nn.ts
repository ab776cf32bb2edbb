import * as t from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Attrs } from './attrs';
import type { OpTable } from './op-context';
import { axis, float, input, ints } from './op-context';
import type { Value } from './values';
import { asTensor } from './values';

/** Per-side paddings [top, left, bottom, right] for a 2-D window op, with auto_pad resolved. */
function windowPads(attrs: Attrs, x: Tensor, kernel: number[], stride: number[], dilation: number[]): number[] {
  const autoPad = attrs.string('auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') return attrs.ints('pads') ?? [0, 0, 0, 0];
  if (autoPad === 'VALID') return [0, 0, 0, 0];
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER')
    throw new Error(`auto_pad '${autoPad}' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER`);
  const pads = [0, 0, 0, 0];
  for (let i = 0; i < 2; i++) {
    const size = x.shape[2 + i]!;
    const out = Math.ceil(size / stride[i]!);
    const total = Math.max(0, (out - 1) * stride[i]! + (kernel[i]! - 1) * dilation[i]! + 1 - size);
    const small = Math.floor(total / 2);
    pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
    pads[i + 2] = total - pads[i]!;
  }
  return pads;
}

function require4d(x: Tensor, op: string): void {
  if (x.rank !== 4) throw new Error(`${op} on a ${x.rank}-D input [${x.shape.join(', ')}]: gradlens supports the 2-D (4-D input) form`);
}

/** Pads explicitly when the window op cannot (asymmetric pads, or pads larger than half a window). */
function padIfNeeded(x: Tensor, pads: number[], kernel: number[] | null, value: number): { x: Tensor; padding: [number, number] } {
  const symmetric = pads[0] === pads[2] && pads[1] === pads[3];
  const small = !kernel || (pads[0]! <= Math.floor(kernel[0]! / 2) && pads[1]! <= Math.floor(kernel[1]! / 2));
  if (symmetric && small) return { x, padding: [pads[0]!, pads[1]!] };
  return { x: t.pad(x, [pads[1]!, pads[3]!, pads[0]!, pads[2]!], value), padding: [0, 0] };
}

function reduce(fn: (x: Tensor, o: t.ReduceOptions) => Tensor, axesFromInputSince: number) {
  return ({ values, attrs, opset }: { values: (Value | null)[]; attrs: Attrs; opset: number }): Value[] => {
    const x = float(input(values, 0));
    const given = opset >= axesFromInputSince ? ints(values[1], 'axes') : attrs.ints('axes');
    const keepdim = attrs.int('keepdims', 1) === 1;
    if ((!given || given.length === 0) && attrs.int('noop_with_empty_axes', 0) === 1) return [x];
    const dims = given && given.length ? given.map((a) => axis(a, x.rank)) : x.shape.map((_, i) => i);
    return [fn(x, { dim: dims, keepdim })];
  };
}

/** Softmax/LogSoftmax: from opset 13 along one axis (default -1); before, over the flattened dims from `axis` (default 1). */
function softmaxLike(fn: (x: Tensor, dim: number) => Tensor) {
  return ({ values, attrs, opset }: { values: (Value | null)[]; attrs: Attrs; opset: number }): Value[] => {
    const x = float(input(values, 0));
    if (opset >= 13) return [fn(x, axis(attrs.int('axis', -1), x.rank))];
    const a = axis(attrs.int('axis', 1), x.rank);
    if (a === x.rank - 1) return [fn(x, a)];
    const outer = x.shape.slice(0, a).reduce((p, q) => p * q, 1);
    return [t.reshape(fn(t.reshape(x, [outer, x.size / outer]), 1), x.shape)];
  };
}

/** Layers: convolution, dense products, normalisation, pooling, softmax and reductions. */
export const nnOps: OpTable = {
  Conv: {
    run: ({ values, attrs }) => {
      const x = float(input(values, 0));
      require4d(x, 'Conv');
      const w = asTensor(input(values, 1), x);
      const b = values[2] ? asTensor(values[2], x) : null;
      const kernel = attrs.ints('kernel_shape') ?? [w.shape[2]!, w.shape[3]!];
      const stride = attrs.ints('strides') ?? [1, 1];
      const dilation = attrs.ints('dilations') ?? [1, 1];
      const p = padIfNeeded(x, windowPads(attrs, x, kernel, stride, dilation), null, 0);
      return [
        t.conv2d(p.x, w, b, {
          stride: stride as [number, number],
          dilation: dilation as [number, number],
          padding: p.padding,
          groups: attrs.int('group', 1),
        }),
      ];
    },
  },
  MatMul: {
    run: ({ values }) => {
      const a = float(input(values, 0));
      return [t.matmul(a, asTensor(input(values, 1), a))];
    },
  },
  Gemm: {
    run: ({ values, attrs }) => {
      let a = float(input(values, 0));
      let b = asTensor(input(values, 1), a);
      const c = values[2] ? asTensor(values[2], a) : null;
      const alpha = attrs.float('alpha', 1);
      const beta = attrs.float('beta', 1);
      const transA = attrs.int('transA', 0) === 1;
      const transB = attrs.int('transB', 0) === 1;
      // The torch export (x · Wᵀ + b) runs as linear, the op nn's Linear uses, so rules and timings match.
      if (!transA && transB && alpha === 1 && beta === 1 && (!c || c.rank === 1)) return [t.linear(a, b, c)];
      if (transA) a = t.transpose(a, 0, 1);
      if (transB) b = t.transpose(b, 0, 1);
      let y = t.matmul(a, b);
      if (alpha !== 1) y = t.mul(y, alpha);
      if (c) y = t.add(y, beta === 1 ? c : t.mul(c, beta));
      return [y];
    },
  },
  BatchNormalization: {
    run: ({ values, attrs, outputs }) => {
      if (outputs > 1 || attrs.int('training_mode', 0) === 1)
        throw new Error('BatchNormalization in training mode is not supported (export the model in eval mode)');
      const x = float(input(values, 0));
      const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => asTensor(input(values, i), x));
      return [t.batchNorm(x, mean!, variance!, scale, bias, { eps: attrs.float('epsilon', 1e-5) })];
    },
  },
  LayerNormalization: {
    since: 17,
    run: ({ values, attrs, outputs }) => {
      if (outputs > 1) throw new Error('LayerNormalization with Mean/InvStdDev outputs is not supported');
      const x = float(input(values, 0));
      const a = axis(attrs.int('axis', -1), x.rank);
      const shape = x.shape.slice(a);
      const fit = (v: Value | null) => (v ? t.reshape(asTensor(v, x), shape) : null);
      // layerNorm takes weight and bias of the normalised shape; ONNX lets them broadcast to it.
      const expandTo = (v: Tensor | null) => (v && v.size !== shape.reduce((p, q) => p * q, 1) ? t.expand(v, shape) : v);
      return [
        t.layerNorm(x, shape, expandTo(fit(values[1] ?? null)), expandTo(fit(values[2] ?? null)), { eps: attrs.float('epsilon', 1e-5) }),
      ];
    },
  },
  InstanceNormalization: {
    run: ({ values, attrs }) => {
      const x = float(input(values, 0));
      const dims = x.shape.map((_, i) => i).slice(2);
      const m = t.mean(x, { dim: dims, keepdim: true });
      const v = t.variance(x, { dim: dims, keepdim: true, correction: 0 });
      const cshape = [x.shape[1]!, ...dims.map(() => 1)];
      const scale = t.reshape(asTensor(input(values, 1), x), cshape);
      const bias = t.reshape(asTensor(input(values, 2), x), cshape);
      return [t.add(t.mul(t.div(t.sub(x, m), t.sqrt(t.add(v, attrs.float('epsilon', 1e-5)))), scale), bias)];
    },
  },
  GlobalAveragePool: {
    run: ({ values }) => {
      const x = float(input(values, 0));
      return [x.rank === 4 ? t.adaptiveAvgPool2d(x, 1) : t.mean(x, { dim: x.shape.map((_, i) => i).slice(2), keepdim: true })];
    },
  },
  GlobalMaxPool: {
    run: ({ values }) => {
      const x = float(input(values, 0));
      return [x.rank === 4 ? t.adaptiveMaxPool2d(x, 1) : t.max(x, { dim: x.shape.map((_, i) => i).slice(2), keepdim: true })];
    },
  },
  MaxPool: {
    run: ({ values, attrs, outputs }) => {
      if (outputs > 1) throw new Error('MaxPool with an Indices output is not supported');
      const x = float(input(values, 0));
      require4d(x, 'MaxPool');
      const kernel = attrs.ints('kernel_shape')!;
      const stride = attrs.ints('strides') ?? [1, 1];
      const dilation = attrs.ints('dilations') ?? [1, 1];
      const p = padIfNeeded(x, windowPads(attrs, x, kernel, stride, dilation), kernel, -Infinity);
      return [
        t.maxPool2d(p.x, {
          kernelSize: kernel as [number, number],
          stride: stride as [number, number],
          padding: p.padding,
          dilation: dilation as [number, number],
          ceilMode: attrs.int('ceil_mode', 0) === 1,
        }),
      ];
    },
  },
  AveragePool: {
    run: ({ values, attrs }) => {
      const x = float(input(values, 0));
      require4d(x, 'AveragePool');
      const kernel = attrs.ints('kernel_shape')!;
      const stride = attrs.ints('strides') ?? [1, 1];
      const pads = windowPads(attrs, x, kernel, stride, [1, 1]);
      const countIncludePad = attrs.int('count_include_pad', 0) === 1;
      const symmetric =
        pads[0] === pads[2] && pads[1] === pads[3] && pads[0]! <= Math.floor(kernel[0]! / 2) && pads[1]! <= Math.floor(kernel[1]! / 2);
      if (!symmetric && !countIncludePad && pads.some((v) => v > 0)) {
        throw new Error(`AveragePool with asymmetric pads [${pads.join(', ')}] and count_include_pad=0 is not supported`);
      }
      const p = padIfNeeded(x, pads, kernel, 0);
      return [
        t.avgPool2d(p.x, {
          kernelSize: kernel as [number, number],
          stride: stride as [number, number],
          padding: p.padding,
          ceilMode: attrs.int('ceil_mode', 0) === 1,
          countIncludePad,
        }),
      ];
    },
  },
  Softmax: { run: (ctx) => softmaxLike(t.softmax)(ctx) },
  LogSoftmax: { run: (ctx) => softmaxLike(t.logSoftmax)(ctx) },
  ReduceMean: { run: (ctx) => reduce(t.mean, 18)(ctx) },
  ReduceSum: { run: (ctx) => reduce(t.sum, 13)(ctx) },
  ReduceMax: { run: (ctx) => reduce(t.max, 18)(ctx) },
};
