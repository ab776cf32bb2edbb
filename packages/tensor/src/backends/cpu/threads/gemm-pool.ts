/**
 * Worker threads for the WebAssembly GEMM: each instantiates the same module on the same shared memory
 * and waits on a control block; one GEMM row block is cut by B panels into contiguous ranges, one per
 * thread (the caller takes the first). The ranges depend only on the thread count, and every element of C
 * is computed by one thread with the same operations in the same order as on one thread, so results are
 * bitwise identical to one thread's whatever the count.
 */
import type { ThreadHandle, ThreadHost } from './host';

/** Control block slots (Int32). */
const GEN = 0, DONE = 1, ERR = 2, THREADS = 3, STOP = 4, ARGS = 5;
const N_ARGS = 10; // K, KC, mPad, i0, rPanels, sPanels, ap, bp, c, ldc

/** The thread body (plain JavaScript, run by a ThreadHost): wait for a generation, run its share, report. */
const WORKER_SOURCE = `
function start(d) {
  const ctl = new Int32Array(d.control);
  let run = null;
  try {
    run = new WebAssembly.Instance(d.module, { env: { memory: d.memory } }).exports.gemm_depth;
  } catch (e) { run = null; }
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, ${GEN}, seen);
    const gen = Atomics.load(ctl, ${GEN});
    if (gen === seen) continue;
    seen = gen;
    if (Atomics.load(ctl, ${STOP}) === 1) return;
    try {
      if (run === null) throw new Error('instantiate failed');
      const n = ctl[${THREADS}], s = ctl[${ARGS + 5}], rank = d.rank;
      const b = Math.floor(s * rank / n), e = Math.floor(s * (rank + 1) / n);
      if (e > b) run(ctl[${ARGS}], ctl[${ARGS + 1}], ctl[${ARGS + 2}], ctl[${ARGS + 3}], ctl[${ARGS + 4}], b, e, ctl[${ARGS + 6}], ctl[${ARGS + 7}], ctl[${ARGS + 8}], ctl[${ARGS + 9}]);
    } catch (e) { Atomics.store(ctl, ${ERR}, 1); }
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
  }
}
`;

/** The signature of the module's gemm_depth export. */
export type GemmDepth = (K: number, KC: number, mPad: number, i0: number, rPanels: number, sBegin: number, sEnd: number, ap: number, bp: number, c: number, ldc: number) => void;

/** A worker thread answering no generation for this long is reported as an error instead of waited on forever. */
const STALL_MS = 60_000;

/** `threads − 1` worker threads plus the caller, running gemm_depth over split B-panel ranges. */
export class GemmPool {
  readonly threads: number;
  private readonly ctl: Int32Array;
  private readonly workers: ThreadHandle[] = [];

  /** Starts `threads − 1` workers on `memory` (shared) with `module` (the GEMM module). */
  constructor(host: ThreadHost, module: unknown, memory: unknown, threads: number, private readonly local: GemmDepth) {
    this.threads = threads;
    this.ctl = new Int32Array(new SharedArrayBuffer(4 * (ARGS + N_ARGS)));
    this.ctl[THREADS] = threads;
    for (let rank = 1; rank < threads; rank++) {
      this.workers.push(host.start(WORKER_SOURCE, { module, memory, control: this.ctl.buffer, rank }));
    }
  }

  /** gemm_depth over B panels [0, sPanels), split across the threads; returns when every share is done. */
  run(K: number, KC: number, mPad: number, i0: number, rPanels: number, sPanels: number, ap: number, bp: number, c: number, ldc: number): void {
    const ctl = this.ctl;
    const args = [K, KC, mPad, i0, rPanels, sPanels, ap, bp, c, ldc];
    for (let i = 0; i < N_ARGS; i++) ctl[ARGS + i] = args[i]!;
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, ERR, 0);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    const n = this.threads;
    const end = Math.floor(sPanels / n);
    if (end > 0) this.local(K, KC, mPad, i0, rPanels, 0, end, ap, bp, c, ldc);
    const want = this.workers.length;
    let waited = 0;
    for (let d = Atomics.load(ctl, DONE); d < want; d = Atomics.load(ctl, DONE)) {
      if (Atomics.wait(ctl, DONE, d, 1000) === 'timed-out' && Atomics.load(ctl, DONE) === d) {
        waited += 1000;
        if (waited >= STALL_MS) throw new Error(`GEMM worker threads: ${want - d} of ${want} did not answer in ${STALL_MS / 1000} s`);
      }
    }
    if (Atomics.load(ctl, ERR) !== 0) throw new Error('GEMM worker thread failed (its WebAssembly instance could not start or trapped)');
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
