import * as t from '@gradlens/tensor';
import { Tensor } from '@gradlens/tensor';
import type { Attrs } from './attrs';
import type { OpTable } from './op-context';
import { axis, checkElements, float, input } from './op-context';
import type { Value } from './values';
import { asTensor } from './values';

/**
 * A window op's input as 4-D and its 2-D geometry (kernel, stride, dilation, per-side pads [top, left, bottom,
 * right] with auto_pad resolved). 2-D runs as given; 1-D ([N, C, L]) is lifted to a unit height; with more
 * spatial axes, those the window leaves alone (kernel 1, stride 1, no padding: as torch.onnx's LRN pools over
 * [N, 1, C, H, W]) fold into the batch, and at most two windowed axes remain. `kernel` is the op's own when it
 * has no kernel_shape (a convolution's weight, its spatial dims).
 */
interface Window {
  x: Tensor;
  kernel: number[];
  stride: number[];
  dilation: number[];
  pads: number[];
  /** The 2-D result back in the input's layout. */
  restore: (y: Tensor) => Tensor;
  /** Axes were folded into the batch (more than 2 spatial axes). */
  folded: boolean;
}

function windowOf(op: string, attrs: Attrs, input: Tensor, kernel?: number[]): Window {
  const sides = input.rank - 2;
  if (sides < 1) throw new Error(`${op} needs [N, C, …spatial], got [${input.shape.join(', ')}]`);
  const given = (name: string, fallback: number): number[] => {
    const v = attrs.ints(name) ?? new Array<number>(sides).fill(fallback);
    if (v.length !== sides) throw new Error(`${op} ${name} [${v.join(', ')}] must hold ${sides} values, one per spatial axis`);
    return v;
  };
  const k = attrs.has('kernel_shape') ? given('kernel_shape', 1) : kernel;
  if (!k) throw new Error(`${op} needs kernel_shape`);
  if (k.length !== sides) throw new Error(`${op} kernel [${k.join(', ')}] does not match the input's ${sides} spatial axes`);
  const stride = given('strides', 1);
  const dilation = given('dilations', 1);
  const spatial = input.shape.slice(2);
  const pads = windowPads(attrs, spatial, k, stride, dilation, op);
  // The kernels pad the input in memory: the file's pads must not make that copy past the size limit.
  checkElements(
    [...input.shape.slice(0, 2), ...spatial.map((s, i) => s + Math.max(0, pads[i]!) + Math.max(0, pads[i + sides]!))],
    `${op}'s padded input`,
  );
  if (sides === 2) return { x: input, kernel: k, stride, dilation, pads, restore: (y) => y, folded: false };

  const windowed = spatial.map((_, i) => i).filter((i) => k[i]! > 1 || stride[i]! > 1 || pads[i] !== 0 || pads[i + sides] !== 0);
  if (windowed.length > 2)
    throw new Error(
      `${op} windows ${windowed.length} spatial axes of [${input.shape.join(', ')}]: gradlens supports windows over one or two axes`,
    );
  const keep = windowed.length > 0 ? windowed : [sides - 1];
  const rest = spatial.map((_, i) => i).filter((i) => !keep.includes(i));
  const [n, c] = [input.shape[0]!, input.shape[1]!];
  const restSizes = rest.map((i) => spatial[i]!);
  const batch = n * restSizes.reduce((a, b) => a * b, 1);
  const order = [0, ...rest.map((i) => i + 2), 1, ...keep.map((i) => i + 2)];
  const moved = sides === 1 ? input : t.permute(input, order);
  // One windowed axis runs as 2-D of unit height.
  const unit = keep.length === 1;
  const pick = (v: number[], fill: number) => (unit ? [fill, v[keep[0]!]!] : keep.map((i) => v[i]!));
  const x = t.reshape(moved, [batch, c, ...(unit ? [1] : []), ...keep.map((i) => spatial[i]!)]);
  const restore = (y: Tensor): Tensor => {
    const out = y.shape.slice(unit ? 3 : 2);
    const back = t.reshape(y, [n, ...restSizes, y.shape[1]!, ...out]);
    if (sides === 1) return back;
    return t.permute(
      back,
      Array.from({ length: sides + 2 }, (_, axisInInput) => order.indexOf(axisInInput)),
    );
  };
  const begin = pads.slice(0, sides);
  const end = pads.slice(sides);
  const flatPads = unit ? [0, begin[keep[0]!]!, 0, end[keep[0]!]!] : [...keep.map((i) => begin[i]!), ...keep.map((i) => end[i]!)];
  return { x, kernel: pick(k, 1), stride: pick(stride, 1), dilation: pick(dilation, 1), pads: flatPads, restore, folded: sides > 2 };
}

