import * as t from '@gradlens/tensor';
import { noGrad, Tensor } from '@gradlens/tensor';
import { dataTypeName } from './initializers';
import type { OpTable } from './op-context';
import { axis, checkElements, input, ints, numbers, requiredInts, required } from './op-context';
import type { ConstKind, Value } from './values';
import { Const, asTensor, broadcastPair, keepConst } from './values';

/** Axes from the attribute (older opsets) or the input (newer ones). */
function axesOf(values: readonly (Value | null)[], attrs: { ints(n: string): number[] | null }, index: number): number[] | null {
  return attrs.ints('axes') ?? ints(values[index], 'axes');
}

/** The shape Reshape asks for: 0 copies the input's dim (unless allowzero), -1 is inferred by reshape. */
function reshapeTarget(x: readonly number[], target: number[], allowZero: boolean): number[] {
  const shown = `[${target.join(', ')}]`;
  const dims = target.map((d, i) => {
    if (d !== 0 || allowZero) return d;
    if (i >= x.length) throw new Error(`shape ${shown} copies dim ${i} (0), but the input has rank ${x.length}`);
    return x[i]!;
  });
  if (dims.some((d) => d < -1)) throw new Error(`shape ${shown} has a dim below -1`);
  if (dims.filter((d) => d === -1).length > 1) throw new Error(`shape ${shown} has more than one -1 (only one dim can be inferred)`);
  const n = x.reduce((a, b) => a * b, 1);
  const known = dims.reduce((a, d) => (d === -1 ? a : a * d), 1);
  if (dims.includes(-1) ? known === 0 || n % known !== 0 : known !== n)
    throw new Error(`cannot reshape [${x.join(', ')}] (${n} elements) to ${shown}`);
  return dims;
}

/** Split sizes: from the input or attribute, from num_outputs, or equal parts. */
function splitSizes(len: number, given: number[] | null, parts: number): number[] {
  if (given) {
    if (given.reduce((a, b) => a + b, 0) !== len) throw new Error(`split sizes [${given.join(', ')}] do not add up to ${len}`);
    return given;
  }
  const size = Math.ceil(len / parts);
  return Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(size, len - i * size)));
}

const castKind: Record<number, ConstKind | undefined> = {
  1: 'float32',
  10: 'float32',
  11: 'float64',
  9: 'bool',
  2: 'int',
  3: 'int',
  4: 'int',
  5: 'int',
  6: 'int',
  7: 'int',
  12: 'int',
  13: 'int',
};

/** A value cast to the ONNX data type `to` (integers become int32 tensors, or 'int' constants). */
function castTo(x: Value, to: number): Value {
  const kind = castKind[to];
  if (!kind) throw new Error(`Cast to ${dataTypeName(to)} is not supported`);
  if (x instanceof Const) {
    const conv = kind === 'int' ? (v: number) => Math.trunc(v) : kind === 'bool' ? (v: number) => (v ? 1 : 0) : (v: number) => v;
    return new Const(kind === 'float32' ? Float32Array.from(x.data, conv) : Array.from(x.data, conv), x.shape, kind);
  }
  return t.cast(x, kind === 'int' ? 'int32' : kind);
}

/**
 * The source index of each position of an axis padded by `before` and `after` in a non-constant Pad mode
 * (reflect mirrors without repeating the edge, as NumPy's 'reflect'; edge repeats it; wrap is periodic), or null
 * when the axis is not padded. The pad is then an index selection, which the tape differentiates.
 */
function padIndices(mode: string, n: number, before: number, after: number, d: number): number[] | null {
  if (before === 0 && after === 0) return null;
  if (n === 0) throw new Error(`Pad mode '${mode}' cannot pad axis ${d}, which is empty`);
  const period = 2 * (n - 1);
  const source = (p: number): number => {
    if (mode === 'edge') return Math.min(n - 1, Math.max(0, p));
    if (mode === 'wrap') return ((p % n) + n) % n;
    if (n === 1) return 0;
    const r = ((p % period) + period) % period;
    return r < n ? r : period - r;
  };
  return Array.from({ length: before + n + after }, (_, i) => source(i - before));
}

