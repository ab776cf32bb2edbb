import { readFileNamed } from '../fs';

/** Where a reader gets its bytes: a file path, or bytes already in memory. */
export type Source = string | Uint8Array;

/** Returns the bytes of a source and the name to use for it in error messages. */
export function loadSource(src: Source, name?: string): { bytes: Uint8Array; file: string } {
  if (typeof src === 'string') return { bytes: readFileNamed(src), file: name ?? src };
  if (!(src instanceof Uint8Array)) throw new Error(`expected a file path or a Uint8Array, got ${typeof src}`);
  return { bytes: src, file: name ?? '<bytes>' };
}
