import { crossEntropy, noGrad, record, tidy, type Tensor } from '@gradlens/tensor';
import { type Module, withMode } from '../module';
import { saveCheckpoint } from './checkpoint';
import type { Batch } from './data';
import type { Optimizer } from './optim';
import { ProgressBar, type ProgressOptions } from './progress';
import type { Schedule } from './schedulers';

/** A loss of model outputs against labels, returning a scalar (mean over the batch). */
export type LossFn = (output: Tensor, target: Tensor) => Tensor;

/** What fit and evaluate read batches from: a DataLoader, or any re-iterable of batches (of `B`, for fit with a custom `gradients`). */
export type BatchSource<B = Batch> = Iterable<B> & { readonly length?: number };

/** What one training batch's forward and backward pass produced. */
export interface BatchGradients {
  /** One gradient per optimiser parameter, in the optimiser's order; the receiver disposes them. */
  grads: Tensor[];
  /** Mean loss per sample over the batch. */
  loss: number;
  /** Samples in the batch. */
  count: number;
  /** Samples whose arg-max output is the label, or NaN when the outputs are not [B, C] scores. */
  correct: number;
}

/**
 * Computes one batch's gradients with respect to `params` (the optimiser's, in order), for fit's
 * `gradients` option: the default records `model.call(batch.x)` and differentiates the loss
 * (`batchGradients`); DataParallel spreads the batch over threads.
 */
export type GradientFn<B> = (batch: B, params: readonly Tensor[]) => BatchGradients;

/** Loss and accuracy over a dataset. */
export interface Evaluation {
  /** Mean loss per sample. */
  loss: number;
  /** Fraction of samples whose arg-max output is the label (NaN when outputs are not [B, C] scores). */
  accuracy: number;
  /** Samples seen. */
  count: number;
}

/** One epoch of fit's history. */
export interface EpochStats {
  /** 1-based. */
  epoch: number;
  /** Mean training loss per sample over the epoch (as the parameters moved). */
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** The learning rate at the start of this epoch. */
  lr: number;
  seconds: number;
}

/** What fit returns: per-epoch statistics, as records and as columns. */
export interface History {
  epochs: EpochStats[];
  loss: number[];
  accuracy: number[];
  valLoss: number[];
  valAccuracy: number[];
  /** Wall-clock seconds of the whole fit. */
  seconds: number;
  /** True when onEpoch asked to stop early. */
  stopped: boolean;
}

export interface CheckpointOptions {
  path: string;
  /** Save only when the monitored accuracy (validation if there is a val set, else training) improves (default false: every epoch). */
  best?: boolean;
  /** Also save the optimiser state (default true). */
  optimizer?: boolean;
}

export interface FitOptions<B extends { dispose(): void } = Batch> {
  train: BatchSource<B>;
  val?: BatchSource;
  epochs: number;
  optimizer: Optimizer;
  /** Stepped once after every epoch (or every batch, see schedulerInterval). */
  scheduler?: Schedule;
  /** When the scheduler steps: after each epoch (default, as torch's epoch schedules) or after each optimiser step. */
  schedulerInterval?: 'epoch' | 'batch';
  /** Default crossEntropy. */
  lossFn?: LossFn;
  /** Called after every epoch; return false to stop training. */
  onEpoch?: (stats: EpochStats) => void | boolean;
  /** A safetensors path, saved after every epoch (or the best one), with epoch and accuracy metadata. */
  checkpoint?: string | CheckpointOptions;
  /** Progress on stderr (default true); false silences it; an object redirects or tunes it. */
  log?: boolean | ProgressOptions;
  /** Replaces each batch's forward and backward pass (default `batchGradients` of the model and lossFn); fit still disposes the batch and the gradients. */
  gradients?: GradientFn<B>;
}

/** The number of rows of `output` ([B, C] scores) whose arg-max is `target`'s label, or NaN when the outputs are not class scores. */
export function countCorrect(output: Tensor, target: Tensor): number {
  const n = target.shape[0] ?? 1;
  if (output.rank !== 2 || output.shape[0] !== n || target.dtype !== 'int32') return NaN;
  const c = output.shape[1]!;
  const v = output.values();
  const y = target.values();
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (Number(v[i * c + j]) > Number(v[i * c + best])) best = j;
    if (best === y[i]) correct++;
  }
  return correct;
}

/** Running sums of loss and correct predictions. */
class Meter {
  lossSum = 0;
  correct = 0;
  count = 0;
  scored = true;

  /** Adds a batch of `count` samples with mean loss `loss` and `correct` right answers (NaN: unscored). */
  add(loss: number, count: number, correct: number): void {
    this.lossSum += loss * count;
    this.count += count;
    if (Number.isNaN(correct)) this.scored = false;
    else this.correct += correct;
  }

  get loss(): number {
    return this.count ? this.lossSum / this.count : NaN;
  }

  get accuracy(): number {
    return this.count && this.scored ? this.correct / this.count : NaN;
  }
}

/** Loss and accuracy of `model` over every batch, in eval mode and without recording (the mode is restored after). */
export function evaluate(model: Module, data: BatchSource, options: { lossFn?: LossFn } = {}): Evaluation {
  const lossFn = options.lossFn ?? ((o: Tensor, t: Tensor) => crossEntropy(o, t));
  const meter = new Meter();
  withMode(model, 'eval', () =>
    noGrad(() => {
      for (const batch of data) {
        try {
          tidy(() => {
            const out = model.call(batch.x);
            meter.add(lossFn(out, batch.y).item(), batch.y.shape[0] ?? 1, countCorrect(out, batch.y));
          });
        } finally {
          batch.dispose();
        }
      }
    }),
  );
  return { loss: meter.loss, accuracy: meter.accuracy, count: meter.count };
}

