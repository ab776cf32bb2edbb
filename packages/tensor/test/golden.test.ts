/**
 * Golden values from PyTorch 1.13 (scripts/make-tensor-fixtures.py writes test/fixtures/*.json;
 * scripts/make-transformer-op-fixtures.py writes transformer.json).
 *
 * Every case runs twice: with float32 inputs (the values PyTorch drew) and with the same values in
 * float64. The reference was computed by PyTorch in float64 from those float32 values, so the float32
 * run measures gradlens's rounding error and the float64 run checks its formulas almost exactly.
 *
 * Error norm: max_i |actual_i − ref_i| / max_i |ref_i|  (the max-abs of the reference; 1 if it is 0).
 * float32: forward ≤ 1e-5, gradients ≤ 1e-4.  float64: forward and gradients ≤ 1e-9 (the fixtures keep
 * 10 significant digits). Gradients are those of sum(out · R) for the fixture's fixed random R, taken
 * with `grad(f, inputs)`. Set GOLDEN_REPORT=1 to print the largest error seen per family.
 */
import { readFileSync } from 'fs';
import * as T from '../src';
import { join } from 'path';
import {
  abs,
  adaptiveAvgPool2d,
  adaptiveMaxPool2d,
  add,
  argmax,
  argmin,
  avgPool2d,
  batchNorm,
  cat,
  clamp,
  conv2d,
  crossEntropy,
  div,
  erf,
  exp,
  flatten,
  gelu,
  layerNorm,
  scaledDotProductAttention,
  grad,
  indexSelect,
  interpolate,
  roiAlign,
  linear,
  log,
  logSoftmax,
  matmul,
  max,
  maximum,
  maxPool2d,
  mean,
  min,
  minimum,
  mseLoss,
  mul,
  narrow,
  neg,
  nllLoss,
  numTensors,
  pad,
  permute,
  pow,
  relu,
  reshape,
  sigmoid,
  slice,
  softmax,
  sqrt,
  stack,
  std,
  sub,
  sum,
  tanh,
  tensor,
  tidy,
  transpose,
  variance,
  where,
} from '../src';
import type {
  AvgPool2dOptions,
  Conv2dOptions,
  InterpolateOptions,
  RoiAlignOptions,
  MaxPool2dOptions,
  Reduction,
  ReduceOptions,
  VarOptions,
  Tensor,
} from '../src';

type DT = 'float32' | 'float64' | 'int32' | 'bool';
interface Encoded {
  dtype: DT;
  shape: number[];
  data: number[];
}
interface InputSpec extends Encoded {
  name: string;
  grad: boolean;
}
interface Attrs {
  [key: string]: unknown;
}
interface GoldenCase {
  name: string;
  op: string;
  attrs: Attrs;
  inputs: InputSpec[];
  out: Encoded;
  R?: Encoded;
  grads?: Record<string, Encoded>;
  extras?: Record<string, Encoded>;
}
interface Fixture {
  torch: string;
  cases: GoldenCase[];
}

const FAMILIES = [
  'conv',
  'pool',
  'resize',
  'norm',
  'activation',
  'loss',
  'linalg',
  'elementwise',
  'reduce',
  'shape',
  'net',
  'transformer',
  'roi',
  'math',
] as const;
const TOL = { float32: { fwd: 1e-5, grad: 1e-4 }, float64: { fwd: 1e-9, grad: 1e-9 } } as const;

function load(family: string): Fixture {
  return JSON.parse(readFileSync(join(__dirname, 'fixtures', `${family}.json`), 'utf8')) as Fixture;
}

/** An encoded tensor as a gradlens tensor; float data goes through float32 first (the fixture's values), then `floatType`. */
function decode(e: Encoded, floatType: 'float32' | 'float64'): Tensor {
  switch (e.dtype) {
    case 'int32':
      return tensor(Int32Array.from(e.data), e.shape, 'int32');
    case 'bool':
      return tensor(Uint8Array.from(e.data), e.shape, 'bool');
    default: {
      const f32 = Float32Array.from(e.data);
      return floatType === 'float32' ? tensor(f32, e.shape) : tensor(Float64Array.from(f32), e.shape);
    }
  }
}

