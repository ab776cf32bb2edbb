import * as t from '@gradlens/tensor';
import { Tensor } from '@gradlens/tensor';
import type { Attrs } from './attrs';
import type { OpTable } from './op-context';
import { axis, float, input } from './op-context';
import type { Value } from './values';
import { asTensor } from './values';

/**
 * A window op's input as 4-D and its geometry (kernel, stride, dilation, per-side pads [top, left, bottom,
 * right] with auto_pad resolved): 2-D as given, 1-D ([N, C, L]) lifted to a unit height, so one 2-D kernel
 * serves both. `kernel` is the op's own when it has no kernel_shape (a convolution's weight).
 */
interface Window {
  x: Tensor;
  kernel: number[];
  stride: number[];
  dilation: number[];
  pads: number[];
  /** The input was 1-D: the result drops the unit height again. */
  lifted: boolean;
}

function windowOf(op: string, attrs: Attrs, input: Tensor, kernel?: number[]): Window {
  if (input.rank !== 3 && input.rank !== 4)
    throw new Error(
      `${op} on a ${input.rank}-D input [${input.shape.join(', ')}]: gradlens supports the 1-D and 2-D (3-D and 4-D input) forms`,
    );
  const lifted = input.rank === 3;
  const sides = input.rank - 2;
  const given = (name: string, fallback: number): number[] => {
    const v = attrs.ints(name) ?? new Array<number>(sides).fill(fallback);
    if (v.length !== sides) throw new Error(`${op} ${name} [${v.join(', ')}] must hold ${sides} values, one per spatial axis`);
    return lifted ? [1, ...v] : v;
  };
  const x = lifted ? t.reshape(input, [input.shape[0]!, input.shape[1]!, 1, input.shape[2]!]) : input;
  const k = attrs.has('kernel_shape') ? given('kernel_shape', 1) : kernel;
  if (!k) throw new Error(`${op} needs kernel_shape`);
  const stride = given('strides', 1);
  const dilation = given('dilations', 1);
  return { x, kernel: k, stride, dilation, pads: windowPads(attrs, x, k, stride, dilation, lifted, op), lifted };
}

