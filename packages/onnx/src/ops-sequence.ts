import * as t from '@gradlens/tensor';
import type { ValueOpContext, ValueOpTable } from './op-context';
import { axis, requiredInts } from './op-context';
import { shapeOps } from './ops-shape';
import type { GraphValue, Value } from './values';
import { Const, describeValue, isPlainValue, keepConst, OnnxOptional, OnnxSequence } from './values';

/** Input `i` as a sequence, or a one-line error saying what it is instead. */
export function sequenceInput(values: readonly (GraphValue | null)[], i: number, op: string): OnnxSequence {
  const v = values[i];
  if (!(v instanceof OnnxSequence)) throw new Error(`${op} input ${i} must be a sequence, got ${v ? describeValue(v) : 'nothing'}`);
  return v;
}

/** Input `i` as a tensor or constant, or a one-line error saying what it is instead. */
export function plainInput(values: readonly (GraphValue | null)[], i: number, op: string): Value {
  const v = values[i];
  if (!v || !isPlainValue(v)) throw new Error(`${op} input ${i} must be a tensor, got ${v ? describeValue(v) : 'nothing'}`);
  return v;
}

/** A position input (a scalar integer, known when the node runs) checked against [lo, hi] and made non-negative. */
function position(v: Value, length: number, lo: number, hi: number, op: string): number {
  const p = requiredInts(v, `${op} position`);
  if (p.length !== 1) throw new Error(`${op} position must be a scalar, got [${v.shape.join(', ')}]`);
  const at = p[0]!;
  if (at < lo || at > hi) throw new Error(`${op} position ${at} is out of range for a sequence of ${length} (allowed ${lo}…${hi})`);
  return at < 0 ? at + length : at;
}

/** The default-domain ops on sequences (opset 11 on), each a list operation on the value table's entries. */
export const sequenceOps: ValueOpTable = {
  // Identity passes sequences and optionals through too (a sequence graph input returned as it is).
  Identity: {
    runValues: ({ values }) => {
      const v = values[0];
      if (!v) throw new Error('input 0 is required');
      return [v];
    },
  },
  SequenceEmpty: { since: 11, runValues: ({ attrs }) => [new OnnxSequence([], attrs.int('dtype', 1))] },
  SequenceConstruct: {
    since: 11,
    runValues: ({ values }) => {
      if (values.length === 0) throw new Error('SequenceConstruct needs at least one tensor');
      return [new OnnxSequence(values.map((_, i) => plainInput(values, i, 'SequenceConstruct')))];
    },
  },
  SequenceLength: {
    since: 11,
    runValues: ({ values }) => [new Const([sequenceInput(values, 0, 'SequenceLength').length], [], 'int')],
  },
  SequenceAt: {
    since: 11,
    runValues: ({ values }) => {
      const seq = sequenceInput(values, 0, 'SequenceAt');
      const n = seq.length;
      return [seq.items[position(plainInput(values, 1, 'SequenceAt'), n, -n, n - 1, 'SequenceAt')]!];
    },
  },
  SequenceInsert: {
    since: 11,
    runValues: ({ values }) => {
      const seq = sequenceInput(values, 0, 'SequenceInsert');
      const item = plainInput(values, 1, 'SequenceInsert');
      const n = seq.length;
      const at = values[2] ? position(plainInput(values, 2, 'SequenceInsert'), n, -n, n, 'SequenceInsert') : n;
      return [new OnnxSequence([...seq.items.slice(0, at), item, ...seq.items.slice(at)], seq.elemType)];
    },
  },
  SequenceErase: {
    since: 11,
    runValues: ({ values }) => {
      const seq = sequenceInput(values, 0, 'SequenceErase');
      const n = seq.length;
      if (n === 0) throw new Error('SequenceErase of an empty sequence');
      const at = values[1] ? position(plainInput(values, 1, 'SequenceErase'), n, -n, n - 1, 'SequenceErase') : n - 1;
      return [new OnnxSequence([...seq.items.slice(0, at), ...seq.items.slice(at + 1)], seq.elemType)];
    },
  },
  SplitToSequence: { since: 11, runValues: splitToSequence },
  ConcatFromSequence: { since: 11, runValues: concatFromSequence },
};

