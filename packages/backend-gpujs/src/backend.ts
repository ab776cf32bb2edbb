/** The gpujs backend: a resolved mode, a kernel launcher, and the op table over it. */
import type { Backend, BackendKernelTable, OpName } from './types';
import { KernelLauncher } from './launcher';
import type { GpujsMode } from './modes';
import { MODES, resolveMode, type ResolvedMode } from './modes';
import { deviceKernels } from './ops';
import { withAsyncContract } from './async-contract';

/**
 * The gpujs backend: conv, pooling, ReLU (and the ops of its backward rules) and matmul as gpu.js
 * kernels; every other op, and every call a kernel declines (float64, over 2^24 elements), runs on the
 * CPU reference (the registry's one fallback, listed in getBackendInfo()) with the transfer made by
 * `Tensor.values()`.
 */
export class GpujsBackend implements Backend {
  readonly name = 'gpujs';
  readonly kernels: BackendKernelTable;
  readonly requested: GpujsMode;
  readonly mode: ResolvedMode;
  readonly fallbackReason: string | null;
  /** Whether results stay in device memory (GL textures, WebGPU buffers) between kernels. */
  readonly onDevice: boolean;
  private readonly launcher: KernelLauncher;
  /** WebGPU mode: ops that ran on the CPU (the registry never sees them: every op has a kernel there). */
  private readonly ranOnCpu = new Set<string>();
  private readonly device: BackendKernelTable;

  constructor(requested: GpujsMode = 'gpu') {
    if (!MODES.includes(requested)) throw new Error(`gpujs: unknown mode '${requested}'; expected one of ${MODES.join(', ')}`);
    this.requested = requested;
    const { mode, reason } = resolveMode(requested);
    this.mode = mode;
    this.fallbackReason = reason;
    this.launcher = new KernelLauncher(mode);
    this.onDevice = this.launcher.onDevice;
    const device = deviceKernels(this.launcher);
    this.device = device;
    this.kernels = mode === 'webgpu' ? withAsyncContract(device, this.ranOnCpu) : device;
  }

  /** Whether `op` has a device kernel (WebGPU's table also wraps the CPU fallbacks in its async contract). */
  hasOwnKernel(op: OpName): boolean {
    return this.device[op] !== undefined;
  }

  /** Forgets which ops ran on the CPU (selecting the backend starts a fresh record, as the registry's). */
  resetCpuRecord(): void {
    this.ranOnCpu.clear();
    this.launcher.memo.launched = 0;
    this.launcher.memo.reused = 0;
  }

  info(): Record<string, string> {
    const info: Record<string, string> = { mode: this.mode, requested: this.requested, precision: 'float32', threads: '1' };
    if (this.fallbackReason) info.fallback = this.fallbackReason;
    // gpu.js's own fallback: a kernel it compiled for another mode than the one asked for.
    const reasons = [...this.launcher.modeFallbacks].map(([k, r]) => `${k}: ${r}`);
    if (reasons.length) info.kernelFallbacks = reasons.join('; ');
    info.compiledKernels = String(this.launcher.compiledKernels);
    // since the backend was last selected: kernels run, and (WebGPU, awaitReads) launches a replay took from its previous run
    info.kernelLaunches = String(this.launcher.memo.launched);
    if (this.launcher.memo.reused > 0) info.reusedLaunches = String(this.launcher.memo.reused);
    if (this.ranOnCpu.size > 0) info.cpuOps = [...this.ranOnCpu].sort().join(', ');
    return info;
  }

  /** Frees every compiled kernel and the gpu.js instance. */
  destroy(): void {
    this.launcher.destroy();
  }
}
