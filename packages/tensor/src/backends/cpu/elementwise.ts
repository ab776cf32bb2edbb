import { DType, floatOf, promote } from '../../dtype';
import type { KernelTable } from '../backend';
import { broadcastShapes } from '../../shape';
import type { Tensor } from '../../tensor';
import { broadcastIndex, output } from './util';

type Binary = (x: number, y: number) => number;
type Unary = (x: number) => number;

function binary(op: string, a: Tensor, b: Tensor, dtype: DType, f: Binary): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  const { t, v } = output(shape, dtype);
  const av = a.values();
  const bv = b.values();
  const ia = broadcastIndex(a.shape, shape);
  const ib = broadcastIndex(b.shape, shape);
  const n = v.length;
  if (!ia && !ib) for (let i = 0; i < n; i++) v[i] = f(av[i]!, bv[i]!);
  else if (!ia) for (let i = 0; i < n; i++) v[i] = f(av[i]!, bv[ib![i]!]!);
  else if (!ib) for (let i = 0; i < n; i++) v[i] = f(av[ia[i]!]!, bv[i]!);
  else for (let i = 0; i < n; i++) v[i] = f(av[ia[i]!]!, bv[ib[i]!]!);
  return t;
}

function unary(x: Tensor, dtype: DType, f: Unary): Tensor {
  const { t, v } = output(x.shape, dtype);
  const xv = x.values();
  for (let i = 0; i < v.length; i++) v[i] = f(xv[i]!);
  return t;
}

const arith = (op: string, f: Binary) => (inputs: readonly Tensor[]) => {
  const [a, b] = inputs as [Tensor, Tensor];
  return { out: binary(op, a, b, promote(a.dtype, b.dtype), f) };
};
const compare = (op: string, f: (x: number, y: number) => boolean) => (inputs: readonly Tensor[]) => {
  const [a, b] = inputs as [Tensor, Tensor];
  return { out: binary(op, a, b, 'bool', (x, y) => (f(x, y) ? 1 : 0)) };
};
const floatUnary = (f: Unary) => (inputs: readonly Tensor[]) => {
  const x = inputs[0]!;
  return { out: unary(x, floatOf(x.dtype), f) };
};

/** NaN-propagating maximum/minimum, as torch.maximum/minimum. */
const nanMax: Binary = (x, y) => (x !== x || y !== y ? NaN : x > y ? x : y);
const nanMin: Binary = (x, y) => (x !== x || y !== y ? NaN : x < y ? x : y);

export const elementwiseKernels: Pick<KernelTable,
  'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'where' |
  'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sign' | 'relu' | 'sigmoid' | 'tanh' | 'clamp' | 'cast'> = {
  add: arith('add', (x, y) => x + y),
  sub: arith('sub', (x, y) => x - y),
  mul: arith('mul', (x, y) => x * y),
  div: (inputs) => {
    const [a, b] = inputs as [Tensor, Tensor];
    return { out: binary('div', a, b, floatOf(promote(a.dtype, b.dtype)), (x, y) => x / y) };
  },
  pow: (inputs) => {
    const [a, b] = inputs as [Tensor, Tensor];
    return { out: binary('pow', a, b, floatOf(promote(a.dtype, b.dtype)), Math.pow) };
  },
  maximum: arith('maximum', nanMax),
  minimum: arith('minimum', nanMin),
  eq: compare('eq', (x, y) => x === y),
  ne: compare('ne', (x, y) => x !== y),
  lt: compare('lt', (x, y) => x < y),
  le: compare('le', (x, y) => x <= y),
  gt: compare('gt', (x, y) => x > y),
  ge: compare('ge', (x, y) => x >= y),
  where: (inputs) => {
    const [cond, a, b] = inputs as [Tensor, Tensor, Tensor];
    const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, a.shape), b.shape);
    const { t, v } = output(shape, promote(a.dtype, b.dtype));
    const cv = cond.values(), av = a.values(), bv = b.values();
    const ic = broadcastIndex(cond.shape, shape), ia = broadcastIndex(a.shape, shape), ib = broadcastIndex(b.shape, shape);
    for (let i = 0; i < v.length; i++) {
      v[i] = cv[ic ? ic[i]! : i] ? av[ia ? ia[i]! : i]! : bv[ib ? ib[i]! : i]!;
    }
    return { out: t };
  },
  neg: (inputs) => ({ out: unary(inputs[0]!, inputs[0]!.dtype === 'bool' ? 'int32' : inputs[0]!.dtype, (x) => -x) }),
  exp: floatUnary(Math.exp),
  log: floatUnary(Math.log),
  sqrt: floatUnary(Math.sqrt),
  abs: (inputs) => ({ out: unary(inputs[0]!, inputs[0]!.dtype, Math.abs) }),
  sign: (inputs) => ({ out: unary(inputs[0]!, inputs[0]!.dtype, (x) => (x > 0 ? 1 : x < 0 ? -1 : x)) }),
  relu: (inputs) => {
    // A tight loop: ReLU runs on every activation of a network.
    const x = inputs[0]!;
    const { t, v } = output(x.shape, x.dtype);
    const xv = x.values();
    for (let i = 0; i < v.length; i++) {
      const e = xv[i]!;
      v[i] = e > 0 ? e : e !== e ? e : 0;
    }
    return { out: t };
  },
  sigmoid: floatUnary((x) => 1 / (1 + Math.exp(-x))),
  tanh: floatUnary(Math.tanh),
  clamp: (inputs, { min, max }) => {
    const lo = min ?? -Infinity;
    const hi = max ?? Infinity;
    return { out: unary(inputs[0]!, inputs[0]!.dtype, (x) => (x !== x ? x : x < lo ? lo : x > hi ? hi : x)) };
  },
  cast: (inputs, { dtype }) => {
    const x = inputs[0]!;
    if (dtype === 'bool') return { out: unary(x, 'bool', (e) => (e !== 0 ? 1 : 0)) };
    if (dtype === 'int32') return { out: unary(x, 'int32', Math.trunc) };
    return { out: unary(x, dtype, (e) => e) };
  },
};
