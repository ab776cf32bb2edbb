import * as t from '@gradlens/tensor';
import { Tensor } from '@gradlens/tensor';
import type { OpContext, OpTable } from './op-context';
import { axis, checkElements, input, numbers, requiredInts } from './op-context';
import type { Value } from './values';
import { Const, constToTensor, keepConst, stridesOf, toConst } from './values';

// Ops that choose elements by value or make index patterns. What they choose is worked out in JavaScript (an
// index or a one-hot pattern has no gradient); the values they pass on stay on the tape as index selections.

/** A constant result as a tensor when the op's input was one (so a graph's tensors stay tensors). */
const likeInput = (c: Const, from: Value): Value => (from instanceof Tensor ? constToTensor(c) : c);

/** Per slice along `ax` of `shape`, the flat positions of its elements in order (outer, then inner). */
function slices(shape: readonly number[], ax: number): number[][] {
  const n = shape[ax]!;
  const inner = stridesOf(shape)[ax]!;
  const outer = shape.reduce((a, b) => a * b, 1) / Math.max(n * inner, 1);
  const out: number[][] = [];
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) out.push(Array.from({ length: n }, (_, k) => (o * n + k) * inner + i));
  return out;
}

/**
 * TopK: the k largest (or smallest) along an axis, sorted, ties to the lower index (the spec's order). The
 * values are an index selection of the input, so they differentiate; the indices are int32.
 */
function topK(ctx: OpContext): Value[] {
  const x = input(ctx.values, 0);
  const k = ctx.opset >= 10 ? (requiredInts(ctx.values[1], 'TopK k')[0] ?? 0) : ctx.attrs.int('k', 0);
  const ax = axis(ctx.attrs.int('axis', -1), x.shape.length);
  const largest = ctx.attrs.int('largest', 1) === 1;
  const n = x.shape[ax]!;
  if (!Number.isInteger(k) || k < 0 || k > n) throw new Error(`TopK k = ${k} is not within the axis's ${n} elements`);
  const data = toConst(x).data;
  const shape = x.shape.map((d, i) => (i === ax ? k : d));
  const positions = new Array<number>(shape.reduce((a, b) => a * b, 1));
  const indices = new Array<number>(positions.length);
  const outInner = stridesOf(shape)[ax]!;
  const inInner = stridesOf(x.shape)[ax]!;
  slices(x.shape, ax).forEach((flat, s) => {
    const order = flat.map((_, j) => j);
    order.sort((a, b) => {
      const [va, vb] = [data[flat[a]!]!, data[flat[b]!]!];
      return va === vb ? a - b : largest ? vb - va : va - vb;
    });
    const [o, i] = [Math.floor(s / inInner), s % inInner];
    for (let r = 0; r < k; r++) {
      const at = (o * k + r) * outInner + i;
      positions[at] = flat[order[r]!]!;
      indices[at] = order[r]!;
    }
  });
  const values = keepConst(x, (v) => t.reshape(t.indexSelect(t.reshape(v, [-1]), 0, positions), shape));
  return [values, likeInput(new Const(indices, shape, 'int'), x)];
}

/** One-hot rows of `depth` along `ax` at the given indices (negative ones count from the end, as the spec says). */
function oneHot(ctx: OpContext): Value[] {
  const idx = input(ctx.values, 0);
  const depth = numbers(input(ctx.values, 1))[0] ?? 0;
  const values = input(ctx.values, 2);
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`OneHot depth ${depth} is not a positive count`);
  const rank = idx.shape.length + 1;
  const ax = axis(ctx.attrs.int('axis', -1), rank);
  const shape = [...idx.shape.slice(0, ax), depth, ...idx.shape.slice(ax)];
  checkElements(shape, 'OneHot');
  const inner = stridesOf(shape)[ax]!;
  const mask = new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0);
  Array.from(toConst(idx).data).forEach((raw, flat) => {
    const k = raw < 0 ? raw + depth : raw;
    if (k < 0 || k >= depth) return; // out of range: a row of off values
    const [o, i] = [Math.floor(flat / inner), flat % inner];
    mask[(o * depth + k) * inner + i] = 1;
  });
  const onOff = toConst(values);
  if (onOff.size !== 2) throw new Error(`OneHot values must be [off, on], got ${onOff.size} values`);
  if (values instanceof Const) {
    const [off, on] = [onOff.data[0]!, onOff.data[1]!];
    return [
      new Const(
        mask.map((m) => (m ? on : off)),
        shape,
        values.kind,
      ),
    ];
  }
  const [off, on] = [t.slice(values, 0, 0, 1), t.slice(values, 0, 1, 2)];
  return [t.where(constToTensor(new Const(mask, shape, 'bool')), on, off)];
}

