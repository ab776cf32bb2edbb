import type { OpAttrs, OpName } from '../ops/op-attrs';
import type { Tensor } from '../tensor';

/** What a kernel returns: the differentiable output, and extra outputs such as pooling indices. */
export interface KernelResult {
  out: Tensor;
  extras?: Tensor[];
}

/** A forward kernel: validated inputs and resolved attributes in, new tensors out. */
export type Kernel<K extends OpName> = (inputs: readonly Tensor[], attrs: OpAttrs[K]) => KernelResult;

/** One kernel for every op: the CPU backend must have them all (a missing one is a compile error). */
export type KernelTable = { [K in OpName]: Kernel<K> };

/**
 * A backend: a name and kernels. A backend that lacks an op (`gpujs` runs conv, pooling and ReLU)
 * leaves it out, and the CPU kernel runs instead.
 */
export interface Backend {
  readonly name: string;
  readonly kernels: Partial<KernelTable>;
  /** Human-readable facts about where the kernels really run (mode, fallbacks). */
  info(): Record<string, string>;
}
