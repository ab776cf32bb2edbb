/** Where the command writes: stdout for results, stderr for progress and warnings. */
export interface Streams {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
}

/** A duration in seconds as people read it: `45s`, `3m 20s`, `1h 05m`. */
export function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.round(s - 60 * m)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** What a progress reporter needs to know of the work: how many inputs go into one pass. */
export interface ProgressOptions {
  /** Inputs per forward pass (the methods' batch size), to say how many passes the work is. */
  batchSize?: number;
  /** What `total` counts (default 'inputs'). */
  unit?: string;
  /** Time source (ms), for tests. */
  now?: () => number;
  /** On a pipe or file: write a line at least this often (ms; default 5000), besides each quarter. */
  every?: number;
}

/**
 * A progress reporter for methods with many passes. After the first pass it says how many passes
 * the work is and estimates the whole from that pass's time; then, on a terminal, one line redrawn in
 * place (`label  45/128  35%  2.1s, about 4.0s left`), otherwise a line at each quarter and at least
 * every five seconds, so logs stay short and a long run never goes quiet.
 */
export function progressReporter(
  streams: Streams,
  label: string,
  options: ProgressOptions = {},
): { update: (done: number, total: number) => void; end: () => void } {
  const now = options.now ?? Date.now;
  const every = options.every ?? 5000;
  const start = now();
  const tty = streams.stderr.isTTY === true;
  let lastQuarter = -1;
  let shown = false;
  let lastDraw = start;
  let announced = false;
  // the rate after the first pass leaves out the set-up the first pass carries (a clean forward pass, warm-up)
  let first: { t: number; done: number } | null = null;
  const left = (done: number, total: number): string => {
    if (done <= 0 || done >= total) return '';
    const t = now();
    const perUnit = first && done > first.done ? (t - first.t) / (done - first.done) : (t - start) / done;
    return `, about ${duration((perUnit * (total - done)) / 1000)} left`;
  };
  const line = (done: number, total: number): string => {
    const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
    return `${label}  ${done}/${total}  ${pct}%  ${duration((now() - start) / 1000)}${left(done, total)}`;
  };
  return {
    update(done, total) {
      const t = now();
      if (!announced && done > 0 && done < total) {
        announced = true;
        first = { t, done };
        const took = (t - start) / 1000;
        const b = options.batchSize;
        const passes = b ? ` in ${Math.ceil(total / b)} passes of up to ${b}` : '';
        streams.stderr.write(
          `${tty && shown ? '\n' : ''}${label}: ${total} ${options.unit ?? 'inputs'}${passes}; the first ${done} took ${duration(took)}, so about ${duration((took * total) / done)} in all (the first carries the set-up; later lines refine it)\n`,
        );
        lastDraw = t;
        shown = false;
        if (!tty) return;
      }
      if (tty) {
        if (done < total && t - lastDraw < 100) return;
        lastDraw = t;
        streams.stderr.write(`\r${line(done, total)}\x1b[K`);
        shown = true;
        return;
      }
      const q = total > 0 ? Math.floor((4 * done) / total) : 4;
      if ((q > lastQuarter && q > 0) || t - lastDraw >= every) {
        lastQuarter = Math.max(lastQuarter, q);
        lastDraw = t;
        streams.stderr.write(`${line(done, total)}\n`);
      }
    },
    end() {
      if (tty && shown) streams.stderr.write('\n');
    },
  };
}

/** Seconds since `start` (a Date.now() value), formatted `12.3s`. */
export function seconds(start: number): string {
  return `${((Date.now() - start) / 1000).toFixed(1)}s`;
}
