/**
 * Learning-rate schedules as torch.optim.lr_scheduler (1.13): constructing one sets the epoch-0
 * rate, each `step()` (once per epoch, after that epoch's optimiser steps) advances one epoch and
 * sets `optimizer.lr`. The update formulas are torch's chainable (recursive) ones, so the rates
 * match torch's to the last bits of a double, quirks included (cosine climbs back after T_max).
 */

/** What a schedule drives: anything with a mutable learning rate (every Optimizer). */
export interface HasLearningRate {
  lr: number;
  initialLr?: number;
}

/** The base of every schedule: `lastEpoch` counts the `step()` calls; `lr` is the rate it last set. */
export abstract class LRScheduler {
  /** The rate the optimiser had before any schedule changed it (torch's base_lr). */
  readonly baseLr: number;
  /** Epochs stepped so far (0 after construction). */
  lastEpoch = -1;

  constructor(readonly optimizer: HasLearningRate) {
    if (optimizer.initialLr === undefined) optimizer.initialLr = optimizer.lr;
    this.baseLr = optimizer.initialLr;
  }

  /** Subclasses call this last in their constructor: torch's initial step to epoch 0. */
  protected start(): void {
    this.step();
  }

  /** The learning rate the optimiser has now. */
  get lr(): number {
    return this.optimizer.lr;
  }

  /** Advances one epoch and sets the optimiser's learning rate. */
  step(): void {
    this.lastEpoch++;
    this.optimizer.lr = this.chained();
  }

  /** Jumps to `epoch` with the closed form (torch's deprecated `step(epoch)`, which SequentialLR uses). */
  stepTo(epoch: number): void {
    this.lastEpoch = epoch;
    this.optimizer.lr = this.closedForm();
  }

  /** The rate at `lastEpoch` from the current one (torch's `get_lr`). */
  protected abstract chained(): number;

  /** The rate at `lastEpoch` from the base rate (torch's `_get_closed_form_lr`). */
  protected abstract closedForm(): number;
}

