/** gpu.js's size limit, and the wrapper that declines an op beyond it (the registry runs it on the CPU). */
import type { Tensor } from '@gradlens/tensor';
import type { Declined, KernelResult } from './types';

/**
 * gpu.js computes array indices (and, in GL modes, the thread id of an output texel) in float32,
 * which is exact only up to 2^24: an op with a larger input or output is declined (it runs on the CPU backend).
 * 2^24 floats also fit the smallest MAX_TEXTURE_SIZE WebGL allows (4096², gpu.js's near-square layout).
 */
export const MAX_DEVICE_ELEMENTS = 1 << 24;

/** Thrown by the launcher for a grid beyond MAX_DEVICE_ELEMENTS; `guardSize` then declines the call. */
export class TooLarge extends Error {
  constructor(readonly elements: number) {
    super(`${elements} elements`);
  }
}

type AnyKernel = (inputs: readonly Tensor[], attrs: never) => KernelResult | Declined;

/** The reason a call over the limit is declined. */
function tooLarge(elements: number): Declined {
  return { declined: `a tensor of ${elements} elements is over 2^24, beyond gpu.js's exact float32 indexing` };
}

/** Wraps a device kernel so that a call whose input or output is over MAX_DEVICE_ELEMENTS is declined. */
export function guardSize<F extends AnyKernel>(kernel: F): F {
  const guarded = (inputs: readonly Tensor[], attrs: never): KernelResult | Declined => {
    const big = inputs.find((t) => t !== undefined && t.size > MAX_DEVICE_ELEMENTS);
    if (big) return tooLarge(big.size);
    try {
      return kernel(inputs, attrs);
    } catch (err) {
      if (!(err instanceof TooLarge)) throw err;
      return tooLarge(err.elements);
    }
  };
  return guarded as F;
}
