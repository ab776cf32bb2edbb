/** The constants gpu.js kernels are compiled with, derived from op shapes and attributes. */
import { adaptiveWindows, linearTaps, sameShape, sizeOf } from '@gradlens/tensor';
import type { MatmulDims } from '@gradlens/tensor';
import type {
  BroadcastConstants,
  ConvConstants,
  GatherConstants,
  MatmulConstants,
  PoolConstants,
  ReduceConstants,
  ResizeConstants,
  UnsliceConstants,
  WhereConstants,
} from './kernels';
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
export function broadcastConstants(
  a: readonly number[],
  b: readonly number[],
  out: readonly number[],
  op: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12,
): BroadcastConstants {
  const [d, sa, sb] = [pad6(out), broadcastStrides(a), broadcastStrides(b)];
  const c: BroadcastConstants = { OP: op } as BroadcastConstants;
  for (let i = 0; i < MAX_BROADCAST_RANK; i++) {
    c[`D${i}`] = d[i]!;
    c[`A${i}`] = sa[i]!;
    c[`B${i}`] = sb[i]!;
  }
  return c;
}

/** `shape` left-padded with 1s to six dimensions. */
const pad6 = (s: readonly number[]): number[] => [...Array<number>(MAX_BROADCAST_RANK - s.length).fill(1), ...s];

/** Row-major strides of `shape` left-padded to six dimensions, 0 where the size is 1 (so it broadcasts). */
function broadcastStrides(shape: readonly number[]): number[] {
  const p = pad6(shape);
  const st = new Array<number>(MAX_BROADCAST_RANK).fill(0);
  let acc = 1;
  for (let i = MAX_BROADCAST_RANK - 1; i >= 0; i--) {
    st[i] = p[i] === 1 ? 0 : acc;
    acc *= p[i]!;
  }
  return st;
}

/** Constants of `whereBroadcast`: the condition's strides beside `a`'s and `b`'s, all broadcast to `out`. */
export function whereConstants(
  cond: readonly number[],
  a: readonly number[],
  b: readonly number[],
  out: readonly number[],
): WhereConstants {
  const c = broadcastConstants(a, b, out, 0) as WhereConstants;
  broadcastStrides(cond).forEach((s, i) => (c[`C${i}`] = s));
  return c;
}

/**
 * Constants of `reduceDims` for `shape` (rank ≤ 6) reduced over `dims`: the kept and the reduced dims, each
 * as sizes and input strides left-padded to six; `op` 0 sum, 1 mean, 2 max, 3 min.
 */
export function reduceConstants(shape: readonly number[], dims: readonly number[], op: 0 | 1 | 2 | 3): ReduceConstants {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1));
  const kept = shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const reduced = shape.map((_, i) => i).filter((i) => dims.includes(i));
  const padded = (idx: number[]): { size: number[]; stride: number[] } => ({
    size: [...Array<number>(MAX_BROADCAST_RANK - idx.length).fill(1), ...idx.map((i) => shape[i]!)],
    stride: [...Array<number>(MAX_BROADCAST_RANK - idx.length).fill(0), ...idx.map((i) => strides[i]!)],
  });
  const k = padded(kept);
  const r = padded(reduced);
  const c = { OP: op, R: reduced.reduce((p, i) => p * shape[i]!, 1) } as ReduceConstants;
  for (let i = 0; i < MAX_BROADCAST_RANK; i++) {
    c[`K${i}`] = k.size[i]!;
    c[`KS${i}`] = k.stride[i]!;
    c[`R${i}`] = r.size[i]!;
    c[`RS${i}`] = r.stride[i]!;
  }
  return c;
}

/** The shape a reduction over `dims` leaves (reduced dims kept as 1 with `keepdim`). */
export function reducedShape(shape: readonly number[], dims: readonly number[], keepdim: boolean): number[] {
  return shape.flatMap((d, i) => (!dims.includes(i) ? [d] : keepdim ? [1] : []));
}

/**
 * adaptive_avg_pool2d's tables (the CPU kernel's windows): `win` = row starts, row ends, column starts,
 * column ends; `cover` = per input row the first covering output row and one past the last, then the same
 * per input column; the constants hold the largest window (forward) or covering count (backward).
 */
export function adaptiveTables(
  H: number,
  W: number,
  OH: number,
  OW: number,
): { win: Float32Array; cover: Float32Array; forward: ResizeConstants; backward: ResizeConstants } {
  const rows = adaptiveWindows(OH, H);
  const cols = adaptiveWindows(OW, W);
  const covering = (w: { start: Int32Array; end: Int32Array }, inSize: number): [number[], number[]] => {
    const first: number[] = [];
    const past: number[] = [];
    for (let i = 0; i < inSize; i++) {
      let lo = -1;
      let hi = -1;
      w.start.forEach((s, o) => {
        if (s <= i && i < w.end[o]!) {
          if (lo < 0) lo = o;
          hi = o + 1;
        }
      });
      first.push(lo);
      past.push(hi);
    }
    return [first, past];
  };
  const [r0, r1] = covering(rows, H);
  const [c0, c1] = covering(cols, W);
  const widest = (w: { start: Int32Array; end: Int32Array }): number => Math.max(...w.end.map((e, o) => e - w.start[o]!));
  const most = (first: number[], past: number[]): number => Math.max(...past.map((p, i) => p - first[i]!));
  return {
    win: Float32Array.from([...rows.start, ...rows.end, ...cols.start, ...cols.end]),
    cover: Float32Array.from([...r0, ...r1, ...c0, ...c1]),
    forward: { H, W, OH, OW, MH: widest(rows), MW: widest(cols) },
    backward: { H, W, OH, OW, MH: most(r0, r1), MW: most(c0, c1) },
  };
}

