import type { OpName } from '../ops/op-attrs';
import type { Backend, Kernel } from './backend';
import { cpuBackend } from './cpu';

/** Makes a backend from options such as { mode: 'webasm' }. */
export type BackendFactory = (options: Record<string, string>) => Backend;

const factories = new Map<string, BackendFactory>([['cpu', () => cpuBackend]]);
/** Backends that live in their own package, loaded on first use so the core needs none of their dependencies. */
const packages: Record<string, string> = { gpujs: '@gradlens/backend-gpujs' };
let active: Backend = cpuBackend;
let fromEnvironment = false;

/** Makes a backend selectable by name with `setBackend`. */
export function registerBackend(name: string, factory: BackendFactory): void {
  factories.set(name, factory);
}

/** Selects the backend every following op runs on, e.g. `setBackend('gpujs', { mode: 'webasm' })`. */
export function setBackend(name: string, options: Record<string, string> = {}): void {
  if (!factories.has(name) && packages[name]) {
    try {
      require(packages[name]);
    } catch (err) {
      throw new Error(`setBackend: backend '${name}' needs the package ${packages[name]}, which failed to load: ${(err as Error).message}`);
    }
  }
  const factory = factories.get(name);
  if (!factory) throw new Error(`setBackend: unknown backend '${name}'; available: ${[...new Set([...factories.keys(), ...Object.keys(packages)])].join(', ')}`);
  active = factory(options);
  fromEnvironment = true;
}

/** GRADLENS_BACKEND=name[:mode] picks the backend before the first op runs. */
function applyEnvironment(): void {
  fromEnvironment = true;
  const spec = process.env.GRADLENS_BACKEND;
  if (!spec) return;
  const [name, mode] = spec.split(':');
  setBackend(name!, mode ? { mode } : {});
}

/** The name of the active backend and what it reports about itself (mode, fallback reasons). */
export function getBackendInfo(): Record<string, string> {
  if (!fromEnvironment) applyEnvironment();
  return { backend: active.name, ...active.info() };
}

/** The kernel that runs `op`: the active backend's, else the CPU reference. */
export function kernelFor<K extends OpName>(op: K): Kernel<K> {
  if (!fromEnvironment) applyEnvironment();
  const k = active.kernels[op] ?? cpuBackend.kernels[op];
  return k as Kernel<K>;
}
