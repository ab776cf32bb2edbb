import type { Backend, KernelTable } from '../backend';
import { elementwiseKernels } from './elementwise';
import { nnKernels } from './nn-ops';
import { reduceKernels } from './reduce';
import { shapeKernels } from './shape-ops';

const kernels: KernelTable = { ...elementwiseKernels, ...reduceKernels, ...shapeKernels, ...nnKernels };

/** The reference backend: every op, in plain TypeScript, with cache-blocked kernels where the time goes. */
export const cpuBackend: Backend = {
  name: 'cpu',
  kernels,
  info: () => ({ mode: 'typescript', threads: '1' }),
};