/** Bilinear upsampling's taps (the CPU kernel's): per output row its two source rows and weights, then per column. */
export function bilinearTaps(
  H: number,
  W: number,
  a: { outSize: [number, number]; scale: [number, number]; alignCorners: boolean },
): { taps: Float32Array; constants: ResizeConstants } {
  const [OH, OW] = a.outSize;
  const th = linearTaps(OH, H, a.scale[0], a.alignCorners);
  const tw = linearTaps(OW, W, a.scale[1], a.alignCorners);
  return {
    taps: Float32Array.from([...th.i0, ...th.i1, ...th.w0, ...th.w1, ...tw.i0, ...tw.i1, ...tw.w0, ...tw.w1]),
    constants: { H, W, OH, OW, MH: 1, MW: 1 },
  };
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

/** Row-major strides of `shape`. */
const rowStrides = (shape: readonly number[]): number[] => shape.map((_, i) => sizeOf(shape.slice(i + 1)));

/** `v` left-padded with `fill` to six entries. */
const padWith = (v: readonly number[], fill: number): number[] => [...Array<number>(MAX_BROADCAST_RANK - v.length).fill(fill), ...v];

/** Constants of `gatherStrided` for an output of `shape` reading the input at `base` + Σ index·`strides`. */
function gatherConstants(shape: readonly number[], strides: readonly number[], base: number): GatherConstants {
  const [d, a] = [padWith(shape, 1), padWith(strides, 0)];
  const c = { BASE: base } as GatherConstants;
  for (let i = 0; i < MAX_BROADCAST_RANK; i++) {
    c[`D${i}`] = d[i]!;
    c[`A${i}`] = a[i]!;
  }
  return c;
}

/** `gatherStrided`'s constants for expand(x, shape): stride 0 along every dimension x broadcasts over. */
export function expandConstants(xShape: readonly number[], shape: readonly number[]): GatherConstants {
  const st = rowStrides(xShape);
  const lead = shape.length - xShape.length;
  return gatherConstants(
    shape,
    shape.map((_, i) => (i < lead || xShape[i - lead] === 1 ? 0 : st[i - lead]!)),
    0,
  );
}

/** `gatherStrided`'s constants for permute(x, dims): output dim i reads input dim dims[i]. */
export function permuteConstants(shape: readonly number[], dims: readonly number[]): { shape: number[]; constants: GatherConstants } {
  const st = rowStrides(shape);
  const out = dims.map((d) => shape[d]!);
  return {
    shape: out,
    constants: gatherConstants(
      out,
      dims.map((d) => st[d]!),
      0,
    ),
  };
}

/** The shape a slice of `shape` takes (begin, end exclusive, step ≥ 1 per dimension), as the CPU kernel's. */
export const slicedShape = (begin: readonly number[], end: readonly number[], step: readonly number[]): number[] =>
  begin.map((b, i) => Math.max(0, Math.ceil((end[i]! - b) / step[i]!)));

/** `gatherStrided`'s constants for slicing `shape`. */
export function sliceConstants(
  shape: readonly number[],
  begin: readonly number[],
  end: readonly number[],
  step: readonly number[],
): { shape: number[]; constants: GatherConstants } {
  const st = rowStrides(shape);
  const out = slicedShape(begin, end, step);
  const base = begin.reduce((s, b, i) => s + b * st[i]!, 0);
  return {
    shape: out,
    constants: gatherConstants(
      out,
      st.map((s, i) => s * step[i]!),
      base,
    ),
  };
}

/** `unslice`'s constants: a slice (begin, end, step) of an output of `shape` filled from a contiguous input. */
export function unsliceConstants(
  shape: readonly number[],
  begin: readonly number[],
  end: readonly number[],
  step: readonly number[],
): UnsliceConstants {
  const inner = slicedShape(begin, end, step);
  const c = gatherConstants(shape, rowStrides(inner), 0) as UnsliceConstants;
  const [g, p, l] = [padWith(begin, 0), padWith(step, 1), padWith(inner, 1)];
  for (let i = 0; i < MAX_BROADCAST_RANK; i++) {
    c[`G${i}`] = g[i]!;
    c[`P${i}`] = p[i]!;
    c[`L${i}`] = l[i]!;
  }
  return c;
}
