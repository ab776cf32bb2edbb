/**
 * @gradlens/backend-gpujs: conv, pooling, ReLU and matmul as gpu.js kernels. Importing the package
 * registers the `gpujs` backend: `setBackend('gpujs', { mode: 'webasm' })` or GRADLENS_BACKEND=gpujs:webasm.
 */
import { registerBackend } from '@gradlens/tensor';
import { GpujsBackend, GpujsMode, MODES } from './backend';

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

registerBackend('gpujs', (options) => gpujsBackend((options.mode ?? 'gpu') as GpujsMode));

export { GpujsBackend, MAX_DEVICE_ELEMENTS, MODES, resolveMode } from './backend';
export type { GpujsMode } from './backend';
export { liveDeviceBuffers, GpujsStorage } from './storage';
export type { DeviceValue } from './storage';
export * as gpujsKernels from './kernels';
