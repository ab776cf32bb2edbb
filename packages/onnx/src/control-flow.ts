import * as t from '@gradlens/tensor';
import { Tensor } from '@gradlens/tensor';
import type { Attrs } from './attrs';
import type { GraphMessage } from './proto';
import type { GraphValue, Value } from './values';
import { asTensor, Const, describeValue, isPlainValue, OnnxSequence } from './values';

/**
 * Runs a subgraph (an If branch, a Loop or Scan body) on a copy of the enclosing values with `bindings` added (a
 * subgraph reads enclosing values by name) and returns its outputs. Provided by the model, which knows the op table.
 */
export type SubgraphRunner = (
  graph: GraphMessage,
  env: ReadonlyMap<string, GraphValue>,
  bindings: [string, GraphValue][],
  what: string,
) => GraphValue[];

/** The one value of a one-element condition or count, read when the node runs. */
function scalarOf(v: GraphValue, what: string): number {
  if (!isPlainValue(v)) throw new Error(`${what} must be a tensor, got ${describeValue(v)}`);
  if (v.shape.reduce((a, b) => a * b, 1) !== 1) throw new Error(`${what} must hold one element, got [${v.shape.join(', ')}]`);
  return Number(v instanceof Const ? v.data[0] : v.values()[0]);
}

/**
 * If: the branch its condition picks. The condition is read when the node runs (a load-time constant, or a
 * tensor's value), so the tape holds the chosen branch's ops only: the gradient is the branch's, as the condition
 * is constant around the point.
 */
export function runIf(
  attrs: Attrs,
  values: (GraphValue | null)[],
  env: ReadonlyMap<string, GraphValue>,
  run: SubgraphRunner,
): GraphValue[] {
  if (!values[0]) throw new Error('If needs a condition');
  const taken = scalarOf(values[0], 'If condition') ? 'then_branch' : 'else_branch';
  const branch = attrs.graph(taken);
  if (!branch) throw new Error(`If has no ${taken}`);
  return run(branch, env, [], `its ${taken}`);
}

/** Iterations a Loop may run before it is taken for a runaway (no trip count and a condition that stays true). */
export const MAX_LOOP_ITERATIONS = 1 << 16;

/**
 * Loop: the body run while the iteration is below the trip count M (if given) and its condition holds, unrolled
 * on the tape. Loop-carried values pass from one iteration to the next; each scan output is stacked along a new
 * first axis. Past MAX_LOOP_ITERATIONS it stops with an error instead of hanging.
 */
export function runLoop(
  attrs: Attrs,
  values: (GraphValue | null)[],
  env: ReadonlyMap<string, GraphValue>,
  run: SubgraphRunner,
): GraphValue[] {
  const body = attrs.graph('body');
  if (!body) throw new Error('Loop has no body');
  const tripCount = values[0] ? scalarOf(values[0], 'Loop trip count M') : Infinity;
  let cond = values[1] ? scalarOf(values[1], 'Loop condition') !== 0 : true;
  let carried = values.slice(2).map((v, k) => {
    if (!v) throw new Error(`Loop-carried input ${k} is missing`);
    return v;
  });
  const inputNames = body.input.map((i) => i.name);
  if (inputNames.length !== 2 + carried.length)
    throw new Error(`Loop body takes ${inputNames.length} inputs, expected 2 + ${carried.length} loop-carried`);
  const scans: Value[][] = Array.from({ length: body.output.length - 1 - carried.length }, () => []);
  for (let i = 0; i < tripCount && cond; i++) {
    if (i >= MAX_LOOP_ITERATIONS)
      throw new Error(`Loop ran ${MAX_LOOP_ITERATIONS} iterations without stopping (trip count ${tripCount}, condition still true)`);
    const bindings: [string, GraphValue][] = [
      [inputNames[0]!, new Const([i], [], 'int')],
      [inputNames[1]!, new Const([cond ? 1 : 0], [], 'bool')],
      ...carried.map((v, k): [string, GraphValue] => [inputNames[2 + k]!, v]),
    ];
    const outs = run(body, env, bindings, `its body (iteration ${i})`);
    cond = scalarOf(outs[0]!, 'Loop body condition') !== 0;
    carried = outs.slice(1, 1 + carried.length);
    outs.slice(1 + carried.length).forEach((v, k) => {
      if (!isPlainValue(v)) throw new Error(`Loop scan output ${k} is ${describeValue(v)}; a scan output stacks tensors`);
      scans[k]!.push(v);
    });
  }
  return [...carried, ...scans.map(stackScan)];
}

