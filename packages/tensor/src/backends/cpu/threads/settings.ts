/**
 * How many threads the CPU kernels use. The core never reads the environment: entry points (the CLI,
 * benchmarks) turn GRADLENS_THREADS into `setNumThreads`.
 */
import { threadHost } from './host';

let requested: number | undefined;

/** Sets how many threads (the calling one included) each heavy CPU kernel uses; 1 runs everything on the caller. */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`setNumThreads: expected an integer from 1 to 256, got ${n}`);
  requested = n;
}

/** The thread count the CPU kernels use: what setNumThreads said, else every core (1 where no threads can start). */
export function getNumThreads(): number {
  if (requested !== undefined) return requested;
  return threadHost()?.cores() ?? 1;
}

/** Parses a GRADLENS_THREADS value for an entry point: a positive integer, or a one-line error naming it. */
export function parseThreadCount(value: string, name = 'GRADLENS_THREADS'): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 1 || n > 256)
    throw new Error(`${name} must be an integer from 1 to 256, got '${value}'`);
  return n;
}
