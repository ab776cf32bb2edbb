import type { DType, FloatArray, TypedArray } from '../../dtype';
import { floatOf, promote } from '../../dtype';
import type { NamedKernelTable } from '../backend';
import { broadcastShapes, broadcastStrides, sameShape, stridesOf } from '../../shape';
import type { Tensor } from '../../tensor';
import { erf } from './kernels/erf';
import { addInArena, geluInArena, reluBackwardInArena, reluInArena } from './kernels/arena-jobs';
import { inEngineArena } from './storage-pool';
import { broadcastIndex, forEachRun, outputToFill, read } from './util';

type Binary = (x: number, y: number) => number;
type Unary = (x: number) => number;

/** One run of a binary op: v[o + i] = a[ia + i·sa] ∘ b[ib + i·sb] for i < n. */
type Run = (v: TypedArray, av: TypedArray, bv: TypedArray, o: number, ia: number, ib: number, n: number, sa: number, sb: number) => void;

// The hot arithmetic ops get a loop each, so no per-element call remains; the rest share `generic`.
const addRun: Run = (v, av, bv, o, ia, ib, n, sa, sb) => {
  for (let i = 0; i < n; i++) v[o + i] = av[ia + i * sa]! + bv[ib + i * sb]!;
};
const subRun: Run = (v, av, bv, o, ia, ib, n, sa, sb) => {
  for (let i = 0; i < n; i++) v[o + i] = av[ia + i * sa]! - bv[ib + i * sb]!;
};
const mulRun: Run = (v, av, bv, o, ia, ib, n, sa, sb) => {
  for (let i = 0; i < n; i++) v[o + i] = av[ia + i * sa]! * bv[ib + i * sb]!;
};
const divRun: Run = (v, av, bv, o, ia, ib, n, sa, sb) => {
  for (let i = 0; i < n; i++) v[o + i] = av[ia + i * sa]! / bv[ib + i * sb]!;
};
// Comparisons build the masks of the guided ReLU and clamp rules, so they get their own loops too,
// written as `+(a > b)` rather than `a > b ? 1 : 0`: V8 compiles the ternary to a branch, which
// mispredicts on about half of the elements of real activations (≈5 ns each); the number conversion
// has no branch.
const eqRun: Run = (v, av, bv, o, ia, ib, n, sa, sb) => {
  for (let i = 0; i < n; i++) v[o + i] = +(av[ia + i * sa]! === bv[ib + i * sb]!);
};
const neRun: Run = (v, av, bv, o, ia, ib, n, sa, sb) => {
  for (let i = 0; i < n; i++) v[o + i] = +(av[ia + i * sa]! !== bv[ib + i * sb]!);
};
const ltRun: Run = (v, av, bv, o, ia, ib, n, sa, sb) => {
  for (let i = 0; i < n; i++) v[o + i] = +(av[ia + i * sa]! < bv[ib + i * sb]!);
};
const leRun: Run = (v, av, bv, o, ia, ib, n, sa, sb) => {
  for (let i = 0; i < n; i++) v[o + i] = +(av[ia + i * sa]! <= bv[ib + i * sb]!);
};
const gtRun: Run = (v, av, bv, o, ia, ib, n, sa, sb) => {
  for (let i = 0; i < n; i++) v[o + i] = +(av[ia + i * sa]! > bv[ib + i * sb]!);
};
const geRun: Run = (v, av, bv, o, ia, ib, n, sa, sb) => {
  for (let i = 0; i < n; i++) v[o + i] = +(av[ia + i * sa]! >= bv[ib + i * sb]!);
};
const generic =
  (f: Binary): Run =>
  (v, av, bv, o, ia, ib, n, sa, sb) => {
    for (let i = 0; i < n; i++) v[o + i] = f(av[ia + i * sa]!, bv[ib + i * sb]!);
  };

function binary(op: string, a: Tensor, b: Tensor, dtype: DType, run: Run): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  const { t, v } = outputToFill(shape, dtype);
  // Read-only inputs; the run functions only read them.
  const av = read(a) as TypedArray;
  const bv = read(b) as TypedArray;
  forEachRun(shape, [stridesOf(shape), broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)], ([o, ia, ib], n, [, sa, sb]) =>
    run(v, av, bv, o!, ia!, ib!, n, sa!, sb!),
  );
  return t;
}

