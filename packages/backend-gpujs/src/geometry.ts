/** The constants gpu.js kernels are compiled with, derived from op shapes and attributes. */
import { sameShape, sizeOf } from '@gradlens/tensor';
import type { MatmulDims } from '@gradlens/tensor';
import type { BroadcastConstants, ConvConstants, MatmulConstants, PoolConstants } from './kernels';
import type { ConvAttrsLike, PoolAttrsLike } from './types';

/**
 * How a binary elementwise op runs on the device: `same` for operands of one shape, `scalarB` /
 * `scalarA` when that operand is one value; null for any other broadcast (the CPU kernel runs it).
 */
export function elementwiseCase(a: readonly number[], b: readonly number[]): 'same' | 'scalarA' | 'scalarB' | null {
  if (sameShape(a, b)) return 'same';
  if (sizeOf(b) === 1) return 'scalarB';
  if (sizeOf(a) === 1) return 'scalarA';
  return null;
}

/** The broadcast kernels' rank limit (output dimensions). */
export const MAX_BROADCAST_RANK = 6;

/**
 * Constants of `binaryBroadcast` for operands `a`, `b` broadcast to `out` (rank ≤ MAX_BROADCAST_RANK):
 * sizes and strides left-padded to six dimensions, stride 0 where an operand's size is 1.
 */
export function broadcastConstants(a: readonly number[], b: readonly number[], out: readonly number[], op: 0 | 1 | 2): BroadcastConstants {
  const pad = (s: readonly number[]): number[] => [...Array<number>(MAX_BROADCAST_RANK - s.length).fill(1), ...s];
  const strides = (s: readonly number[]): number[] => {
    const p = pad(s);
    const st = new Array<number>(MAX_BROADCAST_RANK).fill(0);
    let acc = 1;
    for (let i = MAX_BROADCAST_RANK - 1; i >= 0; i--) {
      st[i] = p[i] === 1 ? 0 : acc;
      acc *= p[i]!;
    }
    return st;
  };
  const [d, sa, sb] = [pad(out), strides(a), strides(b)];
  const c: BroadcastConstants = { OP: op } as BroadcastConstants;
  for (let i = 0; i < MAX_BROADCAST_RANK; i++) {
    c[`D${i}`] = d[i]!;
    c[`A${i}`] = sa[i]!;
    c[`B${i}`] = sb[i]!;
  }
  return c;
}

/** Conv constants; `blocksOf` says whether the 4-channel blocks run over output or input channels. */
export function convConstants(
  x: readonly number[],
  w: readonly number[],
  y: readonly number[],
  a: ConvAttrsLike,
  blocksOf: 'out' | 'in',
): ConvConstants {
  const [N, C, H, W] = x as [number, number, number, number];
  const [CO, CIG, KH, KW] = w as [number, number, number, number];
  const G = a.groups;
  const COG = CO / G;
  return {
    N,
    C,
    H,
    W,
    CO,
    OH: y[2]!,
    OW: y[3]!,
    KH,
    KW,
    SH: a.stride[0],
    SW: a.stride[1],
    PH: a.padding[0],
    PW: a.padding[1],
    DH: a.dilation[0],
    DW: a.dilation[1],
    G,
    CIG,
    COG,
    B: Math.ceil((blocksOf === 'out' ? COG : CIG) / 4),
  };
}

/** Pool constants for input shape `x`; `includePad` and `divisor` matter to average pooling only. */
export function poolConstants(x: readonly number[], a: PoolAttrsLike, includePad: boolean, divisor: number | null): PoolConstants {
  return {
    H: x[2]!,
    W: x[3]!,
    OH: a.outSize[0],
    OW: a.outSize[1],
    KH: a.kernel[0],
    KW: a.kernel[1],
    SH: a.stride[0],
    SW: a.stride[1],
    PH: a.padding[0],
    PW: a.padding[1],
    DH: a.dilation[0],
    DW: a.dilation[1],
    INCLUDEPAD: includePad ? 1 : 0,
    DIVISOR: divisor ?? 0,
  };
}

/** Matmul constants for sizes from `matmulDims`; rows run in blocks of 4. */
export function matmulConstants(d: Omit<MatmulDims, 'batchShape'>, transA: boolean, transB: boolean): MatmulConstants {
  return {
    M: d.m,
    N: d.n,
    K: d.k,
    MB: Math.ceil(d.m / 4),
    TA: transA ? 1 : 0,
    TB: transB ? 1 : 0,
    ASTRIDE: d.aBatchStride,
    BSTRIDE: d.bBatchStride,
  };
}
