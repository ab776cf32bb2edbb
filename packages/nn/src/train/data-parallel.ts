import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { Generator, getNumThreads, setNumThreads, tensor, type Tensor } from '@gradlens/tensor';
import type { Module } from '../module';
import { DataLoader } from './data';
import {
  buildTask,
  Cmd,
  controlWords,
  Ctl,
  doneWord,
  ERROR_BYTES,
  errorLengthWord,
  shardBounds,
  shardGradients,
  State,
  type ParallelTask,
  type WorkerSetup,
} from './data-parallel-shared';
import { fit, type BatchGradients, type BatchSource, type FitOptions, type History } from './fit';

export { shardBounds, type ParallelContext, type ParallelTask, type ParallelTaskModule } from './data-parallel-shared';

/**
 * Data-parallel training over worker threads, as torch's DistributedDataParallel on one machine:
 * every batch of B samples is cut into `threads` contiguous shards; the main thread (rank 0, the
 * first shard) and `threads − 1` worker threads each compose their own shard's samples, run the
 * forward and backward pass and return their shard's mean-loss gradients; the main thread averages
 * them weighted by shard size (for a model without BatchNorm: the full batch's mean-loss gradient,
 * up to float32 rounding) and the optimiser steps on the main thread only.
 *
 * Nothing is copied with postMessage per step: the parameters go out and the gradients come back
 * through SharedArrayBuffers, and the threads wait for each other with Atomics.wait/notify, so
 * `fit` stays synchronous.
 *
 * Workers cannot receive a model or a dataset (functions and classes do not cross threads), so
 * every thread builds them from a *task module*: a CommonJS file (plain JS, loadable by `require`)
 * exporting `build(config, { rank, threads })` that returns `{ model, trainSet(epoch), lossFn? }`
 * (see ParallelTask). The main thread calls it too; its model is the one trained and published.
 * Nothing else of the main thread's state reaches a worker (the backend, manualSeed): set what the
 * task needs in `build`.
 *
 *   // task.js
 *   exports.build = (config, { rank }) => ({
 *     model: new MyNet({ generator: new Generator(config.seed) }),
 *     trainSet: (epoch) => new ClutteredFashionMnist({ split: 'train', seed: config.seed, epoch, length: 4096 }),
 *   });
 *   // main
 *   const dp = new DataParallel({ module: require.resolve('./task.js'), config: { seed: 1 }, threads: 2, batchSize: 32, shuffle: true });
 *   try {
 *     const history = dp.fit({ epochs: 10, optimizer: new AdamW(dp.model.parameters(), { lr: 1e-3 }), val });
 *   } finally {
 *     void dp.close();
 *   }
 */

export interface DataParallelOptions {
  /** Path of the task module: a CommonJS JS file exporting `build` (relative paths are resolved against the working directory). */
  module: string;
  /** Handed to `build` in every thread; it crosses threads by structured clone (plain data). */
  config?: unknown;
  /** Threads in all, the main one included (default os.availableParallelism(); 1 runs everything on the main thread). */
  threads?: number;
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Draw a new permutation every epoch (default false), from `seed` (default 0), as DataLoader. */
  shuffle?: boolean;
  seed?: number;
  /** Skip the last batch of an epoch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** The shape of each sample's x (default the dataset's sampleShape). */
  sampleShape?: readonly number[];
  /** How long the main thread waits for a worker (start-up or one step) before giving up, in ms (default 10 minutes). */
  timeoutMs?: number;
  /** The compiled worker entry (default data-parallel-worker.js beside this file, or in the package's dist when run from sources). */
  workerScript?: string;
}

/** A batch of a data-parallel epoch: which samples, not their values (each thread composes its own shard). */
export interface ShardedBatch {
  /** 0-based epoch, the argument of the task's trainSet. */
  epoch: number;
  /** Dataset indices of the batch's samples, in batch order. */
  indices: number[];
  dispose(): void;
}

/** The compiled worker entry: beside this file (dist), or in the package's dist when this file runs from sources (ts-jest). */
function defaultWorkerScript(): string {
  const candidates = [
    path.join(__dirname, 'data-parallel-worker.js'),
    path.join(__dirname, '..', '..', 'dist', 'train', 'data-parallel-worker.js'),
  ];
  const found = candidates.find((f) => fs.existsSync(f));
  if (!found)
    throw new Error(`DataParallel: no compiled worker entry at ${candidates.join(' or ')}; build the packages first (npx tsc -b)`);
  return found;
}

