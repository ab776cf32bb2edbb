import { fmt, opError } from '../errors';
import type { Shape } from '../shape';
import { broadcastShapes, checkShape, normalizeDim, sameShape, sizeOf } from '../shape';
import { Tensor } from '../tensor';
import type { SliceAttrs } from './op-attrs';
import { composite, runOp } from './run';

/** The same values in a new shape (one dim may be -1); shares memory. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const free = shape.filter((d) => d === -1).length;
  if (free > 1) throw opError('reshape', `only one dimension can be -1, got ${fmt(shape)}`);
  const known = sizeOf(shape.filter((d) => d !== -1));
  const resolved = shape.map((d) => (d === -1 ? (known === 0 ? 0 : x.size / known) : d));
  checkShape('reshape', resolved);
  if (sizeOf(resolved) !== x.size) {
    throw opError('reshape', `cannot view ${fmt(x.shape)} (${x.size} elements) as ${fmt(shape)}`);
  }
  if (sameShape(resolved, x.shape)) return x;
  return runOp('reshape', [x], { shape: resolved });
}

/** Flattens dims startDim..endDim into one, as torch.flatten. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const s = normalizeDim('flatten', startDim, x.rank);
  const e = normalizeDim('flatten', endDim, x.rank);
  if (s > e) throw opError('flatten', `startDim ${startDim} comes after endDim ${endDim}`);
  return reshape(x, [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

/** Inserts a size-1 dim at `dim`. */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('unsqueeze', dim, x.rank + 1);
  return reshape(x, [...x.shape.slice(0, d), 1, ...x.shape.slice(d)]);
}

/** Removes size-1 dims (only `dim` when given). */
export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const d = normalizeDim('squeeze', dim, x.rank);
  return x.shape[d] === 1 ? reshape(x, [...x.shape.slice(0, d), ...x.shape.slice(d + 1)]) : x;
}

/** Reorders dims: output dim i is input dim dims[i]. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.rank) throw opError('permute', `expected ${x.rank} dims for shape ${fmt(x.shape)}, got ${fmt(dims)}`);
  const norm = dims.map((d) => normalizeDim('permute', d, x.rank));
  if (new Set(norm).size !== norm.length) throw opError('permute', `dims ${fmt(dims)} repeat a dimension`);
  if (norm.every((d, i) => d === i)) return x;
  return runOp('permute', [x], { dims: norm });
}

/** Swaps two dims. */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const order = [...Array(x.rank).keys()];
  const a = normalizeDim('transpose', dim0, x.rank);
  const b = normalizeDim('transpose', dim1, x.rank);
  [order[a], order[b]] = [order[b]!, order[a]!];
  return permute(x, order);
}

/** Broadcasts to `shape` (-1 keeps a dim), copying. */
export function expand(x: Tensor, shape: Shape): Tensor {
  const lead = shape.length - x.rank;
  const target = shape.map((d, i) => (d === -1 && i >= lead ? x.shape[i - lead]! : d));
  checkShape('expand', target);
  const out = broadcastShapes('expand', x.shape, target);
  if (!sameShape(out, target)) throw opError('expand', `cannot expand ${fmt(x.shape)} to ${fmt(shape)}`);
  if (sameShape(target, x.shape)) return x;
  return runOp('expand', [x], { shape: target });
}

/** Elements start, start+step, … below end along `dim` (Python's x[..., start:end:step, ...]). */
export function slice(x: Tensor, dim: number, start = 0, end?: number, step = 1): Tensor {
  const d = normalizeDim('slice', dim, x.rank);
  const n = x.shape[d]!;
  if (!Number.isInteger(step) || step < 1) throw opError('slice', `step must be a positive integer, got ${step}`);
  if (!Number.isInteger(start) || (end !== undefined && !Number.isInteger(end))) {
    throw opError('slice', `start and end must be integers, got start ${start} and end ${end}`);
  }
  const clampIndex = (i: number) => Math.min(n, Math.max(0, i < 0 ? i + n : i));
  const s = clampIndex(start);
  const e = Math.max(s, clampIndex(end ?? n));
  const attrs: SliceAttrs = {
    begin: x.shape.map((_, i) => (i === d ? s : 0)),
    end: x.shape.map((len, i) => (i === d ? e : len)),
    step: x.shape.map((_, i) => (i === d ? step : 1)),
  };
  return runOp('slice', [x], attrs);
}

