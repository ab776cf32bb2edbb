import { indexSelect, interpolate, noGrad, ones, record, reshape, softmax, Tensor, tensor, tidy } from '@gradlens/tensor';
import type { RuleOverrides, Tape } from '@gradlens/tensor';
import { didYouMean, isNdArray } from '@gradlens/nn';
import type { Module } from '@gradlens/nn';

/**
 * What to explain: a class index for every item, one class index per item, the top-scoring class
 * of each item ('top1'), or a function of the model's output [N, K] that returns either one score
 * per item ([N] or [N, 1], differentiated as is) or a seed of the output's shape (the gradient is
 * that of Σ output · seed). A function must treat rows independently: batched methods (SmoothGrad,
 * integrated gradients, Score-CAM, occlusion…) call it on batches of perturbed copies of the items.
 */
export type TargetSpec = number | readonly number[] | 'top1' | TargetFn;

/** A target given as a function of the model's output (see `TargetSpec`). */
export type TargetFn = (output: Tensor) => Tensor;

/** Reports progress of a method with many forward passes: `done` of `total` units of work. */
export type ProgressCallback = (done: number, total: number) => void;

/** Options every method takes. */
export interface BaseOptions {
  /** What to explain (default 'top1'). */
  target?: TargetSpec;
  /**
   * Receives each warning (a map that is constant, a model left in training mode…); warnings are
   * also returned in the result's `warnings`. Default: `console.warn`. Pass `() => {}` to silence.
   */
  onWarning?: (message: string) => void;
}

/** The target after resolution: one class per item, or the user's function. */
export interface ResolvedTarget {
  readonly classes: readonly number[] | null;
  readonly fn: TargetFn | null;
}

/** Collects the warnings of one method call and passes each to `onWarning`. */
export class Warnings {
  readonly list: string[] = [];
  constructor(private readonly method: string, private readonly sink: ((message: string) => void) | undefined) {}

  warn(message: string): void {
    const full = `${this.method}: ${message}`;
    this.list.push(full);
    (this.sink ?? ((m: string) => console.warn(m)))(full);
  }
}

/**
 * Throws unless `x` is a floating-point batch [N, C, H, W] with N ≥ 1 (or, with `anyBatch`, also a
 * batch of vectors [N, F], for the gradient methods).
 */
export function checkInput(method: string, x: Tensor, anyBatch = false): void {
  if (!((x as unknown) instanceof Tensor)) {
    const got = isNdArray(x) ? `a plain ${x.dtype} array of shape [${x.shape.join(', ')}] (what @gradlens/io returns)` : typeof x === 'object' ? 'an object that is not a Tensor' : `a ${typeof x}`;
    throw new Error(`${method}: input must be a Tensor batch [N, C, H, W], got ${got}; make one with imageToInput(readImage(file)) or toTensor(array) from @gradlens/nn`);
  }
  if (x.rank !== 4 && !(anyBatch && x.rank === 2)) {
    const hint = x.rank === 3 ? `; add the batch dimension: unsqueeze(x, 0) gives [1, ${x.shape.join(', ')}] (imageToInput of @gradlens/nn returns a batch)` : x.rank === 2 && !anyBatch ? '; a [H, W] picture needs channels and a batch: [1, 1, H, W]' : '';
    throw new Error(`${method}: input must be a batch [N, C, H, W], got shape [${x.shape.join(', ')}]${hint}`);
  }
  if (x.shape[0]! < 1) throw new Error(`${method}: input batch is empty (shape [${x.shape.join(', ')}])`);
  if (x.dtype !== 'float32' && x.dtype !== 'float64') throw new Error(`${method}: input must hold floats (float32 or float64), got ${x.dtype}`);
}

/** Warns when any module of `model` is in training mode (dropout and batch norm make maps random). */
export function checkEval(model: Module, warnings: Warnings): void {
  const training = model.namedModules().filter(([, m]) => m.training);
  if (training.length > 0) {
    warnings.warn('the model is in training mode (dropout and batch statistics make the maps random and couple batch items); call model.eval() first');
  }
}

/** Resolves a target spec against the output [N, K] of the clean input; checks ranges and lengths. */
export function resolveTarget(method: string, spec: TargetSpec | undefined, output: Tensor): ResolvedTarget {
  const s = spec ?? 'top1';
  if (typeof s === 'function') return { classes: null, fn: s };
  if (output.rank !== 2) {
    throw new Error(`${method}: a class target needs a model output [N, K], got [${output.shape.join(', ')}]; give a target function instead`);
  }
  const [n, k] = output.shape as [number, number];
  const check = (c: number, where: string): number => {
    if (!Number.isInteger(c) || c < 0 || c >= k) {
      throw new Error(`${method}: target class ${c}${where} is out of range: the model has ${k} outputs (0…${k - 1})`);
    }
    return c;
  };
  if (s === 'top1') {
    const v = output.dataSync();
    const classes: number[] = [];
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (v[i * k + j]! > v[i * k + best]!) best = j;
      classes.push(best);
    }
    return { classes, fn: null };
  }
  if (typeof s === 'number') return { classes: Array.from({ length: n }, () => check(s, '')), fn: null };
  if (Array.isArray(s)) {
    const list = s as readonly number[];
    if (list.length !== n) throw new Error(`${method}: ${list.length} target classes given for a batch of ${n} items; give one per item or a single class`);
    return { classes: list.map((c, i) => check(c, ` (item ${i})`)), fn: null };
  }
  throw new Error(`${method}: target must be a class index, an array of class indices, 'top1' or a function; got ${String(s)}`);
}

