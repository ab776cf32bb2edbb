import * as t from '@gradlens/tensor';
import type { OpTable } from './op-context';
import { checkElements, input, ints, numbers } from './op-context';
import type { Value } from './values';
import { Const, constToTensor, keepConst } from './values';

// MaxUnpool puts each value back where MaxPool's Indices output says it came from; Unique lists an input's distinct
// values or slices. Both are index selections worked out from numbers (the indices, the values' order), so the
// values themselves keep their gradient and the index outputs have none.

/** MaxUnpool (9, 11): zeros of the pooled input's shape with x's values at their flat indices (the last one wins). */
function maxUnpool(values: readonly (Value | null)[], kernel: number[], pads: number[] | null, strides: number[] | null): Value {
  const x = input(values, 0);
  const spatial = x.shape.length - 2;
  if (spatial < 1) throw new Error(`MaxUnpool X [${x.shape.join(', ')}] must be [N, C, spatial…]`);
  if (kernel.length !== spatial) throw new Error(`MaxUnpool kernel_shape [${kernel.join(', ')}] does not have X's ${spatial} spatial dims`);
  const stride = strides ?? kernel.map(() => 1);
  const pad = pads ?? kernel.map(() => 0).concat(kernel.map(() => 0));
  const inferred = [...x.shape.slice(0, 2), ...kernel.map((k, i) => (x.shape[i + 2]! - 1) * stride[i]! + k - pad[i]! - pad[i + spatial]!)];
  const given = values[2] ? ints(values[2], 'MaxUnpool output_shape') : null;
  const shape = given ?? inferred;
  if (shape.length !== x.shape.length || shape.some((d) => !Number.isInteger(d) || d < 1))
    throw new Error(`MaxUnpool output shape [${shape.join(', ')}] is not a shape of X's rank ${x.shape.length}`);
  checkElements(shape, "MaxUnpool's output");
  const indices = numbers(input(values, 1));
  const size = shape.reduce((a, b) => a * b, 1);
  const count = x.shape.reduce((a, b) => a * b, 1);
  if (indices.length !== count) throw new Error(`MaxUnpool indices hold ${indices.length} values for X's ${count}`);
  // Each output position reads the x value whose index names it, else the appended zero (position `count`).
  // The indices name places in the pooled input's (the inferred) layout; a larger output_shape pads it at the end,
  // each value keeping its coordinates (onnxruntime's and the backend tests' reading).
  const inferredSize = inferred.reduce((a, b) => a * b, 1);
  const at = given === null ? (p: number) => p : relayout(inferred, shape);
  const source = new Array<number>(size).fill(count);
  indices.forEach((p, j) => {
    const q = Number.isInteger(p) && p >= 0 && p < inferredSize ? at(p) : -1;
    if (q < 0 || q >= size)
      throw new Error(
        `MaxUnpool index ${p} (element ${j}) is outside the pooled input's ${inferredSize} elements [${inferred.join(', ')}] or the output [${shape.join(', ')}]`,
      );
    source[q] = j;
  });
  return keepConst(x, (v) => t.reshape(t.indexSelect(t.cat([t.reshape(v, [-1]), t.zeros([1], v.dtype)], 0), 0, source), shape));
}

/** Maps a flat index of shape `from` to the flat index of the same coordinates in shape `to` (-1 if outside it). */
function relayout(from: readonly number[], to: readonly number[]): (p: number) => number {
  return (p) => {
    let rem = p;
    let q = 0;
    let stride = 1;
    const coords = new Array<number>(from.length);
    for (let d = from.length - 1; d >= 0; d--) {
      coords[d] = rem % from[d]!;
      rem = Math.floor(rem / from[d]!);
    }
    for (let d = to.length - 1; d >= 0; d--) {
      if (coords[d]! >= to[d]!) return -1;
      q += coords[d]! * stride;
      stride *= to[d]!;
    }
    return q;
  };
}

/** Compares two keys (a slice's values) element by element, as NumPy's lexicographic sort of rows. */
function compareKeys(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

/**
 * Unique (11): the distinct values (no axis: of the flattened input) or slices along `axis`, sorted or in order of
 * first appearance, with the index of each one's first appearance, each element's (or slice's) place among them
 * and how often each appears.
 */
function unique(values: readonly (Value | null)[], axisAttr: number | null, sorted: boolean): Value[] {
  const x = input(values, 0);
  const flat = numbers(x);
  const shape = x.shape;
  const ax = axisAttr === null ? null : axisAttr < 0 ? axisAttr + shape.length : axisAttr;
  if (ax !== null && (ax < 0 || ax >= shape.length)) throw new Error(`Unique axis ${axisAttr} is out of range for rank ${shape.length}`);
  // The keys: one value each, or the values of each slice along the axis.
  const n = ax === null ? flat.length : shape[ax]!;
  const outer = ax === null ? 1 : shape.slice(0, ax).reduce((a, b) => a * b, 1);
  const inner = ax === null ? 1 : shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const keys = Array.from({ length: n }, (_, k) => {
    if (ax === null) return [flat[k]!];
    const key: number[] = [];
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) key.push(flat[(o * n + k) * inner + i]!);
    return key;
  });
  const firsts: number[] = [];
  const place = new Map<string, number>();
  const inverse = keys.map((key, k) => {
    const id = key.join(',');
    let at = place.get(id);
    if (at === undefined) {
      at = firsts.length;
      place.set(id, at);
      firsts.push(k);
    }
    return at;
  });
  const order = firsts.map((_, i) => i);
  if (sorted) order.sort((a, b) => compareKeys(keys[firsts[a]!]!, keys[firsts[b]!]!));
  const rank = new Array<number>(order.length);
  order.forEach((u, r) => (rank[u] = r));
  const indices = order.map((u) => firsts[u]!);
  const counts = new Array<number>(order.length).fill(0);
  inverse.forEach((u) => counts[rank[u]!]!++);
  const y =
    ax === null ? keepConst(x, (v) => t.indexSelect(t.reshape(v, [-1]), 0, indices)) : keepConst(x, (v) => t.indexSelect(v, ax, indices));
  // Index outputs as TopK's: int32 tensors beside a tensor input, constants beside a constant one.
  const int = (v: number[]) => (x instanceof Const ? new Const(v, [v.length], 'int') : constToTensor(new Const(v, [v.length], 'int')));
  return [y, int(indices), int(inverse.map((u) => rank[u]!)), int(counts)];
}

/** MaxPool's inverse and the distinct values of a tensor. */
export const unpoolUniqueOps: OpTable = {
  MaxUnpool: {
    since: 9,
    run: ({ values, attrs }) => {
      const kernel = attrs.ints('kernel_shape');
      if (!kernel) throw new Error('MaxUnpool needs kernel_shape');
      return [maxUnpool(values, kernel, attrs.ints('pads'), attrs.ints('strides'))];
    },
  },
  Unique: {
    since: 11,
    run: ({ values, attrs }) => unique(values, attrs.has('axis') ? attrs.int('axis', 0) : null, attrs.int('sorted', 1) === 1),
  },
};
