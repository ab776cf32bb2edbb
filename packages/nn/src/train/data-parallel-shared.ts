import type { Tensor } from '@gradlens/tensor';
import type { Module } from '../module';
import { collate, type Dataset } from './data';
import { batchGradients, type BatchGradients, type LossFn } from './fit';

/**
 * What DataParallel's main thread and its workers share: the task types, the shard split, the
 * layout of the shared control words, and one shard's gradient computation. Not exported from the
 * package index (only the task types and shardBounds are, through data-parallel.ts).
 */

/** Where a thread stands: rank 0 is the main thread, 1 … threads − 1 the workers. */
export interface ParallelContext {
  rank: number;
  threads: number;
}

/** What a task module's `build` returns, in every thread. */
export interface ParallelTask {
  /**
   * The model. Every thread must build the same architecture (the same parameters, in the same
   * order and shapes, all float32); the workers' parameter values are overwritten before every step.
   */
  model: Module;
  /**
   * The training samples of a 0-based epoch (fit's epoch e reads trainSet(e − 1)). It must be a
   * pure function of (config, epoch): every thread reads the samples of its own shard from its own copy.
   */
  trainSet(epoch: number): Dataset;
  /** The mean loss over a batch (default crossEntropy). */
  lossFn?: LossFn;
}

/** The exports of a task module. */
export interface ParallelTaskModule {
  build(config: unknown, context: ParallelContext): ParallelTask;
}

/** What a worker is started with (its workerData). */
export interface WorkerSetup {
  module: string;
  config: unknown;
  rank: number;
  threads: number;
  /** Intra-op threads of this rank's kernels (cores / ranks, at least 1), so ranks × intra-op ≤ cores. */
  kernelThreads: number;
  shapes: number[][];
  sampleShape: readonly number[] | null;
  control: SharedArrayBuffer;
  indices: SharedArrayBuffer;
  params: SharedArrayBuffer;
  grads: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  errors: SharedArrayBuffer;
}

/** The layout of the control words (Int32Array over `control`). */
export const Ctl = {
  /** Bumped by the main thread to issue a command. */
  SEQ: 0,
  /** The command: STEP or EXIT. */
  CMD: 1,
  EPOCH: 2,
  /** Samples in the batch being computed. */
  SIZE: 3,
  /** Bumped (and notified) by a worker whenever its STATE or DONE word changes. */
  GEN: 4,
  /** STATE + rank: STARTING, READY, FAILED or EXITED (then doneWord and errorLengthWord, one per rank each). */
  STATE: 8,
} as const;
/** The commands of the main thread. */
export const Cmd = { STEP: 1, EXIT: 2 } as const;
/** A worker's state word. */
export const State = { STARTING: 0, READY: 1, FAILED: 2, EXITED: 3 } as const;
/** Bytes of UTF-8 error text kept per worker. */
export const ERROR_BYTES = 4096;
/** The word holding the last step a rank finished. */
export const doneWord = (threads: number, rank: number): number => Ctl.STATE + threads + rank;
/** The word holding the length of a rank's error text. */
export const errorLengthWord = (threads: number, rank: number): number => Ctl.STATE + 2 * threads + rank;
/** How many control words `threads` threads need. */
export const controlWords = (threads: number): number => Ctl.STATE + 3 * threads;

/** [start, end) of each rank's contiguous shard of a batch of `size` samples; the first `size mod threads` shards hold one more. */
export function shardBounds(size: number, threads: number): [number, number][] {
  const base = Math.floor(size / threads);
  const extra = size % threads;
  const bounds: [number, number][] = [];
  let start = 0;
  for (let r = 0; r < threads; r++) {
    const end = start + base + (r < extra ? 1 : 0);
    bounds.push([start, end]);
    start = end;
  }
  return bounds;
}

/** Loads a task module and builds its task for one thread. */
export function buildTask(modulePath: string, config: unknown, context: ParallelContext): ParallelTask {
  const mod = require(modulePath) as Partial<ParallelTaskModule>;
  if (typeof mod.build !== 'function')
    throw new Error(
      `DataParallel: the task module ${modulePath} must export a function build(config, { rank, threads }); it exports ${Object.keys(mod).join(', ') || 'nothing'}`,
    );
  const task = mod.build(config, context);
  if (!task || typeof task.trainSet !== 'function' || !task.model || typeof task.model.parameters !== 'function') {
    throw new Error(`DataParallel: build() of ${modulePath} must return { model, trainSet(epoch), lossFn? }`);
  }
  return task;
}

/**
 * One thread's shard: composes the samples at `indices` of `dataset`, runs the forward
 * and backward pass and returns the gradients of the shard's mean loss for `params`.
 */
export function shardGradients(
  task: ParallelTask,
  dataset: Dataset,
  sampleShape: readonly number[],
  indices: readonly number[],
  params: readonly Tensor[],
): BatchGradients {
  const batch = collate(dataset, indices, sampleShape);
  try {
    return batchGradients(task.model, batch, params, task.lossFn);
  } finally {
    batch.dispose();
  }
}
