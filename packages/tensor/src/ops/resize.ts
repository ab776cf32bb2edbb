import { fmt, opError } from '../errors';
import type { Tensor } from '../tensor';
import { requireFloat } from './elementwise';
import { runOp } from './run';

export interface InterpolateOptions {
  size?: number | [number, number];
  scaleFactor?: number | [number, number];
  mode?: 'nearest' | 'bilinear';
  /** Bilinear only; defaults to false as in PyTorch. */
  alignCorners?: boolean;
}

/** Resizes [N, C, H, W] as F.interpolate (nearest or bilinear), with PyTorch's source-index rules. */
export function interpolate(x: Tensor, options: InterpolateOptions): Tensor {
  const op = 'interpolate';
  requireFloat(op, x);
  if (x.rank !== 4) throw opError(op, `input must be 4-D [N, C, H, W], got ${fmt(x.shape)}`);
  if (x.shape[2] === 0 || x.shape[3] === 0) throw opError(op, `input ${fmt(x.shape)} has an empty spatial dimension`);
  const mode = options.mode ?? 'nearest';
  if (mode !== 'nearest' && mode !== 'bilinear') throw opError(op, `mode must be 'nearest' or 'bilinear', got '${mode}'`);
  if ((options.size === undefined) === (options.scaleFactor === undefined)) {
    throw opError(op, 'give exactly one of size and scaleFactor');
  }
  if (mode === 'nearest' && options.alignCorners !== undefined) {
    throw opError(op, 'alignCorners only applies to bilinear mode');
  }
  const alignCorners = options.alignCorners ?? false;
  const inSize = [x.shape[2]!, x.shape[3]!];
  const asPair = (v: number | [number, number]) => (typeof v === 'number' ? [v, v] : v);
  let outSize: number[];
  let factors: number[] | null = null;
  if (options.size !== undefined) {
    outSize = asPair(options.size);
    if (outSize.length !== 2 || outSize.some((s) => !Number.isInteger(s) || s < 1)) {
      throw opError(op, `size must be positive integers, got ${JSON.stringify(options.size)}`);
    }
  } else {
    factors = asPair(options.scaleFactor!);
    if (factors.length !== 2 || factors.some((f) => !(f > 0) || !Number.isFinite(f))) {
      throw opError(op, `scaleFactor must be positive numbers, got ${JSON.stringify(options.scaleFactor)}`);
    }
    outSize = inSize.map((s, i) => Math.floor(s * factors![i]!));
    if (outSize.some((s) => s < 1)) throw opError(op, `scaleFactor ${fmt(factors)} leaves no output pixels for ${fmt(x.shape)}`);
  }
  const scale = inSize.map((s, i) => {
    const o = outSize[i]!;
    if (mode === 'bilinear' && alignCorners) return o > 1 ? (s - 1) / (o - 1) : 0;
    return factors ? 1 / factors[i]! : s / o;
  }) as [number, number];
  const attrs = { outSize: outSize as [number, number], scale, alignCorners };
  return runOp(mode === 'nearest' ? 'upsampleNearest2d' : 'upsampleBilinear2d', [x], attrs);
}
