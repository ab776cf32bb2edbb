import * as t from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Attrs } from './attrs';
import type { OpTable } from './op-context';
import { checkElements, float, input } from './op-context';
import { asTensor } from './values';

const fmt = (v: readonly number[]) => `[${v.join(', ')}]`;

/** A per-axis attribute of `n` values (or `fallback` on every axis when absent). */
function perAxis(attrs: Attrs, name: string, n: number, fallback: number): number[] {
  const v = attrs.ints(name) ?? new Array<number>(n).fill(fallback);
  if (v.length !== n) throw new Error(`${name} ${fmt(v)} must hold ${n} values, one per spatial axis`);
  return v;
}

/**
 * How much of the full transposed output (stride·(in − 1) + output_padding + dilation·(k − 1) + 1 per
 * axis) each side drops: explicit pads, or, with output_shape or SAME auto_pad, the spec's total padding
 * split with the odd one at the end for SAME_UPPER and at the beginning otherwise. Negative amounts grow
 * the output with zeros, as ONNX's reference does for an output_shape larger than the full size.
 */
function crops(attrs: Attrs, full: number[], inSize: number[], stride: number[]): { begin: number[]; end: number[] } {
  const n = full.length;
  const autoPad = attrs.string('auto_pad', 'NOTSET');
  if (!['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(autoPad))
    throw new Error(`auto_pad '${autoPad}' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER`);
  let target = attrs.ints('output_shape');
  if (target) {
    // Exporters write either the spatial sizes or the whole output shape.
    if (target.length === n + 2) target = target.slice(2);
    if (target.length !== n) throw new Error(`output_shape ${fmt(target)} must hold ${n} spatial sizes`);
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    target = inSize.map((s, i) => s * stride[i]!);
  }
  if (target) {
    const out = target;
    const total = full.map((f, i) => f - out[i]!);
    const half = total.map((p) => Math.floor(p / 2));
    const begin = autoPad === 'SAME_UPPER' ? half : total.map((p, i) => p - half[i]!);
    return { begin, end: total.map((p, i) => p - begin[i]!) };
  }
  if (autoPad === 'VALID') return { begin: full.map(() => 0), end: full.map(() => 0) };
  const pads = perAxis(attrs, 'pads', 2 * n, 0);
  return { begin: pads.slice(0, n), end: pads.slice(n) };
}

/** Zeros between neighbours along the last two axes: [N, C, H, W] → [N, C, (H − 1)·sh + 1, (W − 1)·sw + 1]. */
function spread(x: Tensor, sh: number, sw: number): Tensor {
  if (sh === 1 && sw === 1) return x;
  const [n, c, h, w] = x.shape as [number, number, number, number];
  // A unit axis after each spatial axis, padded to the stride, interleaves the zeros after each pixel.
  const z = t.pad(t.reshape(x, [n, c, h, 1, w, 1]), [0, sw - 1, 0, 0, 0, sh - 1]);
  const y = t.reshape(z, [n, c, h * sh, w * sw]);
  return t.slice(t.slice(y, 2, 0, (h - 1) * sh + 1), 3, 0, (w - 1) * sw + 1);
}

/** Grows (positive) or crops (negative) one axis by `before` and `after`. */
function padOrCrop(x: Tensor, dim: number, before: number, after: number): Tensor {
  const y = before < 0 || after < 0 ? t.slice(x, dim, Math.max(0, -before), x.shape[dim]! - Math.max(0, -after)) : x;
  if (before <= 0 && after <= 0) return y;
  const pads = new Array<number>(2 * (x.rank - dim)).fill(0);
  pads[pads.length - 2] = Math.max(0, before);
  pads[pads.length - 1] = Math.max(0, after);
  return t.pad(y, pads);
}

/** ONNX's [C_in, C_out/g, kh, kw] weight as the [C_out, C_in/g, kh, kw] conv2d weight, flipped in both spatial axes. */
function convWeight(w: Tensor, group: number): Tensor {
  const [cin, coutPerGroup, kh, kw] = w.shape as [number, number, number, number];
  const reversed = (k: number) => Array.from({ length: k }, (_, i) => k - 1 - i);
  let f = kh > 1 ? t.indexSelect(w, 2, reversed(kh)) : w;
  if (kw > 1) f = t.indexSelect(f, 3, reversed(kw));
  const g = t.permute(t.reshape(f, [group, cin / group, coutPerGroup, kh, kw]), [0, 2, 1, 3, 4]);
  return t.reshape(g, [group * coutPerGroup, cin / group, kh, kw]);
}

/**
 * ConvTranspose as the convolution it is the gradient of: the input spread by the stride, padded by
 * dilation·(k − 1) less the crops (output_padding at the end), convolved at stride 1 with the flipped,
 * transposed weight. Only gradlens ops, so the tape differentiates input, weight and bias.
 */
function convTranspose2d(x: Tensor, w: Tensor, b: Tensor | null, attrs: Attrs, rank: number): Tensor {
  const group = attrs.int('group', 1);
  const cin = x.shape[1]!;
  if (!Number.isInteger(group) || group < 1 || cin % group !== 0)
    throw new Error(`group ${group} does not divide the input's ${cin} channels`);
  if (w.shape[0] !== cin)
    throw new Error(`weight ${fmt(w.shape)} is for ${w.shape[0]} input channels, but the input ${fmt(x.shape)} has ${cin}`);
  const kernel = w.shape.slice(2);
  const given = attrs.ints('kernel_shape');
  // 1-D runs as 2-D with a unit height, so compare only the axes the model has.
  if (given && fmt(given) !== fmt(kernel.slice(2 - rank)))
    throw new Error(`kernel_shape ${fmt(given)} does not match the weight ${fmt(w.shape)}`);
  const lift = (v: number[], unit: number) => (rank === 1 ? [unit, ...v] : v);
  const stride = lift(perAxis(attrs, 'strides', rank, 1), 1);
  const dilation = lift(perAxis(attrs, 'dilations', rank, 1), 1);
  const outPad = lift(perAxis(attrs, 'output_padding', rank, 0), 0);
  for (const [name, v, least] of [
    ['strides', stride, 1],
    ['dilations', dilation, 1],
    ['output_padding', outPad, 0],
  ] as const)
    if (v.some((d) => !Number.isInteger(d) || d < least))
      throw new Error(`${name} ${fmt(v.slice(2 - rank))} must be integers of at least ${least}`);
  const inSize = x.shape.slice(2);
  const full = inSize.map((s, i) => stride[i]! * (s - 1) + outPad[i]! + dilation[i]! * (kernel[i]! - 1) + 1);
  const c = crops(attrs, full.slice(2 - rank), inSize.slice(2 - rank), stride.slice(2 - rank));
  const begin = lift(c.begin, 0);
  const end = lift(c.end, 0);
  const out = full.map((f, i) => f - begin[i]! - end[i]!);
  if (out.some((o) => o < 1))
    throw new Error(`the output would be ${fmt(out.slice(2 - rank))}: output_shape or pads too large for input ${fmt(x.shape)}`);
  checkElements([x.shape[0]!, w.shape[1]! * group, ...out.slice(2 - rank)], 'ConvTranspose');
  if (b && (b.rank !== 1 || b.shape[0] !== w.shape[1]! * group))
    throw new Error(`bias ${fmt(b.shape)} does not match the ${w.shape[1]! * group} output channels`);

  let y = spread(x, stride[0]!, stride[1]!);
  const before = kernel.map((k, i) => dilation[i]! * (k - 1) - begin[i]!);
  const after = kernel.map((k, i) => dilation[i]! * (k - 1) - end[i]! + outPad[i]!);
  // Symmetric, non-negative padding goes to conv2d itself; otherwise pad or crop explicitly.
  const symmetric = before.every((p, i) => p >= 0 && p === after[i]);
  if (!symmetric) y = padOrCrop(padOrCrop(y, 2, before[0]!, after[0]!), 3, before[1]!, after[1]!);
  return t.conv2d(y, convWeight(w, group), b, {
    stride: 1,
    dilation: dilation as [number, number],
    padding: symmetric ? (before as [number, number]) : 0,
    groups: group,
  });
}

/** ConvTranspose, 1-D (as 2-D with a unit height) and 2-D. */
export const convTransposeOps: OpTable = {
  ConvTranspose: {
    run: ({ values, attrs }) => {
      const x = float(input(values, 0));
      const w = asTensor(input(values, 1), x);
      const b = values[2] ? asTensor(values[2], x) : null;
      const rank = x.rank - 2;
      if (rank !== 1 && rank !== 2)
        throw new Error(
          `ConvTranspose on a ${x.rank}-D input ${fmt(x.shape)}: gradlens supports the 1-D and 2-D (3-D and 4-D input) forms`,
        );
      if (w.rank !== x.rank) throw new Error(`weight ${fmt(w.shape)} must be ${x.rank}-D like the input ${fmt(x.shape)}`);
      if (rank === 2) return [convTranspose2d(x, w, b, attrs, 2)];
      const unitHeight = (v: Tensor) => t.reshape(v, [v.shape[0]!, v.shape[1]!, 1, v.shape[2]!]);
      const y = convTranspose2d(unitHeight(x), unitHeight(w), b, attrs, 1);
      return [t.reshape(y, [y.shape[0]!, y.shape[1]!, y.shape[3]!])];
    },
  },
};
