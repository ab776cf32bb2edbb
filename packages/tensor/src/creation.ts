import type { DType, TypedArray } from './dtype';
import { allocate, dtypeOfArray } from './dtype';
import { fmt } from './errors';
import type { Generator } from './random';
import { defaultGenerator } from './random';
import type { Shape } from './shape';
import { checkShape, sizeOf } from './shape';
import type { NestedArray } from './tensor';
import { Tensor } from './tensor';

type NestedInput = number | boolean | readonly NestedInput[];

/** A tensor from nested arrays, a number or a typed array (with `shape`); float32 unless told otherwise. */
export function tensor(data: NestedInput | TypedArray, shape?: Shape, dtype?: DType): Tensor {
  if (ArrayBuffer.isView(data)) {
    const values = data as TypedArray;
    const s = shape ?? [values.length];
    checkShape('tensor', s);
    const dt = dtype ?? dtypeOfArray(values);
    if (sizeOf(s) !== values.length) {
      throw new Error(`tensor: ${values.length} values cannot fill shape ${fmt(s)} (${sizeOf(s)} elements)`);
    }
    const v = dt === dtypeOfArray(values) ? values.slice() : Array.from(values as ArrayLike<number>);
    return dt === dtypeOfArray(values) ? new Tensor(v as TypedArray, s, dt) : fromNumbers(v as number[], s, dt);
  }
  const inferred: number[] = [];
  const flat: number[] = [];
  let isBool = false;
  const walk = (x: NestedInput, depth: number): void => {
    if (Array.isArray(x)) {
      if (inferred[depth] === undefined) inferred[depth] = x.length;
      else if (inferred[depth] !== x.length)
        throw new Error(`tensor: ragged nested array at depth ${depth} (${x.length} vs ${inferred[depth]} elements)`);
      for (const e of x) walk(e, depth + 1);
    } else {
      if (depth !== inferred.length && inferred.length > 0) throw new Error('tensor: nested arrays mix numbers and arrays at one depth');
      if (typeof x === 'boolean') isBool = true;
      flat.push(Number(x));
    }
  };
  walk(data as NestedInput, 0);
  const s = shape ?? inferred;
  checkShape('tensor', s);
  if (sizeOf(s) !== flat.length) throw new Error(`tensor: ${flat.length} values cannot fill shape ${fmt(s)} (${sizeOf(s)} elements)`);
  return fromNumbers(flat, s, dtype ?? (isBool ? 'bool' : 'float32'));
}

function fromNumbers(values: ArrayLike<number>, shape: Shape, dtype: DType): Tensor {
  const v = allocate(dtype, values.length);
  for (let i = 0; i < values.length; i++) v[i] = values[i]!;
  return new Tensor(v, shape, dtype);
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: Shape, value: number, dtype: DType = 'float32'): Tensor {
  checkShape('full', shape);
  const v = allocate(dtype, sizeOf(shape));
  // A new typed array is zeros already; filling it anyway would touch every page now (a model's parameters
  // made as zeros before their weights are loaded would cost their whole size in resident memory for nothing).
  if (value !== 0) v.fill(value);
  return new Tensor(v, shape, dtype);
}

export function zeros(shape: Shape, dtype: DType = 'float32'): Tensor {
  return full(shape, 0, dtype);
}

export function ones(shape: Shape, dtype: DType = 'float32'): Tensor {
  return full(shape, 1, dtype);
}

export function zerosLike(t: Tensor): Tensor {
  return full(t.shape, 0, t.dtype);
}

export function onesLike(t: Tensor): Tensor {
  return full(t.shape, 1, t.dtype);
}

/** A 0-d tensor holding one number. */
export function scalar(value: number, dtype: DType = 'float32'): Tensor {
  return full([], value, dtype);
}

/** Values start, start+step, … below end (torch.arange); `arange(n)` counts 0..n-1. */
export function arange(start: number, end?: number, step = 1, dtype: DType = 'float32'): Tensor {
  const [a, b] = end === undefined ? [0, start] : [start, end];
  if (step === 0 || !Number.isFinite(step)) throw new Error(`arange: step must be a non-zero finite number, got ${step}`);
  const n = Math.max(0, Math.ceil((b - a) / step));
  const v = allocate(dtype, n);
  for (let i = 0; i < n; i++) v[i] = a + i * step;
  return new Tensor(v, [n], dtype);
}

/** `steps` evenly spaced values from start to end inclusive (torch.linspace). */
export function linspace(start: number, end: number, steps: number, dtype: DType = 'float32'): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`linspace: steps must be a non-negative integer, got ${steps}`);
  const v = allocate(dtype, steps);
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Like PyTorch, fill the second half from the end so both endpoints are exact.
  for (let i = 0; i < steps; i++) v[i] = i < steps / 2 ? start + i * step : end - (steps - 1 - i) * step;
  return new Tensor(v, [steps], dtype);
}

export interface RandomOptions {
  dtype?: 'float32' | 'float64';
  generator?: Generator;
}

/** Uniform values in [0, 1) from a seedable generator. */
export function rand(shape: Shape, options: RandomOptions = {}): Tensor {
  checkShape('rand', shape);
  const g = options.generator ?? defaultGenerator;
  const v = allocate(options.dtype ?? 'float32', sizeOf(shape));
  for (let i = 0; i < v.length; i++) v[i] = g.uniform();
  return new Tensor(v, shape, options.dtype ?? 'float32');
}

/** Standard normal values from a seedable generator. */
export function randn(shape: Shape, options: RandomOptions = {}): Tensor {
  checkShape('randn', shape);
  const g = options.generator ?? defaultGenerator;
  const v = allocate(options.dtype ?? 'float32', sizeOf(shape));
  for (let i = 0; i < v.length; i++) v[i] = g.normal();
  return new Tensor(v, shape, options.dtype ?? 'float32');
}

export type { NestedArray };
