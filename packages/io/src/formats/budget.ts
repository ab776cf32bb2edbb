import { formatBytes, resolveLimits, type ReadLimits } from '../read-policy';

/**
 * What one read of a weights or array file may allocate beyond the file's own bytes: inflated zip
 * entries, tensors materialised from views (a stride-0 `expand` can be far larger than its
 * storage), byte-swapped copies, pickle values. Every allocation is counted *before* it is made, so
 * a small file cannot make the process allocate gigabytes; zero-copy views of the file cost nothing.
 */
export class ReadBudget {
  private used = 0;
  /** The budget in bytes (`maxDecodedBytes` of the limits in force). */
  readonly max: number;

  constructor(
    readonly file: string,
    limits?: Partial<ReadLimits>,
  ) {
    this.max = resolveLimits(limits).maxDecodedBytes;
  }

  /** Bytes counted so far. */
  get usedBytes(): number {
    return this.used;
  }

  /** Counts `bytes` about to be allocated for `what`, or throws a one-line error naming the file. */
  take(bytes: number, what: string): void {
    if (!(bytes >= 0 && this.used + bytes <= this.max)) {
      const before = this.used > 0 ? ` (after ${formatBytes(this.used)} already decoded)` : '';
      throw new Error(
        `${this.file}: ${what} would need ${formatBytes(bytes)}${before}, over the reading budget of ` +
          `${formatBytes(this.max)} (if the file is trusted, raise it with setReadLimits({ maxDecodedBytes }) or the reader's { limits } option)`,
      );
    }
    this.used += bytes;
  }
}
