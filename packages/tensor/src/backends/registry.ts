import type { OpName } from '../ops/op-attrs';
import type { Backend, Kernel } from './backend';
import { cpuBackend } from './cpu';

const backends = new Map<string, Backend>([['cpu', cpuBackend]]);
let active: Backend = cpuBackend;

/** Makes a backend selectable by name with `setBackend`. */
export function registerBackend(backend: Backend): void {
  backends.set(backend.name, backend);
}

/** Selects the backend every following op runs on. */
export function setBackend(name: string): void {
  const b = backends.get(name);
  if (!b) throw new Error(`setBackend: unknown backend '${name}'; registered: ${[...backends.keys()].join(', ')}`);
  active = b;
}

/** The name of the active backend and what it reports about itself. */
export function getBackendInfo(): Record<string, string> {
  return { backend: active.name, ...active.info() };
}

/** The kernel that runs `op`: the active backend's, else the CPU reference. */
export function kernelFor<K extends OpName>(op: K): Kernel<K> {
  const k = active.kernels[op] ?? cpuBackend.kernels[op];
  return k as Kernel<K>;
}
