import { scalar } from '../creation';
import type { DType, FloatDType } from '../dtype';
import { isFloat } from '../dtype';
import { fmt, opError } from '../errors';
import { broadcastShapes, sameShape } from '../shape';
import { Tensor } from '../tensor';
import type { OpName, UnaryMathFn } from './op-attrs';
import { runOp } from './run';

/** A tensor or a plain number; a number takes the other operand's dtype (it never promotes). */
export type TensorLike = Tensor | number;

function asTensor(op: string, x: TensorLike, like: TensorLike): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x !== 'number') throw opError(op, `expected a Tensor or a number, got ${typeof x}`);
  const dtype: DType = like instanceof Tensor ? (isFloat(like.dtype) || Number.isInteger(x) ? like.dtype : 'float32') : 'float32';
  return scalar(x, dtype === 'bool' ? 'float32' : dtype);
}

type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

/**
 * Runs `body` on a and b as tensors; the scalars made for plain numbers are freed after it (a tape that recorded
 * them keeps them until it is disposed), so `add(x, 1)` leaves one tensor, inside `tidy` or not.
 */
function withOperands(op: string, a: TensorLike, b: TensorLike, body: (ta: Tensor, tb: Tensor) => Tensor): Tensor {
  if (!(a instanceof Tensor) && typeof a !== 'number') throw opError(op, `expected a Tensor or a number, got ${typeof a}`);
  const ta = asTensor(op, a, b);
  let tb: Tensor | undefined;
  try {
    tb = asTensor(op, b, a);
    return body(ta, tb);
  } finally {
    if (ta !== a) ta.dispose();
    if (tb !== undefined && tb !== b) tb.dispose();
  }
}

function binary(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  return withOperands(op, a, b, (ta, tb) => {
    broadcastShapes(op, ta.shape, tb.shape);
    return runOp(op, [ta, tb], {});
  });
}

function unary(op: Exclude<OpName, BinaryOp>, x: Tensor): Tensor {
  if (!(x instanceof Tensor)) throw opError(op, `expected a Tensor, got ${typeof x}`);
  return runOp(op, [x], {} as never);
}

/** a + b, broadcasting. */
export const add = (a: TensorLike, b: TensorLike) => binary('add', a, b);
/** a − b, broadcasting. */
export const sub = (a: TensorLike, b: TensorLike) => binary('sub', a, b);
/** a · b elementwise, broadcasting. */
export const mul = (a: TensorLike, b: TensorLike) => binary('mul', a, b);
/** a / b (true division: integers give float32), broadcasting. */
export const div = (a: TensorLike, b: TensorLike) => binary('div', a, b);
/** a ** b, broadcasting. */
export const pow = (a: TensorLike, b: TensorLike) => binary('pow', a, b);
/** Elementwise maximum (NaN propagates), broadcasting. */
export const maximum = (a: TensorLike, b: TensorLike) => binary('maximum', a, b);
/** Elementwise minimum (NaN propagates), broadcasting. */
export const minimum = (a: TensorLike, b: TensorLike) => binary('minimum', a, b);
/** Comparisons give bool tensors, broadcasting. */
export const eq = (a: TensorLike, b: TensorLike) => binary('eq', a, b);
export const ne = (a: TensorLike, b: TensorLike) => binary('ne', a, b);
export const lt = (a: TensorLike, b: TensorLike) => binary('lt', a, b);
export const le = (a: TensorLike, b: TensorLike) => binary('le', a, b);
export const gt = (a: TensorLike, b: TensorLike) => binary('gt', a, b);
export const ge = (a: TensorLike, b: TensorLike) => binary('ge', a, b);

