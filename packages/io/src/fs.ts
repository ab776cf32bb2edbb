import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { ReadLimits } from './read-policy';
import { readRegularFile } from './read-file';

const TEMP_SUFFIX = '.gradlens-tmp';
/** stat's codes for "not there": ENOTDIR when a file stands where a folder of the path should be. */
const MISSING = new Set(['ENOENT', 'ENOTDIR']);

/**
 * Creates `dir` and its missing parents, one level at a time. (Node's `mkdirSync(…, { recursive })`
 * never returns on some pseudo file systems, e.g. `/proc/x`; a plain mkdir fails there at once.)
 */
export function ensureDir(dir: string): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(d);
    } catch (err) {
      if (!MISSING.has((err as NodeJS.ErrnoException).code ?? ''))
        throw new Error(`cannot create folder ${dir}: ${(err as Error).message}`);
    }
    if (stat) {
      if (!stat.isDirectory()) throw new Error(`cannot create folder ${dir}: ${d} exists and is not a folder`);
      break;
    }
    missing.push(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create folder ${dir}: ${(err as Error).message}`);
    }
  }
}

/** Removes temporary files that an earlier, killed writer of `base` left in `dir` (its process is gone). */
function removeStaleTemporaries(dir: string, base: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const prefix = `.${base}.`;
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(TEMP_SUFFIX)) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
    try {
      fs.unlinkSync(path.join(dir, name)); // unlink removes a symlink itself, never its target
    } catch {
      // another process cleaned it first, or the folder is read-only: nothing to do
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Writes `data` to `file` whole or not at all: it goes to a new temporary file in the same folder
 * (random name, exclusive creation, symlinks not followed), which is then renamed into place, so a
 * crash never leaves half a file behind and a planted symlink cannot redirect the write. The folder
 * is created when missing; the temporary file is removed on every error.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  const base = path.basename(target);
  const fail = (why: string): Error => new Error(`cannot write ${file}: ${why}`);
  let existing: fs.Stats | undefined;
  try {
    existing = fs.lstatSync(target);
  } catch {
    existing = undefined;
  }
  if (existing && !existing.isFile() && !existing.isSymbolicLink()) throw fail('it exists and is not a regular file');
  ensureDir(dir);
  removeStaleTemporaries(dir, base);
  const tmp = path.join(dir, `.${base}.${process.pid}.${randomBytes(8).toString('hex')}${TEMP_SUFFIX}`);
  let fd: number | undefined;
  try {
    // O_EXCL with O_CREAT fails on any existing name, a symlink included; O_NOFOLLOW says so twice
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | (fs.constants.O_NOFOLLOW ?? 0), 0o644);
  } catch (err) {
    throw fail((err as Error).message);
  }
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let at = 0;
    while (at < bytes.length) at += fs.writeSync(fd, bytes, at, bytes.length - at);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw fail((err as Error).message);
  }
}

/**
 * Reads a whole regular file (see `readRegularFile`: no directories, devices or FIFOs, a size
 * limit), with an error that names the file when it cannot be read.
 */
export function readFileNamed(file: string, limits?: Partial<ReadLimits>): Uint8Array {
  return readRegularFile(file, limits);
}

/**
 * Checks, without leaving anything behind, that files can later be written into folder `dir`:
 * an existing `dir` must be a writable folder; a missing one must be creatable (its first missing
 * level is made and removed again). Commands call this before long work, then write lazily.
 */
export function checkOutputFolder(dir: string): void {
  const fail = (why: string): Error => new Error(`cannot write into the output folder ${dir}: ${why}`);
  let d = path.resolve(dir);
  let firstMissing: string | undefined;
  for (;;) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(d);
    } catch (err) {
      if (!MISSING.has((err as NodeJS.ErrnoException).code ?? '')) throw fail((err as Error).message);
    }
    if (stat) {
      if (!stat.isDirectory()) throw fail(`${d} is not a folder`);
      try {
        fs.accessSync(d, fs.constants.W_OK);
      } catch {
        throw fail(`${d} is not writable`);
      }
      break;
    }
    firstMissing = d;
    if (path.dirname(d) === d) break;
    d = path.dirname(d);
  }
  if (firstMissing === undefined) return;
  try {
    fs.mkdirSync(firstMissing);
  } catch (err) {
    throw fail((err as Error).message);
  }
  fs.rmdirSync(firstMissing);
}
