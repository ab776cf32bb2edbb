import { fmt, opError } from '../errors';
import { pair, windowOutSize } from '../shape';
import type { Tensor } from '../tensor';
import { requireFloat } from './elementwise';
import type { PoolAttrs } from './op-attrs';
import { runOp, runOpFull } from './run';
import { squeeze, unsqueeze } from './shape-ops';

type Pair = number | [number, number];

export interface MaxPool2dOptions {
  kernelSize: Pair;
  /** Defaults to kernelSize, as in PyTorch. */
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}

export interface AvgPool2dOptions {
  kernelSize: Pair;
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number;
}

/** Accepts [C, H, W] as PyTorch does, by running it as a batch of one. */
function batched(op: string, x: Tensor, fn: (x4: Tensor) => Tensor): Tensor {
  requireFloat(op, x);
  if (x.rank === 3) return squeeze(fn(unsqueeze(x, 0)), 0);
  if (x.rank !== 4) throw opError(op, `input must be 3-D [C, H, W] or 4-D [N, C, H, W], got ${fmt(x.shape)}`);
  return fn(x);
}

function poolAttrs(op: string, x: Tensor, o: MaxPool2dOptions): PoolAttrs {
  const kernel = pair(op, 'kernelSize', o.kernelSize, 1);
  const stride = pair(op, 'stride', o.stride ?? kernel, 1);
  const padding = pair(op, 'padding', o.padding ?? 0, 0);
  const dilation = pair(op, 'dilation', o.dilation ?? 1, 1);
  const size = x.shape.slice(-2);
  const outSize = [0, 1].map((i) => {
    // PyTorch's rule: padding at most half the kernel size (dilation not counted).
    if (padding[i]! > Math.floor(kernel[i]! / 2)) {
      throw opError(op, `padding ${fmt(padding)} must be at most half the kernel size ${fmt(kernel)}`);
    }
    const out = windowOutSize(size[i]!, kernel[i]!, stride[i]!, padding[i]!, dilation[i]!, o.ceilMode ?? false);
    if (out < 1) {
      throw opError(
        op,
        `kernel ${fmt(kernel)} is larger than the padded input ${fmt(size.map((s, j) => s + 2 * padding[j]!))} of ${fmt(x.shape)}`,
      );
    }
    return out;
  }) as [number, number];
  return { kernel, stride, padding, dilation, outSize };
}

/**
 * Max pooling as F.max_pool2d: [N, C, H, W] → [N, C, OH, OW]; with `returnIndices: true`,
 * `{ output, indices }` where indices (int32) are flat positions h·W + w in each input plane.
 */
export function maxPool2d(x: Tensor, options: MaxPool2dOptions & { returnIndices: true }): { output: Tensor; indices: Tensor };
export function maxPool2d(x: Tensor, options: MaxPool2dOptions & { returnIndices?: false }): Tensor;
export function maxPool2d(
  x: Tensor,
  options: MaxPool2dOptions & { returnIndices?: boolean },
): Tensor | { output: Tensor; indices: Tensor } {
  // returnIndices mirrors PyTorch's return_indices=True.
  if (options.returnIndices) return maxPool2dWithIndices(x, options);
  return batched('maxPool2d', x, (x4) => runOp('maxPool2d', [x4], poolAttrs('maxPool2d', x4, options)));
}

/** Max pooling that also returns the flat per-plane indices of the maxima (return_indices=True). */
export function maxPool2dWithIndices(x: Tensor, options: MaxPool2dOptions): { output: Tensor; indices: Tensor } {
  requireFloat('maxPool2d', x);
  if (x.rank !== 4) throw opError('maxPool2d', `input must be 4-D [N, C, H, W], got ${fmt(x.shape)}`);
  const r = runOpFull('maxPool2d', [x], poolAttrs('maxPool2d', x, options));
  return { output: r.out, indices: r.extras![0]! };
}

/** Average pooling as F.avg_pool2d (countIncludePad defaults to true, as in PyTorch). */
export function avgPool2d(x: Tensor, options: AvgPool2dOptions): Tensor {
  const d = options.divisorOverride;
  if (d !== undefined && (!Number.isInteger(d) || d === 0))
    throw opError('avgPool2d', `divisorOverride must be a non-zero integer, got ${d}`);
  return batched('avgPool2d', x, (x4) =>
    runOp('avgPool2d', [x4], {
      ...poolAttrs('avgPool2d', x4, { ...options, dilation: 1 }),
      countIncludePad: options.countIncludePad ?? true,
      divisorOverride: d ?? null,
    }),
  );
}

function adaptiveSize(op: string, x: Tensor, outputSize: number | readonly (number | null)[]): [number, number] {
  if (x.shape[2] === 0 || x.shape[3] === 0) throw opError(op, `input ${fmt(x.shape)} has an empty spatial dimension`);
  const given = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  if (given.length !== 2) throw opError(op, `outputSize must be a number or [h, w], got ${JSON.stringify(outputSize)}`);
  return given.map((s, i) => {
    const v = s ?? x.shape[x.rank - 2 + i]!;
    if (!Number.isInteger(v) || v < 1) throw opError(op, `outputSize must be positive integers, got ${JSON.stringify(outputSize)}`);
    return v;
  }) as [number, number];
}

/** Adaptive average pooling to `outputSize` ([h, w], null keeps a size), as F.adaptive_avg_pool2d. */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | readonly (number | null)[]): Tensor {
  return batched('adaptiveAvgPool2d', x, (x4) =>
    runOp('adaptiveAvgPool2d', [x4], { outSize: adaptiveSize('adaptiveAvgPool2d', x4, outputSize) }),
  );
}

/** Adaptive max pooling to `outputSize`, as F.adaptive_max_pool2d. */
export function adaptiveMaxPool2d(x: Tensor, outputSize: number | readonly (number | null)[]): Tensor {
  return batched('adaptiveMaxPool2d', x, (x4) =>
    runOp('adaptiveMaxPool2d', [x4], { outSize: adaptiveSize('adaptiveMaxPool2d', x4, outputSize) }),
  );
}
