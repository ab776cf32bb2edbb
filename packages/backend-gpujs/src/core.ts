/**
 * @gradlens/backend-gpujs on any platform: conv, pooling, ReLU and matmul as gpu.js kernels. Importing
 * the package registers the `gpujs` backend: `setBackend('gpujs', { mode: 'webasm' })` or
 * GRADLENS_BACKEND=gpujs:webasm at an entry point. index.ts (Node) and browser.ts add the platform's probe.
 */
import { registerBackend } from '@gradlens/tensor';
import { GpujsBackend } from './backend';
import type { GpujsMode } from './modes';

const instances = new Map<string, GpujsBackend>();

/** The backend for a mode, made once per mode (compiled kernels are cached inside it). */
export function gpujsBackend(mode: GpujsMode = 'gpu'): GpujsBackend {
  let b = instances.get(mode);
  if (!b) {
    b = new GpujsBackend(mode);
    instances.set(mode, b);
  }
  return b;
}

registerBackend('gpujs', (options) => {
  const b = gpujsBackend((options.mode ?? 'gpu') as GpujsMode);
  b.resetCpuRecord();
  return b;
});

export { GpujsBackend } from './backend';
export { MODES, resolveMode, setModeProbe, browserModeProbe } from './modes';
export type { ModeProbe } from './modes';
export type { GpujsMode, ResolvedMode } from './modes';
export { MAX_DEVICE_ELEMENTS } from './size-guard';
export { liveDeviceBuffers, GpujsStorage } from './storage';
export type { DeviceValue } from './storage';
export * as gpujsKernels from './kernels';
export { awaitReads, PendingRead } from './replay';
