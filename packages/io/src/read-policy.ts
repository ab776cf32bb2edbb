/**
 * The reading policy every reader of gradlens follows (weights, arrays, images, ONNX): only regular
 * files, and a memory budget checked against what a file *declares* before anything that size is
 * allocated, so a 100-byte file cannot make the process allocate gigabytes.
 */
export interface ReadLimits {
  /** Largest file read whole, in bytes (default 8 GiB: the largest weights a Buffer can hold). */
  maxFileBytes: number;
  /**
   * Largest picture, in pixels (default 178 956 970: PIL's decompression-bomb error threshold,
   * 2 × `Image.MAX_IMAGE_PIXELS`).
   */
  maxImagePixels: number;
  /**
   * Most bytes one read may allocate beyond the file itself (decoded pixels, inflated zip entries,
   * tensors materialised from views), default 2 GiB.
   */
  maxDecodedBytes: number;
}

const DEFAULT_LIMITS: ReadLimits = {
  maxFileBytes: 8 * 1024 ** 3,
  maxImagePixels: 178_956_970,
  maxDecodedBytes: 2 * 1024 ** 3,
};

let current: ReadLimits = { ...DEFAULT_LIMITS };

/** Returns the reading limits in force (a copy). */
export function getReadLimits(): ReadLimits {
  return { ...current };
}

/** Raises or lowers the process-wide reading limits; returns the previous ones (to restore them). */
export function setReadLimits(limits: Partial<ReadLimits>): ReadLimits {
  const previous = current;
  const next = { ...current, ...limits };
  for (const [key, value] of Object.entries(next)) {
    if (typeof value !== 'number' || !(value > 0)) throw new Error(`setReadLimits: ${key} must be a positive number, got ${String(value)}`);
  }
  current = next;
  return { ...previous };
}

/** The limits in force, overridden by a call's own `limits`. */
export function resolveLimits(limits?: Partial<ReadLimits>): ReadLimits {
  return limits ? { ...current, ...limits } : current;
}

/** Formats a byte count for messages: 1.5 GiB, 12.0 MiB, 512 bytes. */
export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

/**
 * Throws a one-line error naming the file unless `bytes` fits in the decoded-bytes budget.
 * `what` says what needs the memory ("pixels of a 32 x 2097176 RGB picture").
 */
export function checkDecodedBytes(file: string, what: string, bytes: number, limits?: Partial<ReadLimits>): void {
  const { maxDecodedBytes } = resolveLimits(limits);
  if (!(bytes <= maxDecodedBytes)) {
    throw new Error(
      `${file}: ${what} would need ${formatBytes(bytes)}, over the reading budget of ${formatBytes(maxDecodedBytes)} (raise it with setReadLimits({ maxDecodedBytes }) if the file is trusted)`,
    );
  }
}

/** Quotes at most `max` characters of an untrusted value for an error message. */
export function excerpt(value: string, max = 40): string {
  const shown = value.length > max ? `${value.slice(0, max)}… (${value.length} characters)` : value;
  return JSON.stringify(shown);
}
