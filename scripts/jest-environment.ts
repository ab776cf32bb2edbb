/**
 * The tests' entry point for the environment (the core reads none): GRADLENS_BACKEND=name[:mode] selects
 * a backend (importing @gradlens/backend-gpujs for gpujs, which registers itself) and GRADLENS_THREADS
 * sets the CPU kernels' thread count, as the CLI does.
 */
const spec = process.env.GRADLENS_BACKEND;
const threads = process.env.GRADLENS_THREADS;
if (spec || threads) {
  const T = require('@gradlens/tensor') as typeof import('@gradlens/tensor');
  if (threads) T.setNumThreads(T.parseThreadCount(threads));
  if (spec) {
    if (T.parseBackendSpec(spec).name === 'gpujs') require('@gradlens/backend-gpujs');
    T.setBackendFromSpec(spec);
  }
}
