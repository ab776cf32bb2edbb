import { noGrad, Tensor } from '@gradlens/tensor';

/** Element kinds the importer tracks for constants: ONNX's integer types all fold to 'int'. */
export type ConstKind = 'float32' | 'float64' | 'int' | 'bool';

/**
 * A value known at load time (shape arithmetic, integer initializers, Constant nodes): plain numbers
 * in row-major order. Shape, Gather on shapes, Concat, Reshape targets … are computed on these in
 * JavaScript, so they never reach the tape.
 */
export class Const {
  constructor(
    readonly data: ArrayLike<number>,
    readonly shape: readonly number[],
    readonly kind: ConstKind,
    /** The ONNX data type an integer initializer was stored as (QuantizeLinear's range comes from its zero point's). */
    readonly onnxType?: number,
  ) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new Error(`internal: constant of shape [${shape.join(', ')}] holds ${data.length} values`);
  }

  get size(): number {
    return this.data.length;
  }

  /** The values as a plain array of numbers. */
  values(): number[] {
    return Array.from(this.data);
  }
}

/** A graph value while the graph runs: a tensor (on the tape when recorded) or a load-time constant. */
export type Value = Tensor | Const;

/** The dtype a constant becomes as a tensor (integers as int32; out-of-range integers are refused). */
export function constToTensor(c: Const, like?: Tensor): Tensor {
  const kind = c.kind === 'int' && like && (like.dtype === 'float32' || like.dtype === 'float64') ? like.dtype : c.kind;
  switch (kind) {
    case 'float32':
      return new Tensor(c.data instanceof Float32Array ? c.data : Float32Array.from(c.data), c.shape, 'float32');
    case 'float64':
      return new Tensor(Float64Array.from(c.data), c.shape, 'float64');
    case 'bool':
      return new Tensor(
        Uint8Array.from(c.data, (v) => (v ? 1 : 0)),
        c.shape,
        'bool',
      );
    case 'int': {
      for (let i = 0; i < c.data.length; i++) {
        const v = c.data[i]!;
        if (v < -2147483648 || v > 2147483647)
          throw new Error(`integer constant value ${v} does not fit int32, the integer dtype of gradlens tensors`);
      }
      return new Tensor(Int32Array.from(c.data), c.shape, 'int32');
    }
  }
}

/** A float constant that matches `like`'s dtype, for a tensor op mixing a runtime tensor and a constant. */
export function asTensor(v: Value, like?: Tensor): Tensor {
  if (v instanceof Tensor) return v;
  if (like && (like.dtype === 'float32' || like.dtype === 'float64') && v.kind !== 'bool') {
    return new Tensor(like.dtype === 'float32' ? Float32Array.from(v.data) : Float64Array.from(v.data), v.shape, like.dtype);
  }
  return constToTensor(v, like);
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** NumPy broadcasting of two shapes, or null when they do not broadcast. */
export function broadcastPair(a: readonly number[], b: readonly number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Elementwise `fn` over broadcast constants (the shape arithmetic of Add, Mul, Equal, Where …). */
export function mapConst(inputs: readonly Const[], kind: ConstKind, fn: (...v: number[]) => number): Const {
  let shape: number[] = [];
  for (const c of inputs) {
    const s = broadcastPair(shape, c.shape);
    if (!s) throw new Error(`shapes ${inputs.map((x) => `[${x.shape.join(', ')}]`).join(' and ')} do not broadcast`);
    shape = s;
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Array<number>(size);
  const outStrides = stridesOf(shape);
  const inStrides = inputs.map((c) => {
    const st = stridesOf(c.shape);
    const lead = shape.length - c.shape.length;
    return shape.map((_, d) => (d < lead || c.shape[d - lead] === 1 ? 0 : st[d - lead]!));
  });
  const args = new Array<number>(inputs.length);
  for (let i = 0; i < size; i++) {
    for (let k = 0; k < inputs.length; k++) {
      let off = 0;
      let rem = i;
      for (let d = 0; d < shape.length; d++) {
        const q = Math.floor(rem / outStrides[d]!);
        rem -= q * outStrides[d]!;
        off += q * inStrides[k]![d]!;
      }
      args[k] = inputs[k]!.data[off]!;
    }
    out[i] = fn(...args);
  }
  return new Const(kind === 'float32' ? Float32Array.from(out) : out, shape, kind);
}

/** Runs a shape op on a constant through the same tensor op (under noGrad) and returns a constant again. */
export function keepConst(v: Value, fn: (x: Tensor) => Tensor): Value {
  if (v instanceof Tensor) return fn(v);
  const x = asTensor(v);
  const y = noGrad(() => fn(x));
  const out = new Const(Array.from(y.values()), y.shape, v.kind);
  if (y !== x) y.dispose();
  x.dispose();
  return out;
}

/** A tensor's values as a constant (integer dtypes as 'int'). */
export function toConst(v: Value): Const {
  if (v instanceof Const) return v;
  const kind: ConstKind = v.dtype === 'float32' || v.dtype === 'float64' ? v.dtype : v.dtype === 'bool' ? 'bool' : 'int';
  return new Const(v.values(), v.shape, kind);
}

/**
 * An elementwise op with no gradient (rounding, tests, logic) folded in JavaScript over broadcast values; a
 * tensor again when an input was one. Its result is off the tape, which is right: its derivative is zero
 * wherever it exists.
 */
export function withoutGradient(vs: readonly Value[], kind: ConstKind, fn: (...v: number[]) => number): Value {
  const out = mapConst(vs.map(toConst), kind, fn);
  return vs.some((v) => v instanceof Tensor) ? constToTensor(out) : out;
}

/**
 * An ONNX sequence (SequenceConstruct, SplitToSequence …): an ordered list of tensors or constants held in the
 * value table as they are, so each element keeps its own place on the tape and gradients reach whatever made it.
 */
export class OnnxSequence {
  constructor(
    readonly items: readonly Value[],
    /** The ONNX data type of the elements when the sequence declares one (SequenceEmpty's dtype), else undefined. */
    readonly elemType?: number,
  ) {}

  get length(): number {
    return this.items.length;
  }
}

/** An ONNX optional (Optional, opsets 15–18): one tensor or sequence, or none. */
export class OnnxOptional {
  constructor(readonly value: Value | OnnxSequence | null) {}
}

/** Any value in the graph's value table: a tensor, a constant, a sequence or an optional. */
export type GraphValue = Value | OnnxSequence | OnnxOptional;

/** What a graph value is, in words, for messages. */
export function describeValue(v: GraphValue): string {
  if (v instanceof OnnxSequence) return `a sequence of ${v.length}`;
  if (v instanceof OnnxOptional) return v.value === null ? 'an empty optional' : 'an optional';
  return `a tensor [${v.shape.join(', ')}]`;
}

/** Whether a graph value is a tensor or constant (not a sequence or optional). */
export function isPlainValue(v: GraphValue): v is Value {
  return !(v instanceof OnnxSequence) && !(v instanceof OnnxOptional);
}
