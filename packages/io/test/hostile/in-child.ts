/** Runs one reader call of the hostile-input suites in a child process (child.js), with bounded heap and time. */
import { spawnSync } from 'child_process';
import * as path from 'path';
import type { ReadLimits } from '../../src';

const CHILD = path.join(__dirname, 'child.js');

/** What happened in the child: the data's summary or the error, the time, and the peak memory (and the peak it started with). */
export interface ChildOutcome {
  ok: boolean;
  summary?: string;
  name?: string;
  message?: string;
  ms: number;
  maxRssMiB: number;
  startRssMiB: number;
}

/** Runs `reader(file, { limits })` in a child process with a 256 MiB V8 heap and 60 s at most. */
export function inChild(reader: string, file: string, limits?: Partial<ReadLimits>): ChildOutcome {
  const args = ['--max-old-space-size=256', CHILD, reader, file, ...(limits ? [JSON.stringify(limits)] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  if (r.status !== 0)
    throw new Error(`child for ${reader}(${file}) died: status ${String(r.status)} signal ${String(r.signal)}: ${r.stderr.slice(0, 500)}`);
  return JSON.parse(r.stdout) as ChildOutcome;
}
