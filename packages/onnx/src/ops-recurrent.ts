import * as t from '@gradlens/tensor';
import { Tensor } from '@gradlens/tensor';
import type { Attrs } from './attrs';
import type { OpContext, OpTable } from './op-context';
import { float, input, requiredInts } from './op-context';
import type { Value } from './values';
import { expLinear, softplus } from './ops-activations';
import { asTensor } from './values';

// RNN, GRU and LSTM (CRNN text recognisers, video models) unrolled over time on gradlens ops: one matmul for the
// input's share of every step, then per step a matmul of the state and the gates' activations, so the tape
// differentiates the whole sequence. Layout 1 (batch first) is transposed in and out; sequence_lens masks the
// steps past each batch entry's length (its state then holds, its outputs are 0).

type Activation = (x: Tensor) => Tensor;

/** An activation by its ONNX name, with its alpha and beta where it takes them. */
function activation(name: string, alpha: number | undefined, beta: number | undefined): Activation {
  switch (name.toLowerCase()) {
    case 'sigmoid':
      return t.sigmoid;
    case 'tanh':
      return t.tanh;
    case 'relu':
      return t.relu;
    case 'hardsigmoid':
      return (x) => t.clamp(t.add(t.mul(x, alpha ?? 0.2), beta ?? 0.5), { min: 0, max: 1 });
    case 'leakyrelu':
      return (x) => t.where(t.gt(x, 0), x, t.mul(x, alpha ?? 0.01));
    case 'scaledtanh':
      return (x) => t.mul(t.tanh(t.mul(x, beta ?? 1)), alpha ?? 1);
    case 'affine':
      return (x) => t.add(t.mul(x, alpha ?? 1), beta ?? 0);
    case 'softsign':
      return (x) => t.div(x, t.add(t.abs(x), 1));
    case 'softplus':
      return softplus;
    case 'elu':
      return (x) => expLinear(x, alpha ?? 1, 1);
    case 'thresholdedrelu':
      return (x) => t.where(t.gt(x, alpha ?? 1), x, 0);
    default:
      throw new Error(
        `activation '${name}' is not one of Sigmoid, Tanh, Relu, HardSigmoid, LeakyRelu, ThresholdedRelu, ScaledTanh, Affine, Elu, Softsign, Softplus`,
      );
  }
}

/** Per direction, the op's activations (the attribute's list, or the defaults). */
function activationsOf(attrs: Attrs, defaults: string[], directions: number): Activation[][] {
  const names = attrs.has('activations') ? (attrs.strings('activations') ?? []) : [];
  const alpha = attrs.floats('activation_alpha') ?? [];
  const beta = attrs.floats('activation_beta') ?? [];
  return Array.from({ length: directions }, (_, d) =>
    defaults.map((fallback, k) => {
      const i = d * defaults.length + k;
      return activation(names[i] ?? fallback, alpha[i], beta[i]);
    }),
  );
}

/** The per-step cell: from the step's input share (x·Wᵀ + Wb, [batch, G·hidden]) and the state, the next state. */
type Cell = (xw: Tensor, state: Tensor[]) => Tensor[];

interface Direction {
  cell: Cell;
  /** Initial state tensors [batch, hidden] (h, and c for LSTM). */
  initial: Tensor[];
  /** Input weights Wᵀ [input, G·hidden] and bias Wb [G·hidden] (or null). */
  w: Tensor;
  wb: Tensor | null;
}

/** Reverses each batch entry's first lengths[b] steps of a [seq, batch, …] tensor (the rest stays in place). */
function reverseValid(x: Tensor, lengths: number[]): Tensor {
  const [seq, batch] = [x.shape[0]!, x.shape[1]!];
  const inner = x.size / (seq * batch);
  const positions = Array.from({ length: x.size }, (_, flat) => {
    const s = Math.floor(flat / (batch * inner));
    const b = Math.floor(flat / inner) % batch;
    const n = lengths[b]!;
    return s < n ? flat + (n - 1 - 2 * s) * batch * inner : flat;
  });
  return t.reshape(t.indexSelect(t.reshape(x, [-1]), 0, positions), x.shape);
}

