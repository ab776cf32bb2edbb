/** Where the command writes: stdout for results, stderr for progress and warnings. */
export interface Streams {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
}

/**
 * A progress reporter for methods with many passes: on a terminal one line redrawn in place
 * (`label  45/128  35%  2.1s`); otherwise a line at each quarter, so logs stay short.
 */
export function progressReporter(streams: Streams, label: string): { update: (done: number, total: number) => void; end: () => void } {
  const start = Date.now();
  const tty = streams.stderr.isTTY === true;
  let lastQuarter = -1;
  let shown = false;
  let lastDraw = 0;
  const line = (done: number, total: number): string => {
    const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
    return `${label}  ${done}/${total}  ${pct}%  ${((Date.now() - start) / 1000).toFixed(1)}s`;
  };
  return {
    update(done, total) {
      if (tty) {
        const now = Date.now();
        if (done < total && now - lastDraw < 100) return;
        lastDraw = now;
        streams.stderr.write(`\r${line(done, total)}\x1b[K`);
        shown = true;
        return;
      }
      const q = total > 0 ? Math.floor((4 * done) / total) : 4;
      if (q > lastQuarter && q > 0) {
        lastQuarter = q;
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
