/** gpu.js's size limit, and the wrapper that runs an op beyond it on the CPU backend. */
import type { Tensor } from '@gradlens/tensor';
import type { KernelResult, OpName } from './types';

/**
 * gpu.js computes array indices (and, in GL modes, the thread id of an output texel) in float32,
 * which is exact only up to 2^24: an op with a larger input or output runs on the CPU backend.
 * 2^24 floats also fit the smallest MAX_TEXTURE_SIZE WebGL allows (4096², gpu.js's near-square layout).
 */
export const MAX_DEVICE_ELEMENTS = 1 << 24;

/** Thrown by the launcher for a grid beyond MAX_DEVICE_ELEMENTS; `guardSize` then runs the op on the CPU. */
export class TooLarge extends Error {
  constructor(readonly elements: number) {
    super(`${elements} elements`);
  }
}

type AnyKernel = (inputs: readonly Tensor[], attrs: never) => KernelResult;

/**
 * Wraps a device kernel so that an op whose input or output is over MAX_DEVICE_ELEMENTS runs on the
 * CPU kernel instead; `noteTooLarge` records it, so info() says so.
 */
export function guardSize<F extends AnyKernel>(op: OpName, kernel: F, cpuKernel: F, noteTooLarge: (op: OpName, elements: number) => void): F {
  const guarded = (inputs: readonly Tensor[], attrs: never): KernelResult => {
    const big = inputs.find((t) => t !== undefined && t.size > MAX_DEVICE_ELEMENTS);
    if (big) {
      noteTooLarge(op, big.size);
      return cpuKernel(inputs, attrs);
    }
    try {
      return kernel(inputs, attrs);
    } catch (err) {
      if (!(err instanceof TooLarge)) throw err;
      noteTooLarge(op, err.elements);
      return cpuKernel(inputs, attrs);
    }
  };
  return guarded as F;
}
