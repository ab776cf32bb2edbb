/**
 * @gradlens/tensor for Node (the `node` and `require` export conditions): the core, with Node's
 * worker_threads as the default thread host, so the WebAssembly GEMM uses every core.
 */
import { setDefaultThreadHost } from './backends/cpu/threads/host';
import { nodeThreadHost } from './backends/cpu/threads/node-host';

export * from './core';
export { nodeThreadHost } from './backends/cpu/threads/node-host';

setDefaultThreadHost(nodeThreadHost);
