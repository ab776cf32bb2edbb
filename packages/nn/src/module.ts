import { assign, keep, Tensor, withScope } from '@gradlens/tensor';
import type { TypedArray } from '@gradlens/tensor';

/** Called after each module call with the module, its input and its output (see `observeModuleCalls`). */
export type ModuleCallObserver = (module: Module, input: Tensor, output: Tensor) => void;

const callObservers = new Set<ModuleCallObserver>();

/**
 * Runs `fn` while `observer` sees every `Module.call` (module, input, output); returns fn's result.
 * Used by `layers()` to list output shapes; it is an inspection aid, never a way to change outputs.
 */
export function observeModuleCalls<T>(observer: ModuleCallObserver, fn: () => T): T {
  callObservers.add(observer);
  try {
    return fn();
  } finally {
    callObservers.delete(observer);
  }
}

let releaseDepth = 0;

/**
 * Runs `fn` with containers (`Sequential`) freeing each child's output as soon as the next child has consumed it,
 * where nothing else can hold it (made in the innermost `tidy` scope, no tape recording, CPU values; see tensor's
 * `disposeIntermediate`); returns fn's result. For forward passes whose intermediates nobody reads, as the batched
 * scoring of the perturbation methods: a batch of 32 through VGG16 then holds two layers' activations instead of
 * all of them (3.8 GB), and the freed arrays serve the next layers instead of new pages. Off while
 * `observeModuleCalls` watches. A module of your own that keeps its output for later must not run inside it.
 */
export function releasingIntermediates<T>(fn: () => T): T {
  releaseDepth++;
  try {
    return fn();
  } finally {
    releaseDepth--;
  }
}

/** @internal Whether containers may free their children's consumed outputs now (see releasingIntermediates). */
export function releaseIntermediatesNow(): boolean {
  return releaseDepth > 0 && callObservers.size === 0;
}

const outputTransforms = new Map<Module, (output: Tensor) => Tensor>();

/**
 * Runs `fn` while every call of `module` passes its output through `transform` (inside the module's
 * scope, so the tape records it under the module's path); returns fn's result. The way to change one
 * layer's output for one computation (ablation, scaling) without touching its forward.
 */
export function withOutputTransform<T>(module: Module, transform: (output: Tensor) => Tensor, fn: () => T): T {
  const outer = outputTransforms.get(module);
  outputTransforms.set(module, outer ? (y) => transform(outer(y)) : transform);
  try {
    return fn();
  } finally {
    if (outer) outputTransforms.set(module, outer);
    else outputTransforms.delete(module);
  }
}

/**
 * Runs `fn` with every module of `model` in training (`'train'`) or evaluation (`'eval'`) mode, then
 * puts back each module's own mode, whatever happens; returns fn's result.
 */
export function withMode<T>(model: Module, mode: 'train' | 'eval', fn: () => T): T {
  const saved = model.namedModules().map(([, m]) => [m, m.training] as const);
  model.train(mode === 'train');
  try {
    return fn();
  } finally {
    for (const [m, training] of saved) m.training = training;
  }
}

/** Anything a state dict entry can be loaded from: a tensor, or a plain { dtype, shape, data } array. */
export interface ArrayLikeEntry {
  shape: readonly number[];
  data: ArrayLike<number | bigint>;
}

export interface LoadOptions {
  /** Refuse missing or unexpected keys (default true); shape mismatches are always refused. */
  strict?: boolean;
  /**
   * Take each entry's array as its parameter's values instead of copying it, where the types match and the
   * parameter's array is its own (no reshape shares it, `values()` never handed it out); default false. The
   * caller hands the arrays over and must not write them afterwards: loadWeights adopts the arrays it read
   * from a file, so a model holds its weights once (in the file's bytes) rather than twice.
   */
  adopt?: boolean;
}

/**
 * Whether `data` may become a parameter's values: a typed array whose bytes overlap none adopted already (a
 * checkpoint may give two keys one storage, as tied weights; two parameters must not share an array unawares).
 */
function adoptable(data: ArrayLike<number | bigint>, adopted: readonly TypedArray[]): data is TypedArray {
  if (!ArrayBuffer.isView(data)) return false;
  const start = data.byteOffset,
    end = start + data.byteLength;
  return adopted.every((a) => a.buffer !== data.buffer || a.byteOffset >= end || a.byteOffset + a.byteLength <= start);
}

/**
 * A layer or a network: named children, parameters and buffers, with PyTorch's names, so a
 * torchvision state dict loads with no renaming. Calling a module through `call` runs its forward
 * pass inside its module path scope (`features.3`), so every tape node carries PyTorch's names.
 */
export abstract class Module {
  /** Training mode (dropout active, batch norm on batch statistics); `eval()` turns it off. */
  training = true;
  private readonly childMap = new Map<string, Module>();
  private readonly paramMap = new Map<string, Tensor | null>();
  private readonly bufferMap = new Map<string, Tensor | null>();
  /** The name this module has inside its parent; '' for a root module. */
  private scopeName = '';

  /** The forward pass; call modules through `call` so that their ops carry the module path. */
  abstract forward(x: Tensor): Tensor;

  /** Runs `forward` inside this module's path scope. */
  call(x: Tensor): Tensor {
    const run = (): Tensor => {
      const out = this.forward(x);
      const transform = outputTransforms.get(this);
      return transform ? transform(out) : out;
    };
    const y = this.scopeName ? withScope(this.scopeName, run) : run();
    for (const observe of callObservers) observe(this, x, y);
    return y;
  }

