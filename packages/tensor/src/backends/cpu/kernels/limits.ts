/**
 * Largest staged input (offset tables and transform buffers included, in floats) a convolution puts in
 * the wasm memory: 256 Mi floats = 1 GiB. wasm32 memory cannot pass 4 GiB and cannot shrink, so a bigger
 * convolution takes the JavaScript packers (same results) instead of failing in memory.grow.
 */
export const MAX_STAGED_FLOATS = 1 << 28;
