/**
 * Data movement on the device: a strided gather (permute, slice: each output element reads the input at
 * BASE + Σ index·stride over up to six output dimensions; expand reads with stride 0), slice's adjoint
 * `unslice` (the input placed into zeros), `cat` of two tensors along one dimension, `indexSelect` and its
 * adjoint `indexAdd`, over a flat [n] output, one element per thread.
 */
import type { KernelThis, Values } from './types';

/** Output sizes D0–D5 and the input's stride per output dimension A0–A5 (left-padded to six), the first element BASE. */
export interface GatherConstants {
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
  BASE: number;
}

/** unslice's constants: the output's sizes D0–D5, and per dimension the slice's begin G0–G5, step P0–P5, length L0–L5 and the input's stride A0–A5. */
export interface UnsliceConstants extends GatherConstants {
  G0: number;
  G1: number;
  G2: number;
  G3: number;
  G4: number;
  G5: number;
  P0: number;
  P1: number;
  P2: number;
  P3: number;
  P4: number;
  P5: number;
  L0: number;
  L1: number;
  L2: number;
  L3: number;
  L4: number;
  L5: number;
}

/** x at BASE + Σ index·stride for this output element (gpu.js wants `this.constants.X` spelled out). */
export function gatherStrided(this: KernelThis<GatherConstants>, x: Values): number {
  let rest = this.thread.x;
  let q = Math.floor(rest / this.constants.D5);
  let at = this.constants.BASE + (rest - q * this.constants.D5) * this.constants.A5;
  rest = q;
  q = Math.floor(rest / this.constants.D4);
  at = at + (rest - q * this.constants.D4) * this.constants.A4;
  rest = q;
  q = Math.floor(rest / this.constants.D3);
  at = at + (rest - q * this.constants.D3) * this.constants.A3;
  rest = q;
  q = Math.floor(rest / this.constants.D2);
  at = at + (rest - q * this.constants.D2) * this.constants.A2;
  rest = q;
  q = Math.floor(rest / this.constants.D1);
  at = at + (rest - q * this.constants.D1) * this.constants.A1;
  at = at + q * this.constants.A0;
  return x[at]!;
}

/**
 * The sliced input placed into zeros: an output element inside the slice (its index along every dimension
 * is begin + k·step with k < the slice's length there) reads the input's element k, any other is 0.
 */
export function unslice(this: KernelThis<UnsliceConstants>, x: Values): number {
  let rest = this.thread.x;
  let q = Math.floor(rest / this.constants.D5);
  // the offset from the slice's begin along each dimension, then which slice element (k) it is
  const o5 = rest - q * this.constants.D5 - this.constants.G5;
  rest = q;
  q = Math.floor(rest / this.constants.D4);
  const o4 = rest - q * this.constants.D4 - this.constants.G4;
  rest = q;
  q = Math.floor(rest / this.constants.D3);
  const o3 = rest - q * this.constants.D3 - this.constants.G3;
  rest = q;
  q = Math.floor(rest / this.constants.D2);
  const o2 = rest - q * this.constants.D2 - this.constants.G2;
  rest = q;
  q = Math.floor(rest / this.constants.D1);
  const o1 = rest - q * this.constants.D1 - this.constants.G1;
  const o0 = q - this.constants.G0;
  if (o0 < 0 || o1 < 0 || o2 < 0 || o3 < 0 || o4 < 0 || o5 < 0) return 0;
  // + 0.5: a float division that lands a hair under a whole number still gives it
  const k0 = Math.floor((o0 + 0.5) / this.constants.P0);
  const k1 = Math.floor((o1 + 0.5) / this.constants.P1);
  const k2 = Math.floor((o2 + 0.5) / this.constants.P2);
  const k3 = Math.floor((o3 + 0.5) / this.constants.P3);
  const k4 = Math.floor((o4 + 0.5) / this.constants.P4);
  const k5 = Math.floor((o5 + 0.5) / this.constants.P5);
  if (k0 >= this.constants.L0 || k1 >= this.constants.L1 || k2 >= this.constants.L2) return 0;
  if (k3 >= this.constants.L3 || k4 >= this.constants.L4 || k5 >= this.constants.L5) return 0;
  // off the step grid
  if (k0 * this.constants.P0 !== o0 || k1 * this.constants.P1 !== o1 || k2 * this.constants.P2 !== o2) return 0;
  if (k3 * this.constants.P3 !== o3 || k4 * this.constants.P4 !== o4 || k5 * this.constants.P5 !== o5) return 0;
  return x[
    k0 * this.constants.A0 +
      k1 * this.constants.A1 +
      k2 * this.constants.A2 +
      k3 * this.constants.A3 +
      k4 * this.constants.A4 +
      k5 * this.constants.A5
  ]!;
}

/** cat(a, b) along a dimension of sizes DA and DB, with INNER elements per step of it (the dimensions after it). */
export function cat2(this: KernelThis<{ DA: number; DB: number; INNER: number }>, a: Values, b: Values): number {
  const i = this.thread.x;
  const step = Math.floor(i / this.constants.INNER);
  const r = i - step * this.constants.INNER;
  const D = this.constants.DA + this.constants.DB;
  const outer = Math.floor(step / D);
  const d = step - outer * D;
  if (d < this.constants.DA) return a[(outer * this.constants.DA + d) * this.constants.INNER + r]!;
  return b[(outer * this.constants.DB + d - this.constants.DA) * this.constants.INNER + r]!;
}

/** x's slices at `index` (K of them) along a dimension of size D, with INNER elements per step of it. */
export function indexSelect(this: KernelThis<{ D: number; K: number; INNER: number }>, x: Values, index: Values): number {
  const i = this.thread.x;
  const step = Math.floor(i / this.constants.INNER);
  const r = i - step * this.constants.INNER;
  const outer = Math.floor(step / this.constants.K);
  const k = step - outer * this.constants.K;
  return x[(outer * this.constants.D + index[k]!) * this.constants.INNER + r]!;
}

/** indexSelect's adjoint: slice d of SIZE along the dimension sums x's slices k (of K) whose index is d, in order of k. */
export function indexAdd(this: KernelThis<{ SIZE: number; K: number; INNER: number }>, x: Values, index: Values): number {
  const i = this.thread.x;
  const step = Math.floor(i / this.constants.INNER);
  const r = i - step * this.constants.INNER;
  const outer = Math.floor(step / this.constants.SIZE);
  const d = step - outer * this.constants.SIZE;
  let total = 0;
  for (let k = 0; k < this.constants.K; k++) {
    if (index[k]! === d) total = total + x[(outer * this.constants.K + k) * this.constants.INNER + r]!;
  }
  return total;
}
