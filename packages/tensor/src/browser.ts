/**
 * @gradlens/tensor for browsers (the `browser` export condition): the core, with Web Workers as the
 * default thread host where the page is cross-origin isolated and gradlens runs in a worker (else one
 * thread, and `getBackendInfo().threadsFallback` says why). No Node module is imported.
 */
import { setDefaultThreadHost } from './backends/cpu/threads/host';
import { webThreadHost } from './backends/cpu/threads/web-host';

export * from './core';

setDefaultThreadHost(webThreadHost);