/** Runs one direction forward over [seq, batch, input]; returns every step's h [seq, batch, hidden] and the last state. */
function run(x: Tensor, dir: Direction, lengths: number[]): { ys: Tensor; last: Tensor[] } {
  const [seq, batch] = [x.shape[0]!, x.shape[1]!];
  let xw = t.matmul(x, dir.w);
  if (dir.wb) xw = t.add(xw, dir.wb);
  let state = dir.initial;
  const ys: Tensor[] = [];
  const masked = lengths.some((n) => n < seq);
  for (let s = 0; s < seq; s++) {
    const next = dir.cell(t.reshape(t.slice(xw, 0, s, s + 1), [batch, -1]), state);
    if (!masked) {
      state = next;
      ys.push(next[0]!);
      continue;
    }
    // Past an entry's length its state holds and its output is 0.
    const live = new Tensor(
      Float32Array.from(lengths, (n) => (s < n ? 1 : 0)),
      [batch, 1],
      'float32',
    );
    const m = x.dtype === 'float32' ? live : t.cast(live, x.dtype);
    state = next.map((v, i) => t.add(t.mul(v, m), t.mul(state[i]!, t.sub(1, m))));
    ys.push(t.mul(next[0]!, m));
  }
  return { ys: t.stack(ys, 0), last: state };
}

/** What every recurrent op shares: inputs, directions, layout, lengths and the outputs' assembly. */
/**
 * `makeDirection` gets the direction's index, the hidden size and the input as [seq, batch, input] (layout 1
 * already transposed), whose batch size and dtype the weights and initial states follow.
 */
function recurrent(
  ctx: OpContext,
  gates: number,
  states: number,
  makeDirection: (d: number, hidden: number, x: Tensor) => Direction,
): Value[] {
  const { values, attrs } = ctx;
  const layout = attrs.int('layout', 0);
  let x = float(input(values, 0));
  if (x.rank !== 3) throw new Error(`the input must be 3-D, got [${x.shape.join(', ')}]`);
  if (layout === 1) x = t.permute(x, [1, 0, 2]);
  const [seq, batch] = [x.shape[0]!, x.shape[1]!];
  const hidden = attrs.int('hidden_size', 0) || asTensor(input(values, 2), x).shape[2]!;
  const direction = attrs.string('direction', 'forward');
  if (!['forward', 'reverse', 'bidirectional'].includes(direction))
    throw new Error(`direction '${direction}' is not forward, reverse or bidirectional`);
  const w = asTensor(input(values, 1), x);
  if (w.rank !== 3 || w.shape[1] !== gates * hidden || w.shape[2] !== x.shape[2])
    throw new Error(`W [${w.shape.join(', ')}] is not [directions, ${gates}·${hidden}, ${x.shape[2]}]`);
  const lengths = values[4] ? requiredInts(values[4], 'sequence_lens') : new Array<number>(batch).fill(seq);
  if (lengths.length !== batch || lengths.some((n) => n < 0 || n > seq))
    throw new Error(`sequence_lens [${lengths.join(', ')}] does not fit ${batch} entries of up to ${seq} steps`);
  const count = direction === 'bidirectional' ? 2 : 1;
  const outs = Array.from({ length: count }, (_, d) => {
    const dir = makeDirection(d, hidden, x);
    const backward = direction === 'reverse' || d === 1;
    const r = run(backward ? reverseValid(x, lengths) : x, dir, lengths);
    return { ys: backward ? reverseValid(r.ys, lengths) : r.ys, last: r.last };
  });
  // Y [seq, directions, batch, hidden] (layout 1: [batch, seq, directions, hidden]); Y_h, Y_c [directions, batch, hidden].
  let y = t.stack(
    outs.map((o) => o.ys),
    1,
  );
  if (layout === 1) y = t.permute(y, [2, 0, 1, 3]);
  const lastOf = (k: number) => {
    const s = t.stack(
      outs.map((o) => o.last[k]!),
      0,
    );
    return layout === 1 ? t.permute(s, [1, 0, 2]) : s;
  };
  return [y, ...Array.from({ length: states }, (_, k) => lastOf(k))];
}

/** Per direction d: Wᵀ, Wb, Rᵀ, Rb and the initial states, from the op's inputs. */
function weightsOf(values: (Value | null)[], x: Tensor, d: number, gates: number, hidden: number, initialInputs: number[]) {
  const pick = (v: Value) => {
    const all = asTensor(v, x);
    return t.reshape(t.slice(all, 0, d, d + 1), all.shape.slice(1));
  };
  const w = t.transpose(pick(input(values, 1)), 0, 1);
  const r = t.transpose(pick(input(values, 2)), 0, 1);
  const b = values[3] ? pick(values[3]) : null;
  const batch = x.shape[1]!;
  const initial = initialInputs.map((i) => {
    const v = values[i];
    return v ? pick(v) : t.zeros([batch, hidden], x.dtype);
  });
  return {
    w,
    r,
    wb: b ? t.slice(b, 0, 0, gates * hidden) : null,
    rb: b ? t.slice(b, 0, gates * hidden, 2 * gates * hidden) : null,
    initial,
  };
}

/** The gates' pre-activations of a step, clipped when the op says so. */
function clipped(attrs: Attrs): (v: Tensor) => Tensor {
  if (!attrs.has('clip')) return (v) => v;
  const c = attrs.float('clip', 0);
  return (v) => t.clamp(v, { min: -c, max: c });
}

