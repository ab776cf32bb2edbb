/**
 * sum, mean, max and min over any set of dimensions of a tensor of up to six: one output element per thread,
 * which walks the R elements it reduces. The kept dimensions place the thread's first element, the reduced
 * ones step through the rest (both as sizes and input strides, left-padded to six with size 1).
 */
import type { KernelThis, Values } from './types';

/** Kept dims' sizes K0–K5 and input strides KS0–KS5; reduced dims' sizes R0–R5 and strides RS0–RS5; R = R0·…·R5. */
export interface ReduceConstants {
  [k: string]: number;
  K0: number;
  K1: number;
  K2: number;
  K3: number;
  K4: number;
  K5: number;
  KS0: number;
  KS1: number;
  KS2: number;
  KS3: number;
  KS4: number;
  KS5: number;
  R0: number;
  R1: number;
  R2: number;
  R3: number;
  R4: number;
  R5: number;
  RS0: number;
  RS1: number;
  RS2: number;
  RS3: number;
  RS4: number;
  RS5: number;
  R: number;
  /** 0: sum, 1: mean, 2: max, 3: min (a NaN wins, as on the CPU) */
  OP: number;
}

/** The reduction of one output element (gpu.js wants `this.constants.X` spelled out). */
export function reduceDims(this: KernelThis<ReduceConstants>, x: Values): number {
  let rest = this.thread.x;
  let q = Math.floor(rest / this.constants.K5);
  let base = (rest - q * this.constants.K5) * this.constants.KS5;
  rest = q;
  q = Math.floor(rest / this.constants.K4);
  base = base + (rest - q * this.constants.K4) * this.constants.KS4;
  rest = q;
  q = Math.floor(rest / this.constants.K3);
  base = base + (rest - q * this.constants.K3) * this.constants.KS3;
  rest = q;
  q = Math.floor(rest / this.constants.K2);
  base = base + (rest - q * this.constants.K2) * this.constants.KS2;
  rest = q;
  q = Math.floor(rest / this.constants.K1);
  base = base + (rest - q * this.constants.K1) * this.constants.KS1;
  base = base + q * this.constants.KS0;
  // max and min start from the first element (at `base`): gpu.js's WGSL cannot spell ±Infinity
  let acc = 0;
  if (this.constants.OP >= 2) acc = x[base]!;
  for (let r = 0; r < this.constants.R; r++) {
    let left = r;
    let p = Math.floor(left / this.constants.R5);
    let at = base + (left - p * this.constants.R5) * this.constants.RS5;
    left = p;
    p = Math.floor(left / this.constants.R4);
    at = at + (left - p * this.constants.R4) * this.constants.RS4;
    left = p;
    p = Math.floor(left / this.constants.R3);
    at = at + (left - p * this.constants.R3) * this.constants.RS3;
    left = p;
    p = Math.floor(left / this.constants.R2);
    at = at + (left - p * this.constants.R2) * this.constants.RS2;
    left = p;
    p = Math.floor(left / this.constants.R1);
    at = at + (left - p * this.constants.R1) * this.constants.RS1;
    at = at + p * this.constants.RS0;
    const v = x[at]!;
    if (this.constants.OP === 2) {
      if (v > acc || v !== v) acc = v;
    } else if (this.constants.OP === 3) {
      if (v < acc || v !== v) acc = v;
    } else acc = acc + v;
  }
  if (this.constants.OP === 1) return acc / this.constants.R;
  return acc;
}