const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

/** acc[j] += scale · v[j] for every j (a plain loop over locals: about 1 ns per element). */
function addScaled(acc: Float64Array, v: Float32Array, scale: number): void {
  for (let j = 0; j < v.length; j++) acc[j]! += scale * v[j]!;
}

/**
 * A data-parallel trainer over `threads` threads (see the top of this file). Build it, make the
 * optimiser from `dp.model.parameters()`, call `dp.fit({...})` (fit's options but `train`,
 * `gradients` and `lossFn`), and `close()` it. The constructor blocks until every worker has built
 * its task. The workers are unref'd: a forgotten close never keeps node alive. Epochs count on
 * across fit calls (the second fit's first epoch reads trainSet(epochs of the first)), as the
 * shuffling does. Evaluation (fit's `val`) runs on the main thread only.
 *
 * BatchNorm: each thread normalises its own shard with that shard's statistics and updates its own
 * running statistics; the main thread's model (shard 0's running statistics) is the one evaluated and
 * published, as DDP without SyncBatchNorm does with rank 0's buffers. Randomness in the model
 * (Dropout) is each thread's own: seed it from `context.rank` in `build`.
 *
 * Deterministic: the same task, config, options and thread count give the same run (the shards are
 * summed in rank order).
 */
export class DataParallel {
  /** Threads in all, the main one included. */
  readonly threads: number;
  /** The main thread's task, built from the module with rank 0. */
  readonly task: ParallelTask;
  /** The batches of one epoch per iteration, for fit's `train` (indices only; each thread reads its own samples). */
  readonly train: BatchSource<ShardedBatch>;
  readonly batchSize: number;

  private readonly workers: Worker[] = [];
  private readonly exited: Promise<void>[] = [];
  private readonly params: Tensor[];
  private readonly sizes: number[];
  private readonly offsets: number[];
  private readonly total: number;
  private readonly timeoutMs: number;
  private readonly shuffle: boolean;
  private readonly dropLast: boolean;
  private readonly generator: Generator;
  private readonly sampleShapeOption: readonly number[] | undefined;
  private readonly control: Int32Array;
  private readonly indexBuf: Int32Array;
  private readonly paramBuf: Float32Array;
  private readonly gradBuf: Float32Array;
  private readonly statBuf: Float64Array;
  private readonly errorBuf: Uint8Array;
  /** The weighted sum of the shards' gradients, reused every step. */
  private readonly sums: Float64Array;
  private readonly positions = new Map<Tensor, number>();
  private current: { epoch: number; loader: DataLoader } | null = null;
  private nextEpoch = 0;
  private seq = 0;
  private closed = false;
  private readonly previousKernelThreads: number;

  constructor(options: DataParallelOptions) {
    const threads = options.threads ?? (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`DataParallel: threads must be a positive integer, got ${threads}`);
    this.threads = threads;
    // Ranks × intra-op threads stay within the cores: each rank's GEMMs get cores / ranks threads (at
    // least 1), the main thread's until close() restores its previous count.
    const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    const kernelThreads = Math.max(1, Math.floor(cores / threads));
    this.batchSize = options.batchSize ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1)
      throw new Error(`DataParallel: batchSize must be a positive integer, got ${this.batchSize}`);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.generator = new Generator(options.seed ?? 0);
    this.sampleShapeOption = options.sampleShape;
    const modulePath = path.resolve(options.module);
    const config = options.config;

    // The shared buffers are sized from the main thread's model, so build it first.
    this.task = buildTask(modulePath, config, { rank: 0, threads });
    this.params = this.task.model.parameters();
    this.params.forEach((p, i) => {
      if (p.dtype !== 'float32')
        throw new Error(`DataParallel: parameter ${i} [${p.shape.join(', ')}] is ${p.dtype}; only float32 models are supported`);
      this.positions.set(p, i);
    });
    this.sizes = this.params.map((p) => p.size);
    this.offsets = [];
    let total = 0;
    for (const s of this.sizes) {
      this.offsets.push(total);
      total += s;
    }
    this.total = total;

