import { assign, Tensor } from '@gradlens/tensor';

/**
 * Optimisers with PyTorch's update formulas (torch 1.13, the single-tensor CPU path). Each update
 * mirrors torch's sequence of in-place tensor ops, and every op's result is rounded to the
 * parameter's dtype (float32: `Math.fround`), as torch's float32 kernels round after each op;
 * scalar hyper-parameters are cast to float32 where torch casts them (`add_(x, alpha=a)`), and
 * kept in double where torch computes them in Python (Adam's bias corrections). A fused
 * multiply-add (`add(x, alpha=a)`, vectorised as an FMA) is computed in double, then rounded once.
 */

type FloatArray = Float32Array | Float64Array;
type Round = (x: number) => number;

const identity: Round = (x) => x;

/** Per-parameter buffers by name (`momentum_buffer`, `exp_avg`, …), one map per parameter. */
export type OptimizerBuffers = Map<string, FloatArray>[];

/** A snapshot of an optimiser: its kind, learning rate, step count, options and buffers (copies). */
export interface OptimizerState {
  type: string;
  lr: number;
  initialLr?: number;
  steps: number;
  options: Record<string, number | boolean>;
  /** Buffers keyed by `<param index>.<name>`, e.g. `0.exp_avg`. */
  buffers: Record<string, { shape: number[]; data: FloatArray }>;
}

/** The base of every optimiser: holds the parameters, the learning rate and per-parameter buffers. */
export abstract class Optimizer {
  /** The learning rate used by the next `step`; schedulers set it. */
  lr: number;
  /** The learning rate before any scheduler changed it (torch's `initial_lr`); set by the first scheduler. */
  initialLr?: number;
  /** How many steps have been taken. */
  steps = 0;
  readonly params: readonly Tensor[];
  protected readonly state: OptimizerBuffers;

  constructor(
    params: readonly Tensor[],
    lr: number,
    private readonly kind: string,
  ) {
    if (!Array.isArray(params) || params.length === 0) throw new Error(`${kind}: expected a non-empty array of parameter tensors`);
    if (!Number.isFinite(lr) || lr < 0) throw new Error(`${kind}: lr must be a finite number ≥ 0, got ${lr}`);
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new Error(`${kind}: params[${i}] is not a Tensor`);
      if (p.dtype !== 'float32' && p.dtype !== 'float64')
        throw new Error(`${kind}: params[${i}] is ${p.dtype}; only float32 and float64 parameters can be optimised`);
      if (params.indexOf(p) !== i) throw new Error(`${kind}: params[${i}] repeats params[${params.indexOf(p)}]; pass each parameter once`);
    });
    this.params = [...params];
    this.lr = lr;
    this.state = this.params.map(() => new Map());
  }

  /** Updates every parameter in place from its gradient (`grads[i]` belongs to `params[i]`). */
  step(grads: readonly Tensor[]): void {
    if (grads.length !== this.params.length) {
      throw new Error(
        `${this.kind}.step: got ${grads.length} gradients for ${this.params.length} parameters (one per parameter, in order)`,
      );
    }
    this.steps++;
    this.params.forEach((p, i) => {
      const g = grads[i]!;
      if (g.shape.join() !== p.shape.join()) {
        throw new Error(`${this.kind}.step: gradient ${i} has shape [${g.shape.join(', ')}], its parameter [${p.shape.join(', ')}]`);
      }
      assign(p, (values) =>
        this.update(i, values as FloatArray, g.values() as ArrayLike<number>, p.dtype === 'float32' ? Math.fround : identity),
      );
    });
  }

  /** One parameter's update: `p` is updated in place from `g`, rounding each op's result with `r`. */
  protected abstract update(i: number, p: FloatArray, g: ArrayLike<number>, r: Round): void;

  /** The hyper-parameters, for `stateDict`. */
  protected abstract options(): Record<string, number | boolean>;

  /** A buffer of parameter `i`, created (zeros, or a copy of `init`) on first use. */
  protected buffer(i: number, name: string, p: FloatArray, init?: ArrayLike<number>): { buf: FloatArray; fresh: boolean } {
    const map = this.state[i]!;
    let buf = map.get(name);
    if (buf) return { buf, fresh: false };
    buf = p instanceof Float32Array ? new Float32Array(p.length) : new Float64Array(p.length);
    if (init) for (let j = 0; j < buf.length; j++) buf[j] = init[j]!;
    map.set(name, buf);
    return { buf, fresh: true };
  }

  /** A copy of the optimiser's state: options, step count and buffers. */
  stateDict(): OptimizerState {
    const buffers: OptimizerState['buffers'] = {};
    this.state.forEach((map, i) => {
      for (const [name, buf] of map) buffers[`${i}.${name}`] = { shape: [...this.params[i]!.shape], data: buf.slice() };
    });
    const out: OptimizerState = { type: this.kind, lr: this.lr, steps: this.steps, options: this.options(), buffers };
    if (this.initialLr !== undefined) out.initialLr = this.initialLr;
    return out;
  }

  /** Restores a `stateDict` taken from an optimiser of the same kind over parameters of the same shapes. */
  loadStateDict(state: OptimizerState): void {
    if (state.type !== this.kind) throw new Error(`${this.kind}.loadStateDict: the state is from a ${state.type} optimiser`);
    const next: Map<string, FloatArray>[] = this.params.map(() => new Map());
    for (const [key, { shape, data }] of Object.entries(state.buffers)) {
      const dot = key.indexOf('.');
      const i = Number(key.slice(0, dot));
      const p = this.params[i];
      if (dot < 1 || !Number.isInteger(i) || !p)
        throw new Error(`${this.kind}.loadStateDict: buffer ${key} names no parameter (this optimiser has ${this.params.length})`);
      if (shape.join() !== p.shape.join() || data.length !== p.size) {
        throw new Error(`${this.kind}.loadStateDict: buffer ${key} is [${shape.join(', ')}], parameter ${i} is [${p.shape.join(', ')}]`);
      }
      const buf = p.dtype === 'float32' ? new Float32Array(p.size) : new Float64Array(p.size);
      buf.set(data);
      next[i]!.set(key.slice(dot + 1), buf);
    }
    next.forEach((m, i) => (this.state[i] = m));
    this.lr = state.lr;
    this.steps = state.steps;
    if (state.initialLr !== undefined) this.initialLr = state.initialLr;
  }
}