/** Elements of a where cond is true, of b elsewhere, broadcasting all three. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (!(cond instanceof Tensor) || cond.dtype !== 'bool') {
    throw opError('where', `condition must be a bool tensor, got ${cond instanceof Tensor ? cond.dtype : typeof cond}`);
  }
  return withOperands('where', a, b, (ta, tb) => {
    broadcastShapes('where', broadcastShapes('where', cond.shape, ta.shape), tb.shape);
    return runOp('where', [cond, ta, tb], {});
  });
}

export const neg = (x: Tensor) => unary('neg', x);
export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const abs = (x: Tensor) => unary('abs', x);
/** −1, 0 or 1 per element. */
export const sign = (x: Tensor) => unary('sign', x);
/** max(x, 0); its backward rule is the one guided backprop and deconvnet swap. */
export const relu = (x: Tensor) => unary('relu', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
export const tanh = (x: Tensor) => unary('tanh', x);
/** The error function (2/√π)∫₀ˣ e^(−t²) dt, elementwise (integers give float32). */
export const erf = (x: Tensor) => unary('erf', x);
/** Math's function `fn` elementwise (integers give float32): the op behind sin, cos, … atanh. */
export function unaryMath(fn: UnaryMathFn, x: Tensor): Tensor {
  if (!(x instanceof Tensor)) throw opError(fn, `expected a Tensor, got ${typeof x}`);
  return runOp('unaryMath', [x], { fn });
}
export const sin = (x: Tensor) => unaryMath('sin', x);
export const cos = (x: Tensor) => unaryMath('cos', x);
export const tan = (x: Tensor) => unaryMath('tan', x);
/** The inverse sine, in [−π/2, π/2] (NaN outside [−1, 1]). */
export const asin = (x: Tensor) => unaryMath('asin', x);
/** The inverse cosine, in [0, π] (NaN outside [−1, 1]). */
export const acos = (x: Tensor) => unaryMath('acos', x);
export const atan = (x: Tensor) => unaryMath('atan', x);
export const sinh = (x: Tensor) => unaryMath('sinh', x);
export const cosh = (x: Tensor) => unaryMath('cosh', x);
export const asinh = (x: Tensor) => unaryMath('asinh', x);
/** The inverse hyperbolic cosine (NaN below 1). */
export const acosh = (x: Tensor) => unaryMath('acosh', x);
/** The inverse hyperbolic tangent (NaN outside [−1, 1], ±Infinity at ±1). */
export const atanh = (x: Tensor) => unaryMath('atanh', x);
/** x², as mul(x, x). */
export const square = (x: Tensor) => mul(x, x);

/** Clamps into [min, max]; either bound may be omitted. */
export function clamp(x: Tensor, options: { min?: number; max?: number }): Tensor {
  const min = options.min ?? null;
  const max = options.max ?? null;
  if (min === null && max === null) throw opError('clamp', 'at least one of min and max is needed');
  if (min !== null && max !== null && min > max) throw opError('clamp', `min ${min} is greater than max ${max}`);
  return runOp('clamp', [x], { min, max });
}

/**
 * The vanilla gradient of clamp in one pass: `dy` where min ≤ x ≤ max (an omitted bound always holds),
 * else +0, as PyTorch's clamp_backward (`where(mask, grad, 0)`): 0 where x is NaN (when a bound is
 * given) even when dy is NaN or ±Infinity. dy and x have one shape (no broadcasting) and one float dtype.
 */
export function clampBackward(dy: Tensor, x: Tensor, options: { min?: number | null; max?: number | null }): Tensor {
  if (!(dy instanceof Tensor) || !(x instanceof Tensor)) {
    throw opError('clampBackward', `expected two Tensors (dy, x), got ${typeof dy} and ${typeof x}`);
  }
  if (!sameShape(dy.shape, x.shape)) {
    throw opError('clampBackward', `dy ${fmt(dy.shape)} and x ${fmt(x.shape)} must have the same shape (no broadcasting)`);
  }
  if (!isFloat(dy.dtype) || dy.dtype !== x.dtype) {
    throw opError('clampBackward', `dy and x must have one float dtype (float32 or float64), got dy ${dy.dtype} and x ${x.dtype}`);
  }
  const min = options.min ?? null;
  const max = options.max ?? null;
  if (min !== null && max !== null && min > max) throw opError('clampBackward', `min ${min} is greater than max ${max}`);
  return runOp('clampBackward', [dy, x], { min, max });
}

/** min(max(x, 0), 6), as torch.nn.ReLU6. */
export const relu6 = (x: Tensor) => clamp(x, { min: 0, max: 6 });

/** The same values converted to `dtype` (float → int truncates toward zero, as PyTorch). */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'int32' && dtype !== 'bool') {
    throw opError('cast', `dtype must be 'float32', 'float64', 'int32' or 'bool', got ${JSON.stringify(dtype)}`);
  }
  return x.dtype === dtype ? x : runOp('cast', [x], { dtype });
}

/** Checks that `x` holds floats, naming the op that needs them. */
export function requireFloat(op: string, x: Tensor, name = 'input'): FloatDType {
  if (!isFloat(x.dtype)) throw opError(op, `${name} must be float32 or float64, got ${x.dtype}`);
  return x.dtype;
}

/**
 * The vanilla gradient of relu in one pass: `dy` where `x > 0`, else +0, as PyTorch's
 * threshold_backward; dy and x have one shape (no broadcasting) and one float dtype. Unlike the
 * `dy · (x > 0)` it replaces, the result is 0 where x ≤ 0 or x is NaN even when dy is NaN or ±Infinity
 * (the product gave NaN there).
 */
export function reluBackward(dy: Tensor, x: Tensor): Tensor {
  if (!(dy instanceof Tensor) || !(x instanceof Tensor)) {
    throw opError('reluBackward', `expected two Tensors (dy, x), got ${typeof dy} and ${typeof x}`);
  }
  if (!sameShape(dy.shape, x.shape)) {
    throw opError('reluBackward', `dy ${fmt(dy.shape)} and x ${fmt(x.shape)} must have the same shape (no broadcasting)`);
  }
  if (!isFloat(dy.dtype) || dy.dtype !== x.dtype) {
    throw opError('reluBackward', `dy and x must have one float dtype (float32 or float64), got dy ${dy.dtype} and x ${x.dtype}`);
  }
  return runOp('reluBackward', [dy, x], {});
}

export interface GeluOptions {
  /** 'none' (default): x·Φ(x) with the exact normal CDF; 'tanh': PyTorch's tanh approximation. */
  approximate?: 'none' | 'tanh';
}

/** x·Φ(x), as F.gelu: Φ exact by default, or 0.5·(1 + tanh(√(2/π)·(x + 0.044715x³))) with approximate 'tanh'. */
export function gelu(x: Tensor, options: GeluOptions = {}): Tensor {
  requireFloat('gelu', x);
  const approximate = options.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') {
    throw opError('gelu', `approximate must be 'none' or 'tanh', got ${JSON.stringify(approximate)}`);
  }
  return runOp('gelu', [x], { approximate });
}