/** f of every element, unless `onThreads` (a job of the module's, bitwise the same) has already written them all. */
function unary(x: Tensor, dtype: DType, f: Unary, onThreads?: (x: TypedArray, out: TypedArray) => boolean): Tensor {
  const { t, v } = outputToFill(x.shape, dtype);
  const xv = read(x);
  if (onThreads?.(xv, v) !== true) for (let i = 0; i < v.length; i++) v[i] = f(xv[i]!);
  return t;
}

const arith =
  (op: string, run: Run) =>
  ({ a, b }: { a: Tensor; b: Tensor }) => ({ out: binary(op, a, b, promote(a.dtype, b.dtype), run) });
const compare =
  (op: string, run: Run) =>
  ({ a, b }: { a: Tensor; b: Tensor }) => ({ out: binary(op, a, b, 'bool', run) });
const floatUnary =
  (f: Unary) =>
  ({ x }: { x: Tensor }) => ({ out: unary(x, floatOf(x.dtype), f) });

/**
 * ReLU of float32 values on their bits: a negative number (sign bit set, -0 and -Infinity included)
 * becomes +0, NaN and everything else pass through. ReLU runs on every activation of a network, and
 * V8 compiles `e > 0 ? e : 0` to a branch that mispredicts on about half of real activations (≈5 ns
 * per element); the integer form has no branch (≈1 ns).
 */
function reluFloat32Bits(x: Float32Array, out: Float32Array): void {
  const xi = new Int32Array(x.buffer, x.byteOffset, x.length);
  const oi = new Int32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < xi.length; i++) {
    const b = xi[i]!;
    const notNaN = +((b & 0x7fffffff) <= 0x7f800000); // 1 unless the exponent is all ones with a payload
    oi[i] = b & ~((b >> 31) & -notNaN); // clear every bit of a negative non-NaN
  }
}

/**
 * relu's backward on float32 bits: dy where x > 0, else +0. x > 0 exactly when x's bits, read as an
 * Int32, lie in (0, 0x7f800000] (positive finite or +Infinity; a positive NaN has larger bits, a
 * negative number or -0 has the sign bit set). The comparison becomes an all-ones or zero mask that
 * selects dy's bits, with no branch (a ternary would mispredict on about half of real activations)
 * and bit for bit (NaN payloads of dy kept).
 */
function reluBackwardFloat32Bits(dy: Float32Array, x: Float32Array, out: Float32Array): void {
  const di = new Int32Array(dy.buffer, dy.byteOffset, dy.length);
  const xi = new Int32Array(x.buffer, x.byteOffset, x.length);
  const oi = new Int32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < oi.length; i++) {
    const b = xi[i]!;
    oi[i] = di[i]! & -(+(b > 0) & +(b <= 0x7f800000));
  }
}

/**
 * The order of float32 values as Int32 keys: the magnitude bits, negated when the sign bit is set, so
 * -0 and +0 share key 0 and every other pair of non-NaN floats compares as its keys do.
 */
function orderKey(bits: number): number {
  const s = bits >> 31;
  return ((bits & 0x7fffffff) ^ s) - s;
}

/**
 * clamp of float32 values (min ≤ x ≤ max, NaN kept, x kept where it equals a bound: the ternary's
 * results bit for bit) on their bits: the two comparisons become all-ones or zero masks that select
 * x, fround(min) or fround(max), with no branch. clamp(0, 6) is MobileNetV2's ReLU6, on every
 * activation; the ternary mispredicts on about half of them, as ReLU's does. A float32 x lies below a
 * double bound exactly when it lies below the bound rounded to float32, so comparing keys is exact.
 */