    const words = controlWords(threads);
    this.control = new Int32Array(new SharedArrayBuffer(4 * words));
    this.indexBuf = new Int32Array(new SharedArrayBuffer(4 * this.batchSize));
    this.paramBuf = new Float32Array(new SharedArrayBuffer(4 * Math.max(1, total)));
    this.gradBuf = new Float32Array(new SharedArrayBuffer(4 * Math.max(1, total * (threads - 1))));
    this.statBuf = new Float64Array(new SharedArrayBuffer(8 * 3 * threads));
    this.errorBuf = new Uint8Array(new SharedArrayBuffer(ERROR_BYTES * threads));
    this.sums = new Float64Array(total);

    const self = this;
    this.train = {
      get length(): number {
        return self.loader(self.nextEpoch).length;
      },
      [Symbol.iterator]: () => this.batches(),
    };

    this.previousKernelThreads = getNumThreads();
    setNumThreads(kernelThreads);
    if (threads > 1) {
      const script = options.workerScript ?? defaultWorkerScript();
      try {
        for (let rank = 1; rank < threads; rank++) {
          const setup: WorkerSetup = {
            module: modulePath,
            config,
            rank,
            threads,
            kernelThreads,
            shapes: this.params.map((p) => [...p.shape]),
            sampleShape: options.sampleShape ? [...options.sampleShape] : null,
            control: this.control.buffer as SharedArrayBuffer,
            indices: this.indexBuf.buffer as SharedArrayBuffer,
            params: this.paramBuf.buffer as SharedArrayBuffer,
            grads: this.gradBuf.buffer as SharedArrayBuffer,
            stats: this.statBuf.buffer as SharedArrayBuffer,
            errors: this.errorBuf.buffer as SharedArrayBuffer,
          };
          const worker = new Worker(script, { workerData: setup });
          worker.unref();
          // The outcome is read from the shared state words; the listeners keep an error event from
          // becoming an uncaught exception of the main thread.
          this.exited.push(
            new Promise((resolve) => {
              worker.on('error', () => undefined);
              worker.on('exit', () => resolve());
            }),
          );
          this.workers.push(worker);
        }
        for (let rank = 1; rank < threads; rank++)
          this.await(rank, () => Atomics.load(this.control, Ctl.STATE + rank) === State.READY, 'starting');
      } catch (e) {
        void this.close();
        throw e;
      }
    }
  }

  /** The main thread's model: trained, evaluated and published. */
  get model(): Module {
    return this.task.model;
  }

  /** Batches per epoch of the coming epoch. */
  get length(): number {
    return this.train.length ?? 0;
  }

  /** Samples per epoch of the coming epoch (the dropped tail excluded). */
  get samplesPerEpoch(): number {
    return this.loader(this.nextEpoch).samplesPerEpoch;
  }

  /** The loader of one epoch's training set; all epochs draw their permutations from one generator, as one DataLoader would. */
  private loader(epoch: number): DataLoader {
    if (this.current?.epoch !== epoch) {
      const loader = new DataLoader(this.task.trainSet(epoch), {
        batchSize: this.batchSize,
        shuffle: this.shuffle,
        dropLast: this.dropLast,
        generator: this.generator,
        sampleShape: this.sampleShapeOption,
      });
      this.current = { epoch, loader };
    }
    return this.current.loader;
  }

  private *batches(): IterableIterator<ShardedBatch> {
    const epoch = this.nextEpoch++;
    const loader = this.loader(epoch);
    for (const indices of loader.indexBatches()) yield { epoch, indices, dispose: () => undefined };
  }

  /**
   * The gradients of `batch`'s mean loss for `params` (a subset of the model's parameters), for
   * fit's `gradients` option: the parameters are published, every thread computes its shard, and
   * the shards' gradients are averaged weighted by their sizes.
   */
  gradients(batch: ShardedBatch, params: readonly Tensor[]): BatchGradients {
    if (this.closed) throw new Error('DataParallel: closed; make a new one to train again');
    const size = batch.indices.length;
    if (size > this.batchSize) throw new Error(`DataParallel: a batch of ${size} samples exceeds batchSize ${this.batchSize}`);
    const picks = params.map((p, i) => {
      const at = this.positions.get(p);
      if (at === undefined)
        throw new Error(
          `DataParallel: optimiser parameter ${i} [${p.shape.join(', ')}] is not one of the model's; build the optimiser from dp.model.parameters()`,
        );
      return at;
    });
    const bounds = shardBounds(size, this.threads);
    const loader = this.loader(batch.epoch);

    if (this.threads > 1) {
      this.params.forEach((p, i) => this.paramBuf.set(p.values() as Float32Array, this.offsets[i]));
      this.indexBuf.set(batch.indices);
      Atomics.store(this.control, Ctl.EPOCH, batch.epoch);
      Atomics.store(this.control, Ctl.SIZE, size);
      Atomics.store(this.control, Ctl.CMD, Cmd.STEP);
      this.seq++;
      Atomics.store(this.control, Ctl.SEQ, this.seq);
      Atomics.notify(this.control, Ctl.SEQ);
    }

    const [start, end] = bounds[0]!;
    const own = shardGradients(this.task, loader.dataset, loader.sampleShape, batch.indices.slice(start, end), this.params);
    try {
      let loss = own.loss * own.count;
      let correct = own.correct;
      let finite = own.grads.length > 0;
      // Σ_rank count·gradient in float64, over all parameters laid end to end (as in the shared buffers).
      const acc = this.sums;
      if (finite) {
        own.grads.forEach((g, i) => {
          const v = g.values() as Float32Array;
          const off = this.offsets[i]!;
          const n = own.count;
          for (let j = 0; j < v.length; j++) acc[off + j] = n * v[j]!;
        });
      }
      for (let rank = 1; rank < this.threads; rank++) {
        this.await(
          rank,
          () => Atomics.load(this.control, doneWord(this.threads, rank)) === this.seq,
          `computing epoch ${batch.epoch + 1}, step ${this.seq}`,
        );
        const count = this.statBuf[3 * rank + 1]!;
        if (count === 0) continue;
        loss += this.statBuf[3 * rank]! * count;
        correct += this.statBuf[3 * rank + 2]!;
        if (!Number.isFinite(this.statBuf[3 * rank]!)) finite = false;
        if (finite) addScaled(acc, this.gradBuf.subarray((rank - 1) * this.total, rank * this.total), count);
      }
      const grads = finite
        ? picks.map((i) => {
            const off = this.offsets[i]!;
            const out = new Float32Array(this.sizes[i]!);
            for (let j = 0; j < out.length; j++) out[j] = acc[off + j]! / size;
            return tensor(out, this.params[i]!.shape, 'float32');
          })
        : [];
      return { grads, loss: loss / size, count: size, correct };
    } finally {
      for (const g of own.grads) g.dispose();
    }
  }

  /** Trains the main thread's model with fit over the data-parallel batches and gradients; fit's options but train, gradients and lossFn (the task's). */
  fit(options: Omit<FitOptions<ShardedBatch>, 'train' | 'gradients' | 'lossFn'>): History {
    return fit(this.model, { ...options, lossFn: this.task.lossFn, train: this.train, gradients: (b, p) => this.gradients(b, p) });
  }

  /** Stops the workers; resolves when every one has exited. Safe to call twice. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      setNumThreads(this.previousKernelThreads);
      Atomics.store(this.control, Ctl.CMD, Cmd.EXIT);
      Atomics.add(this.control, Ctl.SEQ, 1);
      Atomics.notify(this.control, Ctl.SEQ);
      for (const w of this.workers) void w.terminate();
    }
    return Promise.all(this.exited).then(() => undefined);
  }

  /** Blocks until `ready()` holds for worker `rank`; throws its error if it failed or died, or after the timeout. */
  private await(rank: number, ready: () => boolean, what: string): void {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const gen = Atomics.load(this.control, Ctl.GEN);
      const state = Atomics.load(this.control, Ctl.STATE + rank);
      if (state === State.FAILED) {
        const n = Atomics.load(this.control, errorLengthWord(this.threads, rank));
        const text = Buffer.from(this.errorBuf.slice(rank * ERROR_BYTES, rank * ERROR_BYTES + n)).toString('utf8');
        throw new Error(`DataParallel: worker ${rank} of ${this.threads - 1} failed while ${what}: ${text}`);
      }
      if (state === State.EXITED) throw new Error(`DataParallel: worker ${rank} of ${this.threads - 1} exited unexpectedly while ${what}`);
      if (ready()) return;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `DataParallel: worker ${rank} of ${this.threads - 1} gave no answer in ${this.timeoutMs} ms while ${what} (timeoutMs)`,
        );
      Atomics.wait(this.control, Ctl.GEN, gen, left);
    }
  }
}