/** Hardmax: 1 at the first maximum along the axis, 0 elsewhere (before opset 13, over the flattened dims from it). */
function hardmax(ctx: OpContext): Value[] {
  const x = input(ctx.values, 0);
  const c = toConst(x);
  const flattened = ctx.opset < 13;
  const ax = axis(ctx.attrs.int('axis', flattened ? 1 : -1), c.shape.length);
  const shape = flattened ? [c.shape.slice(0, ax).reduce((a, b) => a * b, 1), c.shape.slice(ax).reduce((a, b) => a * b, 1)] : [...c.shape];
  const out = new Array<number>(c.size).fill(0);
  for (const flat of slices(shape, flattened ? 1 : ax)) {
    let best = flat[0]!;
    for (const p of flat) if (c.data[p]! > c.data[best]!) best = p;
    if (flat.length) out[best] = 1;
  }
  return [likeInput(new Const(out, c.shape, c.kind === 'float64' ? 'float64' : 'float32'), x)];
}

/** NonZero: the indices of the non-zero elements, one row per axis, in row-major order. */
function nonZero(ctx: OpContext): Value[] {
  const x = input(ctx.values, 0);
  const c = toConst(x);
  const strides = stridesOf(c.shape);
  const found: number[] = [];
  Array.from(c.data).forEach((v, flat) => {
    if (v !== 0) found.push(flat);
  });
  const rows = c.shape.map((_, d) => found.map((flat) => Math.floor(flat / strides[d]!) % c.shape[d]!));
  return [likeInput(new Const(rows.flat(), [c.shape.length, found.length], 'int'), x)];
}

/** EyeLike: ones on the k-th diagonal of a 2-D shape. */
function eyeLike(ctx: OpContext): Value[] {
  const x = input(ctx.values, 0);
  if (x.shape.length !== 2) throw new Error(`EyeLike needs a 2-D input, got [${x.shape.join(', ')}]`);
  const [rows, cols] = x.shape as [number, number];
  const k = ctx.attrs.int('k', 0);
  const out = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) if (i + k >= 0 && i + k < cols) out[i * cols + i + k] = 1;
  const dtype = ctx.attrs.int('dtype', 0);
  const kind = dtype === 0 ? toConst(x).kind : dtype === 11 ? 'float64' : dtype === 1 ? 'float32' : dtype === 9 ? 'bool' : 'int';
  return [new Const(out, [rows, cols], kind)];
}

/** Corners [y1, x1, y2, x2] of a box stored as corners in any order (format 0) or as [xc, yc, w, h] (format 1). */
function corners(b: ArrayLike<number>, at: number, centered: boolean): [number, number, number, number] {
  const [p, q, r, s] = [b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!];
  if (centered) return [q - s / 2, p - r / 2, q + s / 2, p + r / 2];
  return [Math.min(p, r), Math.min(q, s), Math.max(p, r), Math.max(q, s)];
}

function iou(a: [number, number, number, number], b: [number, number, number, number]): number {
  const h = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const w = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (h <= 0 || w <= 0) return 0;
  const inter = h * w;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * NonMaxSuppression, per batch and class: boxes scoring above score_threshold, best first (ties to the lower
 * index), each kept unless it overlaps a kept one by more than iou_threshold, up to max_output_boxes_per_class;
 * the result lists [batch, class, box] rows. Indices have no gradient.
 */
function nonMaxSuppression(ctx: OpContext): Value[] {
  const boxes = toConst(input(ctx.values, 0));
  const scores = toConst(input(ctx.values, 1));
  const scalar = (i: number, fallback: number) => (ctx.values[i] ? (numbers(ctx.values[i]!)[0] ?? fallback) : fallback);
  const maxPerClass = scalar(2, 0);
  const iouThreshold = scalar(3, 0);
  const scoreThreshold = ctx.values[4] ? scalar(4, 0) : -Infinity;
  const centered = ctx.attrs.int('center_point_box', 0) === 1;
  const [batches, classes, n] = scores.shape as [number, number, number];
  if (boxes.shape.length !== 3 || boxes.shape[0] !== batches || boxes.shape[1] !== n || boxes.shape[2] !== 4)
    throw new Error(`NonMaxSuppression boxes [${boxes.shape.join(', ')}] do not match scores [${scores.shape.join(', ')}] as [B, N, 4]`);
  const rows: number[] = [];
  for (let b = 0; b < batches; b++)
    for (let c = 0; c < classes; c++) {
      const score = (i: number) => scores.data[(b * classes + c) * n + i]!;
      const order = Array.from({ length: n }, (_, i) => i)
        .filter((i) => score(i) > scoreThreshold)
        .sort((i, j) => score(j) - score(i) || i - j);
      const kept: [number, number, number, number][] = [];
      for (const i of order) {
        if (kept.length >= maxPerClass) break;
        const box = corners(boxes.data, (b * n + i) * 4, centered);
        if (kept.some((k) => iou(k, box) > iouThreshold)) continue;
        kept.push(box);
        rows.push(b, c, i);
      }
    }
  return [likeInput(new Const(rows, [rows.length / 3, 3], 'int'), input(ctx.values, 0))];
}

/** TopK, OneHot, Hardmax, NonZero, EyeLike, NonMaxSuppression. */
export const indexOps: OpTable = {
  TopK: { run: topK },
  OneHot: { since: 9, run: oneHot },
  Hardmax: { run: hardmax },
  NonZero: { since: 9, run: nonZero },
  EyeLike: { since: 9, run: eyeLike },
  NonMaxSuppression: { since: 10, run: nonMaxSuppression },
};
