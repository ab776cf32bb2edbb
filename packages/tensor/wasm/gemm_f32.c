/*
 * WebAssembly SIMD macro-kernel of gradlens's packed GEMM, float32 (see ../src/backends/cpu/kernels/gemm.ts
 * for the packed layouts). Built by build.sh into ../src/backends/cpu/kernels/wasm-binary.ts.
 *
 *   c[i*ldc + j] (=|+=) Σ_p A(i, p) · B(p, j)  for the whole block: rPanels panels of MR rows of A
 *   (panel r at ap + r*kc*MR, element (i, p) at p*MR + i) times sPanels panels of NR columns of B
 *   (panel s at bp + s*kc*NR, element (p, j) at p*NR + j).
 *
 * MR×NR = 6×8: twelve 4-lane accumulators, two B vectors and one broadcast A value fill the 16 vector
 * registers that V8 uses on x86-64 without spilling. WebAssembly SIMD has no fused multiply-add, so each
 * product is a mul then an add (same rounding as the JS kernel's float32 path would give).
 */
#include <wasm_simd128.h>

#define MR 6
#define NR 8

int gemm_mr(void) { return MR; }
int gemm_nr(void) { return NR; }

#define ROW(i)                                                         \
  {                                                                    \
    v128_t a = wasm_v128_load32_splat(a_ + (i));                       \
    c##i##0 = wasm_f32x4_add(c##i##0, wasm_f32x4_mul(a, b0));          \
    c##i##1 = wasm_f32x4_add(c##i##1, wasm_f32x4_mul(a, b1));          \
  }

#define STORE(i)                                                       \
  {                                                                    \
    float *row = c + (i) * ldc;                                        \
    if (accumulate) {                                                  \
      c##i##0 = wasm_f32x4_add(c##i##0, wasm_v128_load(row));          \
      c##i##1 = wasm_f32x4_add(c##i##1, wasm_v128_load(row + 4));      \
    }                                                                  \
    wasm_v128_store(row, c##i##0);                                     \
    wasm_v128_store(row + 4, c##i##1);                                 \
  }

static inline void micro(int kc, const float *a_, const float *b_, float *c, int ldc, int accumulate) {
  v128_t z = wasm_f32x4_splat(0.0f);
  v128_t c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
  v128_t c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
  for (int p = 0; p < kc; p++) {
    v128_t b0 = wasm_v128_load(b_);
    v128_t b1 = wasm_v128_load(b_ + 4);
    ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
    a_ += MR;
    b_ += NR;
  }
  STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
}

/* Addresses are byte offsets into the module's memory, chosen by the JavaScript side. */
void gemm_block(int kc, int rPanels, int sPanels, const float *ap, const float *bp, float *c, int ldc, int accumulate) {
  for (int s = 0; s < sPanels; s++) {
    const float *b = bp + s * kc * NR;
    for (int r = 0; r < rPanels; r++) {
      micro(kc, ap + r * kc * MR, b, c + r * MR * ldc + s * NR, ldc, accumulate);
    }
  }
}

/*
 * One row block of the GEMM driver over every depth block, for B panels [sBegin, sEnd): the loops of
 * gemm.ts's driver (p0 outer, then s, then r), so each element of C sees the same operations in the same
 * order whatever range a thread takes. Worker threads run disjoint ranges of s on the shared memory.
 *   A block p0 at ap + p0*mPad (row block i0 at + i0*kc), B block p0 at bp + p0*ldc; ldc = padded columns.
 */
void gemm_depth(int K, int KC, int mPad, int i0, int rPanels, int sBegin, int sEnd, const float *ap, const float *bp, float *c, int ldc) {
  for (int p0 = 0; p0 < K; p0 += KC) {
    int kc = K - p0 < KC ? K - p0 : KC;
    const float *a = ap + p0 * mPad + i0 * kc;
    const float *b = bp + p0 * ldc;
    for (int s = sBegin; s < sEnd; s++) {
      for (int r = 0; r < rPanels; r++) {
        micro(kc, a + r * kc * MR, b + s * kc * NR, c + r * MR * ldc + s * NR, ldc, p0 > 0);
      }
    }
  }
}

/*
 * Convolution packers (see ../src/backends/cpu/kernels/im2col.ts, packPanels and scatterAdd): the
 * same loops as the JavaScript ones, on data the caller staged in this memory. They only move numbers
 * (pack_panels) or add each term once, in the JavaScript order (scatter_add), so results are identical.
 */
#define PACK_FULL(W)                                                   \
  for (int s = 0; s < full; s++) {                                     \
    const int *a = across + s * (W);                                   \
    for (int p = 0; p < kc; p++, dst += (W)) {                         \
      const float *b = src + depth[p];                                 \
      for (int j = 0; j < (W); j++) dst[j] = b[a[j]];                  \
    }                                                                  \
  }

/* dst panel (p, j) of panel s at s*kc*nr + p*nr + j%nr = src[depth[p] + across[j]], zero past width. */
void pack_panels(const float *src, const int *depth, int kc, const int *across, int width, float *dst, int nr) {
  int full = width / nr;
  if (nr == 8) {
    PACK_FULL(8)
  } else if (nr == 6) {
    PACK_FULL(6)
  } else {
    PACK_FULL(nr)
  }
  int rem = width - full * nr;
  if (rem == 0) return;
  const int *a = across + full * nr;
  for (int p = 0; p < kc; p++, dst += nr) {
    const float *b = src + depth[p];
    for (int j = 0; j < nr; j++) dst[j] = j < rem ? b[a[j]] : 0.0f; /* one loop: no memset to link */
  }
}

/* dst[down[i] + runs[3r+2] + k*colStep] += c[i*ldc + runs[3r] + k] for k < runs[3r+1], row by row. */
void scatter_add(float *dst, const int *down, int rows, const int *runs, int nRuns, int colStep, const float *c, int ldc) {
  for (int i = 0; i < rows; i++) {
    float *b = dst + down[i];
    const float *ci = c + i * ldc;
    for (int r = 0; r < nRuns; r++) {
      const float *s = ci + runs[3 * r];
      int len = runs[3 * r + 1];
      float *o = b + runs[3 * r + 2];
      if (colStep == 1) {
        for (int k = 0; k < len; k++) o[k] += s[k];
      } else {
        for (int k = 0; k < len; k++) o[k * colStep] += s[k];
      }
    }
  }
}
