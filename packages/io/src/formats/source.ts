import type { ReadLimits } from '../read-policy';
import { fileAccess } from '../platform/files';
import { ReadBudget } from './budget';

/** Where a reader gets its bytes: a file path, or bytes already in memory. */
export type Source = string | Uint8Array;

/** Options every weights/array reader takes. */
export interface ReadOptions {
  /** Limits for this call, over those in force (`setReadLimits`); see packages/io/README.md. */
  limits?: Partial<ReadLimits>;
  /** The name used in error messages (default: the path, or "<bytes>"). */
  name?: string;
}

/**
 * Returns the bytes of a source (a regular file within the size limit), the name to use for it in
 * error messages, and the decoding budget of this read.
 */
export function loadSource(src: Source, options: ReadOptions = {}): { bytes: Uint8Array; file: string; budget: ReadBudget } {
  if (typeof src === 'string') {
    const file = options.name ?? src;
    return { bytes: fileAccess(`reading ${src}`).readRegularFile(src, options.limits), file, budget: new ReadBudget(file, options.limits) };
  }
  if (!(src instanceof Uint8Array)) throw new Error(`expected a file path or a Uint8Array, got ${typeof src}`);
  const file = options.name ?? '<bytes>';
  return { bytes: src, file, budget: new ReadBudget(file, options.limits) };
}
