/**
 * File access, behind a seam: io's readers take a path or bytes, and only paths need a file system.
 * The Node entry (src/index.ts) installs Node's; the browser entry installs none, so a path there is
 * a one-line error that says to pass the bytes instead.
 */
import type { ReadLimits } from '../read-policy';

/** What io needs from a file system. */
export interface FileAccess {
  /** A whole regular file within the size limit; errors name the file. */
  readRegularFile(file: string, limits?: Partial<ReadLimits>): Uint8Array;
  /** Writes a file whole or not at all. */
  writeFileAtomic(file: string, data: Uint8Array | string): void;
}

let access: FileAccess | null = null;

/** Installs the file system io's path-taking functions use (the Node entry does; null: none). */
export function setFileAccess(a: FileAccess | null): void {
  access = a;
}

/** The installed file system, or a one-line error naming `what` (the function and the path) when there is none. */
export function fileAccess(what: string): FileAccess {
  if (access === null) {
    throw new Error(
      `${what}: files can be read and written only under Node (@gradlens/io's node entry); in a browser, pass the file's bytes (a Uint8Array) instead of a path`,
    );
  }
  return access;
}
