import { add, cast, div, eq, exp, ge, gt, le, log, lt, mul, neg, pow, reluBackward, sign, sub, where, zerosLike } from '../../ops';
import { sum } from '../../ops/reduce';
import type { Tensor } from '../../tensor';
import type { GradRuleTable } from './types';

const mask = (b: Tensor, like: Tensor) => cast(b, like.dtype);
const none = () => [null, null];

export const elementwiseRules: Pick<GradRuleTable,
  'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'where' |
  'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sign' | 'relu' | 'reluBackward' | 'sigmoid' | 'tanh' | 'clamp' | 'cast' | 'softmax' | 'logSoftmax'> = {
  add: (dy) => [dy, dy],
  sub: (dy) => [dy, neg(dy)],
  mul: (dy, { inputs: [a, b] }) => [mul(dy, b!), mul(dy, a!)],
  div: (dy, { inputs: [, b], output }) => [div(dy, b!), neg(div(mul(dy, output), b!))],
  pow: (dy, { inputs: [a, b], output, needsGrad }) => [
    // b · a^(b−1) directly (not b · out / a), so that a = 0 stays finite.
    needsGrad[0] ? mul(dy, mul(b!, pow(a!, sub(b!, 1)))) : null,
    // d/db a^b = a^b log a; PyTorch defines it as 0 where a = 0.
    needsGrad[1] ? where(eq(a!, 0), 0, mul(dy, mul(output, log(a!)))) : null,
  ],
  // Ties split the gradient evenly, as torch.maximum/minimum do.
  maximum: (dy, { inputs: [a, b] }) => {
    const tie = mul(mask(eq(a!, b!), dy), 0.5);
    return [mul(dy, add(mask(gt(a!, b!), dy), tie)), mul(dy, add(mask(lt(a!, b!), dy), tie))];
  },
  minimum: (dy, { inputs: [a, b] }) => {
    const tie = mul(mask(eq(a!, b!), dy), 0.5);
    return [mul(dy, add(mask(lt(a!, b!), dy), tie)), mul(dy, add(mask(gt(a!, b!), dy), tie))];
  },
  eq: none, ne: none, lt: none, le: none, gt: none, ge: none,
  where: (dy, { inputs: [cond] }) => [null, where(cond!, dy, 0), where(cond!, 0, dy)],
  neg: (dy) => [neg(dy)],
  exp: (dy, { output }) => [mul(dy, output)],
  log: (dy, { inputs: [x] }) => [div(dy, x!)],
  sqrt: (dy, { output }) => [div(mul(dy, 0.5), output)],
  abs: (dy, { inputs: [x] }) => [mul(dy, sign(x!))],
  sign: (dy) => [zerosLike(dy)],
  // The rule guided backprop and deconvnet replace: pass the gradient where the input was positive
  // (one fused op; an integer relu's input needs no gradient, and reluBackward takes floats only).
  relu: (dy, { inputs: [x], needsGrad }) => [needsGrad[0] ? reluBackward(dy, x!) : null],
  // Linear in dy with the same mask, so the mask passes g back to dy; the mask is flat in x almost everywhere.
  reluBackward: (g, { inputs: [, x], needsGrad }) => [needsGrad[0] ? reluBackward(g, x!) : null, null],
  sigmoid: (dy, { output }) => [mul(dy, mul(output, sub(1, output)))],
  tanh: (dy, { output }) => [mul(dy, sub(1, mul(output, output)))],
  clamp: (dy, { inputs: [x], attrs: { min, max } }) => {
    let m: Tensor = dy;
    if (min !== null) m = mul(m, mask(ge(x!, min), dy));
    if (max !== null) m = mul(m, mask(le(x!, max), dy));
    return [m];
  },
  cast: (dy, { inputs: [x] }) => [cast(dy, x!.dtype)],
  softmax: (dy, { output, attrs: { dim } }) => [mul(output, sub(dy, sum(mul(dy, output), { dim, keepdim: true })))],
  logSoftmax: (dy, { output, attrs: { dim } }) => [sub(dy, mul(exp(output), sum(dy, { dim, keepdim: true })))],
};
