/** Node's worker_threads as a ThreadHost: imported only by the package's Node entry (`src/node.ts`). */
import { Worker } from 'worker_threads';
import { availableParallelism, cpus } from 'os';
import type { ThreadHost } from './host';

/** A host that starts worker_threads Workers (unref'd, so they never keep the process alive). */
export function nodeThreadHost(): ThreadHost {
  return {
    cores: () => (typeof availableParallelism === 'function' ? availableParallelism() : cpus().length),
    start(source, data) {
      const w = new Worker(`const { workerData } = require('worker_threads');\n${source}\nstart(workerData);`, {
        eval: true,
        workerData: data,
      });
      w.unref();
      return { terminate: () => void w.terminate() };
    },
  };
}
