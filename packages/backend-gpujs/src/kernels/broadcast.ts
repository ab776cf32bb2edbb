/**
 * add, sub and mul with NumPy broadcasting (e.g. Grad-CAM's channel weights [N, C, 1, 1] times the
 * activations [N, C, h, w]), over a flat [n] output of up to six dimensions.
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
  /** 0: a + b, 1: a − b, 2: a · b */
  OP: number;
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
  return x * y;
}