const as = <T>(a: Attrs): T => a as unknown as T;
const n = (a: Attrs, key: string): number => a[key] as number;
const opt = (a: Attrs, key: string): number | undefined => a[key] as number | undefined;

type Named = Record<string, Tensor>;
type OpFn = (t: Named, a: Attrs) => Tensor;

function need(t: Named, name: string): Tensor {
  const x = t[name];
  if (!x) throw new Error(`fixture input '${name}' is missing`);
  return x;
}

/** Binary ops take two tensors (a, b), or one tensor x and a number given as attrs.a or attrs.b. */
function binary(fn: (a: Tensor | number, b: Tensor | number) => Tensor): OpFn {
  return (t, a) => {
    if (a.a !== undefined) return fn(n(a, 'a'), need(t, 'x'));
    if (a.b !== undefined) return fn(need(t, 'x'), n(a, 'b'));
    return fn(need(t, 'a'), need(t, 'b'));
  };
}

const lossOptions = (t: Named, a: Attrs) => ({
  reduction: a.reduction as Reduction | undefined,
  ignoreIndex: opt(a, 'ignoreIndex'),
  ...(t.weight ? { weight: t.weight } : {}),
});

const listed = (t: Named) =>
  Object.keys(t)
    .filter((k) => /^t\d+$/.test(k))
    .sort()
    .map((k) => need(t, k));

