/**
 * @gradlens/tensor for browsers (the `browser` export condition): the core, with Web Workers as the
 * default thread host where the page is cross-origin isolated and gradlens runs in a worker (else one
 * thread, and `getBackendInfo().threadsFallback` says why). No Node module is imported.
 */
import { setDefaultThreadHost } from './backends/cpu/threads/host';
import { webThreadHost } from './backends/cpu/threads/web-host';
import { setWeightCacheBytes } from './backends/cpu/kernels/resident';

export * from './core';

setDefaultThreadHost(webThreadHost);
// A tab shares the device's memory with every other tab: weights kept resident in the WebAssembly memory (which
// never shrinks) are capped lower than in Node's 1 GiB. Pages that run many passes on a big model can raise it.
setWeightCacheBytes(256 << 20);
