/**
 * Which backend runs each op. The core knows no backend but the CPU reference and reads no environment:
 * a backend package registers itself on import (`registerBackend`), and entry points (the CLI, test set-up,
 * benchmarks) turn GRADLENS_BACKEND into `setBackendFromSpec`. This is the one place that falls back to
 * the CPU kernels (an op the backend lacks, or a call its kernel declines), and every fallback is listed
 * in `getBackendInfo()`.
 */
import type { OpAttrs, OpName } from '../ops/op-attrs';
import type { Backend, BackendKernel, KernelResult, KernelTable } from './backend';
import { cpuBackend } from './cpu';
import type { Tensor } from '../tensor';

/** Makes a backend from options such as { mode: 'webasm' }. */
export type BackendFactory = (options: Record<string, string>) => Backend;

const factories = new Map<string, BackendFactory>([['cpu', () => cpuBackend]]);
/** Where the backends that live in their own package come from, for the error that says what to import. */
const knownPackages: Record<string, string> = { gpujs: '@gradlens/backend-gpujs' };
let active: Backend = cpuBackend;
/** Ops the active backend has no kernel for (they ran on the CPU, as designed). */
const cpuOps = new Set<string>();
/** Ops whose kernel declined a call, with the first reason and how many calls fell back. */
const declined = new Map<string, { reason: string; calls: number }>();

/** Makes a backend selectable by name with `setBackend` (a backend package calls this when imported). */
export function registerBackend(name: string, factory: BackendFactory): void {
  factories.set(name, factory);
}

/** Selects the backend every following op runs on, e.g. `setBackend('gpujs', { mode: 'webasm' })`. */
export function setBackend(name: string, options: Record<string, string> = {}): void {
  const factory = factories.get(name);
  if (!factory) {
    const hint = knownPackages[name] ? ` (import '${knownPackages[name]}' first: it registers itself)` : '';
    throw new Error(`setBackend: unknown backend '${name}'${hint}; registered: ${[...factories.keys()].join(', ')}`);
  }
  const next = factory(options);
  if (next !== active) {
    cpuOps.clear();
    declined.clear();
  }
  active = next;
}

/** Splits a backend spec such as GRADLENS_BACKEND's `gpujs:webgl2` into a name and options. */
export function parseBackendSpec(spec: string): { name: string; options: Record<string, string> } {
  const [name, mode, ...rest] = spec.trim().split(':');
  if (!name || rest.length > 0 || mode === '')
    throw new Error(`backend spec must be 'name' or 'name:mode' (e.g. gpujs:webgl2), got '${spec}'`);
  return { name, options: mode ? { mode } : {} };
}

/** `setBackend` from a spec string (what entry points do with GRADLENS_BACKEND). */
export function setBackendFromSpec(spec: string): void {
  const { name, options } = parseBackendSpec(spec);
  setBackend(name, options);
}

/**
 * The name of the active backend and what it reports about itself (mode, threads), plus the ops that ran
 * on the CPU instead: `cpuOps` (no kernel in this backend) and `cpuFallbacks` (calls its kernel declined, why).
 */
export function getBackendInfo(): Record<string, string> {
  const info: Record<string, string> = { backend: active.name, ...active.info() };
  if (cpuOps.size > 0) info.cpuOps = [...cpuOps].sort().join(', ');
  if (declined.size > 0)
    info.cpuFallbacks = [...declined].map(([op, d]) => `${op}: ${d.reason} (${d.calls} call${d.calls === 1 ? '' : 's'})`).join('; ');
  return info;
}

/**
 * Whether the active backend has its own kernel for `op` (the CPU reference has every one). Rules that can
 * run one fused op or several plain ones ask this, so that a device backend without the fused kernel keeps
 * its work on the device.
 */
export function activeBackendHas(op: OpName): boolean {
  if (active === cpuBackend) return true;
  return active.hasOwnKernel ? active.hasOwnKernel(op) : active.kernels[op] !== undefined;
}

/** Runs `op` on the active backend; on the CPU reference where the backend lacks it or declines the call. */
export function runKernel<K extends OpName>(op: K, inputs: readonly Tensor[], attrs: OpAttrs[K]): KernelResult {
  const cpu = (cpuBackend.kernels as KernelTable)[op] as (i: readonly Tensor[], a: OpAttrs[K]) => KernelResult;
  if (active === cpuBackend) return cpu(inputs, attrs);
  const kernel = active.kernels[op] as BackendKernel<K> | undefined;
  if (!kernel) {
    cpuOps.add(op);
    return cpu(inputs, attrs);
  }
  const result = kernel(inputs, attrs);
  if (!('declined' in result)) return result;
  const seen = declined.get(op);
  if (seen) seen.calls++;
  else declined.set(op, { reason: result.declined, calls: 1 });
  return cpu(inputs, attrs);
}
