/** Core types this package uses, re-exported from @gradlens/tensor in one place. */
import type { OpAttrs } from '@gradlens/tensor';
export type { Backend, BackendKernelTable, Declined, DType, KernelResult, KernelTable, OpAttrs, OpName } from '@gradlens/tensor';
export type ConvAttrsLike = OpAttrs['conv2d'];
export type PoolAttrsLike = OpAttrs['maxPool2d'];
