import type { Backend, KernelTable } from '../backend';
import { namedKernels } from '../backend';
import { elementwiseKernels } from './elementwise';
import { fusedBackwardKernels } from './fused-backward';
import { nnKernels } from './nn';
import { normKernels } from './norm';
import { reduceKernels } from './reduce';
import { shapeKernels } from './shape-ops';
import { float32GemmInfo, tensorArenaSize } from './kernels/gemm';
import { wasmThreadsUnavailableReason } from './kernels/wasm-gemm';
import { threadHostUnavailableReason } from './threads/host';

const kernels: KernelTable = namedKernels({
  ...elementwiseKernels,
  ...reduceKernels,
  ...shapeKernels,
  ...nnKernels,
  ...normKernels,
  ...fusedBackwardKernels,
});

/**
 * The reference backend: every op, in plain TypeScript, with cache-blocked kernels where the time goes
 * and a WebAssembly SIMD macro-kernel under float32 GEMMs (convolutions, matmul) where available.
 */
export const cpuBackend: Backend = {
  name: 'cpu',
  kernels,
  info: () => {
    const gemm = float32GemmInfo();
    const arena = tensorArenaSize(); // after float32GemmInfo, which starts the engine
    // Why the kernels run on one thread, when they must: no shared memory, or no thread host here.
    const oneThread = wasmThreadsUnavailableReason() || threadHostUnavailableReason();
    return {
      mode: 'typescript',
      threads: String(gemm.threads),
      float32Gemm: gemm.engine,
      ...(gemm.fallback ? { float32GemmFallback: gemm.fallback } : {}),
      ...(oneThread ? { threadsFallback: oneThread } : {}),
      ...(arena > 0 ? { tensorArena: `${+(arena / 2 ** 20).toFixed(2)} MiB` } : {}),
    };
  },
};