/** The gradlens call for each fixture op name. */
const OPS: Record<string, OpFn> = {
  conv2d: (t, a) => conv2d(need(t, 'x'), need(t, 'weight'), t.bias, as<Conv2dOptions>(a)),
  maxPool2d: (t, a) => maxPool2d(need(t, 'x'), as<MaxPool2dOptions>(a)),
  avgPool2d: (t, a) => avgPool2d(need(t, 'x'), as<AvgPool2dOptions>(a)),
  adaptiveAvgPool2d: (t, a) => adaptiveAvgPool2d(need(t, 'x'), a.outputSize as number | (number | null)[]),
  adaptiveMaxPool2d: (t, a) => adaptiveMaxPool2d(need(t, 'x'), a.outputSize as number | (number | null)[]),
  interpolate: (t, a) => interpolate(need(t, 'x'), as<InterpolateOptions>(a)),
  roiAlign: (t, a) => roiAlign(need(t, 'x'), a.rois as number[], a.batchIndices as number[], as<RoiAlignOptions>(a)),
  batchNorm: (t, a) =>
    batchNorm(need(t, 'x'), t.runningMean ?? null, t.runningVar ?? null, t.weight, t.bias, {
      training: a.training as boolean,
      momentum: n(a, 'momentum'),
      eps: n(a, 'eps'),
    }),
  softmax: (t, a) => softmax(need(t, 'x'), n(a, 'dim')),
  logSoftmax: (t, a) => logSoftmax(need(t, 'x'), n(a, 'dim')),
  crossEntropy: (t, a) => crossEntropy(need(t, 'input'), need(t, 'target'), lossOptions(t, a)),
  nllLoss: (t, a) => nllLoss(need(t, 'input'), need(t, 'target'), lossOptions(t, a)),
  mseLoss: (t, a) => mseLoss(need(t, 'input'), need(t, 'target'), { reduction: a.reduction as Reduction | undefined }),
  linear: (t) => linear(need(t, 'x'), need(t, 'weight'), t.bias),
  matmul: (t) => matmul(need(t, 'a'), need(t, 'b')),
  add: binary(add),
  sub: binary(sub),
  mul: binary(mul),
  div: binary(div),
  pow: binary(pow),
  maximum: binary(maximum),
  minimum: binary(minimum),
  where: (t) => where(need(t, 'cond'), need(t, 'a'), need(t, 'b')),
  clamp: (t, a) => clamp(need(t, 'x'), { min: opt(a, 'min'), max: opt(a, 'max') }),
  neg: (t) => neg(need(t, 'x')),
  sigmoid: (t) => sigmoid(need(t, 'x')),
  tanh: (t) => tanh(need(t, 'x')),
  exp: (t) => exp(need(t, 'x')),
  ...Object.fromEntries(
    (['sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'asinh', 'acosh', 'atanh'] as const).map((fn) => [
      fn,
      ((t) => T[fn](need(t, 'x'))) as OpFn,
    ]),
  ),
  log: (t) => log(need(t, 'x')),
  sqrt: (t) => sqrt(need(t, 'x')),
  abs: (t) => abs(need(t, 'x')),
  relu: (t) => relu(need(t, 'x')),
  sum: (t, a) => sum(need(t, 'x'), as<ReduceOptions>(a)),
  mean: (t, a) => mean(need(t, 'x'), as<ReduceOptions>(a)),
  max: (t, a) => max(need(t, 'x'), as<ReduceOptions>(a)),
  min: (t, a) => min(need(t, 'x'), as<ReduceOptions>(a)),
  var: (t, a) => variance(need(t, 'x'), as<VarOptions>(a)),
  std: (t, a) => std(need(t, 'x'), as<VarOptions>(a)),
  argmax: (t, a) => argmax(need(t, 'x'), { dim: opt(a, 'dim'), keepdim: a.keepdim as boolean | undefined }),
  argmin: (t, a) => argmin(need(t, 'x'), { dim: opt(a, 'dim'), keepdim: a.keepdim as boolean | undefined }),
  reshape: (t, a) => reshape(need(t, 'x'), a.shape as number[]),
  permute: (t, a) => permute(need(t, 'x'), a.dims as number[]),
  transpose: (t, a) => transpose(need(t, 'x'), n(a, 'dim0'), n(a, 'dim1')),
  slice: (t, a) => slice(need(t, 'x'), n(a, 'dim'), opt(a, 'start'), opt(a, 'end'), opt(a, 'step')),
  narrow: (t, a) => narrow(need(t, 'x'), n(a, 'dim'), n(a, 'start'), n(a, 'length')),
  indexSelect: (t, a) => indexSelect(need(t, 'x'), n(a, 'dim'), need(t, 'index')),
  cat: (t, a) => cat(listed(t), n(a, 'dim')),
  stack: (t, a) => stack(listed(t), n(a, 'dim')),
  pad: (t, a) => pad(need(t, 'x'), a.pads as number[], opt(a, 'value')),
  erf: (t) => erf(need(t, 'x')),
  gelu: (t, a) => gelu(need(t, 'x'), { approximate: a.approximate as 'none' | 'tanh' | undefined }),
  layerNorm: (t, a) => layerNorm(need(t, 'x'), a.normalizedShape as number[], t.weight, t.bias, { eps: opt(a, 'eps') }),
  scaledDotProductAttention: (t, a) =>
    scaledDotProductAttention(need(t, 'q'), need(t, 'k'), need(t, 'v'), { mask: t.mask, scale: opt(a, 'scale') }),
  smallCnn: (t) => {
    let h = relu(
      batchNorm(
        conv2d(need(t, 'x'), need(t, 'w1'), null, { padding: 1 }),
        need(t, 'runningMean'),
        need(t, 'runningVar'),
        need(t, 'g1'),
        need(t, 'beta1'),
        { training: true, momentum: 0.1, eps: 1e-5 },
      ),
    );
    h = maxPool2d(h, { kernelSize: 2, ceilMode: true });
    h = relu(conv2d(pad(h, [1, 1, 0, 1]), need(t, 'w2'), null, { stride: [1, 2] }));
    h = interpolate(h, { scaleFactor: 1.5, mode: 'bilinear', alignCorners: false });
    h = adaptiveAvgPool2d(avgPool2d(h, { kernelSize: 2, padding: 1 }), 1);
    return crossEntropy(linear(flatten(h, 1), need(t, 'fc'), need(t, 'fcb')), need(t, 'target'));
  },
};

/** max |actual − ref| / max |ref| (1 when the reference is all zeros); NaN counts as infinite. */
function relError(label: string, actual: Tensor, ref: Encoded): number {
  expect({ label, shape: [...actual.shape] }).toEqual({ label, shape: ref.shape });
  const v = actual.dataSync();
  let scale = 0;
  for (const r of ref.data) scale = Math.max(scale, Math.abs(r));
  if (scale === 0) scale = 1;
  let err = 0;
  for (let i = 0; i < ref.data.length; i++) {
    const d = Math.abs(Number(v[i]) - ref.data[i]!) / scale;
    err = Number.isNaN(d) ? Infinity : Math.max(err, d);
  }
  return err;
}