/** The target for a batch whose row r is a copy of item items[r]. */
export function repeatTarget(t: ResolvedTarget, items: readonly number[]): ResolvedTarget {
  return t.classes ? { classes: items.map((i) => t.classes![i]!), fn: null } : t;
}

/** A recorded forward pass with the seeds that select the target's score. */
export interface Pass {
  output: Tensor;
  tape: Tape;
  target: ResolvedTarget;
  /** What `tape.grad` differentiates and with which seeds. */
  seedOutputs: Tensor[];
  gradOutputs: Tensor[];
  /** The target's score per row (logit for class targets). */
  scores: number[];
  /** Tensors with ids above this were made by the pass (a target function may return tensors of its own caller). */
  firstId: number;
}

/** The id the next tensor made will have at least (ids only grow). */
function nextTensorId(): number {
  const probe = tensor([0]);
  probe.dispose();
  return probe.id + 1;
}

/**
 * Runs `model` on `x` once while recording, resolves the target (when a spec is given), and builds
 * the gradient seeds. Free with `disposePass`.
 */
export function recordPass(method: string, model: Module, x: Tensor, target: TargetSpec | ResolvedTarget | undefined): Pass {
  const spec = target;
  const fn = typeof spec === 'function' ? spec : spec !== undefined && typeof spec === 'object' && 'fn' in spec ? spec.fn : null;
  const firstId = nextTensorId();
  const { output: rec, tape } = record(() => {
    const output = model.call(x);
    return { output, score: fn ? fn(output) : null };
  });
  try {
    const resolved = spec !== undefined && typeof spec === 'object' && 'fn' in spec ? spec : resolveTarget(method, spec as TargetSpec | undefined, rec.output);
    const rows = rec.output.shape[0] ?? 0;
    if (resolved.classes) {
      const k = rec.output.shape[1]!;
      const seed = new Float32Array(rows * k);
      const out = rec.output.dataSync();
      const scores = resolved.classes.map((c, i) => {
        seed[i * k + c] = 1;
        return Number(out[i * k + c]);
      });
      const g = tensor(seed, [rows, k], rec.output.dtype);
      return { output: rec.output, tape, target: resolved, seedOutputs: [rec.output], gradOutputs: [g], scores, firstId };
    }
    const score = rec.score!;
    const { kind, values } = fnScores(method, rec.output, score);
    const g = kind === 'score' ? ones(score.shape, score.dtype) : score;
    return { output: rec.output, tape, target: resolved, seedOutputs: [kind === 'score' ? score : rec.output], gradOutputs: [g], scores: values, firstId };
  } catch (e) {
    tape.dispose();
    for (const t of [rec.output, rec.score]) if (t && t.id >= firstId) t.dispose();
    throw e;
  }
}

/** Interprets a target function's result: scores per row, or a seed of the output's shape. */
function fnScores(method: string, output: Tensor, score: Tensor): { kind: 'score' | 'seed'; values: number[] } {
  const n = output.shape[0]!;
  if (score.size === n && (score.rank === 1 || (score.rank === 2 && score.shape[1] === 1))) {
    return { kind: 'score', values: Array.from(score.dataSync(), Number) };
  }
  if (score.shape.join() === output.shape.join()) {
    const o = output.dataSync();
    const s = score.dataSync();
    const per = output.size / n;
    const values: number[] = [];
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let j = 0; j < per; j++) acc += Number(o[i * per + j]) * Number(s[i * per + j]);
      values.push(acc);
    }
    return { kind: 'seed', values };
  }
  throw new Error(`${method}: the target function returned shape [${score.shape.join(', ')}]; expected one score per item ([${n}]) or a seed of the output's shape [${output.shape.join(', ')}]`);
}

/** Frees a pass's tape and the tensors it made. */
export function disposePass(p: Pass): void {
  p.tape.dispose();
  for (const t of [p.output, ...p.seedOutputs, ...p.gradOutputs]) if (t.id >= p.firstId) t.dispose();
}

/** Gradients of the pass's target score with respect to `wrt`, under `rules`. */
export function passGrad(p: Pass, wrt: readonly Tensor[], rules?: RuleOverrides): Tensor[] {
  return p.tape.grad(p.seedOutputs, wrt, { rules, gradOutputs: p.gradOutputs });
}

