import type { KernelResult } from '../backends/backend';
import { isFloat } from '../dtype';
import { engine } from '../engine';
import { fmt } from '../errors';
import type { OpAttrs, OpName } from '../ops/op-attrs';
import { Tensor } from '../tensor';
import type { GradOptions } from './backward';
import { backward } from './backward';

/** One recorded op: what ran, on what, with which attributes, inside which module path. */
export interface TapeNode<K extends OpName = OpName> {
  readonly op: K;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  /** Non-differentiable extra outputs, e.g. max-pooling indices. */
  readonly extras: readonly Tensor[];
  readonly attrs: OpAttrs[K];
  /** The module path active when the op ran (`features.3`), '' outside any module. */
  readonly scope: string;
}

/** A recorded node of any op: a union over op names, so `switch (node.op)` narrows `attrs`. */
export type AnyTapeNode = { [K in OpName]: TapeNode<K> }[OpName];

const recording: Tape[] = [];

/** @internal Whether ops run now are recorded on some tape (a rule run under `record` is differentiated again). */
export function isRecording(): boolean {
  return recording.length > 0 && engine.noGradDepth === 0;
}

/** @internal called for every op run; appends a node to each tape being recorded. */
export function recordNode<K extends OpName>(op: K, inputs: readonly Tensor[], attrs: OpAttrs[K], result: KernelResult): void {
  if (recording.length === 0 || engine.noGradDepth > 0) return;
  // TypeScript cannot see that a TapeNode<K> for a generic K is a member of the union.
  const node = {
    op,
    inputs,
    output: result.out,
    extras: result.extras ?? [],
    attrs,
    scope: engine.scopePath,
  } as TapeNode<K> as AnyTapeNode;
  for (const tape of recording) tape.push(node);
}

/**
 * A recorded forward pass you can hold. `grad` can be called on it many times with different rule
 * sets, the forward pass never runs again; `dispose` frees every tensor the pass made and did not return.
 */
export class Tape {
  private readonly list: AnyTapeNode[] = [];
  private readonly held = new Set<Tensor>();
  private disposed = false;

  /** @internal */
  push(node: AnyTapeNode): void {
    this.list.push(node);
    for (const t of [...node.inputs, node.output, ...node.extras]) {
      if (!this.held.has(t)) {
        this.held.add(t);
        t.tapeHolds++;
      }
    }
  }

  /** The recorded nodes, in execution order; `node.op` narrows `node.attrs`. */
  get nodes(): readonly AnyTapeNode[] {
    return this.list;
  }

  /**
   * Gradients of `outputs` (seeded with `gradOutputs`, or 1 for a scalar) with respect to each tensor
   * in `wrt` — inputs or intermediate tensors of the pass — using the default rule table overridden by
   * `rules` for this call only. A tensor that `outputs` does not depend on gets zeros.
   */
  grad(outputs: Tensor | readonly Tensor[], wrt: readonly Tensor[], options: GradOptions = {}): Tensor[] {
    if (this.disposed) throw new Error('tape.grad: this tape was disposed');
    return backward(this.list, Array.isArray(outputs) ? outputs : [outputs as Tensor], wrt, options);
  }

  /** Module paths that recorded at least one op, in first-seen order. */
  scopes(): string[] {
    return [...new Set(this.list.map((n) => n.scope).filter((s) => s !== ''))];
  }

  /**
   * The output of the last op recorded inside module `path` (or its children): the module's
   * activation. Owned by the tape. An unknown path gets an error listing the valid ones.
   */
  activation(path: string): Tensor {
    for (let i = this.list.length - 1; i >= 0; i--) {
      const node = this.list[i]!;
      if (node.scope === path || node.scope.startsWith(path + '.')) return node.output;
    }
    throw new Error(`tape.activation: no op ran inside module '${path}'; recorded modules: ${this.scopes().join(', ') || '(none)'}`);
  }

