/**
 * Worker threads for the WebAssembly GEMM: each instantiates the same module on the same shared memory
 * and waits on a control block; one GEMM row block is cut by B panels into chunks that the threads (the
 * caller too) claim one at a time from a shared counter, so a thread the scheduler starves on a busy
 * machine costs at most the chunk it holds instead of a fixed share. Every element of C is computed by
 * one thread with the same operations in the same order as on one thread, so results are bitwise
 * identical to one thread's whichever thread takes which chunk.
 */
import type { ThreadHandle, ThreadHost } from './host';

/** Control block slots (Int32). */
const GEN = 0,
  DONE = 1,
  ERR = 2,
  THREADS = 3,
  STOP = 4,
  NEXT = 5,
  ARGS = 6;
/**
 * NEXT packs the generation's tag (12 bits), its chunk count (10) and the next chunk (10) into one word,
 * so a claim (compare-exchange) can only succeed for the generation whose arguments the control block holds.
 */
const TAG_SHIFT = 20,
  COUNT_SHIFT = 10,
  FIELD = 1023;
/** Chunks per thread: enough for balance, few enough that claiming stays cheap. */
const CHUNKS_PER_THREAD = 4;
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
    const tag = gen & 4095;
    for (;;) {
      const w = Atomics.load(ctl, ${NEXT});
      const count = (w >>> ${COUNT_SHIFT}) & ${FIELD}, i = w & ${FIELD};
      if ((w >>> ${TAG_SHIFT}) !== tag || i >= count) break;
      if (Atomics.compareExchange(ctl, ${NEXT}, w, w + 1) !== w) continue;
      try {
        if (run === null) throw new Error('instantiate failed');
        const s = ctl[${ARGS + 5}];
        const b = Math.floor(s * i / count), e = Math.floor(s * (i + 1) / count);
        if (e > b) run(ctl[${ARGS}], ctl[${ARGS + 1}], ctl[${ARGS + 2}], ctl[${ARGS + 3}], ctl[${ARGS + 4}], b, e, ctl[${ARGS + 6}], ctl[${ARGS + 7}], ctl[${ARGS + 8}], ctl[${ARGS + 9}]);
      } catch (e) { Atomics.store(ctl, ${ERR}, 1); }
      Atomics.add(ctl, ${DONE}, 1);
      Atomics.notify(ctl, ${DONE});
    }
  }
}
`;

/** The signature of the module's gemm_depth export. */
export type GemmDepth = (
  K: number,
  KC: number,
  mPad: number,
  i0: number,
  rPanels: number,
  sBegin: number,
  sEnd: number,
  ap: number,
  bp: number,
  c: number,
  ldc: number,
) => void;

/** A worker thread answering no generation for this long is reported as an error instead of waited on forever. */
const STALL_MS = 60_000;

/** `threads − 1` worker threads plus the caller, running gemm_depth over split B-panel ranges. */
export class GemmPool {
  readonly threads: number;
  private readonly ctl: Int32Array;
  private readonly workers: ThreadHandle[] = [];

  /** Starts `threads − 1` workers on `memory` (shared) with `module` (the GEMM module). */
  constructor(
    host: ThreadHost,
    module: unknown,
    memory: unknown,
    threads: number,
    private readonly local: GemmDepth,
  ) {
    this.threads = threads;
    this.ctl = new Int32Array(new SharedArrayBuffer(4 * (ARGS + N_ARGS)));
    this.ctl[THREADS] = threads;
    for (let rank = 1; rank < threads; rank++) {
      this.workers.push(host.start(WORKER_SOURCE, { module, memory, control: this.ctl.buffer, rank }));
    }
  }

  /** gemm_depth over B panels [0, sPanels), split across the threads; returns when every share is done. */
  run(
    K: number,
    KC: number,
    mPad: number,
    i0: number,
    rPanels: number,
    sPanels: number,
    ap: number,
    bp: number,
    c: number,
    ldc: number,
  ): void {
    const ctl = this.ctl;
    const args = [K, KC, mPad, i0, rPanels, sPanels, ap, bp, c, ldc];
    for (let i = 0; i < N_ARGS; i++) ctl[ARGS + i] = args[i]!;
    const count = Math.min(FIELD, sPanels, this.threads * CHUNKS_PER_THREAD);
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, ERR, 0);
    const tag = (ctl[GEN]! + 1) & 4095;
    Atomics.store(ctl, NEXT, (tag << TAG_SHIFT) | (count << COUNT_SHIFT));
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    // The caller claims chunks like any worker.
    for (;;) {
      const w = Atomics.load(ctl, NEXT);
      const i = w & FIELD;
      if (i >= count) break;
      if (Atomics.compareExchange(ctl, NEXT, w, w + 1) !== w) continue;
      const b = Math.floor((sPanels * i) / count),
        e = Math.floor((sPanels * (i + 1)) / count);
      if (e > b) this.local(K, KC, mPad, i0, rPanels, b, e, ap, bp, c, ldc);
      Atomics.add(ctl, DONE, 1);
    }
    const want = count;
    let waited = 0;
    for (let d = Atomics.load(ctl, DONE); d < want; d = Atomics.load(ctl, DONE)) {
      if (Atomics.wait(ctl, DONE, d, 1000) === 'timed-out' && Atomics.load(ctl, DONE) === d) {
        waited += 1000;
        if (waited >= STALL_MS) throw new Error(`GEMM worker threads: ${want - d} of ${want} chunks unfinished after ${STALL_MS / 1000} s`);
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
