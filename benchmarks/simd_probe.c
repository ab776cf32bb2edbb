/*
 * WebAssembly SIMD ceiling probe for the kernels suite: 13 independent chains of f32x4 mul then add
 * (WebAssembly SIMD has no fused multiply-add, as in gemm_f32.c's kernel), so the loop is bound by the
 * core's vector multiply and add throughput, not latency (a chain's mul + add latency is 6–8 cycles; two
 * of each issue per cycle). 13 chains + 2 constants are 15 vector registers, as many as V8 allocates on
 * x86-64 (it keeps the 16th as scratch): the former 14 chains spilled in the loop and read half the
 * ceiling (26.9 against 54 GFLOP/s on an AMD EPYC, Zen 5). Each iteration: 13 × 4 lanes × 2 flops = 104 flops.
 * Build: sh simd_probe.sh (writes simd-probe-wasm.js).
 */
#include <wasm_simd128.h>

#define STEP(v) v = wasm_f32x4_add(wasm_f32x4_mul(v, m), a);

float probe(int iters, float seed) {
  v128_t m = wasm_f32x4_splat(0.999999f), a = wasm_f32x4_splat(1e-7f);
  v128_t v0 = wasm_f32x4_splat(seed), v1 = wasm_f32x4_splat(seed + 1), v2 = wasm_f32x4_splat(seed + 2), v3 = wasm_f32x4_splat(seed + 3);
  v128_t v4 = wasm_f32x4_splat(seed + 4), v5 = wasm_f32x4_splat(seed + 5), v6 = wasm_f32x4_splat(seed + 6), v7 = wasm_f32x4_splat(seed + 7);
  v128_t v8 = wasm_f32x4_splat(seed + 8), v9 = wasm_f32x4_splat(seed + 9), v10 = wasm_f32x4_splat(seed + 10), v11 = wasm_f32x4_splat(seed + 11);
  v128_t v12 = wasm_f32x4_splat(seed + 12);
  for (int i = 0; i < iters; i++) {
    STEP(v0) STEP(v1) STEP(v2) STEP(v3) STEP(v4) STEP(v5) STEP(v6)
    STEP(v7) STEP(v8) STEP(v9) STEP(v10) STEP(v11) STEP(v12)
  }
  v128_t s = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_add(v0, v1), wasm_f32x4_add(v2, v3)), wasm_f32x4_add(wasm_f32x4_add(v4, v5), wasm_f32x4_add(v6, v7)));
  s = wasm_f32x4_add(s, wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_add(v8, v9), wasm_f32x4_add(v10, v11)), v12));
  return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1) + wasm_f32x4_extract_lane(s, 2) + wasm_f32x4_extract_lane(s, 3);
}