function check(kind: string, name: string, value: number, ok: boolean, expected: string): void {
  if (!Number.isFinite(value) || !ok) throw new Error(`${kind}: ${name} must be ${expected}, got ${value}`);
}

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  /** Ascend the objective instead of descending it. */
  maximize?: boolean;
}

/** Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay, as torch.optim.SGD. */
export class SGD extends Optimizer {
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;

  constructor(params: readonly Tensor[], options: SGDOptions) {
    super(params, options.lr, 'SGD');
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = options.nesterov ?? false;
    this.maximize = options.maximize ?? false;
    check('SGD', 'momentum', this.momentum, this.momentum >= 0, '≥ 0');
    check('SGD', 'weightDecay', this.weightDecay, this.weightDecay >= 0, '≥ 0');
    check('SGD', 'dampening', this.dampening, true, 'a finite number');
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error(
        `SGD: Nesterov momentum needs momentum > 0 and dampening = 0, got momentum ${this.momentum}, dampening ${this.dampening}`,
      );
    }
  }

  protected options(): Record<string, number | boolean> {
    return {
      momentum: this.momentum,
      dampening: this.dampening,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov,
      maximize: this.maximize,
    };
  }

  protected update(i: number, p: FloatArray, g: ArrayLike<number>, r: Round): void {
    const n = p.length;
    const wd = r(this.weightDecay);
    const m = r(this.momentum);
    const keep = r(1 - this.dampening);
    const negLr = r(-this.lr);
    // d_p = grad (+ wd · p): a fresh array, as torch's out-of-place add.
    const d = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const gj = this.maximize ? -g[j]! : g[j]!;
      d[j] = this.weightDecay !== 0 ? r(gj + wd * p[j]!) : r(gj);
    }
    if (this.momentum !== 0) {
      const { buf, fresh } = this.buffer(i, 'momentum_buffer', p, d);
      if (!fresh) for (let j = 0; j < n; j++) buf[j] = r(r(buf[j]! * m) + keep * d[j]!);
      if (this.nesterov) for (let j = 0; j < n; j++) d[j] = r(d[j]! + m * buf[j]!);
      else d.set(buf);
    }
    for (let j = 0; j < n; j++) p[j] = r(p[j]! + negLr * d[j]!);
  }
}

export interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
}

/** Shared by Adam and AdamW: moments, bias correction, optional AMSGrad. */
abstract class AdamBase extends Optimizer {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;