/** What a Scan does, from its attributes: the body, how many inputs are scanned, along which axes and ways. */
interface ScanSpec {
  body: GraphMessage;
  scanCount: number;
  /** Per scan input / output: its axis (null: 0) and whether it runs backwards (null: forwards). */
  inAxes: number[] | null;
  inReversed: number[] | null;
  outAxes: number[] | null;
  outReversed: number[] | null;
}

/**
 * Scan: the body run once per slice of the scan inputs along their scan axes (forward or reversed), state
 * variables passed on, each scan output's slices stacked along its axis, unrolled on the tape like Loop. Scan-8
 * (before opset 9) carries a batch axis first (after an optional sequence_lens, which must leave every sequence
 * whole) and scans the second: each batch entry runs alone and the results stack along the batch.
 */
export function runScan(
  attrs: Attrs,
  values: (Value | null)[],
  env: ReadonlyMap<string, GraphValue>,
  run: SubgraphRunner,
  opset: number,
): GraphValue[] {
  const body = attrs.graph('body');
  if (!body) throw new Error('Scan has no body');
  const present = (vs: (Value | null)[]) =>
    vs.map((v, k) => {
      if (!v) throw new Error(`Scan input ${k} is missing`);
      return v;
    });
  const scanCount = attrs.int('num_scan_inputs', 0);
  if (opset >= 9) {
    const spec = {
      body,
      scanCount,
      inAxes: attrs.ints('scan_input_axes'),
      inReversed: attrs.ints('scan_input_directions'),
      outAxes: attrs.ints('scan_output_axes'),
      outReversed: attrs.ints('scan_output_directions'),
    };
    return scan(spec, present(values), env, run);
  }
  const [lengths, ...rest] = values;
  const given = present(rest).map((v) => (v instanceof Tensor ? v : asTensor(v)));
  const steps = given[given.length - 1]?.shape[1] ?? 0;
  if (lengths && Array.from(lengths instanceof Const ? lengths.data : lengths.values()).some((n) => Number(n) !== steps))
    throw new Error('Scan-8 with sequence_lens shorter than the sequence is not supported');
  const spec = { body, scanCount, inAxes: null, inReversed: attrs.ints('directions'), outAxes: null, outReversed: null };
  const perEntry = Array.from({ length: given[0]?.shape[0] ?? 0 }, (_, b) =>
    scan(
      spec,
      given.map((x) => t.squeeze(t.slice(x, 0, b, b + 1), 0)),
      env,
      run,
    ).map((v) => (v instanceof Tensor ? v : asTensor(v))),
  );
  return perEntry[0]!.map((_, k) =>
    t.stack(
      perEntry.map((outs) => outs[k]!),
      0,
    ),
  );
}