function clampFloat32Bits(x: Float32Array, min: number, max: number, out: Float32Array): void {
  const bounds = new Int32Array(new Float32Array([min, max]).buffer);
  const loBits = bounds[0]!,
    hiBits = bounds[1]!;
  const lo = orderKey(loBits),
    hi = orderKey(hiBits);
  const xi = new Int32Array(x.buffer, x.byteOffset, x.length);
  const oi = new Int32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < xi.length; i++) {
    const b = xi[i]!;
    const s = b >> 31;
    const k = ((b & 0x7fffffff) ^ s) - s;
    const real = -+((b & 0x7fffffff) <= 0x7f800000); // all ones unless NaN
    const below = -+(k < lo) & real,
      above = -+(k > hi) & real;
    oi[i] = (b & ~(below | above)) | (loBits & below) | (hiBits & above);
  }
}

/**
 * clamp's backward on float32 bits: dy where fround(min) ≤ x ≤ fround(max) (as clampFloat32Bits
 * compares), else +0, with NaN x giving 0; no branch (ReLU6's mask is as unpredictable as ReLU's) and
 * dy's bits kept where it passes. An omitted bound is ±Infinity, which every non-NaN x satisfies.
 */
function clampBackwardFloat32Bits(dy: Float32Array, x: Float32Array, min: number, max: number, out: Float32Array): void {
  const bounds = new Int32Array(new Float32Array([min, max]).buffer);
  const lo = orderKey(bounds[0]!),
    hi = orderKey(bounds[1]!);
  const di = new Int32Array(dy.buffer, dy.byteOffset, dy.length);
  const xi = new Int32Array(x.buffer, x.byteOffset, x.length);
  const oi = new Int32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < oi.length; i++) {
    const b = xi[i]!;
    const s = b >> 31;
    const k = ((b & 0x7fffffff) ^ s) - s;
    const keep = +((b & 0x7fffffff) <= 0x7f800000) & +(k >= lo) & +(k <= hi);
    oi[i] = di[i]! & -keep;
  }
}

/** x·Φ(x) with the exact normal CDF Φ(x) = (1 + erf(x/√2))/2. */
const geluExact: Unary = (x) => 0.5 * x * (1 + erf(x * Math.SQRT1_2));
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
/** PyTorch's approximate='tanh': 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
const geluTanh: Unary = (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));

/** NaN-propagating maximum/minimum, as torch.maximum/minimum. */
const nanMax: Binary = (x, y) => (x !== x || y !== y ? NaN : x > y ? x : y);
const nanMin: Binary = (x, y) => (x !== x || y !== y ? NaN : x < y ? x : y);

