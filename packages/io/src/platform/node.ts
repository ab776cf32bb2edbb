/** Node's implementations of io's platform seams (files, zlib, PNG encoding); imported only by the Node entry. */
import * as nodeZlib from 'zlib';
import { readRegularFile } from '../read-file';
import { writeFileAtomic } from '../fs';
import type { FileAccess } from './files';
import type { Zlib } from './zlib';

/** Node's file system, with io's reading policy (regular files only, size limits) and atomic writes. */
export const nodeFiles: FileAccess = { readRegularFile, writeFileAtomic };

// Node >= 20.15 has a native zlib.crc32, many times faster on large weight files; older ones use the table.
const nativeCrc32 = (nodeZlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** Node's native zlib (its maxOutputLength bounds every inflate). */
export const nodeZlibImpl: Zlib = {
  inflate: (data, maxOutput) => nodeZlib.inflateSync(data, { maxOutputLength: maxOutput }),
  inflateRaw: (data, maxOutput) => nodeZlib.inflateRawSync(data, { maxOutputLength: maxOutput }),
  deflateRaw: (data) => new Uint8Array(nodeZlib.deflateRawSync(data)),
  deflate: (data, level) => new Uint8Array(nodeZlib.deflateSync(data, { level })),
  ...(nativeCrc32 ? { crc32: (data: Uint8Array, crc: number) => nativeCrc32(data, crc) >>> 0 } : {}),
};
