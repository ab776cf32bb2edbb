import * as t from '@gradlens/tensor';
import { Tensor } from '@gradlens/tensor';
import type { UnaryMathFn } from '@gradlens/tensor';
import { hardsigmoid, hardswish } from '@gradlens/nn';
import type { OpTable } from './op-context';
import { float, input, isFloatKind, numbers, roundHalfEven } from './op-context';
import type { ConstKind, Value } from './values';
import { Const, asTensor, mapConst, withoutGradient } from './values';

type Fn = (a: Tensor, b: Tensor) => Tensor;

/** A broadcasting binary op: folded in JavaScript on constants, a gradlens op on tensors. */
function binary(tensorFn: Fn, constFn: (a: number, b: number, kind: ConstKind) => number, compare = false) {
  return (values: (Value | null)[]): Value[] => {
    const a = input(values, 0);
    const b = input(values, 1);
    if (a instanceof Const && b instanceof Const) {
      const kind: ConstKind = isFloatKind(a.kind)
        ? a.kind
        : isFloatKind(b.kind)
          ? b.kind
          : a.kind === 'bool' && b.kind === 'bool'
            ? 'bool'
            : 'int';
      return [mapConst([a, b], compare ? 'bool' : kind, (x, y) => constFn(x, y, kind))];
    }
    const like = a instanceof Tensor ? a : (b as Tensor);
    return [tensorFn(asTensor(a, like), asTensor(b, like))];
  };
}

/** A variadic op (Sum, Max, Min, Mean from opset 8): folds the binary op left to right. */
function variadic(fn: Fn) {
  return (values: (Value | null)[]): Value[] => {
    const vs = values.filter((v): v is Value => v !== null);
    const like = vs.find((v): v is Tensor => v instanceof Tensor);
    let acc = asTensor(vs[0]!, like);
    for (const v of vs.slice(1)) acc = fn(acc, asTensor(v, like));
    return [acc];
  };
}

/** A unary float op, folded on constants by `constFn` when one is given. */
function unary(fn: (x: Tensor) => Tensor, constFn?: (v: number) => number) {
  return (values: (Value | null)[]): Value[] => {
    const x = input(values, 0);
    if (x instanceof Const && constFn) return [mapConst([x], x.kind === 'bool' ? 'int' : x.kind, constFn)];
    return [fn(float(x))];
  };
}

const intDiv = (a: number, b: number) => Math.trunc(a / b);

/** The element kind of a rounding op's result: its input's (an integer stays an integer). */
const kindOf = (v: Value): ConstKind =>
  v instanceof Const ? v.kind : v.dtype === 'float32' || v.dtype === 'float64' ? v.dtype : v.dtype === 'bool' ? 'bool' : 'int';

/** A unary op with no gradient, on a constant or a tensor. */
function stepwise(fn: (v: number) => number, bool = false) {
  return (values: (Value | null)[]): Value[] => {
    const x = input(values, 0);
    return [withoutGradient([x], bool ? 'bool' : kindOf(x), fn)];
  };
}

/**
 * The trigonometric and hyperbolic functions and their inverses: the tensor core's unaryMath (ONNX's Sin is its
 * 'sin', Math.sin), folded on constants; the opset each appeared in.
 */
const trigonometric: OpTable = Object.fromEntries(
  (
    [
      ['sin', 7],
      ['cos', 7],
      ['tan', 7],
      ['asin', 7],
      ['acos', 7],
      ['atan', 7],
      ['sinh', 9],
      ['cosh', 9],
      ['asinh', 9],
      ['acosh', 9],
      ['atanh', 9],
    ] as const satisfies readonly (readonly [UnaryMathFn, number])[]
  ).map(([fn, since]) => [
    fn[0]!.toUpperCase() + fn.slice(1),
    {
      since,
      run: ({ values }) => {
        const x = input(values, 0);
        return [x instanceof Const ? mapConst([x], isFloatKind(x.kind) ? x.kind : 'float32', Math[fn]) : t.unaryMath(fn, float(x))];
      },
    },
  ]),
);

/** A binary logic op on booleans. */
function logic(fn: (a: boolean, b: boolean) => boolean) {
  return (values: (Value | null)[]): Value[] => [
    withoutGradient([input(values, 0), input(values, 1)], 'bool', (a, b) => (fn(a !== 0, b !== 0) ? 1 : 0)),
  ];
}

