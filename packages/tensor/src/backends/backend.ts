import type { OpAttrs, OpName } from '../ops/op-attrs';
import type { OpInputs } from '../ops/op-inputs';
import { nameInputs } from '../ops/op-inputs';
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
 * What a backend kernel returns for a call it cannot run (float64 inputs, a tensor over its size limit):
 * the reason. The registry then runs the CPU kernel and reports the fallback in `getBackendInfo()`.
 */
export interface Declined {
  readonly declined: string;
}

/** A backend's kernel: like `Kernel`, but it may decline a call (the registry runs the CPU kernel instead). */
export type BackendKernel<K extends OpName> = (inputs: readonly Tensor[], attrs: OpAttrs[K]) => KernelResult | Declined;

/** The kernels a backend brings: any subset of the ops, each of which may decline a call. */
export type BackendKernelTable = { [K in OpName]?: BackendKernel<K> };

/**
 * A backend: a name and kernels. A backend that lacks an op (`gpujs` runs conv, pooling and ReLU)
 * leaves it out, and the CPU kernel runs instead; a kernel that cannot run one call returns `Declined`.
 * The registry is the one place that falls back, and `getBackendInfo()` lists every op that did.
 */
export interface Backend {
  readonly name: string;
  readonly kernels: BackendKernelTable;
  /** Human-readable facts about where the kernels really run (mode, fallbacks). */
  info(): Record<string, string>;
  /**
   * Whether `op` runs on this backend's own device (default: it has an entry in `kernels`). A backend whose
   * table wraps every op (a CPU fallback behind an async contract) says which ones are really its own.
   */
  hasOwnKernel?(op: OpName): boolean;
}

/** A kernel that reads its inputs by name (`{ x, weight, bias }` for conv2d), as the built-in tables do. */
export type NamedKernel<K extends OpName, R = KernelResult> = (inputs: OpInputs<K>, attrs: OpAttrs[K]) => R;

/** Every op's kernel, reading named inputs (the CPU backend's tables). */
export type NamedKernelTable = { [K in OpName]: NamedKernel<K> };

/** Some ops' kernels, reading named inputs, each of which may decline a call (a device backend's table). */
export type NamedBackendKernelTable = { [K in OpName]?: NamedKernel<K, KernelResult | Declined> };

/** The positional table a `Backend` carries, from kernels that read their inputs by name. */
export function namedKernels(table: NamedKernelTable): KernelTable;
export function namedKernels(table: NamedBackendKernelTable): BackendKernelTable;
export function namedKernels(table: NamedBackendKernelTable): BackendKernelTable {
  const out: Record<string, unknown> = {};
  for (const [op, kernel] of Object.entries(table) as [OpName, NamedKernel<OpName, KernelResult | Declined>][]) {
    out[op] = (inputs: readonly Tensor[], attrs: OpAttrs[OpName]) => kernel(nameInputs(op, inputs, attrs), attrs);
  }
  return out as BackendKernelTable;
}
