import { Tensor } from '@gradlens/tensor';
import type { Attrs } from './attrs';
import type { ConstKind, GraphValue, Value } from './values';
import { Const, asTensor } from './values';

/** What an op implementation sees: its input values (null for an omitted optional input), attributes, the opset. */
export interface OpContext {
  values: (Value | null)[];
  attrs: Attrs;
  /** The default-domain opset the model imports. */
  opset: number;
  /** The number of outputs the node declares. */
  outputs: number;
}

/** One ONNX op: its forward pass on gradlens ops (or on constants), and the first opset it exists in. */
export interface OpImpl {
  run(ctx: OpContext): Value[];
  /** The first default-domain opset with this op (older models report it as unsupported). */
  since?: number;
}

export type OpTable = Record<string, OpImpl>;

/** What an op on sequences and optionals sees: its inputs as they are (tensors, constants, sequences, optionals). */
export interface ValueOpContext extends Omit<OpContext, 'values'> {
  values: (GraphValue | null)[];
}

/** An op that takes or gives sequences or optionals (SequenceAt, Optional …), kept apart from the tensor ops. */
export interface ValueOpImpl {
  runValues(ctx: ValueOpContext): GraphValue[];
  since?: number;
}

export type ValueOpTable = Record<string, ValueOpImpl>;

/** Input `i`, which the op requires. */
export function input(values: readonly (Value | null)[], i: number): Value {
  const v = values[i];
  if (!v) throw new Error(`input ${i} is required`);
  return v;
}

export function isFloatKind(k: ConstKind): boolean {
  return k === 'float32' || k === 'float64';
}

/** A value as a float tensor (a constant becomes float32 unless it is float64). */
export function float(v: Value): Tensor {
  if (v instanceof Tensor) return v;
  return asTensor(new Const(v.data, v.shape, v.kind === 'float64' ? 'float64' : 'float32'));
}

/** A load-time list of integers (axes, shapes, pads): a constant, or a small int tensor read back. */
export function ints(v: Value | null | undefined, what: string): number[] | null {
  if (!v) return null;
  if (v instanceof Const) return v.values().map((x) => Math.trunc(x));
  if (v.dtype === 'int32') return Array.from(v.values());
  throw new Error(`${what} must be known at load time (a constant or shape arithmetic), but it is computed from the input`);
}

/** `ints` of an input the op requires: an omitted one (or one a damaged graph drops) is an error naming it. */
export function requiredInts(v: Value | null | undefined, what: string): number[] {
  const r = ints(v, what);
  if (r === null) throw new Error(`${what} is required, but the input is omitted`);
  return r;
}

/** `v`, which the op requires (an attribute, say): absent, an error naming `what`. */
export function required<T>(v: T | null | undefined, what: string): T {
  if (v === null || v === undefined) throw new Error(`${what} is required, but the node does not give it`);
  return v;
}

/** The numbers of a small value read at load time (a constant, or a runtime scalar such as a Clip bound fed as an input). */
export function numbers(v: Value): number[] {
  return v instanceof Const ? v.values() : Array.from(v.values());
}

/** Normalises a possibly negative axis against `rank`. */
export function axis(a: number, rank: number, what = 'axis'): number {
  const r = a < 0 ? a + rank : a;
  if (!Number.isInteger(r) || r < 0 || r >= rank) throw new Error(`${what} ${a} is out of range for rank ${rank}`);
  return r;
}

/**
 * The most elements one tensor an op makes from the file's numbers may hold (Tile's repeats, Expand's shape,
 * Resize's scales, Pad's pads, ConvTranspose's output_shape): 2³⁰ (4 GiB of float32). A hostile or broken model
 * then gets a one-line error instead of an allocation that exhausts memory.
 */
export const MAX_ELEMENTS = 2 ** 30;

/** Refuses a result shape past MAX_ELEMENTS (or not made of counts), naming the op's result. */
export function checkElements(shape: readonly number[], what: string): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0) || n > MAX_ELEMENTS)
    throw new Error(`${what} would be [${shape.join(', ')}] (${n} elements), past the ${MAX_ELEMENTS} one tensor may hold`);
}

/** Round half to even, as ONNX's Round, QuantizeLinear and nearest sampling (and NumPy) do. */
export function roundHalfEven(v: number): number {
  return Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v);
}