/**
 * Target scores of a batch run without recording: row r scores its target (logits, or softmax
 * probabilities with `probability` for class targets; a function target's own score).
 */
export function scoreRows(method: string, model: Module, x: Tensor, target: ResolvedTarget, probability: boolean): Float64Array {
  let result: Float64Array = new Float64Array(0);
  noGrad(() =>
    tidy(() => {
      result = scoresOf(method, model.call(x), target, probability);
    }),
  );
  return result;
}

/** The target's score for each row of a model output (logits, or softmax probabilities with `probability` for class targets). */
export function scoresOf(method: string, out: Tensor, target: ResolvedTarget, probability = false): Float64Array {
  const rows = out.shape[0]!;
  const result = new Float64Array(rows);
  if (target.classes) {
    if (target.classes.length !== rows) throw new Error(`${method}: internal: ${target.classes.length} targets for ${rows} rows`);
    const k = out.shape[1]!;
    tidy(() => {
      const v = (probability ? softmax(out, 1) : out).dataSync();
      for (let r = 0; r < rows; r++) result[r] = Number(v[r * k + target.classes![r]!]);
    });
    return result;
  }
  tidy(() => {
    const { values } = fnScores(method, out, target.fn!(out));
    values.forEach((s, r) => (result[r] = s));
  });
  return result;
}

/**
 * The activation of module `layer` in a recorded pass (the output of the last op that ran inside it).
 * An unknown path gets an error listing the model's module paths; a module that ran no op (Identity,
 * Dropout in eval) gets one listing those that did.
 */
export function layerActivation(method: string, model: Module, tape: Tape, layer: string): Tensor {
  const paths = model.namedModules().map(([p]) => p).filter((p) => p !== '');
  if (!paths.includes(layer)) {
    throw new Error(`${method}: no layer named '${layer}' in ${model.constructor.name}${didYouMean(layer, paths)}; valid layer paths: ${paths.join(', ')}`);
  }
  for (let i = tape.nodes.length - 1; i >= 0; i--) {
    const node = tape.nodes[i]!;
    if (node.scope === layer || node.scope.startsWith(layer + '.')) return node.output;
  }
  throw new Error(`${method}: layer '${layer}' ran no op in the forward pass (an Identity, or Dropout in eval mode?); layers that did: ${tape.scopes().join(', ')}`);
}

/** Bilinear upsampling (align_corners = false, as F.interpolate and cv2.resize) of maps [N, h, w] to [N, H, W]. */
export function upsampleMaps(maps: Tensor, height: number, width: number): Tensor {
  return tidy(() => {
    const [n, h, w] = maps.shape as [number, number, number];
    const up = interpolate(reshape(maps, [n, 1, h, w]), { size: [height, width], mode: 'bilinear' });
    return reshape(up, [n, height, width]);
  });
}

/** Warns for every item whose map (`maps` [N, …]) is constant: it carries no information. */
export function checkConstant(maps: Tensor, target: ResolvedTarget, warnings: Warnings, hint: string): void {
  const n = maps.shape[0]!;
  const per = maps.size / n;
  const v = maps.dataSync();
  for (let i = 0; i < n; i++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = 0; j < per; j++) {
      const x = Number(v[i * per + j]);
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    if (lo === hi) {
      const what = target.classes ? ` (class ${target.classes[i]})` : '';
      warnings.warn(`the map of item ${i}${what} is constant (every value is ${lo}); ${hint}`);
    }
  }
}

/** Min–max normalises each item of `maps` [N, …] to [0, 1]; a constant item becomes zeros. */
export function normalizeMaps(maps: Tensor): Tensor {
  const n = maps.shape[0]!;
  const per = maps.size / n;
  const v = maps.dataSync();
  const out = new Float32Array(maps.size);
  for (let i = 0; i < n; i++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = 0; j < per; j++) {
      const x = Number(v[i * per + j]);
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    const range = hi - lo;
    for (let j = 0; j < per; j++) out[i * per + j] = range > 0 ? (Number(v[i * per + j]) - lo) / range : 0;
  }
  return tensor(out, maps.shape);
}

/** Copies of item i of `x` [N, …] stacked `count` times: [count, …]. */
export function repeatItem(x: Tensor, item: number, count: number): Tensor {
  return indexSelect(x, 0, Array.from({ length: count }, () => item));
}

/** The values of tensor `t` as float64 (a copy). */
export function valuesOf(t: Tensor): Float64Array {
  return Float64Array.from(t.dataSync(), Number);
}

/** Disposes every tensor in a method's result (nested objects included); returns nothing. */
export function disposeResult(result: object): void {
  for (const v of Object.values(result)) {
    if (v instanceof Tensor) v.dispose();
    else if (v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v)) disposeResult(v as object);
  }
}