const worst = new Map<string, { fwd: number; grad: number }>();
function note(key: string, kind: 'fwd' | 'grad', err: number): void {
  const w = worst.get(key) ?? { fwd: 0, grad: 0 };
  w[kind] = Math.max(w[kind], err);
  worst.set(key, w);
}

function within(label: string, err: number, tol: number): void {
  if (!(err <= tol)) throw new Error(`${label}: relative error ${err.toExponential(3)} exceeds ${tol}`);
}

function runCase(family: string, c: GoldenCase, floatType: 'float32' | 'float64'): void {
  const fn = OPS[c.op];
  if (!fn) throw new Error(`no gradlens call for fixture op '${c.op}'`);
  const tol = TOL[floatType];
  const key = `${family} ${floatType}`;
  const before = numTensors();
  tidy(() => {
    const inputs: Named = {};
    for (const spec of c.inputs) inputs[spec.name] = decode(spec, floatType);
    const out = fn(inputs, c.attrs);
    if (c.out.dtype === 'int32' || c.out.dtype === 'bool') {
      expect(out.dtype).toBe(c.out.dtype);
      expect([...out.shape]).toEqual(c.out.shape);
      expect(Array.from(out.dataSync(), Number)).toEqual(c.out.data);
      return;
    }
    expect(out.dtype).toBe(floatType);
    const fwd = relError(`${c.op} forward`, out, c.out);
    note(key, 'fwd', fwd);
    within(`${c.op} '${c.name}' forward (${floatType})`, fwd, tol.fwd);
    for (const [name, ref] of Object.entries(c.extras ?? {})) {
      const e = relError(`${c.op} ${name}`, need(inputs, name), ref);
      note(key, 'fwd', e);
      within(`${c.op} '${c.name}' ${name} after the step (${floatType})`, e, tol.fwd);
    }
    if (!c.grads || !c.R) return;
    // Fresh inputs for the gradient pass, so that in-place running statistics start from the fixture's values.
    const fresh: Named = {};
    for (const spec of c.inputs) fresh[spec.name] = decode(spec, floatType);
    const names = Object.keys(c.grads);
    const R = decode(c.R, floatType);
    const grads = grad(
      (...xs) => {
        const named: Named = { ...fresh };
        names.forEach((nm, i) => {
          named[nm] = xs[i]!;
        });
        return sum(mul(fn(named, c.attrs), R));
      },
      names.map((nm) => need(fresh, nm)),
    );
    names.forEach((nm, i) => {
      const g = grads[i]!;
      expect(g.dtype).toBe(floatType);
      const e = relError(`${c.op} grad ${nm}`, g, c.grads![nm]!);
      note(key, 'grad', e);
      within(`${c.op} '${c.name}' gradient w.r.t. ${nm} (${floatType})`, e, tol.grad);
    });
  });
  expect(numTensors()).toBe(before);
}

for (const family of FAMILIES) {
  const fixture = load(family);
  describe(`golden ${family} (PyTorch ${fixture.torch})`, () => {
    for (const floatType of ['float32', 'float64'] as const) {
      test.each(fixture.cases.map((c) => [`${c.op}: ${c.name}`, c] as const))(`%s [${floatType}]`, (_label, c) => {
        runCase(family, c, floatType);
      });
    }
  });
}

test('every fixture op has a gradlens call', () => {
  for (const family of FAMILIES) for (const c of load(family).cases) expect(OPS[c.op]).toBeDefined();
});

afterAll(() => {
  if (!process.env.GOLDEN_REPORT) return;
  const rows = [...worst.entries()].map(([k, w]) => `${k.padEnd(22)} forward ${w.fwd.toExponential(2)}  grad ${w.grad.toExponential(2)}`);
  process.stdout.write(`\nlargest relative errors vs PyTorch (max-abs norm):\n${rows.join('\n')}\n`);
});