function scan(spec: ScanSpec, given: Value[], env: ReadonlyMap<string, GraphValue>, run: SubgraphRunner): Value[] {
  const stateCount = given.length - spec.scanCount;
  if (spec.scanCount < 1 || stateCount < 0) throw new Error(`num_scan_inputs ${spec.scanCount} does not fit the ${given.length} inputs`);
  const inputs = given.slice(stateCount).map((v) => (v instanceof Tensor ? v : asTensor(v)));
  const inAxes = inputs.map((x, k) => {
    const a = spec.inAxes?.[k] ?? 0;
    return a < 0 ? a + x.rank : a;
  });
  const steps = inputs[0]!.shape[inAxes[0]!]!;
  if (inputs.some((x, k) => x.shape[inAxes[k]!] !== steps)) throw new Error('the scan inputs differ in length along their scan axes');
  const names = spec.body.input.map((i) => i.name);
  let state = given.slice(0, stateCount);
  const scans: Tensor[][] = Array.from({ length: spec.body.output.length - stateCount }, () => []);
  for (let i = 0; i < steps; i++) {
    const slices = inputs.map((x, k) => {
      const at = spec.inReversed?.[k] === 1 ? steps - 1 - i : i;
      return t.squeeze(t.slice(x, inAxes[k]!, at, at + 1), inAxes[k]!);
    });
    const bindings = [...state, ...slices].map((v, k): [string, Value] => [names[k]!, v]);
    const outs = run(spec.body, env, bindings, `its body (step ${i})`).map((v, k) => {
      if (!isPlainValue(v)) throw new Error(`Scan body output ${k} is ${describeValue(v)}; Scan carries and stacks tensors`);
      return v;
    });
    state = outs.slice(0, stateCount);
    outs.slice(stateCount).forEach((v, k) => scans[k]!.push(v instanceof Tensor ? v : asTensor(v)));
  }
  return [
    ...state,
    ...scans.map((items, k) => {
      const ordered = spec.outReversed?.[k] === 1 ? [...items].reverse() : items;
      const rank = (ordered[0]?.rank ?? 0) + 1;
      const a = spec.outAxes?.[k] ?? 0;
      return t.stack(ordered, a < 0 ? a + rank : a);
    }),
  ];
}

/** A scan output's values of every iteration along a new first axis (constants stay constants). */
function stackScan(items: Value[]): Value {
  if (items.length === 0) return new Const([], [0], 'float32');
  if (items.every((v) => v instanceof Const)) {
    const first = items[0] as Const;
    const data = items.flatMap((v) => Array.from((v as Const).data));
    return new Const(data, [items.length, ...first.shape], first.kind);
  }
  const like = items.find((v): v is Tensor => v instanceof Tensor)!;
  return t.stack(
    items.map((v) => asTensor(v, like)),
    0,
  );
}

/**
 * SequenceMap (17): the body run once per position of the input sequence, given that element, the same position of
 * every additional sequence input, and every additional tensor input whole; each body output collected into a
 * sequence. Unrolled on the tape like Loop, so each output element differentiates back to what made it.
 */
export function runSequenceMap(
  attrs: Attrs,
  values: (GraphValue | null)[],
  env: ReadonlyMap<string, GraphValue>,
  run: SubgraphRunner,
): GraphValue[] {
  const body = attrs.graph('body');
  if (!body) throw new Error('SequenceMap has no body');
  const given = values.map((v, k) => {
    if (!v) throw new Error(`SequenceMap input ${k} is missing`);
    return v;
  });
  const first = given[0];
  if (!(first instanceof OnnxSequence))
    throw new Error(`SequenceMap input 0 must be a sequence, got ${first ? describeValue(first) : 'nothing'}`);
  if (body.input.length !== given.length)
    throw new Error(`SequenceMap body takes ${body.input.length} inputs, the node gives ${given.length}`);
  given.forEach((v, k) => {
    if (v instanceof OnnxSequence && v.length !== first.length)
      throw new Error(`SequenceMap input ${k} holds ${v.length} elements, input 0 holds ${first.length}`);
    if (!(v instanceof OnnxSequence) && !isPlainValue(v)) throw new Error(`SequenceMap input ${k} is ${describeValue(v)}`);
  });
  const outs: Value[][] = body.output.map(() => []);
  for (let i = 0; i < first.length; i++) {
    const bindings = given.map((v, k): [string, GraphValue] => [body.input[k]!.name, v instanceof OnnxSequence ? v.items[i]! : v]);
    run(body, env, bindings, `its body (element ${i})`).forEach((v, k) => {
      if (!isPlainValue(v)) throw new Error(`SequenceMap body output ${k} is ${describeValue(v)}; each must be a tensor`);
      outs[k]!.push(v);
    });
  }
  return outs.map((items) => new OnnxSequence(items));
}
