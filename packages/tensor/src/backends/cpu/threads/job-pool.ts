/**
 * Worker threads for the WebAssembly kernels: each instantiates the same module on the same shared
 * memory and waits on a control block. A job (the module's run_job: a GEMM row block, a Winograd
 * transform, an im2col gather; its arguments written into the module's memory by the caller) is cut
 * into parts that the threads (the caller too) claim one at a time from a shared counter, so a thread
 * the scheduler starves on a busy machine costs at most the part it holds instead of a fixed share. Parts
 * shrink from first to last (gemm_f32.c's `part`), so the last ones claimed end close together.
 * Every output element is computed by one part with the same operations in the same order whatever the
 * split, so results are bitwise identical to one thread's whichever thread takes which part.
 */
import type { ThreadHandle, ThreadHost } from './host';

/** Control block slots (Int32). */
const GEN = 0,
  DONE = 1,
  ERR = 2,
  THREADS = 3,
  STOP = 4,
  NEXT = 5,
  JOB = 6;
/**
 * NEXT packs the generation's tag (12 bits), its part count (10) and the next part (10) into one word,
 * so a claim (compare-exchange) can only succeed for the generation whose job the control block holds.
 */
const TAG_SHIFT = 20,
  COUNT_SHIFT = 10,
  FIELD = 1023;
/** Parts per thread: enough for balance, few enough that claiming stays cheap. */
export const PARTS_PER_THREAD = 4;
/**
 * How many times a thread re-reads the control word it waits on before it sleeps (about 0.1 ms). A sleeping
 * thread takes tens of microseconds to wake (a futex, longer in a VM), and a batch-1 pass runs hundreds of jobs
 * (ResNet50: about 1100) with serial work between them: a thread that is still spinning takes the next job at
 * once. A job's parts are cut the same way either way, so results do not change.
 */
const SPIN_READS = 1 << 15;

/** The thread body (plain JavaScript, run by a ThreadHost): wait for a generation, run parts of its job, report. */
const WORKER_SOURCE = `
function start(d) {
  const ctl = new Int32Array(d.control);
  const spin = new Int32Array(d.spin);
  let run = null;
  try {
    run = new WebAssembly.Instance(d.module, { env: { memory: d.memory } }).exports.run_job;
  } catch (e) { run = null; }
  let seen = 0;
  for (;;) {
    for (let s = Atomics.load(spin, 0); s > 0 && Atomics.load(ctl, ${GEN}) === seen; s--);
    Atomics.wait(ctl, ${GEN}, seen);
    const gen = Atomics.load(ctl, ${GEN});
    if (gen === seen) continue;
    seen = gen;
    if (Atomics.load(ctl, ${STOP}) === 1) return;
    const tag = gen & 4095;
    for (;;) {
      const w = Atomics.load(ctl, ${NEXT});
      const count = (w >>> ${COUNT_SHIFT}) & ${FIELD}, i = w & ${FIELD};
      if ((w >>> ${TAG_SHIFT}) !== tag || i >= count) break;
      if (Atomics.compareExchange(ctl, ${NEXT}, w, w + 1) !== w) continue;
      try {
        if (run === null) throw new Error('instantiate failed');
        run(ctl[${JOB}], i, count);
      } catch (e) { Atomics.store(ctl, ${ERR}, 1); }
      Atomics.add(ctl, ${DONE}, 1);
      Atomics.notify(ctl, ${DONE});
    }
  }
}
`;

let spinReads = SPIN_READS;
/** The spin count as every pool's workers read it: one shared cell, made with the first pool (SharedArrayBuffer may not exist before). */
let spinCell: Int32Array | null = null;

/**
 * @internal How many reads a thread spins before it sleeps (0: sleep at once), for running workers too; for A/B
 * benchmarks. Returns the previous count.
 */
export function setSpinReads(n: number): number {
  const prev = spinReads;
  spinReads = n;
  if (spinCell !== null) Atomics.store(spinCell, 0, n);
  return prev;
}