  /** Frees the tensors this tape kept alive for the backward pass and that nobody else owns. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.held) {
      t.tapeHolds--;
      if (t.tapeHolds === 0 && t.orphaned) t.free();
    }
    this.held.clear();
  }
}

/** What `record` returns: fn's result and the tape of its forward pass. */
export interface Recording<T> {
  output: T;
  tape: Tape;
}

/**
 * Runs `fn` while recording every op on a new tape. Tensors made inside and not returned stay alive
 * for the backward pass and are freed with `tape.dispose()`.
 */
export function record<T extends TensorContainer>(fn: () => T): Recording<T> {
  const tape = new Tape();
  recording.push(tape);
  engine.beginScope();
  let output: T | undefined;
  let ok = false;
  try {
    output = fn();
    ok = true;
  } finally {
    recording.splice(recording.indexOf(tape), 1);
    engine.endScope(tensorsIn(output));
    if (!ok) tape.dispose();
  }
  return { output: output as T, tape };
}

/** Gradients of a scalar `f(...inputs)` with respect to each input. */
export function grad(f: (...inputs: Tensor[]) => Tensor, inputs: readonly Tensor[]): Tensor[] {
  const { output, tape } = record(() => f(...inputs));
  try {
    if (output.size !== 1) throw new Error(`grad: f must return a scalar, got shape ${fmt(output.shape)}`);
    if (!isFloat(output.dtype)) throw new Error(`grad: f must return a floating-point tensor, got ${output.dtype}`);
    return tape.grad(output, inputs);
  } finally {
    tape.dispose();
    output.dispose();
  }
}

/** Runs `fn` without recording its ops on any tape. */
export function noGrad<T>(fn: () => T): T {
  engine.noGradDepth++;
  try {
    return fn();
  } finally {
    engine.noGradDepth--;
  }
}

/** Tensors nested in a result: a tensor, an array or a plain object of them. */
export type TensorContainer =
  Tensor | void | number | string | boolean | null | undefined | readonly TensorContainer[] | { [key: string]: TensorContainer };

function tensorsIn(value: unknown, into = new Set<Tensor>()): Set<Tensor> {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) for (const v of value) tensorsIn(v, into);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) tensorsIn(v, into);
  return into;
}

/** Runs `fn` and frees every tensor it made that is not part of its result. */
export function tidy<T extends TensorContainer>(fn: () => T): T {
  engine.beginScope();
  let result: T | undefined;
  try {
    result = fn();
    return result;
  } finally {
    engine.endScope(tensorsIn(result));
  }
}

/**
 * Runs `fn` like `tidy` and also says which tensors of its result `fn` made; the others existed
 * before (an input passed through, a tensor a closure captured) and belong to their caller.
 */
export function tidyOwned<T extends TensorContainer>(fn: () => T): { result: T; made: ReadonlySet<Tensor> } {
  engine.beginScope();
  let result: T | undefined;
  let made: ReadonlySet<Tensor> = new Set();
  try {
    result = fn();
  } finally {
    made = engine.endScope(tensorsIn(result));
  }
  return { result, made };
}

/**
 * @internal Frees `t` now when nothing else can hold it: the innermost `tidy` scope made it (so it is no kept
 * parameter, no caller's input), no tape records, and its values live on the CPU (a device backend's reshape may
 * share its device copy). Containers call it for an output the next layer has consumed, under an explicit
 * request (nn's `releasingIntermediates`), so a batched forward pass holds two layers' activations instead of all.
 * Returns whether it freed `t`.
 */
export function disposeIntermediate(t: Tensor): boolean {
  if (isRecording() || t.isDisposed || t.deviceStorage() !== null || !engine.innermostScopeHolds(t)) return false;
  t.dispose();
  return true;
}

/** Keeps `t` alive past the enclosing `tidy`/`record` scopes. */
export function keep<T extends Tensor>(t: T): T {
  return engine.keep(t);
}

/** Runs `fn` with `name` appended to the module path that recorded nodes carry (`features` → `features.3`). */
export function withScope<T>(name: string, fn: () => T): T {
  engine.pushPath(name);
  try {
    return fn();
  } finally {
    engine.popPath();
  }
}

/** Number of tensors whose values are still allocated (for leak tests). */
export function numTensors(): number {
  return engine.liveTensors;
}