/**
 * One training batch's forward pass (recorded) and backward pass: the gradients of the mean loss
 * with respect to `params`, the loss, and the right answers. Every other tensor the pass made is
 * freed before it returns; the caller disposes the gradients.
 */
export function batchGradients(
  model: Module,
  batch: Batch,
  params: readonly Tensor[],
  lossFn: LossFn = (o, t) => crossEntropy(o, t),
): BatchGradients {
  let tape: { dispose(): void } | null = null;
  let output: { out: Tensor; loss: Tensor } | null = null;
  try {
    const rec = record(() => {
      const out = model.call(batch.x);
      return { out, loss: lossFn(out, batch.y) };
    });
    tape = rec.tape;
    output = rec.output;
    if (output.loss.size !== 1) throw new Error(`fit: lossFn must return a scalar, got shape [${output.loss.shape.join(', ')}]`);
    const loss = output.loss.item();
    // A non-finite loss is reported by the caller (fit names the epoch and batch); its gradients are useless.
    const grads = Number.isFinite(loss) ? rec.tape.grad(output.loss, params) : [];
    return { grads, loss, count: batch.y.shape[0] ?? 1, correct: countCorrect(output.out, batch.y) };
  } finally {
    output?.out.dispose();
    output?.loss.dispose();
    tape?.dispose();
  }
}

/**
 * Trains `model` for `epochs` epochs: each batch's forward pass is recorded, the loss is
 * differentiated with respect to the optimiser's parameters (build it from `model.parameters()`;
 * parameters left out of it stay frozen), the optimiser steps, and every tensor the step made is
 * freed. After each epoch: validation (eval mode, no recording), the scheduler
 * step, the checkpoint and onEpoch. Returns the history.
 */
export function fit(model: Module, options: FitOptions): History;
/** Trains with a custom gradient computation over batches of any kind (see DataParallel). */
export function fit<B extends { dispose(): void }>(model: Module, options: FitOptions<B> & { gradients: GradientFn<B> }): History;
export function fit<B extends { dispose(): void }>(model: Module, options: FitOptions<B>): History {
  const { train, val, optimizer, scheduler } = options;
  const epochs = options.epochs;
  if (!Number.isInteger(epochs) || epochs < 0) throw new Error(`fit: epochs must be a non-negative integer, got ${epochs}`);
  const lossFn = options.lossFn ?? ((o: Tensor, t: Tensor) => crossEntropy(o, t));
  const bar = options.log === false ? null : new ProgressBar(options.log === true || options.log === undefined ? {} : options.log);
  const ckpt = typeof options.checkpoint === 'string' ? { path: options.checkpoint } : options.checkpoint;
  const params = optimizer.params;
  const gradients = options.gradients ?? ((batch: B) => batchGradients(model, batch as unknown as Batch, params, lossFn));
  const perBatch = options.schedulerInterval === 'batch';
  const history: History = { epochs: [], loss: [], accuracy: [], valLoss: [], valAccuracy: [], seconds: 0, stopped: false };
  const fitStart = Date.now();
  let bestAccuracy = -Infinity;

  for (let epoch = 1; epoch <= epochs; epoch++) {
    const start = Date.now();
    const lr = optimizer.lr;
    model.train();
    bar?.startEpoch();
    const meter = new Meter();
    const total = train.length ?? NaN;
    let done = 0;
    for (const batch of train) {
      let step: BatchGradients | null = null;
      try {
        step = gradients(batch, params);
        if (!Number.isFinite(step.loss))
          throw new Error(
            `fit: the loss became ${step.loss} at epoch ${epoch}, batch ${done + 1}; lower the learning rate or check the data`,
          );
        optimizer.step(step.grads);
        if (perBatch) scheduler?.step();
        meter.add(step.loss, step.count, step.correct);
      } finally {
        for (const g of step?.grads ?? []) g.dispose();
        batch.dispose();
      }
      done++;
      bar?.update(epoch, epochs, done, Number.isFinite(total) ? total : done, meter.loss, meter.accuracy);
    }

    const stats: EpochStats = { epoch, loss: meter.loss, accuracy: meter.accuracy, lr, seconds: 0 };
    if (val) {
      const v = evaluate(model, val, { lossFn });
      stats.valLoss = v.loss;
      stats.valAccuracy = v.accuracy;
    }
    if (!perBatch) scheduler?.step();
    stats.seconds = (Date.now() - start) / 1000;
    history.epochs.push(stats);
    history.loss.push(stats.loss);
    history.accuracy.push(stats.accuracy);
    if (stats.valLoss !== undefined) history.valLoss.push(stats.valLoss);
    if (stats.valAccuracy !== undefined) history.valAccuracy.push(stats.valAccuracy);
    bar?.endEpoch({ ...stats, epochs, batches: done });

    if (ckpt) {
      const monitored = stats.valAccuracy ?? stats.accuracy;
      const improved = !(monitored <= bestAccuracy); // NaN accuracy (no classes) counts as an improvement
      if (!ckpt.best || improved) {
        const metadata: Record<string, string | number> = { epoch, accuracy: stats.accuracy, loss: stats.loss, lr };
        if (stats.valAccuracy !== undefined) metadata.val_accuracy = stats.valAccuracy;
        if (stats.valLoss !== undefined) metadata.val_loss = stats.valLoss;
        saveCheckpoint(ckpt.path, model, { metadata, optimizer: ckpt.optimizer === false ? undefined : optimizer });
      }
      if (improved && Number.isFinite(monitored)) bestAccuracy = monitored;
    }
    if (options.onEpoch?.(stats) === false) {
      history.stopped = true;
      break;
    }
  }
  history.seconds = (Date.now() - fitStart) / 1000;
  return history;
}
