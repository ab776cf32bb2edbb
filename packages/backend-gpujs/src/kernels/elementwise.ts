/**
 * The elementwise ops of the ReLU rules (relu, reluBackward, mul, gt, cast), add/sub and abs, over flat [n] outputs.
 * A binary kernel reads `b` either elementwise or, with the `…Scalar` variants, as one number.
 */
import type { KernelThis, Values } from './types';

type Flat = KernelThis<Record<string, number>>;

/** max(x, 0), NaN kept (as the CPU kernel and PyTorch). */
export function relu(this: Flat, x: Values): number {
  const v = x[this.thread.x]!;
  if (v > 0 || v !== v) return v;
  return 0;
}

/**
 * relu's vanilla gradient: dy where x > 0, else 0. A NaN x compares false (in JavaScript and in
 * gpu.js's GLSL alike) and gives 0, as the CPU kernel and PyTorch's threshold_backward.
 */
export function reluBackward(this: Flat, dy: Values, x: Values): number {
  if (x[this.thread.x]! > 0) return dy[this.thread.x]!;
  return 0;
}

/** |x|. */
export function abs(this: Flat, x: Values): number {
  return Math.abs(x[this.thread.x]!);
}

/** a · b elementwise. */
export function mul(this: Flat, a: Values, b: Values): number {
  return a[this.thread.x]! * b[this.thread.x]!;
}

/** a · s for a number s. */
export function mulScalar(this: Flat, a: Values, s: number): number {
  return a[this.thread.x]! * s;
}

/** a + b elementwise. */
export function add(this: Flat, a: Values, b: Values): number {
  return a[this.thread.x]! + b[this.thread.x]!;
}

/** a + s for a number s. */
export function addScalar(this: Flat, a: Values, s: number): number {
  return a[this.thread.x]! + s;
}

/** a − b elementwise. */
export function sub(this: Flat, a: Values, b: Values): number {
  return a[this.thread.x]! - b[this.thread.x]!;
}

/** 1 where a > b, else 0 (a bool mask stored as floats). */
export function gt(this: Flat, a: Values, b: Values): number {
  if (a[this.thread.x]! > b[this.thread.x]!) return 1;
  return 0;
}

/** 1 where a > s, else 0. */
export function gtScalar(this: Flat, a: Values, s: number): number {
  if (a[this.thread.x]! > s) return 1;
  return 0;
}

/** 1 where s > b, else 0 (gt with a scalar left operand). */
export function ltScalar(this: Flat, b: Values, s: number): number {
  if (s > b[this.thread.x]!) return 1;
  return 0;
}

/** A copy (cast between float32 and the mask/index dtypes that the device stores as floats). */
export function copy(this: Flat, x: Values): number {
  return x[this.thread.x]!;
}

/** 1 where x ≠ 0 (cast to bool). */
export function nonZero(this: Flat, x: Values): number {
  if (x[this.thread.x] !== 0) return 1;
  return 0;
}

/** x truncated toward zero (cast to int32). */
export function trunc(this: Flat, x: Values): number {
  const v = x[this.thread.x]!;
  if (v < 0) return Math.ceil(v);
  return Math.floor(v);
}

/** −x. */
export function neg(this: Flat, x: Values): number {
  return -x[this.thread.x]!;
}

/** ln x (NaN below 0, −∞ at 0). */
export function log(this: Flat, x: Values): number {
  return Math.log(x[this.thread.x]!);
}

/** √x (NaN below 0). */
export function sqrt(this: Flat, x: Values): number {
  return Math.sqrt(x[this.thread.x]!);
}

/** tanh x as 1 − 2/(e^(2x) + 1): one formula for every gpu.js mode (e^(2x) overflows to ∞ for large x, giving 1). */
export function tanh(this: Flat, x: Values): number {
  return 1 - 2 / (Math.exp(2 * x[this.thread.x]!) + 1);
}

/** 1/(1 + e^(−x)). */
export function sigmoid(this: Flat, x: Values): number {
  return 1 / (1 + Math.exp(-x[this.thread.x]!));
}
