/**
 * What a gpu.js kernel sees as `this`: the thread's output coordinates and the constants baked into
 * the compiled kernel. gpu.js transpiles the function's source, so a kernel body may use only what
 * gpu.js understands: numbers, loops with constant bounds, Math, array reads, `return` of a number or
 * of an array of 2–4 numbers.
 */
export interface KernelThis<C> {
  readonly thread: { readonly x: number; readonly y: number; readonly z: number };
  readonly constants: C;
}

/** Flat float32 values as gpu.js accepts them: a typed array, or a device texture (typed alike). */
export type Values = Float32Array;

/** Constants of every conv2d kernel: NCHW input, OIHW weight, per-group channel counts, blocks of 4. */
export interface ConvConstants {
  [k: string]: number;
  /** batch; input channels (all groups), height, width */
  N: number;
  C: number;
  H: number;
  W: number;
  /** output channels (all groups), output height, width */
  CO: number;
  OH: number;
  OW: number;
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  PH: number;
  PW: number;
  DH: number;
  DW: number;
  /** groups, input and output channels per group */
  G: number;
  CIG: number;
  COG: number;
  /** blocks of 4 channels per group that a thread computes: ceil(COG/4) (forward, weight) or ceil(CIG/4) (input) */
  B: number;
}

/** Constants of the pooling kernels (NCHW; output size already includes ceil mode). */
export interface PoolConstants {
  [k: string]: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  PH: number;
  PW: number;
  DH: number;
  DW: number;
  /** avg pooling: 1 to divide by the padded window area */
  INCLUDEPAD: number;
  /** avg pooling: the divisor override, 0 for none */
  DIVISOR: number;
}
