/** The constants gpu.js kernels are compiled with, derived from op shapes and attributes. */
import { sameShape, sizeOf } from '@gradlens/tensor';
import type { MatmulDims } from '@gradlens/tensor';
import type { ConvConstants, MatmulConstants, PoolConstants } from './kernels';
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
