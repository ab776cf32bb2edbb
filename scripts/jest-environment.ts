/**
 * The tests' entry point (setupFilesAfterEnv; the core reads no environment): GRADLENS_BACKEND=name[:mode]
 * selects a backend (importing @gradlens/backend-gpujs for gpujs, which registers itself) and
 * GRADLENS_THREADS, GRADLENS_CPU_GEMM, GRADLENS_WINOGRAD and GRADLENS_ARENA_MB set the CPU kernels' thread count,
 * float32 GEMM engine, Winograd switch and tensor arena size, as the CLI does. io's own tests import its modules
 * directly, not through an entry, so they get io's Node platform (files, zlib, pngjs) installed here.
 */
if (expect.getState().testPath?.includes(`${require('path').sep}packages${require('path').sep}io${require('path').sep}`))
  require('@gradlens/io');
const spec = process.env.GRADLENS_BACKEND;
const cpuVars = ['GRADLENS_THREADS', 'GRADLENS_CPU_GEMM', 'GRADLENS_WINOGRAD', 'GRADLENS_ARENA_MB'].some((k) => process.env[k]);
if (spec || cpuVars) {
  const T = require('@gradlens/tensor') as typeof import('@gradlens/tensor');
  T.applyCpuEnvironment(process.env);
  if (spec) {
    if (T.parseBackendSpec(spec).name === 'gpujs') require('@gradlens/backend-gpujs');
    T.setBackendFromSpec(spec);
  }
}
