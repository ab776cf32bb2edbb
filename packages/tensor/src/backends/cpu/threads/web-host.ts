/**
 * Web Workers as a ThreadHost, for browsers (and Deno). The GEMM threads share one WebAssembly memory,
 * which needs SharedArrayBuffer, which browsers give only to cross-origin isolated pages (served with
 * `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`); and the
 * calling thread waits with Atomics.wait, which a page's main thread may not do. Where either is missing,
 * there is no host: kernels run on one thread and `getBackendInfo().threadsFallback` says why.
 */
import type { ThreadHost } from './host';

/** The globals this host reads, typed here so the core needs no DOM library. */
export interface WebGlobals {
  Worker?: new (url: string) => { postMessage(data: unknown): void; terminate(): void };
  Blob?: new (parts: string[], options: { type: string }) => unknown;
  URL?: { createObjectURL(blob: unknown): string; revokeObjectURL(url: string): void };
  navigator?: { hardwareConcurrency?: number };
  crossOriginIsolated?: boolean;
  document?: unknown;
  SharedArrayBuffer?: unknown;
}

/** Why Web Worker threads cannot run here, or null when they can. */
export function webThreadsUnavailableReason(g: WebGlobals = globalThis as WebGlobals): string | null {
  if (typeof g.Worker !== 'function' || typeof g.Blob !== 'function' || !g.URL) return 'this runtime has no Web Workers';
  if (typeof g.SharedArrayBuffer !== 'function' || g.crossOriginIsolated === false) {
    return 'no SharedArrayBuffer: the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
  }
  if (g.document !== undefined) return "a page's main thread may not block on Atomics.wait: run gradlens in a Web Worker to use threads";
  return null;
}

/** A host that starts Web Workers from a Blob URL and passes the shared memory by postMessage; or why it cannot. */
export function webThreadHost(g: WebGlobals = globalThis as WebGlobals): ThreadHost | { unavailable: string } {
  const reason = webThreadsUnavailableReason(g);
  if (reason !== null) return { unavailable: reason };
  const WorkerCtor = g.Worker!,
    BlobCtor = g.Blob!,
    urls = g.URL!;
  return {
    cores: () => Math.max(1, g.navigator?.hardwareConcurrency ?? 1),
    start(source, data) {
      const url = urls.createObjectURL(new BlobCtor([`${source}\nonmessage = (e) => start(e.data);`], { type: 'text/javascript' }));
      const w = new WorkerCtor(url);
      w.postMessage(data); // a WebAssembly.Module, a shared Memory and SharedArrayBuffers: shared, not copied
      return {
        terminate: () => {
          w.terminate();
          urls.revokeObjectURL(url);
        },
      };
    },
  };
}
