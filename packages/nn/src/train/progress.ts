/** Where progress goes: process.stderr, the console in a browser, or anything with `write` (tests capture it). */
export interface ProgressStream {
  write(text: string): unknown;
  /** A terminal gets one line redrawn with \r; anything else gets one line per epoch. */
  isTTY?: boolean;
  /** Terminal width in characters (the bar is shortened to fit). */
  columns?: number;
}

export interface ProgressOptions {
  /** Default process.stderr; where there is no `process` (a browser), the console. */
  stream?: ProgressStream;
  /** Overrides stream.isTTY. */
  tty?: boolean;
  /** Least milliseconds between two redraws on a terminal (default 100; the last batch is always drawn). */
  minIntervalMs?: number;
  /** The clock, in milliseconds (tests pass a fake one). */
  now?: () => number;
}

/** What an epoch's closing line reports. */
export interface EpochLine {
  epoch: number;
  epochs: number;
  batches: number;
  seconds: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  lr: number;
}

/**
 * process.stderr under Node; in a browser (no `process`), a stream that logs each line to the console
 * (not a terminal, so it gets the one summary line per epoch).
 */
export function defaultProgressStream(global: object = globalThis): ProgressStream {
  const proc = (global as { process?: { stderr?: ProgressStream } }).process;
  if (proc?.stderr) return proc.stderr;
  return { write: (text: string) => console.log(text.replace(/\n$/, '')), isTTY: false };
}

/** Seconds as 12s, 3m05s or 1h02m. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const pct = (a: number): string => (Number.isFinite(a) ? `${(100 * a).toFixed(1)}%` : '-');
const num = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : String(x));

/**
 * The training progress display. On a terminal: `epoch 2/10 [#####-----] 12/50 ETA 3s loss 0.4321
 * acc 87.5%`, redrawn in place with \r, replaced at the end of the epoch by the epoch's summary
 * line. Elsewhere (a log file, CI): only the summary line, once per epoch.
 */
export class ProgressBar {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly minInterval: number;
  private readonly now: () => number;
  private lastDraw = -Infinity;
  private lastWidth = 0;
  private epochStart = 0;

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? defaultProgressStream();
    this.tty = options.tty ?? this.stream.isTTY === true;
    this.minInterval = options.minIntervalMs ?? 100;
    this.now = options.now ?? (() => Date.now());
  }

  /** Marks the start of an epoch (for the ETA). */
  startEpoch(): void {
    this.epochStart = this.now();
    this.lastDraw = -Infinity;
  }

  /** After batch `done` of `total`: redraws the bar on a terminal, at most every minIntervalMs. */
  update(epoch: number, epochs: number, done: number, total: number, loss: number, accuracy: number): void {
    if (!this.tty) return;
    const t = this.now();
    if (done < total && t - this.lastDraw < this.minInterval) return;
    this.lastDraw = t;
    const elapsed = (t - this.epochStart) / 1000;
    const eta = done > 0 ? (elapsed / done) * (total - done) : NaN;
    const width = 20;
    const filled = total > 0 ? Math.round((width * done) / total) : width;
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
    this.draw(`epoch ${epoch}/${epochs} ${bar} ${done}/${total} ETA ${formatDuration(eta)} loss ${num(loss)} acc ${pct(accuracy)}`);
  }

  /** Writes the epoch's summary line (replacing the bar on a terminal). */
  endEpoch(s: EpochLine): void {
    let line = `epoch ${s.epoch}/${s.epochs} ${s.batches}/${s.batches} ${s.seconds.toFixed(1)}s loss ${num(s.loss)} acc ${pct(s.accuracy)}`;
    if (s.valLoss !== undefined) line += ` val_loss ${num(s.valLoss)}`;
    if (s.valAccuracy !== undefined) line += ` val_acc ${pct(s.valAccuracy)}`;
    line += ` lr ${s.lr.toPrecision(3)}`;
    if (this.tty) this.draw(line);
    else this.stream.write(line);
    this.stream.write('\n');
    this.lastWidth = 0;
  }

  private draw(line: string): void {
    const cols = this.stream.columns;
    const text = cols && line.length >= cols ? line.slice(0, cols - 1) : line;
    this.stream.write(`\r${text}${' '.repeat(Math.max(0, this.lastWidth - text.length))}`);
    this.lastWidth = text.length;
  }
}