/**
 * SplitToSequence: `split` a scalar (chunks of that size, the last one shorter), a list of sizes, or absent (chunks
 * of 1, squeezed unless keepdims); each chunk a slice of the input, so the gradient reaches it through the slice.
 */
function splitToSequence({ values, attrs }: ValueOpContext): GraphValue[] {
  const x = plainInput(values, 0, 'SplitToSequence');
  const ax = axis(attrs.int('axis', 0), x.shape.length, 'SplitToSequence axis');
  const len = x.shape[ax]!;
  const split = values[1] ? plainInput(values, 1, 'SplitToSequence') : null;
  let sizes: number[];
  if (!split) sizes = new Array<number>(len).fill(1);
  else {
    const given = requiredInts(split, 'SplitToSequence split');
    if (split.shape.length === 0) {
      const size = given[0]!;
      if (!(size > 0)) throw new Error(`SplitToSequence split ${size} must be positive`);
      sizes = Array.from({ length: Math.ceil(len / size) }, (_, i) => Math.min(size, len - i * size));
    } else {
      if (given.some((s) => s < 0) || given.reduce((a, b) => a + b, 0) !== len)
        throw new Error(`SplitToSequence split [${given.join(', ')}] does not add up to the axis length ${len}`);
      sizes = given;
    }
  }
  const squeeze = !split && attrs.int('keepdims', 1) === 0;
  let start = 0;
  const items = sizes.map((n) => {
    const s = start;
    start += n;
    return keepConst(x, (v) => (squeeze ? t.squeeze(t.slice(v, ax, s, s + n), ax) : t.slice(v, ax, s, s + n)));
  });
  return [new OnnxSequence(items)];
}

/** ConcatFromSequence: the elements concatenated along `axis`, or stacked along a new one (new_axis 1), by Concat. */
function concatFromSequence(ctx: ValueOpContext): GraphValue[] {
  const seq = sequenceInput(ctx.values, 0, 'ConcatFromSequence');
  if (!ctx.attrs.has('axis')) throw new Error('ConcatFromSequence needs its axis attribute');
  if (seq.length === 0) throw new Error('ConcatFromSequence of an empty sequence (there is nothing to concatenate)');
  const newAxis = ctx.attrs.int('new_axis', 0) === 1;
  const rank = seq.items[0]!.shape.length;
  seq.items.forEach((v, i) => {
    if (v.shape.length !== rank) throw new Error(`ConcatFromSequence element ${i} is [${v.shape.join(', ')}], element 0 has rank ${rank}`);
  });
  const a = ctx.attrs.int('axis', 0);
  let items: Value[] = [...seq.items];
  if (newAxis) {
    const at = axis(a, rank + 1, 'ConcatFromSequence axis');
    items = items.map((v) => keepConst(v, (x) => t.unsqueeze(x, at)));
  } else axis(a, rank, 'ConcatFromSequence axis');
  return shapeOps.Concat!.run({ ...ctx, values: items });
}

/** The optional ops (opset 15 on; opset 18's forms also take a plain tensor or sequence, or no input). */
export const optionalOps: ValueOpTable = {
  Optional: {
    since: 15,
    runValues: ({ values, attrs }) => {
      const v = values[0] ?? null;
      if (v instanceof OnnxOptional) throw new Error('Optional of an optional is not an ONNX type');
      if (!v && !attrs.has('type')) throw new Error('Optional without an input needs its type attribute');
      return [new OnnxOptional(v)];
    },
  },
  OptionalHasElement: {
    since: 15,
    runValues: ({ values }) => {
      const v = values[0] ?? null;
      const has = v instanceof OnnxOptional ? v.value !== null : v !== null;
      return [new Const([has ? 1 : 0], [], 'bool')];
    },
  },
  OptionalGetElement: {
    since: 15,
    runValues: ({ values }) => {
      const v = values[0];
      if (!v) throw new Error('OptionalGetElement needs an input');
      if (!(v instanceof OnnxOptional)) return [v];
      if (v.value === null) throw new Error('OptionalGetElement of an empty optional');
      return [v.value];
    },
  },
};
