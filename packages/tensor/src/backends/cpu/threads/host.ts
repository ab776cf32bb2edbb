/**
 * Where worker threads come from. The core only needs this small interface and never imports a
 * platform module: the Node entry (`node-host.ts`, worker_threads) and the browser entry (`web-host.ts`,
 * Web Workers) each install their host as the default, and `setThreadHost` replaces it.
 */

/** A started worker thread. */
export interface ThreadHandle {
  /** Stops the thread (after the pool has told it to leave its wait loop). */
  terminate(): void;
}

/** Starts worker threads and says how many cores there are. */
export interface ThreadHost {
  /** Logical cores available to this process (the default thread count). */
  cores(): number;
  /**
   * Starts a thread that evaluates `source` (plain JavaScript defining `function start(data)`) and
   * then calls `start(data)`; `data` holds a WebAssembly.Module, a shared WebAssembly.Memory and
   * SharedArrayBuffers, which every host must pass by sharing, not copying. The thread must never keep
   * the process alive on its own.
   */
  start(source: string, data: Record<string, unknown>): ThreadHandle;
}

/** What an entry point installs: a host, or the reason this platform runs everything on one thread. */
export type DefaultThreadHost = () => ThreadHost | { unavailable: string };

let makeDefault: DefaultThreadHost = () => ({
  unavailable: 'no thread host installed (import @gradlens/tensor through its node or browser entry, or call setThreadHost)',
});
let host: ThreadHost | null | undefined;
let unavailable = '';

/** The host worker threads come from (null: none here, everything runs on the calling thread). */
export function threadHost(): ThreadHost | null {
  if (host === undefined) {
    const made = makeDefault();
    if ('unavailable' in made) {
      host = null;
      unavailable = made.unavailable;
    } else host = made;
  }
  return host;
}

/** Why there is no thread host ('' when there is one, or when `setThreadHost(null)` asked for none). */
export function threadHostUnavailableReason(): string {
  return threadHost() === null ? unavailable : '';
}

/** Installs the host worker threads come from (a browser build passes a Web Worker one); returns the previous one. */
export function setThreadHost(h: ThreadHost | null): ThreadHost | null {
  const prev = threadHost();
  host = h;
  unavailable = h === null ? 'set by setThreadHost(null)' : '';
  return prev;
}

/** Sets the platform's default host, made on first use (called once by the package's node or browser entry). */
export function setDefaultThreadHost(make: DefaultThreadHost): void {
  makeDefault = make;
  host = undefined;
}
