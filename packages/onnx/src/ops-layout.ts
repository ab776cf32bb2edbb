import * as t from '@gradlens/tensor';
import { noGrad, Tensor } from '@gradlens/tensor';
import type { OpTable } from './op-context';
import { axis, checkElements, input, numbers, requiredInts } from './op-context';
import type { Value } from './values';
import { asTensor, Const, keepConst, stridesOf } from './values';

// Layout ops as reshapes, permutes and index selections, so the tape differentiates them with those ops' rules.
// Indices (GatherElements, GatherND) must be known when the node runs: they are read back from their tensor.

/** DepthToSpace: [N, C, H, W] → [N, C/b², H·b, W·b]; DCR takes the depth as (b, b, C/b²), CRD as (C/b², b, b). */
function depthToSpace(x: Tensor, b: number, mode: string): Tensor {
  const [n, c, h, w] = fourDims(x, 'DepthToSpace');
  if (c % (b * b) !== 0) throw new Error(`DepthToSpace: ${c} channels are not a multiple of blocksize² (${b * b})`);
  const d = c / (b * b);
  if (mode === 'DCR') return t.reshape(t.permute(t.reshape(x, [n, b, b, d, h, w]), [0, 3, 4, 1, 5, 2]), [n, d, h * b, w * b]);
  if (mode === 'CRD') return t.reshape(t.permute(t.reshape(x, [n, d, b, b, h, w]), [0, 1, 4, 2, 5, 3]), [n, d, h * b, w * b]);
  throw new Error(`DepthToSpace mode '${mode}' is not DCR or CRD`);
}

/** SpaceToDepth: [N, C, H, W] → [N, C·b², H/b, W/b], the inverse of DCR. */
function spaceToDepth(x: Tensor, b: number): Tensor {
  const [n, c, h, w] = fourDims(x, 'SpaceToDepth');
  if (h % b !== 0 || w % b !== 0) throw new Error(`SpaceToDepth: sides ${h}×${w} are not multiples of blocksize ${b}`);
  return t.reshape(t.permute(t.reshape(x, [n, c, h / b, b, w / b, b]), [0, 3, 5, 1, 2, 4]), [n, c * b * b, h / b, w / b]);
}

function fourDims(x: Tensor, op: string): [number, number, number, number] {
  if (x.rank !== 4) throw new Error(`${op} needs a 4-D input, got [${x.shape.join(', ')}]`);
  return x.shape as unknown as [number, number, number, number];
}

/** Tile: each axis repeated as a whole `r` times (a new axis of r in front of it, expanded, then merged). */
function tile(x: Tensor, repeats: number[]): Tensor {
  if (repeats.length !== x.rank)
    throw new Error(`Tile repeats [${repeats.join(', ')}] must have one count per axis of [${x.shape.join(', ')}]`);
  repeats.forEach((r, d) => {
    if (!Number.isInteger(r) || r < 0) throw new Error(`Tile repeat ${r} for axis ${d} is not a count`);
  });
  checkElements(
    x.shape.map((n, d) => n * repeats[d]!),
    'Tile',
  );
  let y = x;
  repeats.forEach((r, d) => {
    if (r === 1) return;
    const before = y.shape.slice(0, d);
    const after = y.shape.slice(d);
    const spread = t.expand(t.reshape(y, [...before, 1, ...after]), [...before, r, ...after]);
    y = t.reshape(spread, [...before, r * after[0]!, ...after.slice(1)]);
  });
  return y;
}

/** Trilu: the upper (j − i ≥ k) or lower (j − i ≤ k) triangle of the last two axes, zeros elsewhere. */
function trilu(x: Tensor, k: number, upper: boolean): Tensor {
  if (x.rank < 2) throw new Error(`Trilu needs at least 2 dims, got [${x.shape.join(', ')}]`);
  const rows = x.shape[x.rank - 2]!;
  const cols = x.shape[x.rank - 1]!;
  const mask = new Uint8Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) mask[i * cols + j] = (upper ? j - i >= k : j - i <= k) ? 1 : 0;
  return t.where(new Tensor(mask, [rows, cols], 'bool'), x, 0);
}