/** The signature of the module's run_job export: part i of `count` of job `job`. */
export type RunJob = (job: number, i: number, count: number) => void;

/** A worker thread answering no generation for this long is reported as an error instead of waited on forever. */
const STALL_MS = 60_000;

/** `threads − 1` worker threads plus the caller, running parts of the module's jobs. */
export class JobPool {
  readonly threads: number;
  private readonly ctl: Int32Array;
  private readonly workers: ThreadHandle[] = [];
  /** Parts of the job in flight (0: none). */
  private count = 0;

  /** Starts `threads − 1` workers on `memory` (shared) with `module` (the kernels' module). */
  constructor(
    host: ThreadHost,
    module: unknown,
    memory: unknown,
    threads: number,
    private readonly local: RunJob,
  ) {
    this.threads = threads;
    this.ctl = new Int32Array(new SharedArrayBuffer(4 * (JOB + 1)));
    this.ctl[THREADS] = threads;
    spinCell ??= new Int32Array(new SharedArrayBuffer(4)).fill(spinReads);
    for (let rank = 1; rank < threads; rank++) {
      this.workers.push(host.start(WORKER_SOURCE, { module, memory, control: this.ctl.buffer, spin: spinCell.buffer, rank }));
    }
  }

  /**
   * Runs job `job` (its arguments already in the module's memory) in min(items, threads × 4) parts across
   * the threads; returns when every part is done.
   */
  run(job: number, items: number): void {
    this.start(job, items);
    this.finish();
  }

  /**
   * Starts job `job` on the worker threads and returns at once, so the caller can prepare the next job's data
   * (not its arguments: parts read them when they start) while they work; `finish` must follow before
   * another job starts.
   */
  start(job: number, items: number): void {
    if (this.count !== 0) throw new Error('kernel worker threads: a job started before the previous one finished');
    const ctl = this.ctl;
    ctl[JOB] = job;
    const count = Math.max(1, Math.min(FIELD, items, this.threads * PARTS_PER_THREAD));
    this.count = count;
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, ERR, 0);
    const tag = (ctl[GEN]! + 1) & 4095;
    Atomics.store(ctl, NEXT, (tag << TAG_SHIFT) | (count << COUNT_SHIFT));
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
  }

  /** Whether a started job has not been finished yet. */
  busy(): boolean {
    return this.count !== 0;
  }

  /** Claims the started job's unclaimed parts like any worker, then waits until every part is done. */
  finish(): void {
    const ctl = this.ctl;
    const count = this.count;
    if (count === 0) return;
    this.count = 0;
    const job = ctl[JOB]!;
    for (;;) {
      const w = Atomics.load(ctl, NEXT);
      const i = w & FIELD;
      if (i >= count) break;
      if (Atomics.compareExchange(ctl, NEXT, w, w + 1) !== w) continue;
      this.local(job, i, count);
      Atomics.add(ctl, DONE, 1);
    }
    let waited = 0;
    for (let d = Atomics.load(ctl, DONE); d < count; d = Atomics.load(ctl, DONE)) {
      for (let s = spinReads; s > 0 && Atomics.load(ctl, DONE) === d; s--); // the last parts are usually near done
      if (Atomics.load(ctl, DONE) !== d) continue;
      if (Atomics.wait(ctl, DONE, d, 1000) === 'timed-out' && Atomics.load(ctl, DONE) === d) {
        waited += 1000;
        if (waited >= STALL_MS)
          throw new Error(`kernel worker threads: ${count - d} of ${count} parts unfinished after ${STALL_MS / 1000} s`);
      }
    }
    if (Atomics.load(ctl, ERR) !== 0) throw new Error('kernel worker thread failed (its WebAssembly instance could not start or trapped)');
  }

  /** Tells the workers to leave their loop, then stops them. */
  close(): void {
    Atomics.store(this.ctl, STOP, 1);
    Atomics.add(this.ctl, GEN, 1);
    Atomics.notify(this.ctl, GEN);
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }
}