/** Shape ops, layout ops and the load-time shape arithmetic (Shape, ConstantOfShape, Range, Constant). */
export const shapeOps: OpTable = {
  Dropout: {
    run: ({ values, outputs }) => {
      // Training mode drops nothing at ratio 0 (torchvision's Swin calls F.dropout(p=0) with training on).
      const ratio = values[1] ? (numbers(values[1])[0] ?? 0.5) : 0.5;
      if (values[2] && numbers(values[2])[0] && ratio !== 0)
        throw new Error(`Dropout with training_mode true and ratio ${ratio} is not supported (gradlens imports models for inference)`);
      return outputs > 1
        ? [
            input(values, 0),
            new Const(new Array<number>(input(values, 0).shape.reduce((a, b) => a * b, 1)).fill(1), input(values, 0).shape, 'bool'),
          ]
        : [input(values, 0)];
    },
  },
  Shape: {
    run: ({ values, attrs }) => {
      const s = input(values, 0).shape;
      const clampAt = (v: number) => Math.max(0, Math.min(s.length, v < 0 ? v + s.length : v));
      const part = s.slice(clampAt(attrs.int('start', 0)), clampAt(attrs.int('end', s.length)));
      return [new Const(part, [part.length], 'int')];
    },
  },
  Size: { run: ({ values }) => [new Const([input(values, 0).shape.reduce((a, b) => a * b, 1)], [], 'int')] },
  Constant: {
    run: ({ attrs }) => {
      const v = attrs.tensor('value');
      if (v) return [v];
      if (attrs.has('value_float')) return [new Const(Float32Array.of(attrs.float('value_float', 0)), [], 'float32')];
      if (attrs.has('value_floats')) {
        const f = attrs.floats('value_floats')!;
        return [new Const(Float32Array.from(f), [f.length], 'float32')];
      }
      if (attrs.has('value_int')) return [new Const([attrs.int('value_int', 0)], [], 'int')];
      if (attrs.has('value_ints')) {
        const f = attrs.ints('value_ints')!;
        return [new Const(f, [f.length], 'int')];
      }
      throw new Error('Constant has no value attribute gradlens reads (value, value_float(s), value_int(s))');
    },
  },
  ConstantOfShape: {
    run: ({ values, attrs }) => {
      const shape = ints(values[0], 'shape') ?? [];
      const v = attrs.tensor('value');
      const fill = v ? (v instanceof Const ? (v.values()[0] ?? 0) : (v.values()[0] ?? 0)) : 0;
      const kind: ConstKind = v instanceof Const ? v.kind : v ? (v.dtype === 'float64' ? 'float64' : 'float32') : 'float32';
      if (shape.some((d) => d < 0)) throw new Error(`ConstantOfShape of [${shape.join(', ')}] has a negative dim`);
      const n = shape.reduce((a, b) => a * b, 1);
      if (!Number.isSafeInteger(n) || n > 2 ** 28) throw new Error(`ConstantOfShape of [${shape.join(', ')}] is too large to fold`);
      return [new Const(new Array<number>(n).fill(Number(fill)), shape, kind)];
    },
  },
  Range: {
    run: ({ values }) => {
      const [start, limit, delta] = [0, 1, 2].map((i) => numbers(input(values, i))[0] ?? 0) as [number, number, number];
      const first = input(values, 0);
      const kind: ConstKind =
        first instanceof Const ? first.kind : first.dtype === 'int32' ? 'int' : first.dtype === 'float64' ? 'float64' : 'float32';
      const n = Math.max(Math.ceil((limit - start) / delta), 0);
      if (!Number.isSafeInteger(n) || n > 2 ** 28) throw new Error(`Range of ${n} elements is too large to fold`);
      const out = Array.from({ length: n }, (_, i) => start + i * delta);
      return [new Const(kind === 'float32' ? Float32Array.from(out) : out, [n], kind)];
    },
  },
  Cast: { run: ({ values, attrs }) => [castTo(input(values, 0), attrs.int('to', 1))] },
  CastLike: {
    since: 15,
    run: ({ values }) => {
      const like = input(values, 1);
      const kind: ConstKind = like instanceof Const ? like.kind : like.dtype === 'int32' ? 'int' : like.dtype;
      return [castTo(input(values, 0), kind === 'float64' ? 11 : kind === 'bool' ? 9 : kind === 'int' ? 7 : 1)];
    },
  },
  Reshape: {
    run: ({ values, attrs }) => {
      const x = input(values, 0);
      const target = reshapeTarget(x.shape, requiredInts(values[1], 'Reshape shape'), attrs.int('allowzero', 0) === 1);
      return [keepConst(x, (v) => t.reshape(v, target))];
    },
  },
  Flatten: {
    run: ({ values, attrs }) => {
      const x = input(values, 0);
      const a = attrs.int('axis', 1);
      const ax = a < 0 ? a + x.shape.length : a;
      if (ax < 0 || ax > x.shape.length) throw new Error(`axis ${a} is out of range for rank ${x.shape.length}`);
      const outer = x.shape.slice(0, ax).reduce((p, q) => p * q, 1);
      return [keepConst(x, (v) => t.reshape(v, [outer, v.size / Math.max(outer, 1) || 0]))];
    },
  },
  Transpose: {
    run: ({ values, attrs }) => {
      const x = input(values, 0);
      const perm = attrs.ints('perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
      return [keepConst(x, (v) => t.permute(v, perm))];
    },
  },
  Squeeze: {
    run: ({ values, attrs }) => {
      const x = input(values, 0);
      const axes = (axesOf(values, attrs, 1) ?? x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((a) =>
        axis(a, x.shape.length),
      );
      for (const a of axes)
        if (x.shape[a] !== 1) throw new Error(`cannot squeeze axis ${a} of size ${x.shape[a]} in [${x.shape.join(', ')}]`);
      return [
        keepConst(x, (v) =>
          t.reshape(
            v,
            v.shape.filter((_, i) => !axes.includes(i)),
          ),
        ),
      ];
    },
  },
  Unsqueeze: {
    run: ({ values, attrs }) => {
      const x = input(values, 0);
      const given = axesOf(values, attrs, 1);
      if (!given) throw new Error('Unsqueeze needs axes');
      const rank = x.shape.length + given.length;
      const axes = given.map((a) => axis(a, rank));
      const shape: number[] = [];
      let k = 0;
      for (let i = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : x.shape[k++]!);
      return [keepConst(x, (v) => t.reshape(v, shape))];
    },
  },
  Concat: {
    run: ({ values, attrs }) => {
      const vs = values.filter((v): v is Value => v !== null && v.shape.reduce((a, b) => a * b, 1) >= 0);
      const first = vs[0];
      if (!first) throw new Error('Concat needs inputs');
      const ax = axis(attrs.int('axis', 0), first.shape.length);
      if (vs.every((v) => v instanceof Const)) {
        const cs = vs as Const[];
        const kind = cs.find((c) => c.kind !== 'int')?.kind ?? 'int';
        const tensors = cs.map((c) => asTensor(new Const(c.data, c.shape, kind === 'int' ? 'float64' : kind)));
        const y = noGrad(() => t.cat(tensors, ax));
        const out = new Const(Array.from(y.values()), y.shape, kind);
        for (const x of new Set([...tensors, y])) x.dispose();
        return [out];
      }
      const like = vs.find((v): v is Tensor => v instanceof Tensor);
      return [
        t.cat(
          vs.map((v) => asTensor(v, like)),
          ax,
        ),
      ];
    },
  },
  Split: {
    run: ({ values, attrs, outputs, opset }) => {
      const x = input(values, 0);
      const ax = axis(attrs.int('axis', 0), x.shape.length);
      const given = opset >= 13 ? ints(values[1], 'split') : attrs.ints('split');
      const parts = attrs.int('num_outputs', outputs);
      const sizes = splitSizes(x.shape[ax]!, given, parts);
      let start = 0;
      return sizes.map((n) => {
        const s = start;
        start += n;
        return keepConst(x, (v) => t.slice(v, ax, s, s + n));
      });
    },
  },
  Slice: {
    run: ({ values, attrs, opset }) => {
      const x = input(values, 0);
      const starts = opset >= 10 ? requiredInts(values[1], 'starts') : required(attrs.ints('starts'), "the attribute 'starts'");
      const ends = opset >= 10 ? requiredInts(values[2], 'ends') : required(attrs.ints('ends'), "the attribute 'ends'");
      const axes = (opset >= 10 ? ints(values[3], 'axes') : attrs.ints('axes')) ?? starts.map((_, i) => i);
      const steps = (opset >= 10 ? ints(values[4], 'steps') : null) ?? starts.map(() => 1);
      let y: Value = x;
      axes.forEach((a, i) => {
        const ax = axis(a, x.shape.length);
        const step = steps[i]!;
        if (step === 0) throw new Error('Slice step 0 is not allowed');
        const n = x.shape[ax]!;
        const wrap = (v: number) => (v < 0 ? v + n : v);
        if (step > 0) {
          const clampIndex = (v: number) => Math.min(n, Math.max(0, wrap(v)));
          y = keepConst(y, (v) => t.slice(v, ax, clampIndex(starts[i]!), clampIndex(ends[i]!), step));
          return;
        }
        // A negative step walks down from start (clamped to [0, n−1]) to just above end (clamped to [−1, n−1]).
        const start = Math.min(n - 1, Math.max(0, wrap(starts[i]!)));
        const end = Math.min(n - 1, Math.max(-1, wrap(ends[i]!)));
        const picked: number[] = [];
        for (let k = start; k > end; k += step) picked.push(k);
        y = keepConst(y, (v) => t.indexSelect(v, ax, picked));
      });
      return [y];
    },
  },
  Gather: {
    run: ({ values, attrs }) => {
      const x = input(values, 0);
      const idx = input(values, 1);
      const ax = axis(attrs.int('axis', 0), x.shape.length);
      const n = x.shape[ax]!;
      const flat = requiredInts(idx, 'Gather indices').map((i) => (i < 0 ? i + n : i));
      const bad = flat.find((i) => i < 0 || i >= n);
      if (bad !== undefined) throw new Error(`index ${bad} is out of range for axis ${ax} of size ${n}`);
      const outShape = [...x.shape.slice(0, ax), ...idx.shape, ...x.shape.slice(ax + 1)];
      return [keepConst(x, (v) => t.reshape(t.indexSelect(v, ax, flat), outShape))];
    },
  },
  Expand: {
    run: ({ values }) => {
      const x = input(values, 0);
      const shape = requiredInts(values[1], 'Expand shape');
      const target = broadcastPair(x.shape, shape);
      if (!target) throw new Error(`cannot expand [${x.shape.join(', ')}] to [${shape.join(', ')}]`);
      checkElements(target, 'Expand');
      return [keepConst(x, (v) => t.expand(t.reshape(v, [...new Array<number>(target.length - v.rank).fill(1), ...v.shape]), target))];
    },
  },
  Pad: {
    run: ({ values, attrs, opset }) => {
      const x = input(values, 0);
      const mode = attrs.string('mode', 'constant');
      if (!['constant', 'reflect', 'edge', 'wrap'].includes(mode))
        throw new Error(`Pad mode '${mode}' is not constant, reflect, edge or wrap`);
      const rank = x.shape.length;
      const given =
        opset >= 11 ? requiredInts(values[1], 'pads') : (attrs.ints('pads') ?? required(attrs.ints('paddings'), "the attribute 'pads'"));
      const cv = opset >= 11 ? values[2] : null;
      const value = cv ? (cv instanceof Const ? (cv.data[0] ?? 0) : Number(cv.values()[0] ?? 0)) : attrs.float('value', 0);
      const axes = (opset >= 18 ? ints(values[3], 'axes') : null)?.map((a) => axis(a, rank)) ?? x.shape.map((_, i) => i);
      if (given.length !== 2 * axes.length)
        throw new Error(`pads [${given.join(', ')}] must hold a begin and an end for each of ${axes.length} axes`);
      const begin = new Array<number>(rank).fill(0);
      const end = new Array<number>(rank).fill(0);
      axes.forEach((a, i) => {
        begin[a] = given[i]!;
        end[a] = given[i + axes.length]!;
      });
      let y = x;
      // Negative pads crop.
      for (let d = 0; d < rank; d++) {
        if (begin[d]! < 0 || end[d]! < 0) {
          const b = Math.max(0, -begin[d]!);
          const e = y.shape[d]! - Math.max(0, -end[d]!);
          y = keepConst(y, (v) => t.slice(v, d, b, e));
        }
      }
      checkElements(
        y.shape.map((n, d) => n + Math.max(0, begin[d]!) + Math.max(0, end[d]!)),
        'Pad',
      );
      if (mode !== 'constant') {
        for (let d = 0; d < rank; d++) {
          const picked = padIndices(mode, y.shape[d]!, Math.max(0, begin[d]!), Math.max(0, end[d]!), d);
          if (picked) y = keepConst(y, (v) => t.indexSelect(v, d, picked));
        }
        return [y];
      }
      const torchPads: number[] = [];
      for (let d = rank - 1; d >= 0; d--) torchPads.push(Math.max(0, begin[d]!), Math.max(0, end[d]!));
      if (torchPads.every((p) => p === 0)) return [y];
      return [keepConst(y, (v) => t.pad(v, torchPads, value))];
    },
  },
};
