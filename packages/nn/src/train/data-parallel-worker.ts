/**
 * The entry of a DataParallel worker thread (started by DataParallel, never imported): builds the
 * task from its module, then loops: wait for a command, copy the parameters in, compute this rank's
 * shard of the batch, write its gradients and statistics out, report done.
 */
import { assign } from '@gradlens/tensor';
import { isMainThread, workerData } from 'worker_threads';
import { setNumThreads } from '@gradlens/tensor';
import type { Dataset } from './data';
import { DataLoader } from './data';
import {
  buildTask,
  Cmd,
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

function run(setup: WorkerSetup): void {
  const { rank, threads } = setup;
  const control = new Int32Array(setup.control);
  const indexBuf = new Int32Array(setup.indices);
  const paramBuf = new Float32Array(setup.params);
  const gradBuf = new Float32Array(setup.grads);
  const statBuf = new Float64Array(setup.stats);
  const errorBuf = new Uint8Array(setup.errors);
  let finished = false;

  const report = (state: number): void => {
    Atomics.store(control, Ctl.STATE + rank, state);
    Atomics.add(control, Ctl.GEN, 1);
    Atomics.notify(control, Ctl.GEN);
  };
  const fail = (e: unknown): void => {
    const text = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
    const bytes = Buffer.from(text, 'utf8').subarray(0, ERROR_BYTES);
    errorBuf.set(bytes, rank * ERROR_BYTES);
    Atomics.store(control, errorLengthWord(threads, rank), bytes.length);
    finished = true;
    report(State.FAILED);
  };
  // A task that calls process.exit, or anything else that ends the thread: the main thread must not wait for it.
  process.on('exit', () => {
    if (!finished) report(State.EXITED);
  });

  try {
    setNumThreads(setup.kernelThreads);
    const task: ParallelTask = buildTask(setup.module, setup.config, { rank, threads });
    const params = task.model.parameters();
    const shapes = params.map((p) => [...p.shape]);
    if (
      shapes.length !== setup.shapes.length ||
      shapes.some((s, i) => s.join() !== setup.shapes[i]!.join()) ||
      params.some((p) => p.dtype !== 'float32')
    ) {
      throw new Error(
        `the model built in worker ${rank} has parameters ${JSON.stringify(shapes)}, the main thread's ${JSON.stringify(setup.shapes)} (build must give every thread the same float32 architecture)`,
      );
    }
    const offsets: number[] = [];
    let total = 0;
    for (const p of params) {
      offsets.push(total);
      total += p.size;
    }
    task.model.train();
    type EpochData = { epoch: number; dataset: Dataset; sampleShape: readonly number[] };
    let current: EpochData | undefined;
    report(State.READY);

    let seen = 0;
    for (;;) {
      Atomics.wait(control, Ctl.SEQ, seen);
      seen = Atomics.load(control, Ctl.SEQ);
      if (Atomics.load(control, Ctl.CMD) !== Cmd.STEP) break;
      const epoch = Atomics.load(control, Ctl.EPOCH);
      const size = Atomics.load(control, Ctl.SIZE);
      if (current === undefined || current.epoch !== epoch) {
        const dataset = task.trainSet(epoch);
        current = { epoch, dataset, sampleShape: new DataLoader(dataset, { sampleShape: setup.sampleShape ?? undefined }).sampleShape };
      }
      const [start, end] = shardBounds(size, threads)[rank]!;
      let loss = 0;
      let correct = 0;
      if (end > start) {
        params.forEach((p, i) => assign(p, paramBuf.subarray(offsets[i]!, offsets[i]! + p.size)));
        const step = shardGradients(task, current.dataset, current.sampleShape, Array.from(indexBuf.subarray(start, end)), params);
        try {
          loss = step.loss;
          correct = step.correct;
          const base = (rank - 1) * total;
          step.grads.forEach((g, i) => gradBuf.set(g.values() as Float32Array, base + offsets[i]!));
        } finally {
          for (const g of step.grads) g.dispose();
        }
      }
      statBuf[3 * rank] = loss;
      statBuf[3 * rank + 1] = end - start;
      statBuf[3 * rank + 2] = correct;
      Atomics.store(control, doneWord(threads, rank), seen);
      Atomics.add(control, Ctl.GEN, 1);
      Atomics.notify(control, Ctl.GEN);
    }
    finished = true;
    report(State.EXITED);
  } catch (e) {
    fail(e);
  }
}

if (!isMainThread) run(workerData as WorkerSetup);
