import {
  add,
  cast,
  clampBackward,
  cos,
  cosh,
  div,
  eq,
  erf,
  exp,
  gt,
  log,
  lt,
  mul,
  neg,
  pow,
  reluBackward,
  sign,
  sin,
  sinh,
  sqrt,
  sub,
  tanh,
  where,
  zerosLike,
} from '../../ops';
import { activeBackendHas } from '../../backends/registry';
import type { OpName, UnaryMathFn } from '../../ops/op-attrs';
import { inputsOf } from '../../ops/op-inputs';
import { runOp } from '../../ops/run';
import type { Tensor } from '../../tensor';
import type { GradRuleTable } from './types';

const mask = (b: Tensor, like: Tensor) => cast(b, like.dtype);
const none = () => [null, null];

/** d/dx x·Φ(x) = Φ(x) + x·φ(x), with Φ(x) = (1 + erf(x/√2))/2 and φ(x) = e^(−x²/2)/√(2π). */
function geluSlope(x: Tensor): Tensor {
  const cdf = mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5);
  const pdf = mul(exp(mul(mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
  return add(cdf, mul(x, pdf));
}

/** d/dx of 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715x³): 0.5·(1 + t) + 0.5·x·(1 − t²)·√(2/π)·(1 + 3·0.044715x²). */
function geluTanhSlope(x: Tensor): Tensor {
  const k = Math.sqrt(2 / Math.PI);
  const x2 = mul(x, x);
  const t = tanh(mul(add(x, mul(mul(x2, x), 0.044715)), k));
  const du = mul(add(mul(x2, 3 * 0.044715), 1), k);
  return add(mul(add(t, 1), 0.5), mul(mul(mul(x, 0.5), sub(1, mul(t, t))), du));
}

/** d²/dx² x·Φ(x) = φ(x)·(2 − x²). */
function geluCurvature(x: Tensor): Tensor {
  const pdf = mul(exp(mul(mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
  return mul(pdf, sub(2, mul(x, x)));
}

/**
 * d²/dx² of the tanh form: with u = k·(x + c·x³), t = tanh(u), u′ = k·(1 + 3c·x²), u″ = 6kc·x, the slope
 * 0.5·(1 + t) + 0.5·x·(1 − t²)·u′ has derivative (1 − t²)·(u′ − x·t·u′² + 0.5·x·u″).
 */
function geluTanhCurvature(x: Tensor): Tensor {
  const k = Math.sqrt(2 / Math.PI),
    c = 0.044715;
  const x2 = mul(x, x);
  const t = tanh(mul(add(x, mul(mul(x2, x), c)), k));
  const du = mul(add(mul(x2, 3 * c), 1), k);
  const inner = add(sub(du, mul(mul(x, t), mul(du, du))), mul(x2, 3 * k * c));
  return mul(sub(1, mul(t, t)), inner);
}

/** The derivative of unaryMath's `fn` at x (y = fn(x)), written with ops so that it differentiates again. */
function mathSlope(fn: UnaryMathFn, x: Tensor, y: Tensor): Tensor {
  const oneMinusSquare = () => sub(1, mul(x, x));
  switch (fn) {
    case 'sin':
      return cos(x);
    case 'cos':
      return neg(sin(x));
    case 'tan':
      return add(1, mul(y, y));
    case 'asin':
      return div(1, sqrt(oneMinusSquare()));
    case 'acos':
      return div(-1, sqrt(oneMinusSquare()));
    case 'atan':
      return div(1, add(1, mul(x, x)));
    case 'sinh':
      return cosh(x);
    case 'cosh':
      return sinh(x);
    case 'asinh':
      return div(1, sqrt(add(mul(x, x), 1)));
    case 'acosh':
      return div(1, sqrt(sub(mul(x, x), 1)));
    case 'atanh':
      return div(1, oneMinusSquare());
  }
}

/**
 * Whether the fused backward op `op` can take dy for x: the active backend has its kernel (a device backend
 * without it runs the composed ops on the device), and dy has x's shape and float dtype (no broadcasting).
 */
export const fusable = (op: OpName, dy: Tensor, x: Tensor): boolean =>
  activeBackendHas(op) &&
  dy.dtype === x.dtype &&
  (x.dtype === 'float32' || x.dtype === 'float64') &&
  dy.rank === x.rank &&
  dy.shape.every((d, i) => d === x.shape[i]);

export const elementwiseRules = {
  add: (dy) => [dy, dy],
  sub: (dy) => [dy, neg(dy)],
  mul: (dy, ctx) => {
    const { a, b } = inputsOf(ctx);
    return [mul(dy, b), mul(dy, a)];
  },
  div: (dy, ctx) => {
    const { b } = inputsOf(ctx);
    return [div(dy, b), neg(div(mul(dy, ctx.output), b))];
  },
  pow: (dy, ctx) => {
    const { a, b } = inputsOf(ctx);
    return [
      // b · a^(b−1) directly (not b · out / a), so that a = 0 stays finite.
      ctx.needsGrad[0] ? mul(dy, mul(b, pow(a, sub(b, 1)))) : null,
      // d/db a^b = a^b log a; PyTorch defines it as 0 where a = 0.
      ctx.needsGrad[1] ? where(eq(a, 0), 0, mul(dy, mul(ctx.output, log(a)))) : null,
    ];
  },
  // Ties split the gradient evenly, as torch.maximum/minimum do.
  maximum: (dy, ctx) => {
    const { a, b } = inputsOf(ctx);
    const tie = mul(mask(eq(a, b), dy), 0.5);
    return [mul(dy, add(mask(gt(a, b), dy), tie)), mul(dy, add(mask(lt(a, b), dy), tie))];
  },
  minimum: (dy, ctx) => {
    const { a, b } = inputsOf(ctx);
    const tie = mul(mask(eq(a, b), dy), 0.5);
    return [mul(dy, add(mask(lt(a, b), dy), tie)), mul(dy, add(mask(gt(a, b), dy), tie))];
  },
  eq: none,
  ne: none,
  lt: none,
  le: none,
  gt: none,
  ge: none,
  where: (dy, ctx) => {
    const { cond } = inputsOf(ctx);
    return [null, where(cond, dy, 0), where(cond, 0, dy)];
  },
  neg: (dy) => [neg(dy)],
  exp: (dy, { output }) => [mul(dy, output)],
  unaryMath: (dy, ctx) => [mul(dy, mathSlope(ctx.attrs.fn, inputsOf(ctx).x, ctx.output))],
  log: (dy, ctx) => [div(dy, inputsOf(ctx).x)],
  sqrt: (dy, { output }) => [div(mul(dy, 0.5), output)],
  abs: (dy, ctx) => [mul(dy, sign(inputsOf(ctx).x))],
  sign: (dy) => [zerosLike(dy)],
  // The rule guided backprop and deconvnet replace: pass the gradient where the input was positive
  // (one fused op; an integer relu's input needs no gradient, and reluBackward takes floats only).
  relu: (dy, ctx) => [ctx.needsGrad[0] ? reluBackward(dy, inputsOf(ctx).x) : null],
  // Linear in dy with the same mask, so the mask passes g back to dy; the mask is flat in x almost everywhere.
  reluBackward: (g, ctx) => [ctx.needsGrad[0] ? reluBackward(g, inputsOf(ctx).x) : null, null],
  sigmoid: (dy, { output }) => [mul(dy, mul(output, sub(1, output)))],
  tanh: (dy, { output }) => [mul(dy, sub(1, mul(output, output)))],
  erf: (dy, ctx) => {
    const { x } = inputsOf(ctx);
    return [mul(dy, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))];
  },
  // One fused op (geluBackward) where dy fits x, the composed slope otherwise.
  gelu: (dy, ctx) => {
    const { x } = inputsOf(ctx);
    if (!ctx.needsGrad[0]) return [null];
    if (fusable('geluBackward', dy, x)) return [runOp('geluBackward', [dy, x], { approximate: ctx.attrs.approximate })];
    return [mul(dy, ctx.attrs.approximate === 'tanh' ? geluTanhSlope(x) : geluSlope(x))];
  },
  // Linear in dy (the same op on g), and dy·gelu″(x) in x.
  geluBackward: (g, ctx) => {
    const { dy, x } = inputsOf(ctx);
    const tanhForm = ctx.attrs.approximate === 'tanh';
    return [
      ctx.needsGrad[0]
        ? fusable('geluBackward', g, x)
          ? runOp('geluBackward', [g, x], ctx.attrs)
          : mul(g, tanhForm ? geluTanhSlope(x) : geluSlope(x))
        : null,
      ctx.needsGrad[1] ? mul(mul(g, dy), tanhForm ? geluTanhCurvature(x) : geluCurvature(x)) : null,
    ];
  },
  // dy where min ≤ x ≤ max, else 0 (one fused op, as PyTorch's clamp_backward; MobileNetV2's ReLU6).
  clamp: (dy, ctx) => [ctx.needsGrad[0] ? clampBackward(dy, inputsOf(ctx).x, ctx.attrs) : null],
  // Linear in dy with the same mask, as reluBackward's rule.
  clampBackward: (g, ctx) => [ctx.needsGrad[0] ? clampBackward(g, inputsOf(ctx).x, ctx.attrs) : null, null],
  cast: (dy, ctx) => [cast(dy, inputsOf(ctx).x.dtype)],
} satisfies Partial<GradRuleTable>;
