/**
 * add, sub, mul, div, ge, gt, lt, le, eq, ne, minimum, maximum and pow with NumPy broadcasting (e.g. Grad-CAM's channel weights [N, C, 1, 1] times the
 * activations [N, C, h, w]), and `where` over three operands, over a flat [n] output of up to six dimensions.
 */
import type { KernelThis } from './types';
import type { Values } from './types';

/** The output's sizes and each operand's strides (0 along a broadcast dimension), left-padded to six dimensions. */
export interface BroadcastConstants {
  [k: string]: number;
  D0: number;
  D1: number;
  D2: number;
  D3: number;
  D4: number;
  D5: number;
  A0: number;
  A1: number;
  A2: number;
  A3: number;
  A4: number;
  A5: number;
  B0: number;
  B1: number;
  B2: number;
  B3: number;
  B4: number;
  B5: number;
  /** 0: a + b, 1: a − b, 2: a · b, 3: a / b, 4: a ≥ b (1 or 0), 5: a = b (1 or 0), 6: min(a, b), 7: max(a, b) (NaN wins, as on the CPU), 8: aᵇ, 9: a > b, 10: a < b, 11: a ≤ b, 12: a ≠ b (1 or 0) */
  OP: number;
}

/** `where`'s constants: the binary ones for its two value operands, and the condition's strides C0–C5. */
export interface WhereConstants extends BroadcastConstants {
  C0: number;
  C1: number;
  C2: number;
  C3: number;
  C4: number;
  C5: number;
}

/** a (op) b at one output element, each operand read at its broadcast position (gpu.js wants `this.constants.X` spelled out). */
export function binaryBroadcast(this: KernelThis<BroadcastConstants>, a: Values, b: Values): number {
  let rest = this.thread.x;
  let q = Math.floor(rest / this.constants.D5);
  const i5 = rest - q * this.constants.D5;
  rest = q;
  q = Math.floor(rest / this.constants.D4);
  const i4 = rest - q * this.constants.D4;
  rest = q;
  q = Math.floor(rest / this.constants.D3);
  const i3 = rest - q * this.constants.D3;
  rest = q;
  q = Math.floor(rest / this.constants.D2);
  const i2 = rest - q * this.constants.D2;
  rest = q;
  q = Math.floor(rest / this.constants.D1);
  const i1 = rest - q * this.constants.D1;
  const i0 = q;
  const x =
    a[
      i0 * this.constants.A0 +
        i1 * this.constants.A1 +
        i2 * this.constants.A2 +
        i3 * this.constants.A3 +
        i4 * this.constants.A4 +
        i5 * this.constants.A5
    ]!;
  const y =
    b[
      i0 * this.constants.B0 +
        i1 * this.constants.B1 +
        i2 * this.constants.B2 +
        i3 * this.constants.B3 +
        i4 * this.constants.B4 +
        i5 * this.constants.B5
    ]!;
  if (this.constants.OP === 0) return x + y;
  if (this.constants.OP === 1) return x - y;
  if (this.constants.OP === 3) return x / y;
  if (this.constants.OP === 4) {
    if (x >= y) return 1;
    return 0;
  }
  if (this.constants.OP === 5) {
    if (x === y) return 1;
    return 0;
  }
  if (this.constants.OP === 6) {
    if (x < y || x !== x) return x;
    return y;
  }
  if (this.constants.OP === 7) {
    if (x > y || x !== x) return x;
    return y;
  }
  if (this.constants.OP === 9) {
    if (x > y) return 1;
    return 0;
  }
  if (this.constants.OP === 10) {
    if (x < y) return 1;
    return 0;
  }
  if (this.constants.OP === 12) {
    if (x !== y) return 1;
    return 0;
  }
  if (this.constants.OP === 11) {
    if (x <= y) return 1;
    return 0;
  }
  if (this.constants.OP === 8) {
    // Math.pow's cases: x⁰ = 1; a negative base is |x|ʸ with the sign of an odd y, NaN for a fractional y
    // (GLSL's pow is undefined for a negative base, so the sign is put back by hand)
    if (y === 0) return 1;
    if (x < 0) {
      if (Math.floor(y) !== y) return Math.sqrt(x);
      if (y - 2 * Math.floor(y / 2) === 1) return -Math.pow(-x, y);
      return Math.pow(-x, y);
    }
    return Math.pow(x, y);
  }
  return x * y;
}

/** where(cond, a, b) at one output element: a where the condition is non-zero, else b, each read at its broadcast position. */
export function whereBroadcast(this: KernelThis<WhereConstants>, cond: Values, a: Values, b: Values): number {
  let rest = this.thread.x;
  let q = Math.floor(rest / this.constants.D5);
  const i5 = rest - q * this.constants.D5;
  rest = q;
  q = Math.floor(rest / this.constants.D4);
  const i4 = rest - q * this.constants.D4;
  rest = q;
  q = Math.floor(rest / this.constants.D3);
  const i3 = rest - q * this.constants.D3;
  rest = q;
  q = Math.floor(rest / this.constants.D2);
  const i2 = rest - q * this.constants.D2;
  rest = q;
  q = Math.floor(rest / this.constants.D1);
  const i1 = rest - q * this.constants.D1;
  const i0 = q;
  const c =
    cond[
      i0 * this.constants.C0 +
        i1 * this.constants.C1 +
        i2 * this.constants.C2 +
        i3 * this.constants.C3 +
        i4 * this.constants.C4 +
        i5 * this.constants.C5
    ]!;
  if (c !== 0)
    return a[
      i0 * this.constants.A0 +
        i1 * this.constants.A1 +
        i2 * this.constants.A2 +
        i3 * this.constants.A3 +
        i4 * this.constants.A4 +
        i5 * this.constants.A5
    ]!;
  return b[
    i0 * this.constants.B0 +
      i1 * this.constants.B1 +
      i2 * this.constants.B2 +
      i3 * this.constants.B3 +
      i4 * this.constants.B4 +
      i5 * this.constants.B5
  ]!;
}