export const elementwiseKernels = {
  add: ({ a, b }) => {
    const av = read(a),
      bv = read(b);
    if (av instanceof Float32Array && bv instanceof Float32Array && inEngineArena(av) && inEngineArena(bv) && sameShape(a.shape, b.shape)) {
      // Residual adds and gradients meeting: on the module's threads when the output lands in the arena too.
      const { t, v } = outputToFill(a.shape, 'float32');
      if (!addInArena(av, bv, v)) addRun(v, av, bv, 0, 0, 0, v.length, 1, 1);
      return { out: t };
    }
    return { out: binary('add', a, b, promote(a.dtype, b.dtype), addRun) };
  },
  sub: arith('sub', subRun),
  mul: arith('mul', mulRun),
  div: ({ a, b }) => ({ out: binary('div', a, b, floatOf(promote(a.dtype, b.dtype)), divRun) }),
  pow: ({ a, b }) => ({ out: binary('pow', a, b, floatOf(promote(a.dtype, b.dtype)), generic(Math.pow)) }),
  maximum: arith('maximum', generic(nanMax)),
  minimum: arith('minimum', generic(nanMin)),
  eq: compare('eq', eqRun),
  ne: compare('ne', neRun),
  lt: compare('lt', ltRun),
  le: compare('le', leRun),
  gt: compare('gt', gtRun),
  ge: compare('ge', geRun),
  where: ({ cond, a, b }) => {
    const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, a.shape), b.shape);
    const { t, v } = outputToFill(shape, promote(a.dtype, b.dtype));
    const cv = read(cond),
      av = read(a),
      bv = read(b);
    const ic = broadcastIndex(cond.shape, shape),
      ia = broadcastIndex(a.shape, shape),
      ib = broadcastIndex(b.shape, shape);
    for (let i = 0; i < v.length; i++) {
      v[i] = cv[ic ? ic[i]! : i] ? av[ia ? ia[i]! : i]! : bv[ib ? ib[i]! : i]!;
    }
    return { out: t };
  },
  neg: ({ x }) => ({ out: unary(x, x.dtype === 'bool' ? 'int32' : x.dtype, (e) => -e) }),
  exp: floatUnary(Math.exp),
  unaryMath: ({ x }, { fn }) => floatUnary(Math[fn])({ x }),
  log: floatUnary(Math.log),
  sqrt: floatUnary(Math.sqrt),
  abs: ({ x }) => ({ out: unary(x, x.dtype, Math.abs) }),
  sign: ({ x }) => ({ out: unary(x, x.dtype, (e) => (e > 0 ? 1 : e < 0 ? -1 : e)) }),
  relu: ({ x }) => {
    const { t, v } = outputToFill(x.shape, x.dtype);
    const xv = read(x);
    if (xv instanceof Float32Array && v instanceof Float32Array) {
      if (!reluInArena(xv, v)) reluFloat32Bits(xv, v);
    } else {
      for (let i = 0; i < v.length; i++) {
        const e = xv[i]!;
        v[i] = e > 0 ? e : e !== e ? e : 0;
      }
    }
    return { out: t };
  },
  reluBackward: ({ dy, x }) => {
    const { t, v } = outputToFill(x.shape, x.dtype);
    const dv = read(dy),
      xv = read(x);
    if (dv instanceof Float32Array && xv instanceof Float32Array && v instanceof Float32Array) {
      if (!reluBackwardInArena(dv, xv, v)) reluBackwardFloat32Bits(dv, xv, v);
    } else for (let i = 0; i < v.length; i++) v[i] = xv[i]! > 0 ? dv[i]! : 0;
    return { out: t };
  },
  sigmoid: floatUnary((x) => 1 / (1 + Math.exp(-x))),
  tanh: floatUnary(Math.tanh),
  erf: floatUnary(erf),
  // The exact form in the arena runs on the module's threads.
  gelu: ({ x }, { approximate }) => ({
    out:
      approximate === 'tanh'
        ? unary(x, x.dtype, geluTanh)
        : unary(x, x.dtype, geluExact, (xv, v) => geluInArena(xv as FloatArray, v as FloatArray)),
  }),
  clamp: ({ x }, { min, max }) => {
    const lo = min ?? -Infinity;
    const hi = max ?? Infinity;
    const xv = read(x);
    if (xv instanceof Float32Array) {
      const { t, v } = outputToFill(x.shape, 'float32');
      clampFloat32Bits(xv, lo, hi, v);
      return { out: t };
    }
    return { out: unary(x, x.dtype, (e) => (e !== e ? e : e < lo ? lo : e > hi ? hi : e)) };
  },
  clampBackward: ({ dy, x }, { min, max }) => {
    const { t, v } = outputToFill(x.shape, x.dtype);
    const dv = read(dy),
      xv = read(x);
    if (min === null && max === null)
      v.set(dv); // no bound: every x passes (NaN too)
    else if (dv instanceof Float32Array && xv instanceof Float32Array && v instanceof Float32Array)
      clampBackwardFloat32Bits(dv, xv, min ?? -Infinity, max ?? Infinity, v);
    else {
      const lo = min ?? -Infinity,
        hi = max ?? Infinity;
      for (let i = 0; i < v.length; i++) {
        const e = xv[i]!;
        v[i] = e >= lo && e <= hi ? dv[i]! : 0;
      }
    }
    return { out: t };
  },
  cast: ({ x }, { dtype }) => {
    if (dtype === 'bool') return { out: unary(x, 'bool', (e) => (e !== 0 ? 1 : 0)) };
    if (dtype === 'int32') return { out: unary(x, 'int32', Math.trunc) };
    // To a float type, TypedArray.set converts every element natively.
    const { t, v } = outputToFill(x.shape, dtype);
    v.set(read(x));
    return { out: t };
  },
} satisfies Partial<NamedKernelTable>;