const gate = (v: Tensor, k: number, hidden: number) => t.slice(v, 1, k * hidden, (k + 1) * hidden);

export const recurrentOps: OpTable = {
  RNN: {
    run: (ctx) => {
      const clip = clipped(ctx.attrs);
      const acts = activationsOf(ctx.attrs, ['Tanh'], 2);
      return recurrent(ctx, 1, 1, (d, hidden, x) => {
        const p = weightsOf(ctx.values, x, d, 1, hidden, [5]);
        const f = acts[d]![0]!;
        return {
          w: p.w,
          wb: p.wb,
          initial: p.initial,
          cell: (xw, [h]) => {
            let pre = t.add(xw, t.matmul(h!, p.r));
            if (p.rb) pre = t.add(pre, p.rb);
            return [f(clip(pre))];
          },
        };
      });
    },
  },
  GRU: {
    run: (ctx) => {
      const clip = clipped(ctx.attrs);
      const acts = activationsOf(ctx.attrs, ['Sigmoid', 'Tanh'], 2);
      const beforeReset = ctx.attrs.int('linear_before_reset', 0) === 1;
      return recurrent(ctx, 3, 1, (d, hidden, x) => {
        const p = weightsOf(ctx.values, x, d, 3, hidden, [5]);
        const [f, g] = [acts[d]![0]!, acts[d]![1]!];
        // Gate order z, r, h.
        const rz = t.slice(p.r, 1, 0, 2 * hidden);
        const rh = t.slice(p.r, 1, 2 * hidden, 3 * hidden);
        const rbz = p.rb ? t.slice(p.rb, 0, 0, 2 * hidden) : null;
        const rbh = p.rb ? t.slice(p.rb, 0, 2 * hidden, 3 * hidden) : null;
        return {
          w: p.w,
          wb: p.wb,
          initial: p.initial,
          cell: (xw, [h]) => {
            let zr = t.add(t.slice(xw, 1, 0, 2 * hidden), t.matmul(h!, rz));
            if (rbz) zr = t.add(zr, rbz);
            const z = f(clip(gate(zr, 0, hidden)));
            const r = f(clip(gate(zr, 1, hidden)));
            const xh = t.slice(xw, 1, 2 * hidden, 3 * hidden);
            const recurrentShare = beforeReset
              ? t.mul(r, rbh ? t.add(t.matmul(h!, rh), rbh) : t.matmul(h!, rh))
              : rbh
                ? t.add(t.matmul(t.mul(r, h!), rh), rbh)
                : t.matmul(t.mul(r, h!), rh);
            const candidate = g(clip(t.add(xh, recurrentShare)));
            return [t.add(t.mul(t.sub(1, z), candidate), t.mul(z, h!))];
          },
        };
      });
    },
  },
  LSTM: {
    run: (ctx) => {
      const clip = clipped(ctx.attrs);
      const acts = activationsOf(ctx.attrs, ['Sigmoid', 'Tanh', 'Tanh'], 2);
      const coupled = ctx.attrs.int('input_forget', 0) === 1;
      return recurrent(ctx, 4, 2, (d, hidden, x) => {
        const p = weightsOf(ctx.values, x, d, 4, hidden, [5, 6]);
        const [f, g, h] = [acts[d]![0]!, acts[d]![1]!, acts[d]![2]!];
        const peep = ctx.values[7] ? t.reshape(t.slice(asTensor(ctx.values[7], x), 0, d, d + 1), [3 * hidden]) : null;
        const peephole = (k: number) => (peep ? t.slice(peep, 0, k * hidden, (k + 1) * hidden) : null);
        const [pi, po, pf] = [peephole(0), peephole(1), peephole(2)];
        const withPeep = (v: Tensor, pk: Tensor | null, c: Tensor) => (pk ? t.add(v, t.mul(pk, c)) : v);
        return {
          w: p.w,
          wb: p.wb,
          initial: p.initial,
          cell: (xw, [hPrev, cPrev]) => {
            let pre = t.add(xw, t.matmul(hPrev!, p.r));
            if (p.rb) pre = t.add(pre, p.rb);
            // Gate order i, o, f, c.
            const i = f(clip(withPeep(gate(pre, 0, hidden), pi, cPrev!)));
            const forget = coupled ? t.sub(1, i) : f(clip(withPeep(gate(pre, 2, hidden), pf, cPrev!)));
            const c = t.add(t.mul(forget, cPrev!), t.mul(i, g(clip(gate(pre, 3, hidden)))));
            const o = f(clip(withPeep(gate(pre, 1, hidden), po, c)));
            return [t.mul(o, h(c)), c];
          },
        };
      });
    },
  },
};
