/**
 * DEFLATE for PNG and zip, behind a seam: fflate (pure JavaScript, 8 kB) by default, so the browser
 * entry needs no Node module; the Node entry installs Node's zlib (native, faster on large weights).
 * Every inflate is bounded: data that inflates past `maxOutput` bytes fails with code ERR_BUFFER_TOO_LARGE
 * (as Node's zlib does) after at most one chunk more than the bound was produced.
 */
import { Inflate, Unzlib, deflateSync, zlibSync } from 'fflate';

/** What io needs from a DEFLATE implementation. */
export interface Zlib {
  /** zlib-wrapped data (PNG's IDAT), inflated to at most `maxOutput` bytes. */
  inflate(data: Uint8Array, maxOutput: number): Uint8Array;
  /** Raw DEFLATE data (zip entries), inflated to at most `maxOutput` bytes. */
  inflateRaw(data: Uint8Array, maxOutput: number): Uint8Array;
  /** Raw DEFLATE compression (zip entries). */
  deflateRaw(data: Uint8Array): Uint8Array;
  /** zlib-wrapped compression at `level` 0–9 (PNG's IDAT). */
  deflate(data: Uint8Array, level: number): Uint8Array;
  /** A faster CRC-32 than the table, where the platform has one. */
  crc32?(data: Uint8Array, crc: number): number;
}

/** Input is fed in slices this long, so a bomb is stopped after at most this much input's output more than the bound. */
const SLICE = 64 * 1024;

function tooLarge(maxOutput: number): Error {
  return Object.assign(new Error(`inflated data is larger than ${maxOutput} bytes`), { code: 'ERR_BUFFER_TOO_LARGE' });
}

/** Streams `data` through an fflate inflater, refusing to produce more than `maxOutput` bytes. */
function bounded(
  make: (ondata: (chunk: Uint8Array, final: boolean) => void) => { push(d: Uint8Array, final?: boolean): void },
  data: Uint8Array,
  maxOutput: number,
): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let ended = false;
  const stream = make((chunk, final) => {
    total += chunk.length;
    if (total > maxOutput) throw tooLarge(maxOutput);
    chunks.push(chunk);
    if (final) ended = true;
  });
  if (data.length === 0) stream.push(data, true);
  for (let at = 0; at < data.length; at += SLICE) {
    const end = Math.min(data.length, at + SLICE);
    stream.push(data.subarray(at, end), end === data.length);
  }
  if (!ended) throw new Error('unexpected end of file');
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** fflate's DEFLATE: pure JavaScript, the default on every platform. */
export const portableZlib: Zlib = {
  inflate: (data, maxOutput) =>
    bounded(
      (ondata) => {
        const s = new Unzlib();
        s.ondata = ondata;
        return s;
      },
      data,
      maxOutput,
    ),
  inflateRaw: (data, maxOutput) =>
    bounded(
      (ondata) => {
        const s = new Inflate();
        s.ondata = ondata;
        return s;
      },
      data,
      maxOutput,
    ),
  deflateRaw: (data) => deflateSync(data),
  deflate: (data, level) => zlibSync(data, { level: Math.max(0, Math.min(9, Math.round(level))) as 0 }),
};

let current: Zlib = portableZlib;

/** Installs the DEFLATE implementation io uses (the Node entry installs Node's zlib). */
export function setZlib(z: Zlib): void {
  current = z;
}

/** The DEFLATE implementation in use. */
export function zlib(): Zlib {
  return current;
}