  constructor(params: readonly Tensor[], options: AdamOptions, kind: string, defaultWeightDecay: number) {
    super(params, options.lr ?? 1e-3, kind);
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? defaultWeightDecay;
    this.amsgrad = options.amsgrad ?? false;
    this.maximize = options.maximize ?? false;
    check(kind, 'betas[0]', this.beta1, this.beta1 >= 0 && this.beta1 < 1, 'in [0, 1)');
    check(kind, 'betas[1]', this.beta2, this.beta2 >= 0 && this.beta2 < 1, 'in [0, 1)');
    check(kind, 'eps', this.eps, this.eps >= 0, '≥ 0');
    check(kind, 'weightDecay', this.weightDecay, this.weightDecay >= 0, '≥ 0');
  }

  protected options(): Record<string, number | boolean> {
    return {
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
      amsgrad: this.amsgrad,
      maximize: this.maximize,
    };
  }

  /**
   * Adam's update from gradient `g`, `p` updated in place. AdamW's decoupled decay (p·decay) and the
   * gradient's sign (maximize) are folded into the same pass: each element sees the same rounded ops as
   * torch's sequence of whole-tensor ops, in one loop over every parameter (this runs every step while
   * the data-parallel worker waits).
   */
  protected adamUpdate(i: number, p: FloatArray, g: ArrayLike<number>, r: Round, decay = 1, sign = 1): void {
    const n = p.length;
    const { buf: m } = this.buffer(i, 'exp_avg', p);
    const { buf: v } = this.buffer(i, 'exp_avg_sq', p);
    const b1 = r(this.beta1);
    const b2 = r(this.beta2);
    const oneMinusB1 = r(1 - this.beta1);
    const oneMinusB2 = r(1 - this.beta2);
    const t = this.steps;
    // Bias corrections in double, as torch computes them in Python.
    const stepSize = this.lr / (1 - this.beta1 ** t);
    const bc2Sqrt = r(Math.sqrt(1 - this.beta2 ** t));
    const negStep = r(-stepSize);
    const eps = r(this.eps);
    const vmax = this.amsgrad ? this.buffer(i, 'max_exp_avg_sq', p).buf : null;
    for (let j = 0; j < n; j++) {
      const pj = r(p[j]! * decay); // p.mul_(1 - lr·wd) (AdamW)
      const gj = r(sign * g[j]!);
      const mj = r(r(m[j]! * b1) + oneMinusB1 * gj); // exp_avg.mul_(β1).add_(g, alpha=1-β1)
      const vj = r(r(v[j]! * b2) + r(r(oneMinusB2 * gj) * gj)); // exp_avg_sq.mul_(β2).addcmul_(g, g, value=1-β2)
      m[j] = mj;
      v[j] = vj;
      let second = vj;
      if (vmax) second = vmax[j] = Math.max(vmax[j]!, second);
      const denom = r(r(r(Math.sqrt(second)) / bc2Sqrt) + eps); // (v.sqrt() / √bc2).add_(eps)
      p[j] = r(pj + r(r(negStep * mj) / denom)); // p.addcdiv_(m, denom, value=-step_size)
    }
  }
}

/** Adam with L2 weight decay added to the gradient, as torch.optim.Adam. */
export class Adam extends AdamBase {
  constructor(params: readonly Tensor[], options: AdamOptions = {}) {
    super(params, options, 'Adam', 0);
  }

  protected update(i: number, p: FloatArray, g: ArrayLike<number>, r: Round): void {
    const n = p.length;
    const grad = new Float64Array(n);
    const wd = r(this.weightDecay);
    for (let j = 0; j < n; j++) {
      const gj = this.maximize ? -g[j]! : g[j]!;
      grad[j] = this.weightDecay !== 0 ? r(gj + wd * p[j]!) : r(gj);
    }
    this.adamUpdate(i, p, grad, r);
  }
}

/** Adam with decoupled weight decay (p ← p·(1 − lr·wd) before the Adam step), as torch.optim.AdamW; wd defaults to 0.01. */
export class AdamW extends AdamBase {
  constructor(params: readonly Tensor[], options: AdamOptions = {}) {
    super(params, options, 'AdamW', 0.01);
  }

  protected update(i: number, p: FloatArray, g: ArrayLike<number>, r: Round): void {
    this.adamUpdate(i, p, g, r, r(1 - this.lr * this.weightDecay), this.maximize ? -1 : 1);
  }
}
