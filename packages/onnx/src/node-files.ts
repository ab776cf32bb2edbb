/** @gradlens/onnx's file access under Node: the model file through io's reading policy, external data beside it. */
import * as fs from 'fs';
import * as path from 'path';
import { readRegularFile } from '@gradlens/io';
import type { ExternalEntries, OnnxFileAccess } from './files';

/** Reads through Node's file system; external data must stay inside the model's folder (no `..`, no link out). */
export const nodeFileAccess: OnnxFileAccess = {
  readModel(file: string) {
    const resolved = path.resolve(file);
    const st = fs.statSync(resolved, { throwIfNoEntry: false });
    if (st?.isFile() && st.size > 2 ** 31 - 1)
      throw new Error(
        `${st.size} bytes is over protobuf's 2 GiB limit for one message; large models keep their weights in external data files`,
      );
    // io's reading policy: regular files only, the byte budget checked before allocating.
    return { bytes: readRegularFile(resolved), path: resolved, dir: path.dirname(resolved) };
  },

  readExternal(baseDir: string, entries: ExternalEntries, expected: number, what: string): Uint8Array {
    const { location } = entries;
    const base = fs.realpathSync(baseDir);
    const file = path.resolve(base, location);
    const rel = path.relative(base, file);
    if (path.isAbsolute(location) || rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new Error(`${what}: external data location '${location}' is outside the model's folder ${base}; refused`);
    }
    if (!fs.existsSync(file)) throw new Error(`${what}: external data file ${file} is missing`);
    const real = fs.realpathSync(file);
    if (path.relative(base, real).startsWith('..'))
      throw new Error(`${what}: external data file ${file} links outside the model's folder; refused`);
    // opened without blocking: a FIFO named as external data must be refused, not waited on for ever
    const fd = fs.openSync(real, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new Error(`${what}: external data ${file} is not a regular file`);
      const offset = Number(entries.offset ?? 0);
      const length = entries.length === undefined ? expected : Number(entries.length);
      if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
        throw new Error(`${what}: external data offset '${entries.offset}' or length '${entries.length}' is not a non-negative integer`);
      }
      if (length !== expected)
        throw new Error(`${what}: external data length ${length} does not match its shape and type (${expected} bytes)`);
      if (offset + length > st.size)
        throw new Error(`${what}: external data ${file} holds ${st.size} bytes, the tensor needs bytes ${offset}..${offset + length}`);
      // Allocated from the declared size, checked against the file's size above; read in chunks (readSync caps one call at 2 GiB).
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = fs.readSync(fd, out, done, Math.min(length - done, 1 << 30), offset + done);
        if (n <= 0) throw new Error(`${what}: external data ${file} ended early`);
        done += n;
      }
      return out;
    } finally {
      fs.closeSync(fd);
    }
  },
};