function positiveInt(kind: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${kind}: ${name} must be a positive integer, got ${v}`);
}

export interface StepLROptions {
  /** Epochs between decays. */
  stepSize: number;
  /** The factor applied every `stepSize` epochs (default 0.1). */
  gamma?: number;
}

/** Multiplies the rate by `gamma` every `stepSize` epochs, as torch's StepLR. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: HasLearningRate, options: StepLROptions) {
    super(optimizer);
    positiveInt('StepLR', 'stepSize', options.stepSize);
    this.stepSize = options.stepSize;
    this.gamma = options.gamma ?? 0.1;
    this.start();
  }

  protected chained(): number {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.optimizer.lr;
    return this.optimizer.lr * this.gamma;
  }

  protected closedForm(): number {
    return this.baseLr * this.gamma ** Math.floor(this.lastEpoch / this.stepSize);
  }
}

export interface CosineAnnealingOptions {
  /** Epochs of one half cosine period: the rate reaches `etaMin` at epoch tMax. */
  tMax: number;
  /** The lowest rate (default 0). */
  etaMin?: number;
}

/** Anneals the rate from its base to `etaMin` along half a cosine over `tMax` epochs, as torch's CosineAnnealingLR. */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: HasLearningRate, options: CosineAnnealingOptions) {
    super(optimizer);
    positiveInt('CosineAnnealingLR', 'tMax', options.tMax);
    this.tMax = options.tMax;
    this.etaMin = options.etaMin ?? 0;
    this.start();
  }

  protected chained(): number {
    const { lastEpoch: e, tMax: T, etaMin, baseLr } = this;
    const lr = this.optimizer.lr;
    if (e === 0) return lr;
    if ((e - 1 - T) % (2 * T) === 0) return lr + ((baseLr - etaMin) * (1 - Math.cos(Math.PI / T))) / 2;
    return ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (lr - etaMin) + etaMin;
  }

  protected closedForm(): number {
    return this.etaMin + ((this.baseLr - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2;
  }
}

export interface LinearLROptions {
  /** The factor of the base rate at epoch 0 (default 1/3). */
  startFactor?: number;
  /** The factor reached at epoch `totalIters` and kept after (default 1). */
  endFactor?: number;
  /** Epochs of the ramp (default 5). */
  totalIters?: number;
}

/** Ramps the rate linearly from startFactor·base to endFactor·base over totalIters epochs (warmup), as torch's LinearLR. */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;

  constructor(optimizer: HasLearningRate, options: LinearLROptions = {}) {
    super(optimizer);
    this.startFactor = options.startFactor ?? 1 / 3;
    this.endFactor = options.endFactor ?? 1;
    this.totalIters = options.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1))
      throw new Error(`LinearLR: startFactor must be in (0, 1], got ${this.startFactor}`);
    if (!(this.endFactor >= 0 && this.endFactor <= 1)) throw new Error(`LinearLR: endFactor must be in [0, 1], got ${this.endFactor}`);
    positiveInt('LinearLR', 'totalIters', this.totalIters);
    this.start();
  }

  protected chained(): number {
    const { lastEpoch: e, startFactor: s, endFactor: f, totalIters: n } = this;
    const lr = this.optimizer.lr;
    if (e === 0) return lr * s;
    if (e > n) return lr;
    return lr * (1 + (f - s) / (n * s + (e - 1) * (f - s)));
  }

  protected closedForm(): number {
    const { startFactor: s, endFactor: f, totalIters: n } = this;
    return this.baseLr * (s + ((f - s) * Math.min(n, this.lastEpoch)) / n);
  }
}

/**
 * Runs `schedulers[k]` from epoch `milestones[k-1]` on, as torch's SequentialLR: at each milestone
 * the next schedule restarts from its closed form at epoch 0.
 */
export class SequentialLR {
  lastEpoch: number;

  constructor(
    readonly optimizer: HasLearningRate,
    readonly schedulers: readonly LRScheduler[],
    readonly milestones: readonly number[],
  ) {
    if (schedulers.length === 0) throw new Error('SequentialLR: expected at least one schedule');
    if (milestones.length !== schedulers.length - 1) {
      throw new Error(`SequentialLR: ${schedulers.length} schedules need ${schedulers.length - 1} milestones, got ${milestones.length}`);
    }
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) throw new Error(`SequentialLR: schedule ${i} drives another optimiser`);
    });
    this.lastEpoch = 0;
    optimizer.lr = optimizer.initialLr ?? optimizer.lr;
    for (const s of schedulers) s.lastEpoch--;
    const first = schedulers[0]!;
    first.lastEpoch = -1;
    first.step();
  }

  /** The learning rate the optimiser has now. */
  get lr(): number {
    return this.optimizer.lr;
  }

  /** Advances one epoch in whichever schedule is active. */
  step(): void {
    this.lastEpoch++;
    let idx = 0;
    while (idx < this.milestones.length && this.milestones[idx]! <= this.lastEpoch) idx++;
    const s = this.schedulers[idx]!;
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s.stepTo(0);
    else s.step();
  }
}

export interface WarmupCosineOptions {
  /** Epochs of linear warmup. */
  warmupEpochs: number;
  /** All epochs, warmup included: the cosine runs over the rest. */
  epochs: number;
  /** The warmup's first factor of the base rate (default 0.1). */
  startFactor?: number;
  etaMin?: number;
}

/** Linear warmup then cosine annealing: SequentialLR([LinearLR, CosineAnnealingLR], [warmupEpochs]). */
export function warmupCosine(optimizer: HasLearningRate, options: WarmupCosineOptions): SequentialLR {
  const { warmupEpochs: w, epochs } = options;
  positiveInt('warmupCosine', 'warmupEpochs', w);
  if (!Number.isInteger(epochs) || epochs <= w)
    throw new Error(`warmupCosine: epochs (${epochs}) must be an integer larger than warmupEpochs (${w})`);
  const warm = new LinearLR(optimizer, { startFactor: options.startFactor ?? 0.1, endFactor: 1, totalIters: w });
  const cos = new CosineAnnealingLR(optimizer, { tMax: epochs - w, etaMin: options.etaMin ?? 0 });
  return new SequentialLR(optimizer, [warm, cos], [w]);
}

/** Anything `fit` can step once per epoch. */
export interface Schedule {
  step(): void;
}
