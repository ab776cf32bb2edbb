/**
 * The tests' entry point (setupFilesAfterEnv; the core reads no environment): GRADLENS_BACKEND=name[:mode]
 * selects a backend (importing @gradlens/backend-gpujs for gpujs, which registers itself) and
 * GRADLENS_THREADS sets the CPU kernels' thread count, as the CLI does. io's own tests import its modules
 * directly, not through an entry, so they get io's Node platform (files, zlib, pngjs) installed here.
 */
if (expect.getState().testPath?.includes(`${require('path').sep}packages${require('path').sep}io${require('path').sep}`))
  require('@gradlens/io');
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