/**
 * Mod: the remainder with the divisor's sign (fmod 0, integers) or the dividend's (fmod 1, C's fmod). On float
 * tensors it is a − b·q with the quotient q = trunc(a / b) taken off the tape (constant between its jumps), so
 * the gradient is 1 for a and −q for b, as the remainder's.
 */
function mod(values: (Value | null)[], fmod: boolean): Value[] {
  const a = input(values, 0);
  const b = input(values, 1);
  const floatInputs = isFloatKind(kindOf(a)) || isFloatKind(kindOf(b));
  if (floatInputs && !fmod) throw new Error('Mod of floating-point values needs fmod=1 (the ONNX spec)');
  if (!floatInputs || (a instanceof Const && b instanceof Const)) {
    const kind = floatInputs ? (kindOf(a) === 'float64' || kindOf(b) === 'float64' ? 'float64' : 'float32') : 'int';
    return [withoutGradient([a, b], kind, fmod ? (x, y) => x % y : (x, y) => ((x % y) + y) % y)];
  }
  const like = a instanceof Tensor ? a : (b as Tensor);
  const [ta, tb] = [asTensor(a, like), asTensor(b, like)];
  const q = asTensor(
    withoutGradient([ta, tb], like.dtype === 'float64' ? 'float64' : 'float32', (x, y) => Math.trunc(x / y)),
    like,
  );
  return [t.sub(ta, t.mul(tb, q))];
}