/** Per-side paddings [top, left, bottom, right] of a 2-D window, with auto_pad resolved. */
function windowPads(
  attrs: Attrs,
  x: Tensor,
  kernel: number[],
  stride: number[],
  dilation: number[],
  lifted: boolean,
  op: string,
): number[] {
  const autoPad = attrs.string('auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') {
    const pads = attrs.ints('pads');
    if (!pads) return [0, 0, 0, 0];
    if (pads.length !== (lifted ? 2 : 4)) throw new Error(`${op} pads [${pads.join(', ')}] must hold a begin and an end per spatial axis`);
    return lifted ? [0, pads[0]!, 0, pads[1]!] : pads;
  }
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

/** A 2-D result back in the input's rank (a lifted 1-D input drops its unit height). */
function unlift(y: Tensor, w: Window): Tensor {
  return w.lifted ? t.reshape(y, [y.shape[0]!, y.shape[1]!, y.shape[3]!]) : y;
}

/** Pads explicitly when the window op cannot (asymmetric pads, or pads larger than half a window). */
function padIfNeeded(x: Tensor, pads: number[], kernel: number[] | null, value: number): { x: Tensor; padding: [number, number] } {
  const symmetric = pads[0] === pads[2] && pads[1] === pads[3];
  const small = !kernel || (pads[0]! <= Math.floor(kernel[0]! / 2) && pads[1]! <= Math.floor(kernel[1]! / 2));
  if (symmetric && small) return { x, padding: [pads[0]!, pads[1]!] };
  return { x: t.pad(x, [pads[1]!, pads[3]!, pads[0]!, pads[2]!], value), padding: [0, 0] };
}

/**
 * MaxPool's Indices output from the per-plane positions h·W + w of maxPool2dWithIndices (in the explicitly padded
 * plane of width `paddedWidth` when there is one): ONNX counts over the whole input, ((n·C + c)·H + h)·W + w, or
 * column-major within each plane with storage_order 1. An index has no gradient: it is computed in JavaScript.
 */
function onnxIndices(indices: Tensor, win: Window, paddedWidth: number, columnMajor: boolean): Tensor {
  const [h, w] = [win.x.shape[2]!, win.x.shape[3]!];
  const explicit = paddedWidth !== w;
  const [top, left] = explicit ? [win.pads[0]!, win.pads[1]!] : [0, 0];
  const planeSize = indices.shape[2]! * indices.shape[3]!;
  const out = Int32Array.from(indices.values(), (v, k) => {
    const row = Math.floor(v / paddedWidth) - top;
    const col = (v % paddedWidth) - left;
    return Math.floor(k / planeSize) * h * w + (columnMajor ? col * h + row : row * w + col);
  });
  return new Tensor(out, indices.shape, 'int32');
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

/** Layers: convolution, dense products, normalisation, pooling and softmax. */
export const nnOps: OpTable = {
  Conv: {
    run: ({ values, attrs }) => {
      const x = float(input(values, 0));
      let w = asTensor(input(values, 1), x);
      if (w.rank !== x.rank) throw new Error(`weight [${w.shape.join(', ')}] must be ${x.rank}-D like the input [${x.shape.join(', ')}]`);
      if (w.rank === 3) w = t.reshape(w, [w.shape[0]!, w.shape[1]!, 1, w.shape[2]!]);
      const b = values[2] ? asTensor(values[2], x) : null;
      const win = windowOf('Conv', attrs, x, w.shape.slice(2));
      const p = padIfNeeded(win.x, win.pads, null, 0);
      const y = t.conv2d(p.x, w, b, {
        stride: win.stride as [number, number],
        dilation: win.dilation as [number, number],
        padding: p.padding,
        groups: attrs.int('group', 1),
      });
      return [unlift(y, win)];
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
      const x = float(input(values, 0));
      const a = axis(attrs.int('axis', -1), x.rank);
      const shape = x.shape.slice(a);
      const eps = attrs.float('epsilon', 1e-5);
      const fit = (v: Value | null) => (v ? t.reshape(asTensor(v, x), shape) : null);
      // layerNorm takes weight and bias of the normalised shape; ONNX lets them broadcast to it.
      const expandTo = (v: Tensor | null) => (v && v.size !== shape.reduce((p, q) => p * q, 1) ? t.expand(v, shape) : v);
      const y = t.layerNorm(x, shape, expandTo(fit(values[1] ?? null)), expandTo(fit(values[2] ?? null)), { eps });
      if (outputs === 1) return [y];
      // The optional Mean and InvStdDev outputs, of x's leading dims with ones for the normalised ones.
      const dim = shape.map((_, i) => a + i);
      const mean = t.mean(x, { dim, keepdim: true });
      const invStdDev = t.div(1, t.sqrt(t.add(t.variance(x, { dim, keepdim: true, correction: 0 }), eps)));
      return [y, mean, invStdDev].slice(0, outputs);
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
      const win = windowOf('MaxPool', attrs, float(input(values, 0)));
      const p = padIfNeeded(win.x, win.pads, win.kernel, -Infinity);
      const options = {
        kernelSize: win.kernel as [number, number],
        stride: win.stride as [number, number],
        padding: p.padding,
        dilation: win.dilation as [number, number],
        ceilMode: attrs.int('ceil_mode', 0) === 1,
      };
      if (outputs === 1) return [unlift(t.maxPool2d(p.x, options), win)];
      const { output, indices } = t.maxPool2dWithIndices(p.x, options);
      return [unlift(output, win), unlift(onnxIndices(indices, win, p.x.shape[3]!, attrs.int('storage_order', 0) === 1), win)];
    },
  },
  AveragePool: {
    run: ({ values, attrs }) => {
      const win = windowOf('AveragePool', attrs, float(input(values, 0)));
      const { kernel, pads } = win;
      if (win.dilation.some((d) => d !== 1)) throw new Error(`AveragePool dilations [${win.dilation.join(', ')}] are not supported`);
      const countIncludePad = attrs.int('count_include_pad', 0) === 1;
      const symmetric =
        pads[0] === pads[2] && pads[1] === pads[3] && pads[0]! <= Math.floor(kernel[0]! / 2) && pads[1]! <= Math.floor(kernel[1]! / 2);
      const p = padIfNeeded(win.x, pads, kernel, 0);
      const pool = (v: Tensor, include: boolean) =>
        t.avgPool2d(v, {
          kernelSize: kernel as [number, number],
          stride: win.stride as [number, number],
          padding: p.padding,
          ceilMode: attrs.int('ceil_mode', 0) === 1,
          countIncludePad: include,
        });
      if (symmetric || countIncludePad || pads.every((v) => v === 0)) return [unlift(pool(p.x, countIncludePad), win)];
      // Explicit padding the window op cannot count out: the mean over the window's real pixels is the padded
      // input's window mean divided by the window mean of a mask of ones on the real pixels.
      const mask = t.pad(t.onesLike(win.x), [pads[1]!, pads[3]!, pads[0]!, pads[2]!], 0);
      return [unlift(t.div(pool(p.x, true), pool(mask, true)), win)];
    },
  },
  Softmax: { run: (ctx) => softmaxLike(t.softmax)(ctx) },
  LogSoftmax: { run: (ctx) => softmaxLike(t.logSoftmax)(ctx) },
};
