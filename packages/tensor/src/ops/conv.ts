import { fmt, opError } from '../errors';
import { pair } from '../shape';
import type { Tensor } from '../tensor';
import { requireFloat } from './elementwise';
import type { ConvAttrs } from './op-attrs';
import { runOp } from './run';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

/** 2-D convolution as F.conv2d: x [N, Cin, H, W], weight [Cout, Cin/groups, kh, kw] → [N, Cout, OH, OW]. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  requireFloat(op, x);
  if (x.rank !== 4) throw opError(op, `input must be 4-D [N, C, H, W], got ${fmt(x.shape)}`);
  if (weight.rank !== 4) throw opError(op, `weight must be 4-D [Cout, Cin/groups, kh, kw], got ${fmt(weight.shape)}`);
  if (weight.dtype !== x.dtype) throw opError(op, `input is ${x.dtype} but weight is ${weight.dtype}`);
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw opError(op, `groups must be a positive integer, got ${groups}`);
  const [cout, cinPerGroup, kh, kw] = weight.shape as [number, number, number, number];
  const cin = x.shape[1]!;
  if (kh < 1 || kw < 1) throw opError(op, `kernel must be at least 1x1, got weight ${fmt(weight.shape)}`);
  if (cin % groups !== 0 || cout % groups !== 0) {
    throw opError(op, `groups=${groups} must divide both in_channels=${cin} and out_channels=${cout}`);
  }
  if (cinPerGroup * groups !== cin) {
    throw opError(
      op,
      `weight ${fmt(weight.shape)} expects ${cinPerGroup * groups} input channels (groups=${groups}), input ${fmt(x.shape)} has ${cin}`,
    );
  }
  for (const name of ['stride', 'padding', 'dilation'] as const) {
    const v: unknown = options[name];
    if (v !== undefined && typeof v !== 'number' && !Array.isArray(v)) {
      throw opError(
        op,
        `${name} must be a number or [h, w], got ${JSON.stringify(v)}${name === 'padding' ? " (string paddings such as 'same' are not supported)" : ''}`,
      );
    }
  }
  const attrs: ConvAttrs = {
    stride: pair(op, 'stride', options.stride ?? 1, 1),
    padding: pair(op, 'padding', options.padding ?? 0, 0),
    dilation: pair(op, 'dilation', options.dilation ?? 1, 1),
    groups,
  };
  [kh, kw].forEach((k, i) => {
    const padded = x.shape[2 + i]! + 2 * attrs.padding[i]!;
    const span = attrs.dilation[i]! * (k - 1) + 1;
    if (span > padded) {
      throw opError(
        op,
        `kernel ${fmt([kh, kw])} (dilated extent ${span}) is larger than the padded input ${padded} along ${i === 0 ? 'height' : 'width'} (input ${fmt(x.shape)})`,
      );
    }
  });
  if (bias) {
    if (bias.rank !== 1 || bias.shape[0] !== cout) throw opError(op, `bias must be [${cout}], got ${fmt(bias.shape)}`);
    return runOp(op, [x, weight, bias], attrs);
  }
  return runOp(op, [x, weight], attrs);
}