/** Elementwise ops and activations. */
export const elementwiseOps: OpTable = {
  ...trigonometric,
  Add: { run: ({ values }) => binary(t.add, (a, b) => a + b)(values) },
  Sub: { run: ({ values }) => binary(t.sub, (a, b) => a - b)(values) },
  Mul: { run: ({ values }) => binary(t.mul, (a, b) => a * b)(values) },
  Div: { run: ({ values }) => binary(t.div, (a, b, k) => (k === 'int' ? intDiv(a, b) : a / b))(values) },
  Pow: {
    run: ({ values }) => {
      const a = input(values, 0);
      const b = input(values, 1);
      // x ** 2 (common in LayerNorm decompositions) as x·x: exact, and its gradient needs no log.
      if (a instanceof Tensor && b instanceof Const && b.size === 1 && b.data[0] === 2) return [t.mul(a, a)];
      return binary(t.pow, (x, y) => x ** y)(values);
    },
  },
  Equal: { run: ({ values }) => binary(t.eq, (a, b) => (a === b ? 1 : 0), true)(values) },
  Less: { run: ({ values }) => binary(t.lt, (a, b) => (a < b ? 1 : 0), true)(values) },
  Greater: { run: ({ values }) => binary(t.gt, (a, b) => (a > b ? 1 : 0), true)(values) },
  GreaterOrEqual: { since: 12, run: ({ values }) => binary(t.ge, (a, b) => (a >= b ? 1 : 0), true)(values) },
  LessOrEqual: { since: 12, run: ({ values }) => binary(t.le, (a, b) => (a <= b ? 1 : 0), true)(values) },
  And: { run: ({ values }) => logic((a, b) => a && b)(values) },
  Or: { run: ({ values }) => logic((a, b) => a || b)(values) },
  Xor: { run: ({ values }) => logic((a, b) => a !== b)(values) },
  BitShift: {
    since: 11,
    run: ({ values, attrs }) => {
      const left = attrs.string('direction', '') === 'LEFT';
      // Unsigned integers (the op's types): shifts as multiplications, exact past 32 bits.
      return [withoutGradient([input(values, 0), input(values, 1)], 'int', (a, b) => (left ? a * 2 ** b : Math.floor(a / 2 ** b)))];
    },
  },
  Mod: { since: 10, run: ({ values, attrs }) => mod(values, attrs.int('fmod', 0) === 1) },
  Max: { run: ({ values }) => variadic(t.maximum)(values) },
  Min: { run: ({ values }) => variadic(t.minimum)(values) },
  Sum: { run: ({ values }) => variadic(t.add)(values) },
  Mean: {
    run: ({ values }) => {
      const [sum] = variadic(t.add)(values) as [Tensor];
      return [t.div(sum, values.filter((v) => v !== null).length)];
    },
  },
  Sign: { since: 9, run: ({ values }) => stepwise(Math.sign)(values) },
  Floor: { run: ({ values }) => stepwise(Math.floor)(values) },
  Ceil: { run: ({ values }) => stepwise(Math.ceil)(values) },
  Round: { since: 11, run: ({ values }) => stepwise(roundHalfEven)(values) },
  IsNaN: { since: 9, run: ({ values }) => stepwise((v) => (Number.isNaN(v) ? 1 : 0), true)(values) },
  IsInf: {
    since: 10,
    run: ({ values, attrs }) => {
      const negative = attrs.int('detect_negative', 1) === 1;
      const positive = attrs.int('detect_positive', 1) === 1;
      return stepwise((v) => ((v === Infinity && positive) || (v === -Infinity && negative) ? 1 : 0), true)(values);
    },
  },
  Not: {
    run: ({ values }) => {
      const x = input(values, 0);
      return [x instanceof Const ? mapConst([x], 'bool', (v) => (v ? 0 : 1)) : t.eq(x, t.zerosLike(x))];
    },
  },
  Where: {
    run: ({ values }) => {
      const c = input(values, 0);
      const a = input(values, 1);
      const b = input(values, 2);
      if (c instanceof Const && a instanceof Const && b instanceof Const) {
        return [mapConst([c, a, b], isFloatKind(a.kind) ? a.kind : b.kind, (cv, av, bv) => (cv ? av : bv))];
      }
      const like = a instanceof Tensor ? a : b instanceof Tensor ? b : undefined;
      return [t.where(asTensor(c), asTensor(a, like), asTensor(b, like))];
    },
  },
  Neg: { run: ({ values }) => unary(t.neg, (v) => -v)(values) },
  Abs: { run: ({ values }) => unary(t.abs, Math.abs)(values) },
  Sqrt: { run: ({ values }) => unary(t.sqrt, Math.sqrt)(values) },
  Exp: { run: ({ values }) => unary(t.exp, Math.exp)(values) },
  Log: { run: ({ values }) => unary(t.log, Math.log)(values) },
  Erf: { run: ({ values }) => unary(t.erf)(values) },
  Relu: { run: ({ values }) => unary(t.relu)(values) },
  Sigmoid: { run: ({ values }) => unary(t.sigmoid, (v) => 1 / (1 + Math.exp(-v)))(values) },
  Tanh: { run: ({ values }) => unary(t.tanh, Math.tanh)(values) },
  Reciprocal: { run: ({ values }) => [t.div(1, float(input(values, 0)))] },
  LeakyRelu: {
    run: ({ values, attrs }) => {
      const x = float(input(values, 0));
      const alpha = attrs.float('alpha', 0.01);
      return [t.where(t.gt(x, 0), x, t.mul(x, alpha))];
    },
  },
  HardSigmoid: {
    run: ({ values, attrs }) => {
      const x = float(input(values, 0));
      const alpha = attrs.float('alpha', 0.2);
      const beta = attrs.float('beta', 0.5);
      // PyTorch's hardsigmoid (alpha 1/6 in float32, beta 0.5) as @gradlens/nn writes it, so guided
      // backprop and LRP treat an exported model as the native one (a gate, not a ReLU-like clamp).
      if (Math.abs(alpha - 1 / 6) < 1e-7 && beta === 0.5) return [hardsigmoid(x)];
      return [t.clamp(t.add(t.mul(x, alpha), beta), { min: 0, max: 1 })];
    },
  },
  // PyTorch's hardswish, x · relu6(x + 3) / 6, as @gradlens/nn writes it (see HardSigmoid).
  HardSwish: { run: ({ values }) => [hardswish(float(input(values, 0)))] },
  Gelu: {
    since: 20,
    run: ({ values, attrs }) => {
      const approximate = attrs.string('approximate', 'none');
      if (approximate !== 'none' && approximate !== 'tanh') throw new Error(`approximate='${approximate}' is not 'none' or 'tanh'`);
      return [t.gelu(float(input(values, 0)), { approximate })];
    },
  },
  Clip: {
    run: ({ values, attrs, opset }) => {
      const x = float(input(values, 0));
      const bound = (i: number, name: string): number | undefined => {
        if (opset < 11) return attrs.has(name) ? attrs.float(name, 0) : undefined;
        const v = values[i];
        if (!v) return undefined;
        const n = numbers(v);
        if (n.length !== 1) throw new Error(`Clip's ${name} must be a scalar, got ${n.length} values`);
        return n[0]!;
      };
      const min = bound(1, 'min');
      const max = bound(2, 'max');
      if (min === undefined && max === undefined) return [x];
      return [t.clamp(x, { min, max })];
    },
  },
};