/** `length` elements from `start` along `dim`, as torch.narrow (out of range is an error). */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normalizeDim('narrow', dim, x.rank);
  const s = start < 0 ? start + x.shape[d]! : start;
  if (!Number.isInteger(start) || !Number.isInteger(length) || length < 0 || s < 0 || s + length > x.shape[d]!) {
    throw opError('narrow', `start ${start} and length ${length} do not fit dim ${dim} of size ${x.shape[d]}`);
  }
  return slice(x, d, s, s + length);
}

/**
 * Constant padding in F.pad's order: [left, right] pads the last dim, [left, right, top, bottom]
 * the last two, and so on outward.
 */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  if (pads.length % 2 !== 0 || pads.length / 2 > x.rank) {
    throw opError('pad', `pads must hold pairs for at most ${x.rank} dims, got ${fmt(pads)}`);
  }
  if (pads.some((p) => !Number.isInteger(p) || p < 0)) throw opError('pad', `pads must be non-negative integers, got ${fmt(pads)}`);
  const pairs: [number, number][] = x.shape.map(() => [0, 0]);
  for (let i = 0; i < pads.length / 2; i++) pairs[x.rank - 1 - i] = [pads[2 * i]!, pads[2 * i + 1]!];
  return runOp('pad', [x], { pads: pairs, value });
}

/** Joins tensors along an existing dim; all other dims must match. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  const first = tensors[0];
  if (!first) throw opError('cat', 'needs at least one tensor');
  const d = normalizeDim('cat', dim, first.rank);
  tensors.forEach((t, i) => {
    if (t.rank !== first.rank || t.shape.some((len, j) => j !== d && len !== first.shape[j])) {
      throw opError('cat', `tensor ${i} has shape ${fmt(t.shape)}, which does not match ${fmt(first.shape)} outside dim ${d}`);
    }
    if (t.dtype !== first.dtype) throw opError('cat', `tensor ${i} is ${t.dtype}, tensor 0 is ${first.dtype}`);
  });
  if (tensors.length === 1) return first;
  return runOp('cat', tensors, { dim: d });
}

/** Joins tensors of equal shape along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  const first = tensors[0];
  if (!first) throw opError('stack', 'needs at least one tensor');
  tensors.forEach((t, i) => {
    if (!sameShape(t.shape, first.shape)) throw opError('stack', `tensor ${i} has shape ${fmt(t.shape)}, tensor 0 has ${fmt(first.shape)}`);
  });
  const d = normalizeDim('stack', dim, first.rank + 1);
  return composite(() =>
    cat(
      tensors.map((t) => unsqueeze(t, d)),
      d,
    ),
  );
}

/** The slices of `x` at `index` (a 1-D int32 tensor or numbers) along `dim`. */
export function indexSelect(x: Tensor, dim: number, index: Tensor | readonly number[]): Tensor {
  const d = normalizeDim('indexSelect', dim, x.rank);
  if (!(index instanceof Tensor)) {
    const bad = index.find((i) => !Number.isInteger(i));
    if (bad !== undefined) throw opError('indexSelect', `index must hold integers, got ${bad}`);
  } else if (index.isDisposed) {
    throw opError('indexSelect', `index (${index}) was disposed`);
  }
  if (index instanceof Tensor && (index.dtype !== 'int32' || index.rank !== 1)) {
    throw opError('indexSelect', `index must be a 1-D int32 tensor, got ${index.dtype} ${fmt(index.shape)}`);
  }
  const n = x.shape[d]!;
  for (const i of index instanceof Tensor ? index.values() : index) {
    if (i < 0 || i >= n) throw opError('indexSelect', `index ${i} is out of range for dim ${d} of size ${n}`);
  }
  if (index instanceof Tensor) return runOp('indexSelect', [x, index], { dim: d });
  // numbers: an index tensor of our own, freed after (or with the tape that keeps it for the backward pass)
  const idx = new Tensor(Int32Array.from(index), [index.length], 'int32');
  try {
    return runOp('indexSelect', [x, idx], { dim: d });
  } finally {
    idx.dispose();
  }
}
