import * as t from '@gradlens/tensor';
import { noGrad, Tensor } from '@gradlens/tensor';
import type { Attrs } from './attrs';
import type { OpContext, OpTable } from './op-context';
import { axis, float, input, ints } from './op-context';
import type { Value } from './values';
import { Const, constToTensor, toConst } from './values';

type Reducer = (x: Tensor, o: { dim: number[]; keepdim: boolean }) => Tensor;

/** The reduced dims: from the axes attribute, or from the second input once the op takes it (`since`). */
function reducedDims(
  x: Tensor,
  values: readonly (Value | null)[],
  attrs: Attrs,
  opset: number,
  axesFromInputSince: number,
): number[] | null {
  const given = opset >= axesFromInputSince ? ints(values[1], 'axes') : attrs.ints('axes');
  if ((!given || given.length === 0) && attrs.int('noop_with_empty_axes', 0) === 1) return null;
  return given && given.length ? given.map((a) => axis(a, x.rank)) : x.shape.map((_, i) => i);
}

/** A Reduce* op: `fn` over the dims; with noop_with_empty_axes and no axes, the input itself. */
function reduce(fn: Reducer, axesFromInputSince: number) {
  return ({ values, attrs, opset }: OpContext): Value[] => {
    const v = input(values, 0);
    const apply = (x: Tensor): Tensor => {
      const dim = reducedDims(x, values, attrs, opset, axesFromInputSince);
      return dim ? fn(x, { dim, keepdim: attrs.int('keepdims', 1) === 1 }) : x;
    };
    if (!(v instanceof Const)) return [apply(float(v))];
    // Load-time arithmetic (a TopK's k as the min of a constant and a shape): computed in float64, the constant's
    // kind kept, so an integer stays an integer a later op can read as one.
    const x = constToTensor(new Const(v.values(), v.shape, 'float64'));
    const y = noGrad(() => apply(x));
    const out = new Const(Array.from(y.values()), y.shape, v.kind);
    if (y !== x) y.dispose();
    x.dispose();
    return [out];
  };
}

/** log Σ exp(x), with the maximum (off the tape: its terms cancel in the gradient) taken out first. */
const logSumExp: Reducer = (x, { dim, keepdim }) => {
  const m = noGrad(() => t.max(x, { dim, keepdim: true }));
  // An all −∞ (or infinite) slice keeps its own value: shift it by 0, not by ±∞.
  const shift = new Tensor(
    x.dtype === 'float64'
      ? Float64Array.from(m.values(), (v) => (Number.isFinite(v) ? v : 0))
      : Float32Array.from(m.values(), (v) => (Number.isFinite(v) ? v : 0)),
    m.shape,
    x.dtype,
  );
  const y = t.add(t.log(t.sum(t.exp(t.sub(x, shift)), { dim, keepdim: true })), shift);
  return keepdim
    ? y
    : t.reshape(
        y,
        x.shape.filter((_, i) => !dim.includes(i)),
      );
};

/** The product over the dims, halving each dim by multiplying its halves (exact, and differentiable by mul's rule). */
const product: Reducer = (x, { dim, keepdim }) => {
  let y = x;
  for (const d of dim) {
    while (y.shape[d]! > 1) {
      const n = y.shape[d]!;
      const half = Math.floor(n / 2);
      const paired = t.mul(t.slice(y, d, 0, half), t.slice(y, d, half, 2 * half));
      y = n % 2 ? t.cat([paired, t.slice(y, d, n - 1, n)], d) : paired;
    }
    if (y.shape[d] === 0) y = t.sum(t.add(y, 1), { dim: d, keepdim: true }); // an empty product is 1
  }
  return keepdim
    ? y
    : t.reshape(
        y,
        x.shape.filter((_, i) => !dim.includes(i)),
      );
};

/** ArgMax/ArgMin along one axis (first or last index of the extreme), in JavaScript: an index has no gradient. */
function argExtreme(ctx: OpContext, better: (a: number, b: number) => boolean): Value[] {
  const x = input(ctx.values, 0);
  const c = toConst(x);
  const ax = axis(ctx.attrs.int('axis', 0), c.shape.length);
  const last = ctx.attrs.int('select_last_index', 0) === 1;
  const n = c.shape[ax]!;
  if (n === 0) throw new Error(`axis ${ax} of [${c.shape.join(', ')}] is empty`);
  const inner = c.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const outer = c.size / (n * inner);
  const out = new Array<number>(outer * inner);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      let best = 0;
      let bestValue = c.data[o * n * inner + i]!;
      for (let k = 1; k < n; k++) {
        const v = c.data[(o * n + k) * inner + i]!;
        if (better(v, bestValue) || (last && v === bestValue)) {
          best = k;
          bestValue = v;
        }
      }
      out[o * inner + i] = best;
    }
  const keep = ctx.attrs.int('keepdims', 1) === 1;
  const shape = keep ? c.shape.map((d, i) => (i === ax ? 1 : d)) : c.shape.filter((_, i) => i !== ax);
  const result = new Const(out, shape, 'int');
  return [x instanceof Tensor ? constToTensor(result) : result];
}

/** Reductions over axes, and the index of an axis's extreme. */
export const reduceOps: OpTable = {
  ReduceMean: { run: reduce(t.mean, 18) },
  ReduceSum: { run: reduce(t.sum, 13) },
  ReduceMax: { run: reduce(t.max, 18) },
  ReduceMin: { run: reduce(t.min, 18) },
  ReduceL1: { run: reduce((x, o) => t.sum(t.abs(x), o), 18) },
  ReduceL2: { run: reduce((x, o) => t.sqrt(t.sum(t.mul(x, x), o)), 18) },
  ReduceSumSquare: { run: reduce((x, o) => t.sum(t.mul(x, x), o), 18) },
  ReduceLogSum: { run: reduce((x, o) => t.log(t.sum(x, o)), 18) },
  ReduceLogSumExp: { run: reduce(logSumExp, 18) },
  ReduceProd: { run: reduce(product, 18) },
  ArgMax: { run: (ctx) => argExtreme(ctx, (a, b) => a > b || (Number.isNaN(a) && !Number.isNaN(b))) },
  ArgMin: { run: (ctx) => argExtreme(ctx, (a, b) => a < b || (Number.isNaN(a) && !Number.isNaN(b))) },
};