/** Per-side paddings [begin per axis…, end per axis…] of a window, with auto_pad resolved. */
function windowPads(attrs: Attrs, spatial: number[], kernel: number[], stride: number[], dilation: number[], op: string): number[] {
  const sides = spatial.length;
  const autoPad = attrs.string('auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') {
    const pads = attrs.ints('pads');
    if (!pads) return new Array<number>(2 * sides).fill(0);
    if (pads.length !== 2 * sides) throw new Error(`${op} pads [${pads.join(', ')}] must hold a begin and an end per spatial axis`);
    return pads;
  }
  if (autoPad === 'VALID') return new Array<number>(2 * sides).fill(0);
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER')
    throw new Error(`auto_pad '${autoPad}' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER`);
  const pads = new Array<number>(2 * sides).fill(0);
  spatial.forEach((size, i) => {
    const out = Math.ceil(size / stride[i]!);
    const total = Math.max(0, (out - 1) * stride[i]! + (kernel[i]! - 1) * dilation[i]! + 1 - size);
    const small = Math.floor(total / 2);
    pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
    pads[i + sides] = total - pads[i]!;
  });
  return pads;
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
      const w = asTensor(input(values, 1), x);
      if (w.rank !== x.rank) throw new Error(`weight [${w.shape.join(', ')}] must be ${x.rank}-D like the input [${x.shape.join(', ')}]`);
      const b = values[2] ? asTensor(values[2], x) : null;
      const win = windowOf('Conv', attrs, x, w.shape.slice(2));
      // The weight in the window's 2-D form: the axes folded away have kernel 1, so this only drops or adds unit dims.
      const w2 = t.reshape(w, [w.shape[0]!, w.shape[1]!, ...win.kernel]);
      const p = padIfNeeded(win.x, win.pads, null, 0);
      const y = t.conv2d(p.x, w2, b, {
        stride: win.stride as [number, number],
        dilation: win.dilation as [number, number],
        padding: p.padding,
        groups: attrs.int('group', 1),
      });
      return [win.restore(y)];
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
  // ONNX's since opset 17; onnxruntime's fusion writes the same op into optimised models of any opset.
  LayerNormalization: {
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
      if (outputs === 1) return [win.restore(t.maxPool2d(p.x, options))];
      if (win.folded) throw new Error('MaxPool with an Indices output on more than 2 spatial axes is not supported');
      const { output, indices } = t.maxPool2dWithIndices(p.x, options);
      return [win.restore(output), win.restore(onnxIndices(indices, win, p.x.shape[3]!, attrs.int('storage_order', 0) === 1))];
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
      if (symmetric || countIncludePad || pads.every((v) => v === 0)) return [win.restore(pool(p.x, countIncludePad))];
      // Explicit padding the window op cannot count out: the mean over the window's real pixels is the padded
      // input's window mean divided by the window mean of a mask of ones on the real pixels.
      const mask = t.pad(t.onesLike(win.x), [pads[1]!, pads[3]!, pads[0]!, pads[2]!], 0);
      return [win.restore(t.div(pool(p.x, true), pool(mask, true)))];
    },
  },
  Softmax: { run: (ctx) => softmaxLike(t.softmax)(ctx) },
  LogSoftmax: { run: (ctx) => softmaxLike(t.logSoftmax)(ctx) },
};
