import type { Reply, Request } from '../protocol';

/** Distributive Omit, so each request variant keeps its own fields. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** What a request's reply holds once it settles (progress replies go to `onProgress`). */
export type Settled = Exclude<Reply, { type: 'progress' } | { type: 'ready' } | { type: 'error' }>;

interface Pending {
  resolve: (r: Settled) => void;
  reject: (e: Error) => void;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Talks to the page's worker: one request at a time in order, each a promise. `cancel()` terminates the
 * worker (a many-pass method cannot be interrupted from outside otherwise), rejects what was pending,
 * and starts a fresh worker, which `onRestart` brings back to the same model and picture.
 */
export class WorkerClient {
  private worker!: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private ready!: Promise<Extract<Reply, { type: 'ready' }>>;

  constructor(
    private readonly source: string,
    private readonly onRestart: (client: WorkerClient) => Promise<void>,
  ) {
    this.start();
  }

  private start(): void {
    const url = URL.createObjectURL(new Blob([this.source], { type: 'text/javascript' }));
    this.worker = new Worker(url);
    this.ready = new Promise((resolve, reject) => {
      this.worker.onerror = (e) => reject(new Error(`the worker failed to start: ${e.message}`));
      this.worker.onmessage = (e: MessageEvent<Reply>) => {
        if (e.data.type === 'ready') {
          resolve(e.data);
          this.worker.onmessage = (m: MessageEvent<Reply>) => this.receive(m.data);
        }
      };
    });
  }

  /** The worker's hello: backends on offer, backend info, whether the page is cross-origin isolated. */
  whenReady(): Promise<Extract<Reply, { type: 'ready' }>> {
    return this.ready;
  }

  private receive(r: Reply): void {
    if (r.type === 'ready') return;
    const p = this.pending.get(r.id);
    if (!p) return;
    if (r.type === 'progress') return p.onProgress?.(r.done, r.total);
    this.pending.delete(r.id);
    if (r.type === 'error') p.reject(new Error(r.message));
    else p.resolve(r);
  }

  /** Sends a request; resolves with its reply. */
  async request(
    req: WithoutId<Request>,
    onProgress?: (done: number, total: number) => void,
    transfer: Transferable[] = [],
  ): Promise<Settled> {
    await this.ready;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ ...req, id } as Request, transfer);
    });
  }

  /** Stops whatever runs (terminating the worker), rejects every pending request, and restarts. */
  async cancel(): Promise<void> {
    this.worker.terminate();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(new Error('cancelled'));
    this.start();
    await this.ready;
    await this.onRestart(this);
  }
}