/** Flat positions of data's elements chosen by GatherElements' indices along `ax` (negative indices wrap). */
function elementPositions(
  data: readonly number[],
  indices: readonly number[],
  indexShape: readonly number[],
  ax: number,
  op = 'GatherElements',
): number[] {
  const strides = stridesOf(data);
  const indexStrides = stridesOf(indexShape);
  const n = data[ax]!;
  return indices.map((raw, flat) => {
    const k = raw < 0 ? raw + n : raw;
    if (k < 0 || k >= n) throw new Error(`${op} index ${raw} is out of range for axis ${ax} of size ${n}`);
    let pos = 0;
    let rem = flat;
    for (let d = 0; d < indexShape.length; d++) {
      const q = Math.floor(rem / indexStrides[d]!);
      rem -= q * indexStrides[d]!;
      pos += (d === ax ? k : q) * strides[d]!;
    }
    return pos;
  });
}

/** Flat positions GatherND reads: per index tuple (after the batch dims), the block of data it names. */
function ndPositions(
  data: readonly number[],
  indices: readonly number[],
  indexShape: readonly number[],
  batchDims: number,
  op = 'GatherND',
): { positions: number[]; shape: number[] } {
  const q = indexShape[indexShape.length - 1]!;
  if (batchDims + q > data.length)
    throw new Error(`${op}: ${q} indices per tuple after ${batchDims} batch dims exceed data's rank ${data.length}`);
  const strides = stridesOf(data);
  const block = data.slice(batchDims + q).reduce((a, b) => a * b, 1);
  const tuples = indices.length / q;
  const perBatch = tuples / indexShape.slice(0, batchDims).reduce((a, b) => a * b, 1);
  const batchStride = batchDims > 0 ? strides[batchDims - 1]! : 0;
  const positions: number[] = [];
  for (let tuple = 0; tuple < tuples; tuple++) {
    let base = Math.floor(tuple / perBatch) * batchStride;
    for (let j = 0; j < q; j++) {
      const n = data[batchDims + j]!;
      const raw = indices[tuple * q + j]!;
      const k = raw < 0 ? raw + n : raw;
      if (k < 0 || k >= n) throw new Error(`${op} index ${raw} is out of range for axis ${batchDims + j} of size ${n}`);
      base += k * strides[batchDims + j]!;
    }
    for (let e = 0; e < block; e++) positions.push(base + e);
  }
  return { positions, shape: [...indexShape.slice(0, -1), ...data.slice(batchDims + q)] };
}

/** x's elements at flat positions, in `shape` (differentiable in x: an index selection of its flattening). */
function pick(x: Value, positions: number[], shape: number[]): Value {
  return keepConst(x, (v) => t.reshape(t.indexSelect(t.reshape(v, [-1]), 0, positions), shape));
}

/** How a scatter combines an update with what is there, and what it combines with where no update lands. */
const SCATTER_REDUCTIONS: Record<string, { combine: (a: Tensor, b: Tensor) => Tensor; neutral: number } | undefined> = {
  add: { combine: t.add, neutral: 0 },
  mul: { combine: t.mul, neutral: 1 },
  max: { combine: t.maximum, neutral: -Infinity },
  min: { combine: t.minimum, neutral: Infinity },
};

/**
 * data with updates written at flat positions (updates in order): an index selection from data and updates laid
 * end to end, so both get their gradients. A reduction combines instead, in rounds that each hold at most one
 * update per position (a position updated twice takes two rounds), the rest of a round being the neutral value.
 */