  protected registerModule<M extends Module>(name: string, module: M): M {
    if (module.scopeName && module.scopeName !== name) {
      throw new Error(`module '${name}' is already registered as '${module.scopeName}'; a module can have one parent`);
    }
    module.scopeName = name;
    this.childMap.set(name, module);
    return module;
  }

  protected registerParameter(name: string, value: Tensor): Tensor;
  protected registerParameter(name: string, value: Tensor | null): Tensor | null;
  protected registerParameter(name: string, value: Tensor | null): Tensor | null {
    // Parameters and buffers live as long as their module, even when it is built inside tidy().
    if (value) keep(value);
    this.paramMap.set(name, value);
    return value;
  }

  protected registerBuffer(name: string, value: Tensor): Tensor;
  protected registerBuffer(name: string, value: Tensor | null): Tensor | null;
  protected registerBuffer(name: string, value: Tensor | null): Tensor | null {
    if (value) keep(value);
    this.bufferMap.set(name, value);
    return value;
  }

  /** Direct children with their names, in registration order. */
  children(): [string, Module][] {
    return [...this.childMap];
  }

  /** This module and every descendant with its dotted path ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.childMap) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /** The module at a dotted path, or an error listing the valid paths. */
  getModule(path: string): Module {
    const found = this.namedModules().find(([p]) => p === path);
    if (!found) {
      const valid = this.namedModules()
        .map(([p]) => p)
        .filter((p) => p !== '');
      throw new Error(`no module named '${path}'; valid module paths: ${valid.join(', ')}`);
    }
    return found[1];
  }

  /** Every parameter with its dotted name (`features.0.weight`), in PyTorch's order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    return this.collect(prefix, (m) => m.paramMap);
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Every buffer (running statistics …) with its dotted name. */
  namedBuffers(prefix = ''): [string, Tensor][] {
    return this.collect(prefix, (m) => m.bufferMap);
  }

  private collect(prefix: string, pick: (m: Module) => Map<string, Tensor | null>): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, t] of pick(this)) if (t) out.push([prefix ? `${prefix}.${name}` : name, t]);
    for (const [name, child] of this.childMap) out.push(...child.collect(prefix ? `${prefix}.${name}` : name, pick));
    return out;
  }

  /** Parameters and buffers by name, as torch's state_dict() (the tensors themselves, not copies). */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    const walk = (m: Module, prefix: string): void => {
      for (const [n, t] of m.paramMap) if (t) out[prefix + n] = t;
      for (const [n, t] of m.bufferMap) if (t) out[prefix + n] = t;
      for (const [n, c] of m.childMap) walk(c, `${prefix}${n}.`);
    };
    walk(this, '');
    return out;
  }

  /** This module's name for a checkpoint key (a model overrides it to read a legacy layout); the key itself by default. */
  checkpointKey(key: string): string {
    return key;
  }

  /** Whether a checkpoint entry (named as checkpointKey gives it) is passed over when loading: none by default. */
  ignoresCheckpointKey(key: string): boolean {
    void key;
    return false;
  }

  /**
   * Copies values into this module's parameters and buffers (in place, so references stay valid).
   * Refuses, with one error listing them all, missing keys, unexpected keys and shape mismatches.
   */
  loadStateDict(original: Record<string, Tensor | ArrayLikeEntry>, options: LoadOptions = {}): void {
    const strict = options.strict ?? true;
    // Maps, so keys named like Object.prototype members (toString, __proto__) are plain keys.
    const dict = new Map<string, Tensor | ArrayLikeEntry>();
    for (const [k, v] of Object.entries(original)) {
      const key = this.checkpointKey(k);
      if (!this.ignoresCheckpointKey(key)) dict.set(key, v);
    }
    const own = new Map(Object.entries(this.stateDict()));
    const missing = [...own.keys()].filter((k) => !dict.has(k));
    const unexpected = [...dict.keys()].filter((k) => !own.has(k));
    const mismatched: string[] = [];
    for (const [k, t] of own) {
      const src = dict.get(k);
      if (src && src.shape.join() !== t.shape.join())
        mismatched.push(`${k}: checkpoint [${src.shape.join(', ')}] vs model [${t.shape.join(', ')}]`);
    }
    const problems: string[] = [];
    if (strict && missing.length) problems.push(`missing keys: ${missing.join(', ')}`);
    if (strict && unexpected.length) problems.push(`unexpected keys: ${unexpected.join(', ')}`);
    if (mismatched.length) problems.push(`shape mismatches: ${mismatched.join('; ')}`);
    if (problems.length) throw new Error(`loadStateDict: ${problems.join('\n  ')}`);
    const adopted: TypedArray[] = [];
    for (const [k, t] of own) {
      const src = dict.get(k);
      if (!src) continue;
      if (options.adopt === true && !(src instanceof Tensor) && adoptable(src.data, adopted) && t.adoptValues(src.data)) {
        adopted.push(src.data);
        continue;
      }
      const from = src instanceof Tensor ? src.values() : src.data;
      assign(t, (to) => {
        for (let i = 0; i < to.length; i++) to[i] = Number(from[i]);
      });
    }
  }

  /** Sets training mode on this module and every descendant; returns this. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Sets evaluation mode (dropout off, batch norm on running statistics); returns this. */
  eval(): this {
    return this.train(false);
  }
}
