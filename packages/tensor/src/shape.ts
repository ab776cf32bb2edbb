import { fmt, opError } from './errors';

export type Shape = readonly number[];

/** Number of elements of a shape. */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** Whether two shapes are equal dimension by dimension. */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Checks that every dimension is a non-negative integer. */
export function checkShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw opError(op, `a shape needs non-negative integer sizes, got ${fmt(shape)}`);
    }
  }
}

/** The shape two operands broadcast to (NumPy/PyTorch rules), or an error naming both shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw opError(op, `shapes ${fmt(a)} and ${fmt(b)} cannot be broadcast together (dimension ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides for reading `shape` as if it were broadcast to `target`: 0 along broadcast dimensions. */
export function broadcastStrides(shape: Shape, target: Shape): number[] {
  const own = stridesOf(shape);
  const offset = target.length - shape.length;
  return target.map((_, i) => {
    const j = i - offset;
    return j < 0 || shape[j] === 1 ? 0 : own[j]!;
  });
}

/** A dimension index in [0, rank), accepting negative indices as PyTorch does. */
export function normalizeDim(op: string, dim: number, rank: number): number {
  if (!Number.isInteger(dim) || dim < -Math.max(rank, 1) || dim >= Math.max(rank, 1)) {
    throw opError(op, `dim ${dim} is out of range for a tensor of rank ${rank} (expected ${-rank}..${rank - 1})`);
  }
  return dim < 0 ? dim + rank : dim;
}

/** Sorted, de-duplicated, normalised dims; undefined or empty means every dimension. */
export function normalizeDims(op: string, dims: number | readonly number[] | undefined, rank: number): number[] {
  if (dims === undefined) return [...Array(rank).keys()];
  const list = typeof dims === 'number' ? [dims] : dims;
  if (list.length === 0) return [...Array(rank).keys()];
  const out = [...new Set(list.map((d) => normalizeDim(op, d, rank)))].sort((x, y) => x - y);
  if (out.length !== list.length) throw opError(op, `dims ${fmt(list)} repeat a dimension`);
  return out;
}

/** A number or [h, w] pair (PyTorch's int-or-tuple arguments) as a checked pair. */
export function pair(op: string, name: string, value: number | readonly number[], min: number): [number, number] {
  if (typeof value !== 'number' && !Array.isArray(value)) {
    throw opError(op, `${name} must be a number or [h, w], got ${JSON.stringify(value)}`);
  }
  const p = typeof value === 'number' ? [value, value] : value;
  if (p.length !== 2) throw opError(op, `${name} must be a number or [h, w], got ${fmt(p)}`);
  const [h, w] = p as [number, number];
  for (const v of [h, w]) {
    if (!Number.isInteger(v) || v < min) {
      throw opError(op, `${name} must be ${min === 0 ? 'non-negative' : 'positive'} integers, got ${JSON.stringify(value)}`);
    }
  }
  return [h, w];
}

/** Output spatial size of a convolution or pooling window (floor, or ceil with PyTorch's last-window rule). */
export function windowOutSize(size: number, kernel: number, stride: number, pad: number, dilation: number, ceilMode = false): number {
  const span = size + 2 * pad - dilation * (kernel - 1) - 1;
  let out = Math.floor((ceilMode ? span + stride - 1 : span) / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

/** The sizes of one batched matmul kernel call (see `matmulDims`). */
export interface MatmulDims {
  /** the output's batch dimensions: the operands' batch dimensions broadcast */
  batchShape: number[];
  /** matrices in the batch (the size of batchShape) */
  batch: number;
  m: number;
  k: number;
  n: number;
  /** elements from one batch's matrix to the next: 0 when the operand is one matrix for the whole batch */
  aBatchStride: number;
  bBatchStride: number;
}

/**
 * The sizes of matmul's kernel for operands [..., m, k] ([..., k, m] with transA) and [..., k, n]
 * ([..., n, k] with transB). The op layer hands each operand's batch over whole or as all ones.
 */
export function matmulDims(a: Shape, b: Shape, transA: boolean, transB: boolean): MatmulDims {
  const ra = a.length,
    rb = b.length;
  const m = transA ? a[ra - 1]! : a[ra - 2]!;
  const k = transA ? a[ra - 2]! : a[ra - 1]!;
  const n = transB ? b[rb - 2]! : b[rb - 1]!;
  const aBatch = a.slice(0, -2),
    bBatch = b.slice(0, -2);
  const batchShape = broadcastShapes('matmul', aBatch, bBatch);
  return {
    batchShape,
    batch: sizeOf(batchShape),
    m,
    k,
    n,
    aBatchStride: sizeOf(aBatch) === 1 ? 0 : m * k,
    bBatchStride: sizeOf(bBatch) === 1 ? 0 : k * n,
  };
}