function scatter(dataValue: Value, updatesValue: Value, positions: number[], reduction: string): Value {
  const like = dataValue instanceof Tensor ? dataValue : updatesValue instanceof Tensor ? updatesValue : undefined;
  const run = (data: Tensor, updates: Tensor): Tensor => {
    if (updates.size !== positions.length)
      throw new Error(`updates [${updates.shape.join(', ')}] hold ${updates.size} values for ${positions.length} positions`);
    const flatData = t.reshape(data, [-1]);
    const flatUpdates = t.reshape(updates, [-1]);
    if (reduction === 'none') {
      const source = Array.from({ length: data.size }, (_, p) => p);
      positions.forEach((p, j) => (source[p] = data.size + j));
      return t.reshape(t.indexSelect(t.cat([flatData, flatUpdates], 0), 0, source), data.shape);
    }
    const r = SCATTER_REDUCTIONS[reduction];
    if (!r) throw new Error(`reduction '${reduction}' is not none, add, mul, max or min`);
    const neutral = t.full([1], r.neutral, updates.dtype);
    const pool = t.cat([neutral, flatUpdates], 0);
    let y = flatData;
    let pending = positions.map((p, j) => ({ p, j }));
    while (pending.length) {
      const source = new Array<number>(data.size).fill(0);
      const later: typeof pending = [];
      const taken = new Set<number>();
      for (const u of pending) {
        if (taken.has(u.p)) later.push(u);
        else {
          taken.add(u.p);
          source[u.p] = 1 + u.j;
        }
      }
      y = r.combine(y, t.indexSelect(pool, 0, source));
      pending = later;
    }
    return t.reshape(y, data.shape);
  };
  if (dataValue instanceof Const && updatesValue instanceof Const) {
    return keepConst(dataValue, (data) => noGrad(() => run(data, asTensor(updatesValue, data))));
  }
  return run(asTensor(dataValue, like), asTensor(updatesValue, like));
}

/** CumSum along `ax` in log₂(n) shifted adds (Hillis–Steele), each a pad and a slice: O(n log n), differentiable. */
function cumsum(x: Tensor, ax: number, exclusive: boolean, reverse: boolean): Tensor {
  const n = x.shape[ax]!;
  const flip = (v: Tensor) =>
    t.indexSelect(
      v,
      ax,
      Array.from({ length: n }, (_, i) => n - 1 - i),
    );
  // Shifts v by s along ax toward higher indices, zeros in front.
  const shift = (v: Tensor, s: number) => t.slice(t.pad(v, padsFor(v.rank, ax, s)), ax, 0, n);
  let y = reverse ? flip(x) : x;
  for (let s = 1; s < n; s *= 2) y = t.add(y, shift(y, s));
  if (exclusive) y = shift(y, 1);
  return reverse ? flip(y) : y;
}

/** Torch-style pads (last dim first) adding `before` zeros in front of axis `ax`. */
function padsFor(rank: number, ax: number, before: number): number[] {
  const pads = new Array<number>(2 * rank).fill(0);
  pads[2 * (rank - 1 - ax)] = before;
  return pads;
}

function scatterElements(values: readonly (Value | null)[], ax: number, reduction: string): Value[] {
  const data = input(values, 0);
  const idx = input(values, 1);
  const a = axis(ax, data.shape.length);
  if (idx.shape.length !== data.shape.length)
    throw new Error(`ScatterElements indices [${idx.shape.join(', ')}] must have data's rank ${data.shape.length}`);
  const positions = elementPositions(data.shape, requiredInts(idx, 'ScatterElements indices'), idx.shape, a, 'ScatterElements');
  return [scatter(data, input(values, 2), positions, reduction)];
}

