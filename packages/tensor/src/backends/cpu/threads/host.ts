/**
 * Where worker threads come from. The core only needs this small interface, so a browser build can
 * implement it with Web Workers (post `data` to a Worker made from `source`, then call `start(data)` in it);
 * Node's worker_threads implementation is the default where Node runs.
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

/** Node's worker_threads, or null outside Node. */
function nodeThreadHost(): ThreadHost | null {
  if (typeof process === 'undefined' || typeof process.versions?.node !== 'string') return null;
  const wt = require('worker_threads') as typeof import('worker_threads');
  const os = require('os') as typeof import('os');
  return {
    cores: () => (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length),
    start(source, data) {
      const w = new wt.Worker(`const { workerData } = require('worker_threads');\n${source}\nstart(workerData);`, { eval: true, workerData: data });
      w.unref();
      return { terminate: () => void w.terminate() };
    },
  };
}

let host: ThreadHost | null | undefined;

/** The host worker threads come from (null: none here, everything runs on the calling thread). */
export function threadHost(): ThreadHost | null {
  if (host === undefined) host = nodeThreadHost();
  return host;
}

/** Installs the host worker threads come from (a browser build passes a Web Worker one); returns the previous one. */
export function setThreadHost(h: ThreadHost | null): ThreadHost | null {
  const prev = threadHost();
  host = h;
  return prev;
}
