/**
 * Synchronous code on asynchronous results. gpu.js's WebGPU results arrive later (a buffer is read with
 * mapAsync), and a worker cannot block until they do, yet the methods read results synchronously
 * (`dataSync()`, `item()`, a CPU kernel's `values()`) a few times per call — the target's logit, a batch's
 * gradients, the final map. `awaitReads(fn)` runs such code unchanged: where `fn` reads a result still on
 * its way, that read throws a `PendingRead` that unwinds `fn` (its `tidy` scopes free what it made), the
 * value is awaited, and `fn` runs again from the start with that read — and every earlier one — answered
 * from the log of values already read. A run that reads nothing pending is the last one, so on the CPU and
 * in webgl2 `fn` runs once, and a method with k pending reads runs k + 1 times.
 *
 * Replaying is sound when `fn` does the same work given the same values read: the default random
 * generator is put back to its state at the start of every run, and each answered read must have the
 * size and dtype logged for it, or the replay stops with an error. The replayed part costs little on the
 * device: the launch memo (launch-memo.ts) hands each repeated kernel launch the previous run's result.
 */
import { defaultGenerator, tidy } from '@gradlens/tensor';
import type { DType, TensorContainer, TypedArray } from '@gradlens/tensor';

/** What a run threw at a read whose value is still on its way. */
export class PendingRead extends Error {
  constructor(readonly value: Promise<TypedArray>) {
    super('gpujs (webgpu mode): a synchronous read of a result still on its way (awaitReads runs the code again once it has arrived)');
  }
}

/** What a replay tells those that keep state across its runs (the launch memo): run k started (from 1), the replay ended. */
export interface ReplayObserver {
  runStarted(k: number): void;
  replayEnded(): void;
}

const observers = new Set<ReplayObserver>();

/** Registers an observer of every replay; returns the call that unregisters it. */
export function observeReplays(o: ReplayObserver): () => void {
  observers.add(o);
  return () => observers.delete(o);
}

interface ReplayRun {
  /** The values the pending reads of results made in earlier runs got, in the order they were read. */
  log: TypedArray[];
  next: number;
  /** Values read from storages made before the first run (the input, say): answered by identity, not order. */
  before: Map<object, TypedArray>;
  /** Storages with a serial up to this one existed before the first run. */
  firstSerial: number;
  /** The serial counter when this run started: a storage's serial less this is its order in the run. */
  runSerial: number;
  /** The read this run stopped at (set even where the code caught the PendingRead and threw something else). */
  stoppedAt: { value: Promise<TypedArray>; storage: object | null } | null;
}

let run: ReplayRun | null = null;
let serials = 0;

/** A serial number for a new storage: tells the storages a run made from those that existed before it. */
export function nextStorageSerial(): number {
  return ++serials;
}

/**
 * A storage's synchronous read of a value still on its way: the logged value under `awaitReads`, else
 * a PendingRead that ends the run there; outside `awaitReads`, an error saying how to read it.
 */
export function readPending(
  storage: { readonly serial: number },
  later: () => Promise<TypedArray>,
  size: number,
  dtype: DType,
): TypedArray {
  if (!run) {
    throw new Error(
      'gpujs (webgpu mode): results arrive asynchronously; read them with `await tensor.data()`, or run the code under awaitReads()',
    );
  }
  if (run.stoppedAt) throw new PendingRead(run.stoppedAt.value);
  // a storage older than the replay is the same object in every run (and its tensor keeps what it read)
  const made = storage.serial > run.firstSerial;
  const logged = made ? run.log[run.next] : run.before.get(storage);
  if (logged === undefined) {
    run.stoppedAt = { value: later(), storage: made ? null : storage };
    throw new PendingRead(run.stoppedAt.value);
  }
  if (logged.length !== size || dtypeOf(logged) !== dtype) {
    throw new Error(
      `awaitReads: read ${run.next + 1} of the replay is ${size} ${dtype} values, but the first run read ${logged.length} ${dtypeOf(logged)} there: the code did not repeat its work`,
    );
  }
  if (made) run.next++;
  return logged;
}

/**
 * How a launch memo names a storage under `awaitReads`: by its order in the current run (the same in every
 * run of a replay), or by identity when it is older than the replay; null outside `awaitReads`.
 */
export function replayKey(serial: number): string | null {
  if (!run) return null;
  return serial > run.firstSerial ? `r${serial - run.runSerial}` : `b${serial}`;
}

function dtypeOf(a: TypedArray): DType {
  return a instanceof Float32Array ? 'float32' : a instanceof Float64Array ? 'float64' : a instanceof Int32Array ? 'int32' : 'bool';
}

/**
 * Runs `fn`, which reads results synchronously, where results may arrive asynchronously (gpu.js's WebGPU
 * mode), and resolves to its result: `fn` runs again after each read of a pending value, with the values
 * read so far answered from a log (see above). Runs once where nothing is pending. Tensors `fn` makes are
 * freed unless they are part of its result. `onRun(k)` is told when run k (from 1) starts.
 */
export async function awaitReads<T>(fn: () => T, onRun?: (k: number) => void): Promise<T> {
  if (run) throw new Error('awaitReads: already replaying; calls do not nest');
  const log: TypedArray[] = [];
  const before = new Map<object, TypedArray>();
  const firstSerial = serials;
  const random = defaultGenerator.saveState();
  try {
    for (let k = 1; ; k++) {
      onRun?.(k);
      for (const o of observers) o.runStarted(k);
      defaultGenerator.restoreState(random);
      const current: ReplayRun = { log, next: 0, before, firstSerial, runSerial: serials, stoppedAt: null };
      run = current;
      let result: T | undefined;
      try {
        result = tidy(fn as () => TensorContainer) as T;
      } catch (e) {
        if (!current.stoppedAt) throw e;
      } finally {
        run = null;
      }
      // a PendingRead that the code swallowed still means this run used no value there: run again
      const stop = current.stoppedAt;
      if (!stop) return result as T;
      const value = await stop.value;
      if (stop.storage) before.set(stop.storage, value);
      else log.push(value);
    }
  } finally {
    for (const o of observers) o.replayEnded();
  }
}