/** Rearrangements of dims and elements: depth/space, tiling, triangles, element and tuple gathers, prefix sums. */
export const layoutOps: OpTable = {
  DepthToSpace: {
    run: ({ values, attrs }) => [
      keepConst(input(values, 0), (x) => depthToSpace(x, attrs.int('blocksize', 0), attrs.string('mode', 'DCR'))),
    ],
  },
  SpaceToDepth: { run: ({ values, attrs }) => [keepConst(input(values, 0), (x) => spaceToDepth(x, attrs.int('blocksize', 0)))] },
  Tile: { run: ({ values }) => [keepConst(input(values, 0), (x) => tile(x, requiredInts(values[1], 'Tile repeats')))] },
  Trilu: {
    since: 14,
    run: ({ values, attrs }) => {
      const k = values[1] ? (numbers(values[1])[0] ?? 0) : 0;
      return [keepConst(input(values, 0), (x) => trilu(x, k, attrs.int('upper', 1) === 1))];
    },
  },
  GatherElements: {
    since: 11,
    run: ({ values, attrs }) => {
      const x = input(values, 0);
      const idx = input(values, 1);
      if (idx.shape.length !== x.shape.length)
        throw new Error(`GatherElements indices [${idx.shape.join(', ')}] must have data's rank ${x.shape.length}`);
      const ax = axis(attrs.int('axis', 0), x.shape.length);
      const positions = elementPositions(x.shape, requiredInts(idx, 'GatherElements indices'), idx.shape, ax);
      return [pick(x, positions, [...idx.shape])];
    },
  },
  GatherND: {
    since: 11,
    run: ({ values, attrs }) => {
      const x = input(values, 0);
      const idx = input(values, 1);
      const { positions, shape } = ndPositions(x.shape, requiredInts(idx, 'GatherND indices'), idx.shape, attrs.int('batch_dims', 0));
      return [pick(x, positions, shape)];
    },
  },
  ScatterND: {
    since: 11,
    run: ({ values, attrs }) => {
      const data = input(values, 0);
      const idx = input(values, 1);
      const { positions } = ndPositions(data.shape, requiredInts(idx, 'ScatterND indices'), idx.shape, 0, 'ScatterND');
      return [scatter(data, input(values, 2), positions, attrs.string('reduction', 'none'))];
    },
  },
  ScatterElements: {
    since: 11,
    run: ({ values, attrs }) => scatterElements(values, attrs.int('axis', 0), attrs.string('reduction', 'none')),
  },
  // ScatterElements's name at opsets 9 and 10.
  Scatter: { run: ({ values, attrs }) => scatterElements(values, attrs.int('axis', 0), 'none') },
  Compress: {
    since: 9,
    run: ({ values, attrs }) => {
      const x = input(values, 0);
      const keep = numbers(input(values, 1));
      if (!attrs.has('axis')) {
        const picked = keep.flatMap((k, i) => (k && i < x.shape.reduce((a, b) => a * b, 1) ? [i] : []));
        return [pick(x, picked, [picked.length])];
      }
      const ax = axis(attrs.int('axis', 0), x.shape.length);
      const picked = keep.flatMap((k, i) => (k && i < x.shape[ax]! ? [i] : []));
      return [keepConst(x, (v) => t.indexSelect(v, ax, picked))];
    },
  },
  ReverseSequence: {
    since: 10,
    run: ({ values, attrs }) => {
      const x = input(values, 0);
      const lengths = requiredInts(values[1], 'ReverseSequence sequence_lens');
      const timeAxis = attrs.int('time_axis', 0);
      const batchAxis = attrs.int('batch_axis', 1);
      // Each batch entry's first lengths[b] steps reversed, the rest in place: one flat index selection.
      const strides = stridesOf(x.shape);
      const positions = Array.from({ length: x.shape.reduce((a, b) => a * b, 1) }, (_, flat) => {
        const step = Math.floor(flat / strides[timeAxis]!) % x.shape[timeAxis]!;
        const b = Math.floor(flat / strides[batchAxis]!) % x.shape[batchAxis]!;
        const n = lengths[b]!;
        return step < n ? flat + (n - 1 - 2 * step) * strides[timeAxis]! : flat;
      });
      return [pick(x, positions, [...x.shape])];
    },
  },
  CumSum: {
    since: 11,
    run: ({ values, attrs }) => {
      const x = input(values, 0);
      const ax = axis(requiredInts(values[1], 'CumSum axis')[0] ?? 0, x.shape.length);
      const exclusive = attrs.int('exclusive', 0) === 1;
      const reverse = attrs.int('reverse', 0) === 1;
      return [keepConst(x, (v) => cumsum(v, ax, exclusive, reverse))];
    },
  },
};
