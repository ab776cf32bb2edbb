/*
 * WebAssembly SIMD macro-kernel of gradlens's packed GEMM, float32 (see ../src/backends/cpu/kernels/gemm.ts
 * for the packed layouts). Built by build.sh into ../src/backends/cpu/kernels/wasm-binary.ts.
 *
 *   c[i*ldc + j] (=|+=) Σ_p A(i, p) · B(p, j)  for the whole block: rPanels panels of MR rows of A
 *   (panel r at ap + r*kc*MR, element (i, p) at p*MR + i) times sPanels panels of NR columns of B
 *   (panel s at bp + s*kc*NR, element (p, j) at p*NR + j).
 *
 * MR×NR = 4×8: eight 4-lane accumulators, two B vectors, one broadcast A value and the product in flight. V8
 * allocates 15 of x86-64's 16 vector registers (one is its scratch): the former 6×8 tile needed 16, spilled
 * in the inner loop and ran at 25 GFLOP/s per core on an AMD EPYC (Zen 5) where 4×8 runs at 50, the machine's
 * mul+add ceiling (benchmarks/HISTORY.md, "the 4×8 micro-kernel", 2026-12-06). 5×8 and 3×12 (14 registers) measured no better than 6×8:
 * TurboFan schedules the broadcasts ahead of their products. WebAssembly SIMD has no fused multiply-add, so each
 * product is a mul then an add (same rounding as the JS kernel's float32 path would give).
 */
#include <wasm_simd128.h>

#define MR 4
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
  v128_t c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
  for (int p = 0; p < kc; p++) {
    v128_t b0 = wasm_v128_load(b_);
    v128_t b1 = wasm_v128_load(b_ + 4);
    ROW(0) ROW(1) ROW(2) ROW(3)
    a_ += MR;
    b_ += NR;
  }
  STORE(0) STORE(1) STORE(2) STORE(3)
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
 * gemm_depth over tiles [t0, t1) of the rPanels × sPanels grid of one row block (tile t = s·rPanels + r),
 * for row blocks with too few B panels to split by panels alone (7×7 images: 7 panels for 2+ threads).
 * Each tile of C sees the same depth blocks in the same order as in gemm_depth, so results are identical.
 */
static void gemm_tiles(int K, int KC, int mPad, int i0, int rPanels, int t0, int t1, const float *ap, const float *bp, float *c, int ldc) {
  for (int p0 = 0; p0 < K; p0 += KC) {
    int kc = K - p0 < KC ? K - p0 : KC;
    const float *a = ap + p0 * mPad + i0 * kc;
    const float *b = bp + p0 * ldc;
    for (int t = t0; t < t1; t++) {
      int s = t / rPanels, r = t % rPanels;
      micro(kc, a + r * kc * MR, b + s * kc * NR, c + r * MR * ldc + s * NR, ldc, p0 > 0);
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

/* Whether panel a's 8 columns are consecutive in the source (a 1×1 or stride-1 convolution's pixels in one row). */
static inline int consecutive8(const int *a) {
  int a0 = a[0];
  return a[1] == a0 + 1 && a[2] == a0 + 2 && a[3] == a0 + 3 && a[4] == a0 + 4 && a[5] == a0 + 5 && a[6] == a0 + 6 &&
         a[7] == a0 + 7;
}

/*
 * dst panel (p, j) of panel s at s*kc*nr + p*nr + j%nr = src[depth[p] + across[j]], zero past width. A panel of 8
 * consecutive columns is moved two vectors a depth instead of gathered (the same numbers).
 */
void pack_panels(const float *src, const int *depth, int kc, const int *across, int width, float *dst, int nr) {
  int full = width / nr;
  if (nr == 8) {
    for (int s = 0; s < full; s++) {
      const int *a = across + s * 8;
      if (consecutive8(a)) {
        const float *b = src + a[0];
        for (int p = 0; p < kc; p++, dst += 8) {
          wasm_v128_store(dst, wasm_v128_load(b + depth[p]));
          wasm_v128_store(dst + 4, wasm_v128_load(b + depth[p] + 4));
        }
      } else {
        for (int p = 0; p < kc; p++, dst += 8) {
          const float *b = src + depth[p];
          for (int j = 0; j < 8; j++) dst[j] = b[a[j]];
        }
      }
    }
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

/*
 * Jobs for worker threads: run_job(job, i, count) does part i of `count` of a job whose arguments the
 * caller wrote at JOB_ARGS (ints; addresses are byte offsets). Each job splits its items (B panels,
 * channels, ...) into `count` contiguous ranges; every output element is computed by one part with the
 * same operations whatever the split, so results are bitwise the same for every thread count.
 * JOB_ARGS lies above the stack (under 64 KiB + 1 KiB) and below the JavaScript side's heap (128 KiB).
 */
#define JOB_ARGS ((const int *)69632)

/*
 * Where part i of `count` starts among n items: parts shrink from first to last (boundaries n·(1 − (1 − i/count)²)),
 * so the part a thread claims last is small and the threads finish together (equal parts left a thread waiting up
 * to one part's time at the end of every job). Parts are claimed in order, so the big ones are spread first.
 */
static inline int part(int n, int i, int count) {
  long long r = count - i;
  return (int)(n - (long long)n * r * r / ((long long)count * count));
}

/* Winograd F(2×2, 3×3) (see ../src/backends/cpu/kernels/winograd.ts for the layouts). */

/* U[ξ][panel r][ci][lane] = (G g Gᵀ)[ξ] of filter (co = r·MR + lane, ci), U[ξ] at ξ·xi, zero for co ≥ cout; co in [co0, co1). */
static void wino_filter(const float *w, int cout, int cin, int flip, float *u, int mPad, int xi, int co0, int co1) {
  for (int co = co0; co < co1; co++) {
    float *lane = u + (co / MR) * cin * MR + (co % MR);
    for (int ci = 0; ci < cin; ci++) {
      float *o = lane + ci * MR;
      if (co >= cout) {
        for (int k = 0; k < 16; k++) o[k * xi] = 0.0f;
        continue;
      }
      const float *s;
      int st;
      if (flip) { /* backward-to-input: g[co' = ci][ci' = co] = W[ci, co] turned by 180° */
        s = w + (ci * cout + co) * 9 + 8;
        st = -1;
      } else {
        s = w + (co * cin + ci) * 9;
        st = 1;
      }
      double g[9];
      for (int k = 0; k < 9; k++) g[k] = s[k * st];
      /* t = G g: rows g0, (g0+g1+g2)/2, (g0−g1+g2)/2, g2; then U = t Gᵀ row by row, in double as one rounding */
      for (int r = 0; r < 4; r++) {
        double a, b, c;
        if (r == 0) { a = g[0]; b = g[1]; c = g[2]; }
        else if (r == 3) { a = g[6]; b = g[7]; c = g[8]; }
        else {
          double sg = r == 1 ? 1.0 : -1.0;
          a = 0.5 * (g[0] + sg * g[3] + g[6]);
          b = 0.5 * (g[1] + sg * g[4] + g[7]);
          c = 0.5 * (g[2] + sg * g[5] + g[8]);
        }
        float *q = o + 4 * r * xi;
        q[0] = (float)a;
        q[xi] = (float)(0.5 * (a + b + c));
        q[2 * xi] = (float)(0.5 * (a - b + c));
        q[3 * xi] = (float)c;
      }
    }
  }
}

/* The 4×4 transform Bᵀ d B of one tile (scalar), written to o[ξ·xi]; d is read row-major. */
#define WINO_TILE_T(T, SUB, ADD, STORE)                                                            \
  {                                                                                               \
    /* columns: Bᵀ d (rows d0 − d2, d1 + d2, d2 − d1, d1 − d3), then rows likewise */             \
    T e0 = SUB(d00, d20), e1 = SUB(d01, d21), e2 = SUB(d02, d22), e3 = SUB(d03, d23);             \
    T f0 = ADD(d10, d20), f1 = ADD(d11, d21), f2 = ADD(d12, d22), f3 = ADD(d13, d23);             \
    T g0 = SUB(d20, d10), g1 = SUB(d21, d11), g2 = SUB(d22, d12), g3 = SUB(d23, d13);             \
    T h0 = SUB(d10, d30), h1 = SUB(d11, d31), h2 = SUB(d12, d32), h3 = SUB(d13, d33);             \
    STORE(0, SUB(e0, e2)) STORE(1, ADD(e1, e2)) STORE(2, SUB(e2, e1)) STORE(3, SUB(e1, e3))       \
    STORE(4, SUB(f0, f2)) STORE(5, ADD(f1, f2)) STORE(6, SUB(f2, f1)) STORE(7, SUB(f1, f3))       \
    STORE(8, SUB(g0, g2)) STORE(9, ADD(g1, g2)) STORE(10, SUB(g2, g1)) STORE(11, SUB(g1, g3))     \
    STORE(12, SUB(h0, h2)) STORE(13, ADD(h1, h2)) STORE(14, SUB(h2, h1)) STORE(15, SUB(h1, h3))   \
  }
#define S_SUB(a, b) ((a) - (b))
#define S_ADD(a, b) ((a) + (b))
#define S_STORE(q, val) o[(q) * xi] = (val);
#define V_STORE(q, val) wasm_v128_store(o + (q) * xi, (val));

/* One tile (lane k of its panel) with bounds checks: zero outside the image. */
static inline void wino_input_tile(const float *plane, int H, int W, int y0, int x0, float *o, int xi) {
#define AT(i, j) ((y0 + (i)) >= 0 && (y0 + (i)) < H && (x0 + (j)) >= 0 && (x0 + (j)) < W ? plane[(y0 + (i)) * W + x0 + (j)] : 0.0f)
  float d00 = AT(0, 0), d01 = AT(0, 1), d02 = AT(0, 2), d03 = AT(0, 3);
  float d10 = AT(1, 0), d11 = AT(1, 1), d12 = AT(1, 2), d13 = AT(1, 3);
  float d20 = AT(2, 0), d21 = AT(2, 1), d22 = AT(2, 2), d23 = AT(2, 3);
  float d30 = AT(3, 0), d31 = AT(3, 1), d32 = AT(3, 2), d33 = AT(3, 3);
#undef AT
  WINO_TILE_T(float, S_SUB, S_ADD, S_STORE)
}

/* Row i of four horizontally adjacent interior tiles as four vectors (lane l = tile l, column j = x0 + 2l + j). */
#define ROW4(i)                                                                                   \
  v128_t d##i##0, d##i##1, d##i##2, d##i##3;                                                      \
  {                                                                                               \
    const float *r = s + (i) * W;                                                                 \
    v128_t A = wasm_v128_load(r), B = wasm_v128_load(r + 4);                                      \
    v128_t C = wasm_v128_load(r + 2), D = wasm_v128_load(r + 6);                                  \
    d##i##0 = wasm_i32x4_shuffle(A, B, 0, 2, 4, 6);                                               \
    d##i##1 = wasm_i32x4_shuffle(A, B, 1, 3, 5, 7);                                               \
    d##i##2 = wasm_i32x4_shuffle(C, D, 0, 2, 4, 6);                                               \
    d##i##3 = wasm_i32x4_shuffle(C, D, 1, 3, 5, 7);                                               \
  }

/*
 * V[ξ][panel][c][lane] = (Bᵀ d B)[ξ] for tiles t0 + panel·NR + lane < t0 + count (zero for lanes past
 * count, up to tp), channels c in [c0, c1); input tile (ty, tx) starts at row 2ty − padH, column 2tx − padW.
 * Four tiles side by side in one tile row and inside the image go as one vector per ξ (the same float
 * operations per lane as the scalar path, so results do not depend on which path a tile takes).
 */
static void wino_input(const float *x, int C, int H, int W, int padH, int padW, int tilesH, int tilesW, int t0, int count, int xi,
                       float *v, int tp, int c0, int c1) {
  int perImage = tilesH * tilesW;
  for (int k0 = 0; k0 < tp; k0 += 4) {
    /* the first of these four tiles */
    int t = t0 + k0, n = t / perImage, rr = t - n * perImage;
    int ty = rr / tilesW, tx = rr - ty * tilesW;
    int y0 = 2 * ty - padH, x0 = 2 * tx - padW;
    int vec = k0 + 4 <= count && tx + 3 < tilesW && y0 >= 0 && y0 + 4 <= H && x0 >= 0 && x0 + 10 <= W;
    float *base = v + (k0 / NR) * C * NR + (k0 % NR);
    for (int c = c0; c < c1; c++) {
      float *o = base + c * NR;
      if (vec) {
        const float *s = x + ((n * C + c) * H + y0) * W + x0;
        ROW4(0) ROW4(1) ROW4(2) ROW4(3)
        WINO_TILE_T(v128_t, wasm_f32x4_sub, wasm_f32x4_add, V_STORE)
        continue;
      }
      for (int l = 0; l < 4; l++, o++) {
        int k = k0 + l;
        if (k >= count) {
          for (int q = 0; q < 16; q++) o[q * xi] = 0.0f;
          continue;
        }
        int tl = t0 + k, nl = tl / perImage, rl = tl - nl * perImage;
        int tyl = rl / tilesW, txl = rl - tyl * tilesW;
        wino_input_tile(x + (nl * C + c) * H * W, H, W, 2 * tyl - padH, 2 * txl - padW, o, xi);
      }
    }
  }
}

/*
 * A panels per pass over the B panels: a block of U[ξ] of at most 512 KiB (2¹⁷ floats) stays in L2 while each B panel
 * goes past it once. Blocks of 16 panels (64 rows) re-read V[ξ], which streams from memory, 8 times at 512 output
 * channels: VGG16's 2-thread pass 507 → 434 ms with 64-panel blocks (benchmarks/HISTORY.md, "Winograd's blocks of U", 2026-12-06).
 */
static inline int wino_row_block(int cin) {
  int rb = (1 << 17) / (cin * MR);
  return rb < 16 ? 16 : rb;
}

/*
 * M[ξ] = U[ξ] · V[ξ] ([mPad][tp]) over the whole depth Cin, for flattened items f = ξ·sPanels + s in [f0, f1); U[ξ], V[ξ]
 * and M[ξ] at ξ·uStride, ξ·vStride, ξ·mStride. The depth is summed in blocks of kb channels, each block's sum added to the running
 * total: F(4×4)'s transforms make the products far larger than the result, and float32 sums over the whole depth
 * lost 3× more to rounding than sums of 16-channel sums (its error against float64 dominates the transforms').
 */
static void wino_gemm(const float *u, const float *v, float *m, int mPad, int cin, int tp, int uStride, int vStride, int mStride, int kb, int f0,
                      int f1) {
  int sP = tp / NR, rP = mPad / MR, rb = wino_row_block(cin);
  for (int f = f0; f < f1;) {
    int xi = f / sP, s0 = f - xi * sP;
    int s1 = s0 + (f1 - f) < sP ? s0 + (f1 - f) : sP;
    const float *ux = u + xi * uStride, *vx = v + xi * vStride;
    float *mx = m + xi * mStride;
    for (int r0 = 0; r0 < rP; r0 += rb) {
      int r1 = r0 + rb < rP ? r0 + rb : rP;
      for (int s = s0; s < s1; s++)
        for (int r = r0; r < r1; r++)
          for (int p0 = 0; p0 < cin; p0 += kb)
            micro(cin - p0 < kb ? cin - p0 : kb, ux + (r * cin + p0) * MR, vx + (s * cin + p0) * NR, mx + r * MR * tp + s * NR, tp, p0 > 0);
    }
    f += s1 - s0;
  }
}

/* y = Aᵀ M A + bias for tiles t0 .. t0+count−1 and channels co in [co0, co1), where they fall inside the output. */
static void wino_output(const float *m, const float *bias, float *out, int CO, int OH, int OW, int tilesH, int tilesW, int t0,
                        int count, int tp, int xi, int co0, int co1) {
  int perImage = tilesH * tilesW;
  for (int co = co0; co < co1; co++) {
    float b = bias ? bias[co] : 0.0f;
    int n = t0 / perImage, rr = t0 - n * perImage;
    int ty = rr / tilesW, tx = rr - ty * tilesW;
    const float *s = m + co * tp;
    for (int k = 0; k < count; k++, s++) {
      /* rows: Aᵀ M (m0 + m1 + m2, m1 − m2 − m3) per column */
      float r0[4], r1[4];
      for (int j = 0; j < 4; j++) {
        float m0 = s[j * xi], m1 = s[(4 + j) * xi], m2 = s[(8 + j) * xi], m3 = s[(12 + j) * xi];
        r0[j] = m0 + m1 + m2;
        r1[j] = m1 - m2 - m3;
      }
      int oy = 2 * ty, ox = 2 * tx;
      float *o = out + ((n * CO + co) * OH + oy) * OW + ox;
      int right = ox + 1 < OW, down = oy + 1 < OH;
      o[0] = r0[0] + r0[1] + r0[2] + b;
      if (right) o[1] = r0[1] - r0[2] - r0[3] + b;
      if (down) {
        o[OW] = r1[0] + r1[1] + r1[2] + b;
        if (right) o[OW + 1] = r1[1] - r1[2] - r1[3] + b;
      }
      if (++tx == tilesW) {
        tx = 0;
        if (++ty == tilesH) {
          ty = 0;
          n++;
        }
      }
    }
  }
}

/*
 * Winograd F(4×4, 3×3) (Lavin & Gray 2016): 6×6 input tiles, 4×4 output tiles, 36 multiplications per tile and
 * channel pair instead of F(2×2)'s 64 for the same 16 outputs. Same layouts as F(2×2) with 36 ξ (ξ = 6·row +
 * column) and tiles of 4×4 outputs; jobs 13 (filter), 14 (input), 15 (output), the products by job 3. The
 * interpolation points are 0, 1, −1, 1/2, −2 and ∞ (Barabasz et al. 2020: points by ½ keep the transforms'
 * entries small), whose float32 error measured half that of the usual 0, ±1, ±2 in a float32 model of these
 * kernels (256 channels); with the products summed in 16-channel blocks (wino_gemm) the error against float64
 * stays within a few times im2col's (winograd.test.ts). Rows of Bᵀ are scaled by 2 where that makes them whole
 * (G's rows by ½ to match): powers of two change no rounding.
 */

/*
 * G (6×3) applied to three values (a column or row of the filter), in double: rows (½, 0, 0), (⅙, ⅙, ⅙),
 * (−⅙, ⅙, −⅙), (−16/15, −8/15, −4/15), (1/30, −1/15, 2/15), (0, 0, ½).
 */
#define WINO4_G(a, b, c, y0, y1, y2, y3, y4, y5)                                                 \
  {                                                                                             \
    double ac_ = a + c;                                                                         \
    y0 = 0.5 * a;                                                                               \
    y1 = (ac_ + b) / 6.0;                                                                       \
    y2 = (b - ac_) / 6.0;                                                                       \
    y3 = -(16.0 * a + 8.0 * b + 4.0 * c) / 15.0;                                                \
    y4 = (a - 2.0 * b + 4.0 * c) / 30.0;                                                        \
    y5 = 0.5 * c;                                                                               \
  }

/*
 * U[ξ][panel r][ci][lane] = (G g Gᵀ)[ξ] of filter (co = r·MR + lane, ci), U[ξ] at ξ·xi, zero for co ≥ cout; co in
 * [co0, co1). In double, rounded once per value.
 */
static void wino4_filter(const float *w, int cout, int cin, int flip, float *u, int mPad, int xi, int co0, int co1) {
  for (int co = co0; co < co1; co++) {
    float *lane = u + (co / MR) * cin * MR + (co % MR);
    for (int ci = 0; ci < cin; ci++) {
      float *o = lane + ci * MR;
      if (co >= cout) {
        for (int k = 0; k < 36; k++) o[k * xi] = 0.0f;
        continue;
      }
      const float *s = flip ? w + (ci * cout + co) * 9 + 8 : w + (co * cin + ci) * 9;
      int st = flip ? -1 : 1;
      /* t = G g: six rows of three (named locals: no shadow stack), then each row of t times Gᵀ */
      double t00, t10, t20, t30, t40, t50, t01, t11, t21, t31, t41, t51, t02, t12, t22, t32, t42, t52;
      WINO4_G((double)s[0], (double)s[3 * st], (double)s[6 * st], t00, t10, t20, t30, t40, t50)
      WINO4_G((double)s[st], (double)s[4 * st], (double)s[7 * st], t01, t11, t21, t31, t41, t51)
      WINO4_G((double)s[2 * st], (double)s[5 * st], (double)s[8 * st], t02, t12, t22, t32, t42, t52)
#define ROW_U(r)                                                                                   \
  {                                                                                                \
    double y0, y1, y2, y3, y4, y5;                                                                 \
    WINO4_G(t##r##0, t##r##1, t##r##2, y0, y1, y2, y3, y4, y5)                                     \
    float *q = o + 6 * (r) * xi;                                                                   \
    q[0] = (float)y0, q[xi] = (float)y1, q[2 * xi] = (float)y2;                                    \
    q[3 * xi] = (float)y3, q[4 * xi] = (float)y4, q[5 * xi] = (float)y5;                           \
  }
      ROW_U(0) ROW_U(1) ROW_U(2) ROW_U(3) ROW_U(4) ROW_U(5)
#undef ROW_U
    }
  }
}

/*
 * Bᵀ applied to six values x0..x5 (a column or row of a tile), as operations on type T, so the scalar and the
 * vector paths round the same way lane by lane. Rows of Bᵀ: (2, −3, −4, 3, 2, 0), (0, −2, 1, 5, 2, 0),
 * (0, 2, −5, 1, 2, 0), (0, −2, −1, 2, 1, 0), (0, 1, −2, −1, 2, 0), (0, 2, −3, −4, 3, 2).
 */
#define WINO4_B(T, ADD, SUB, MUL, x0, x1, x2, x3, x4, x5, y0, y1, y2, y3, y4, y5)              \
  {                                                                                             \
    T t_ = MUL(2.0f, x4), q_ = SUB(x3, x1);                                                     \
    y0 = ADD(SUB(ADD(MUL(2.0f, x0), t_), MUL(4.0f, x2)), MUL(3.0f, q_));                        \
    y1 = ADD(ADD(t_, x2), SUB(MUL(5.0f, x3), MUL(2.0f, x1)));                                   \
    y2 = ADD(ADD(t_, x3), SUB(MUL(2.0f, x1), MUL(5.0f, x2)));                                   \
    y3 = ADD(SUB(x4, x2), MUL(2.0f, q_));                                                       \
    y4 = ADD(SUB(t_, x3), SUB(x1, MUL(2.0f, x2)));                                              \
    y5 = ADD(ADD(SUB(MUL(2.0f, x5), MUL(4.0f, x3)), MUL(3.0f, SUB(x4, x2))), MUL(2.0f, x1));    \
  }
/*
 * Bᵀ d B of a 6×6 tile, rows first: e = d B has been made row by row (WINO4_B on each row of d into e[6i..6i+5],
 * as each row is loaded, so the vector path holds 36 vectors instead of 72), then each column of e goes through
 * Bᵀ and lands at ξ = 6·(its row) + column as STORE(ξ, value).
 */
#define WINO4_COLUMN(T, ADD, SUB, MUL, e, STORE, k)                                            \
  {                                                                                             \
    T y0_, y1_, y2_, y3_, y4_, y5_;                                                             \
    WINO4_B(T, ADD, SUB, MUL, e[k], e[6 + (k)], e[12 + (k)], e[18 + (k)], e[24 + (k)], e[30 + (k)], \
            y0_, y1_, y2_, y3_, y4_, y5_)                                                       \
    STORE(k, y0_) STORE(6 + (k), y1_) STORE(12 + (k), y2_)                                      \
    STORE(18 + (k), y3_) STORE(24 + (k), y4_) STORE(30 + (k), y5_)                              \
  }
/* (unrolled by hand: an array indexed by a loop clang leaves rolled would live on the shadow stack) */
#define WINO4_COLUMNS(T, ADD, SUB, MUL, e, STORE)                                                                  \
  WINO4_COLUMN(T, ADD, SUB, MUL, e, STORE, 0) WINO4_COLUMN(T, ADD, SUB, MUL, e, STORE, 1)                          \
  WINO4_COLUMN(T, ADD, SUB, MUL, e, STORE, 2) WINO4_COLUMN(T, ADD, SUB, MUL, e, STORE, 3)                          \
  WINO4_COLUMN(T, ADD, SUB, MUL, e, STORE, 4) WINO4_COLUMN(T, ADD, SUB, MUL, e, STORE, 5)
#define WINO4_ROW(T, ADD, SUB, MUL, x0, x1, x2, x3, x4, x5, e, i)                               \
  WINO4_B(T, ADD, SUB, MUL, x0, x1, x2, x3, x4, x5, e[6 * (i)], e[6 * (i) + 1], e[6 * (i) + 2], \
          e[6 * (i) + 3], e[6 * (i) + 4], e[6 * (i) + 5])
#define S_MUL(k, a) ((k) * (a))
#define V_MUL(k, a) wasm_f32x4_mul(wasm_f32x4_splat(k), (a))

/*
 * V[ξ][panel][c][lane] = (Bᵀ d B)[ξ] for tiles t0 + panel·NR + lane < t0 + count (zero for lanes past count, up to
 * tp), channels c in [c0, c1); input tile (ty, tx) starts at row 4ty − padH, column 4tx − padW. Four tiles side by
 * side in one tile row and inside the image go as one vector per ξ (lane l = tile l: columns x0 + 4l + j, gathered
 * by shuffles), with the same operations per lane as the scalar path.
 */
static void wino4_input(const float *x, int C, int H, int W, int padH, int padW, int tilesH, int tilesW, int t0, int count, int xi,
                        float *v, int tp, int c0, int c1) {
  int perImage = tilesH * tilesW;
  for (int k0 = 0; k0 < tp; k0 += 4) {
    int t = t0 + k0, n = t / perImage, rr = t - n * perImage;
    int ty = rr / tilesW, tx = rr - ty * tilesW;
    int y0 = 4 * ty - padH, x0 = 4 * tx - padW;
    int vec = k0 + 4 <= count && tx + 3 < tilesW && y0 >= 0 && y0 + 6 <= H && x0 >= 0 && x0 + 18 <= W;
    float *base = v + (k0 / NR) * C * NR + (k0 % NR);
    for (int c = c0; c < c1; c++) {
      float *o = base + c * NR;
      if (vec) {
        const float *s = x + ((n * C + c) * H + y0) * W + x0;
        v128_t e[36];
        /* row i: columns j of the four tiles (A..D hold columns 0..15, E columns 14..17), then its row transform */
#define VROW(i)                                                                                                   \
  {                                                                                                               \
    const float *q = s + (i) * W;                                                                                 \
    v128_t A = wasm_v128_load(q), B = wasm_v128_load(q + 4), Cv = wasm_v128_load(q + 8);                          \
    v128_t D = wasm_v128_load(q + 12), E = wasm_v128_load(q + 14);                                                \
    v128_t ab01 = wasm_i32x4_shuffle(A, B, 0, 4, 1, 5), cd01 = wasm_i32x4_shuffle(Cv, D, 0, 4, 1, 5);             \
    v128_t ab23 = wasm_i32x4_shuffle(A, B, 2, 6, 3, 7), cd23 = wasm_i32x4_shuffle(Cv, D, 2, 6, 3, 7);             \
    v128_t bc01 = wasm_i32x4_shuffle(B, Cv, 0, 4, 1, 5), de01 = wasm_i32x4_shuffle(D, E, 0, 6, 1, 7);             \
    WINO4_ROW(v128_t, wasm_f32x4_add, wasm_f32x4_sub, V_MUL, wasm_i32x4_shuffle(ab01, cd01, 0, 1, 4, 5),          \
              wasm_i32x4_shuffle(ab01, cd01, 2, 3, 6, 7), wasm_i32x4_shuffle(ab23, cd23, 0, 1, 4, 5),             \
              wasm_i32x4_shuffle(ab23, cd23, 2, 3, 6, 7), wasm_i32x4_shuffle(bc01, de01, 0, 1, 4, 5),             \
              wasm_i32x4_shuffle(bc01, de01, 2, 3, 6, 7), e, i)                                                   \
  }
        VROW(0) VROW(1) VROW(2) VROW(3) VROW(4) VROW(5)
#undef VROW
        WINO4_COLUMNS(v128_t, wasm_f32x4_add, wasm_f32x4_sub, V_MUL, e, V_STORE)
        continue;
      }
      for (int l = 0; l < 4; l++, o++) {
        int k = k0 + l;
        if (k >= count) {
          for (int q = 0; q < 36; q++) o[q * xi] = 0.0f;
          continue;
        }
        int tl = t0 + k, nl = tl / perImage, rl = tl - nl * perImage;
        int tyl = rl / tilesW, txl = rl - tyl * tilesW;
        int ya = 4 * tyl - padH, xa = 4 * txl - padW;
        const float *plane = x + (nl * C + c) * H * W;
        float d[36], e[36];
        for (int i = 0; i < 6; i++)
          for (int j = 0; j < 6; j++) {
            int yy = ya + i, xx = xa + j;
            d[6 * i + j] = yy >= 0 && yy < H && xx >= 0 && xx < W ? plane[yy * W + xx] : 0.0f;
          }
#define SROW(i) WINO4_ROW(float, S_ADD, S_SUB, S_MUL, d[6 * (i)], d[6 * (i) + 1], d[6 * (i) + 2], d[6 * (i) + 3], d[6 * (i) + 4], d[6 * (i) + 5], e, i)
        SROW(0) SROW(1) SROW(2) SROW(3) SROW(4) SROW(5)
#undef SROW
        WINO4_COLUMNS(float, S_ADD, S_SUB, S_MUL, e, S_STORE)
      }
    }
  }
}

/*
 * Aᵀ applied to six values m0..m5 (rows of Aᵀ: (1, 1, 1, 1, 1, 0), (0, 1, −1, ½, −2, 0), (0, 1, 1, ¼, 4, 0),
 * (0, 1, −1, ⅛, −8, 1)): with a = m1 + m2, b = m1 − m2.
 */
#define WINO4_A(T, ADD, SUB, MUL, m0, m1, m2, m3, m4, m5, y0, y1, y2, y3)                      \
  {                                                                                             \
    T a_ = ADD(m1, m2), b_ = SUB(m1, m2), c_ = m3, e_ = m4;                                     \
    y0 = ADD(ADD(ADD(m0, a_), c_), e_);                                                         \
    y1 = SUB(ADD(b_, MUL(0.5f, c_)), MUL(2.0f, e_));                                            \
    y2 = ADD(ADD(a_, MUL(0.25f, c_)), MUL(4.0f, e_));                                           \
    y3 = ADD(SUB(ADD(b_, MUL(0.125f, c_)), MUL(8.0f, e_)), m5);                                 \
  }

/* y = Aᵀ M A + bias for tiles t0 .. t0+count−1 and channels co in [co0, co1), where they fall inside the output. */
static void wino4_output(const float *m, const float *bias, float *out, int CO, int OH, int OW, int tilesH, int tilesW, int t0,
                         int count, int tp, int xi, int co0, int co1) {
  int perImage = tilesH * tilesW;
  for (int co = co0; co < co1; co++) {
    float b = bias ? bias[co] : 0.0f;
    int n = t0 / perImage, rr = t0 - n * perImage;
    int ty = rr / tilesW, tx = rr - ty * tilesW;
    const float *s = m + co * tp;
    for (int k = 0; k < count;) {
      int oy = 4 * ty, ox = 4 * tx;
      float *o = out + ((n * CO + co) * OH + oy) * OW + ox;
      /* named locals, no arrays: the kernels must not use the shadow stack that all instances share */
      if (k + 4 <= count && tx + 4 <= tilesW && oy + 4 <= OH && ox + 16 <= OW) {
        /* four tiles side by side, lane l = tile k + l (M holds them next to each other), the same operations per
           lane as the scalar path; each tile's output rows gathered back by a 4×4 transpose */
        v128_t vb = wasm_f32x4_splat(b);
        v128_t r00, r01, r02, r03, r04, r05, r10, r11, r12, r13, r14, r15;
        v128_t r20, r21, r22, r23, r24, r25, r30, r31, r32, r33, r34, r35;
#define VL(q) wasm_v128_load(s + (q) * xi)
#define COL(j) WINO4_A(v128_t, wasm_f32x4_add, wasm_f32x4_sub, V_MUL, VL(j), VL(6 + (j)), VL(12 + (j)), VL(18 + (j)), \
                       VL(24 + (j)), VL(30 + (j)), r0##j, r1##j, r2##j, r3##j)
        COL(0) COL(1) COL(2) COL(3) COL(4) COL(5)
#undef COL
#undef VL
#define ROW_OUT(i)                                                                                                 \
  {                                                                                                                \
    v128_t y0, y1, y2, y3;                                                                                         \
    WINO4_A(v128_t, wasm_f32x4_add, wasm_f32x4_sub, V_MUL, r##i##0, r##i##1, r##i##2, r##i##3, r##i##4, r##i##5, \
            y0, y1, y2, y3)                                                                                        \
    y0 = wasm_f32x4_add(y0, vb), y1 = wasm_f32x4_add(y1, vb), y2 = wasm_f32x4_add(y2, vb), y3 = wasm_f32x4_add(y3, vb); \
    v128_t t0 = wasm_i32x4_shuffle(y0, y1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(y2, y3, 0, 4, 1, 5);              \
    v128_t t2 = wasm_i32x4_shuffle(y0, y1, 2, 6, 3, 7), t3 = wasm_i32x4_shuffle(y2, y3, 2, 6, 3, 7);              \
    float *q = o + (i) * OW;                                                                                       \
    wasm_v128_store(q, wasm_i32x4_shuffle(t0, t1, 0, 1, 4, 5));                                                    \
    wasm_v128_store(q + 4, wasm_i32x4_shuffle(t0, t1, 2, 3, 6, 7));                                                \
    wasm_v128_store(q + 8, wasm_i32x4_shuffle(t2, t3, 0, 1, 4, 5));                                                \
    wasm_v128_store(q + 12, wasm_i32x4_shuffle(t2, t3, 2, 3, 6, 7));                                               \
  }
        ROW_OUT(0) ROW_OUT(1) ROW_OUT(2) ROW_OUT(3)
#undef ROW_OUT
        k += 4, s += 4, tx += 4;
      } else {
        float r00, r01, r02, r03, r04, r05, r10, r11, r12, r13, r14, r15;
        float r20, r21, r22, r23, r24, r25, r30, r31, r32, r33, r34, r35;
#define COL(j) WINO4_A(float, S_ADD, S_SUB, S_MUL, s[(j) * xi], s[(6 + (j)) * xi], s[(12 + (j)) * xi], s[(18 + (j)) * xi], \
                       s[(24 + (j)) * xi], s[(30 + (j)) * xi], r0##j, r1##j, r2##j, r3##j)
        COL(0) COL(1) COL(2) COL(3) COL(4) COL(5)
#undef COL
        int rows = OH - oy < 4 ? OH - oy : 4, cols = OW - ox < 4 ? OW - ox : 4;
#define ROW_OUT(i)                                                                                      \
  if ((i) < rows) {                                                                                     \
    float y0, y1, y2, y3;                                                                               \
    WINO4_A(float, S_ADD, S_SUB, S_MUL, r##i##0, r##i##1, r##i##2, r##i##3, r##i##4, r##i##5, y0, y1, y2, y3) \
    float *q = o + (i) * OW;                                                                            \
    q[0] = y0 + b;                                                                                      \
    if (cols > 1) q[1] = y1 + b;                                                                        \
    if (cols > 2) q[2] = y2 + b;                                                                        \
    if (cols > 3) q[3] = y3 + b;                                                                        \
  }
        ROW_OUT(0) ROW_OUT(1) ROW_OUT(2) ROW_OUT(3)
#undef ROW_OUT
        k++, s++, tx++;
      }
      if (tx == tilesW) {
        tx = 0;
        if (++ty == tilesH) {
          ty = 0;
          n++;
        }
      }
    }
  }
}

/*
 * Thin products (../src/backends/cpu/kernels/thin.ts), the same operations in the same order as its
 * JavaScript loops, so results are bitwise those of the JavaScript path: sums in double with four
 * accumulators, products of float32 values in double, one rounding to float32 per stored value.
 */

/* out[i·ldo + j] = Σ_p x[i·k + p] · w[j·k + p] for i < m, rows j in [j0, j1) of w. */
static void thin_dot(const float *x, int m, int k, const float *w, float *out, int ldo, int j0, int j1) {
  for (int i = 0; i < m; i++) {
    const float *xi = x + i * k;
    for (int j = j0; j < j1; j++) {
      const float *y = w + j * k;
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int p = 0;
      for (; p + 3 < k; p += 4) {
        s0 += (double)xi[p] * y[p];
        s1 += (double)xi[p + 1] * y[p + 1];
        s2 += (double)xi[p + 2] * y[p + 2];
        s3 += (double)xi[p + 3] * y[p + 3];
      }
      for (; p < k; p++) s0 += (double)xi[p] * y[p];
      out[i * ldo + j] = (float)(s0 + s1 + s2 + s3);
    }
  }
}

/* Four floats as two f64x2 halves, and back (demoting rounds to nearest, as a (float) cast does). */
#define PROMOTE_LO(v) wasm_f64x2_promote_low_f32x4(v)
#define PROMOTE_HI(v) wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1))
#define DEMOTE(lo, hi) wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(lo), wasm_f32x4_demote_f64x2_zero(hi), 0, 1, 4, 5)

/* out[j] = (float)((double)out[j] + sp · r[j]) for j in [j0, j1). */
static void axpy_row(double sp, const float *r, float *out, int j0, int j1) {
  v128_t vs = wasm_f64x2_splat(sp);
  int j = j0;
  for (; j + 4 <= j1; j += 4) {
    v128_t o = wasm_v128_load(out + j), x = wasm_v128_load(r + j);
    v128_t lo = wasm_f64x2_add(PROMOTE_LO(o), wasm_f64x2_mul(vs, PROMOTE_LO(x)));
    v128_t hi = wasm_f64x2_add(PROMOTE_HI(o), wasm_f64x2_mul(vs, PROMOTE_HI(x)));
    wasm_v128_store(out + j, DEMOTE(lo, hi));
  }
  for (; j < j1; j++) out[j] = (float)((double)out[j] + sp * r[j]);
}

/* One row's step on four values held as float32 (in two f64x2 halves): add sp · x in double, round to float32. */
#define AXPY_STEP(vs, row)                                                                           \
  {                                                                                                  \
    v128_t x = wasm_v128_load((row) + j);                                                            \
    v128_t f = DEMOTE(wasm_f64x2_add(lo, wasm_f64x2_mul(vs, PROMOTE_LO(x))),                         \
                      wasm_f64x2_add(hi, wasm_f64x2_mul(vs, PROMOTE_HI(x))));                        \
    lo = PROMOTE_LO(f);                                                                              \
    hi = PROMOTE_HI(f);                                                                              \
  }

/*
 * out[j] = out[j] + s[p] · w[p·n + j] (rounded to float32 each time) for p < rows with s[p] ≠ 0, columns j in
 * [j0, j1). Four rows at a time: each value of out is loaded and stored once per four rows instead of per row (a
 * thread's columns of VGG16's fc6 are 50 KB, past L1: per row that traffic, not the weight's stream, set the pace),
 * with the same operations in the same order for each element.
 */
static void thin_axpy(const float *s, int rows, const float *w, int n, float *out, int j0, int j1) {
  int p = 0;
  for (;;) {
#define NEXT_ROW(v)                        \
  while (p < rows && s[p] == 0) p++;       \
  int v = p < rows ? p++ : -1;
    NEXT_ROW(a) NEXT_ROW(b) NEXT_ROW(c) NEXT_ROW(d)
#undef NEXT_ROW
    if (d < 0) { /* fewer than four rows left */
      if (a >= 0) axpy_row(s[a], w + a * n, out, j0, j1);
      if (b >= 0) axpy_row(s[b], w + b * n, out, j0, j1);
      if (c >= 0) axpy_row(s[c], w + c * n, out, j0, j1);
      return;
    }
    double sa = s[a], sb = s[b], sc = s[c], sd = s[d];
    const float *ra = w + a * n, *rb = w + b * n, *rc = w + c * n, *rd = w + d * n;
    v128_t va = wasm_f64x2_splat(sa), vb = wasm_f64x2_splat(sb), vc = wasm_f64x2_splat(sc), vd = wasm_f64x2_splat(sd);
    int j = j0;
    for (; j + 4 <= j1; j += 4) {
      v128_t o = wasm_v128_load(out + j);
      v128_t lo = PROMOTE_LO(o), hi = PROMOTE_HI(o);
      AXPY_STEP(va, ra) AXPY_STEP(vb, rb) AXPY_STEP(vc, rc)
      v128_t x = wasm_v128_load(rd + j);
      wasm_v128_store(out + j, DEMOTE(wasm_f64x2_add(lo, wasm_f64x2_mul(vd, PROMOTE_LO(x))),
                                      wasm_f64x2_add(hi, wasm_f64x2_mul(vd, PROMOTE_HI(x)))));
    }
    for (; j < j1; j++) {
      float o = (float)((double)out[j] + sa * ra[j]);
      o = (float)((double)o + sb * rb[j]);
      o = (float)((double)o + sc * rc[j]);
      out[j] = (float)((double)o + sd * rd[j]);
    }
  }
}

/* A panels of MR rows (gemm.ts's stridedA): dst[r·kc·MR + p·MR + ii] = src[(i0 + r·MR + ii)·rs + (p0 + p)·cs], zero past `rows`; panels [r0, r1). */
static void pack_a(const float *src, int rs, int cs, int i0, int rows, int p0, int kc, float *dst, int r0, int r1) {
  for (int r = r0; r < r1; r++) {
    float *d = dst + r * kc * MR;
    int valid = rows - r * MR < MR ? rows - r * MR : MR;
    const float *s = src + (i0 + r * MR) * rs + p0 * cs;
    if (valid == MR) {
      // a whole panel: MR copies a depth, unrolled (MR is a constant), so it follows MR when the tile changes
      for (int p = 0; p < kc; p++, d += MR, s += cs)
#pragma clang loop unroll(full)
        for (int ii = 0; ii < MR; ii++) d[ii] = s[ii * rs];
    } else {
      for (int p = 0; p < kc; p++, d += MR, s += cs)
        for (int ii = 0; ii < MR; ii++) d[ii] = ii < valid ? s[ii * rs] : 0.0f;
    }
  }
}

/*
 * Depthwise convolutions (one input channel per group, channel multiplier `mult` = Cout / Cin), on a
 * zero-padded input staged by the caller: planes [N·Cin][Hp][Wp], so no tap needs a bounds check
 * (../src/backends/cpu/kernels/depthwise.ts). Geometry g: kh, kw, sH, sW, dH, dW. Each plane is done by one
 * part with the same operations whatever the split, so results are bitwise the same for every thread count.
 */
typedef struct { int kh, kw, sH, sW, dH, dW; } DwGeom;

/* Four values x[0], x[s], x[2s], x[3s] as one vector (s = 1 and 2 by vector loads; reads at most x[7]). */
static inline v128_t load_strided(const float *x, int s) {
  if (s == 1) return wasm_v128_load(x);
  if (s == 2) return wasm_i32x4_shuffle(wasm_v128_load(x), wasm_v128_load(x + 4), 0, 2, 4, 6);
  return wasm_f32x4_make(x[0], x[s], x[2 * s], x[3 * s]);
}

/*
 * One output row of a 3×3 depthwise kernel, eight outputs per step as two independent vector chains (taps in
 * the generic order), then four, then one at a time. r0..r2 are the three input rows of the row's windows.
 */
#define DW3_ROW(S)                                                                                          \
  for (; ow + 8 <= OW; ow += 8) {                                                                         \
    const float *a0 = r0 + ow * (S), *a1 = r1 + ow * (S), *a2 = r2 + ow * (S);                            \
    v128_t p = bv, q = bv;                                                                                \
    DW3_TAP(a0, 0, w0) DW3_TAP(a0, 1, w1) DW3_TAP(a0, 2, w2)                                              \
    DW3_TAP(a1, 0, w3) DW3_TAP(a1, 1, w4) DW3_TAP(a1, 2, w5)                                              \
    DW3_TAP(a2, 0, w6) DW3_TAP(a2, 1, w7) DW3_TAP(a2, 2, w8)                                              \
    wasm_v128_store(o + ow, p);                                                                           \
    wasm_v128_store(o + ow + 4, q);                                                                       \
  }
#define DW3_TAP(a, k, wv)                                                                                   \
  p = wasm_f32x4_add(p, wasm_f32x4_mul(wv, load_strided(a + (k) * dW, S_)));                              \
  q = wasm_f32x4_add(q, wasm_f32x4_mul(wv, load_strided(a + (k) * dW + 4 * S_, S_)));

/* out[n, co] = bias[co] + Σ_{ky,kx} w[co, ky, kx] · xp[n, co / mult] at (oh·sH + ky·dH, ow·sW + kx·dW), taps in order; planes n·Cout + co in [p0, p1). */
static void dw_forward(const float *xp, const float *w, const float *bias, float *out, int cin, int cout, int Hp, int Wp, int OH,
                       int OW, DwGeom g, int p0, int p1) {
  int mult = cout / cin, taps = g.kh * g.kw, dW = g.dW;
  for (int pl = p0; pl < p1; pl++) {
    int n = pl / cout, co = pl - n * cout;
    const float *x = xp + (n * cin + co / mult) * Hp * Wp;
    const float *wc = w + co * taps;
    float *o = out + pl * OH * OW;
    float b = bias ? bias[co] : 0.0f;
    v128_t bv = wasm_f32x4_splat(b);
    int three = g.kh == 3 && g.kw == 3;
    v128_t w0 = wasm_f32x4_splat(wc[0]), w1 = w0, w2 = w0, w3 = w0, w4 = w0, w5 = w0, w6 = w0, w7 = w0, w8 = w0;
    if (three) {
      w1 = wasm_f32x4_splat(wc[1]), w2 = wasm_f32x4_splat(wc[2]), w3 = wasm_f32x4_splat(wc[3]), w4 = wasm_f32x4_splat(wc[4]);
      w5 = wasm_f32x4_splat(wc[5]), w6 = wasm_f32x4_splat(wc[6]), w7 = wasm_f32x4_splat(wc[7]), w8 = wasm_f32x4_splat(wc[8]);
    }
    for (int oh = 0; oh < OH; oh++, o += OW) {
      const float *xr = x + oh * g.sH * Wp;
      int ow = 0;
      if (three) {
        const float *r0 = xr, *r1 = xr + g.dH * Wp, *r2 = xr + 2 * g.dH * Wp;
        if (g.sW == 1) {
#define S_ 1
          DW3_ROW(1)
#undef S_
        } else if (g.sW == 2) {
#define S_ 2
          DW3_ROW(2)
#undef S_
        }
      }
      for (; ow + 4 <= OW; ow += 4) {
        v128_t acc = bv;
        const float *xs = xr + ow * g.sW;
        for (int ky = 0; ky < g.kh; ky++) {
          const float *row = xs + ky * g.dH * Wp;
          for (int kx = 0; kx < g.kw; kx++)
            acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_splat(wc[ky * g.kw + kx]), load_strided(row + kx * g.dW, g.sW)));
        }
        wasm_v128_store(o + ow, acc);
      }
      for (; ow < OW; ow++) {
        float acc = b;
        const float *xs = xr + ow * g.sW;
        for (int ky = 0; ky < g.kh; ky++)
          for (int kx = 0; kx < g.kw; kx++) acc = acc + wc[ky * g.kw + kx] * xs[ky * g.dH * Wp + kx * g.dW];
        o[ow] = acc;
      }
    }
  }
}

/*
 * dxp[n, ci] at (oh·sH + ky·dH, ow·sW + kx·dW) += w[co, ky, kx] · dy[n, co, oh, ow] for the mult output
 * channels co of input channel ci (dxp zeroed by the caller, its border discarded after); planes n·Cin + ci in [p0, p1).
 */
static void dw_backward_input(const float *dy, const float *w, float *dxp, int cin, int cout, int Hp, int Wp, int OH, int OW,
                              DwGeom g, int p0, int p1) {
  int mult = cout / cin, taps = g.kh * g.kw;
  for (int pl = p0; pl < p1; pl++) {
    int n = pl / cin, ci = pl - n * cin;
    float *d = dxp + pl * Hp * Wp;
    for (int m = 0; m < mult; m++) {
      int co = ci * mult + m;
      const float *wc = w + co * taps;
      const float *s = dy + (n * cout + co) * OH * OW;
      for (int oh = 0; oh < OH; oh++, s += OW) {
        for (int ky = 0; ky < g.kh; ky++) {
          float *row = d + (oh * g.sH + ky * g.dH) * Wp;
          for (int kx = 0; kx < g.kw; kx++) {
            float wv = wc[ky * g.kw + kx];
            float *r = row + kx * g.dW;
            int ow = 0;
            if (g.sW == 1) {
              v128_t wsp = wasm_f32x4_splat(wv);
              for (; ow + 4 <= OW; ow += 4)
                wasm_v128_store(r + ow, wasm_f32x4_add(wasm_v128_load(r + ow), wasm_f32x4_mul(wsp, wasm_v128_load(s + ow))));
            }
            for (; ow < OW; ow++) r[ow * g.sW] = r[ow * g.sW] + wv * s[ow];
          }
        }
      }
    }
  }
}

/*
 * dw[co, ky, kx] = Σ_n Σ_oh Σ_ow dy[n, co, oh, ow] · xp[n, co / mult] at (oh·sH + ky·dH, ow·sW + kx·dW),
 * products and sums in double (as the JavaScript loops), two lanes per vector; output channels in [c0, c1).
 */
static void dw_backward_weight(const float *xp, const float *dy, float *dw, int N, int cin, int cout, int Hp, int Wp, int OH, int OW,
                               DwGeom g, int c0, int c1) {
  int mult = cout / cin;
  for (int co = c0; co < c1; co++) {
    for (int ky = 0; ky < g.kh; ky++) {
      for (int kx = 0; kx < g.kw; kx++) {
        v128_t lo = wasm_f64x2_splat(0.0), hi = wasm_f64x2_splat(0.0);
        double tail = 0.0;
        for (int n = 0; n < N; n++) {
          const float *x = xp + (n * cin + co / mult) * Hp * Wp + ky * g.dH * Wp + kx * g.dW;
          const float *s = dy + (n * cout + co) * OH * OW;
          for (int oh = 0; oh < OH; oh++, s += OW) {
            const float *xr = x + oh * g.sH * Wp;
            int ow = 0;
            for (; ow + 4 <= OW; ow += 4) {
              v128_t a = wasm_v128_load(s + ow), b = load_strided(xr + ow * g.sW, g.sW);
              lo = wasm_f64x2_add(lo, wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(a), wasm_f64x2_promote_low_f32x4(b)));
              hi = wasm_f64x2_add(hi, wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(a, a, 2, 3, 0, 1)),
                                                     wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(b, b, 2, 3, 0, 1))));
            }
            for (; ow < OW; ow++) tail += (double)s[ow] * xr[ow * g.sW];
          }
        }
        v128_t t = wasm_f64x2_add(lo, hi);
        dw[(co * g.kh + ky) * g.kw + kx] = (float)(wasm_f64x2_extract_lane(t, 0) + wasm_f64x2_extract_lane(t, 1) + tail);
      }
    }
  }
}

/*
 * Elementwise kernels over tensors that live in the module's memory (the CPU backend's tensor arena), each the
 * same bit operations or float64 arithmetic as its JavaScript twin in ../src/backends/cpu (elementwise.ts,
 * kernels/batchnorm.ts), so results do not depend on where a tensor lives or how many threads ran.
 * Parts split the values in 16-value chunks (64 bytes), so no two threads write one cache line.
 */

/* relu on float32 bits: a negative non-NaN (sign set, -0 and -Infinity included) becomes +0; NaN passes. */
static void relu_bits(const int *x, int *o, int b, int e) {
  const v128_t magnitude = wasm_i32x4_splat(0x7fffffff), inf = wasm_i32x4_splat(0x7f800000);
  int k = b;
  for (; k + 4 <= e; k += 4) {
    v128_t v = wasm_v128_load(x + k);
    v128_t nan = wasm_i32x4_gt(wasm_v128_and(v, magnitude), inf);
    v128_t clear = wasm_v128_andnot(wasm_i32x4_shr(v, 31), nan);
    wasm_v128_store(o + k, wasm_v128_andnot(v, clear));
  }
  for (; k < e; k++) {
    int v = x[k];
    o[k] = (v & 0x7fffffff) > 0x7f800000 ? v : v & ~(v >> 31);
  }
}

/* relu's backward on float32 bits: dy where 0 < bits(x) <= bits(+Infinity) (x > 0), else +0. */
static void relu_backward_bits(const int *dy, const int *x, int *o, int b, int e) {
  const v128_t zero = wasm_i32x4_splat(0), inf = wasm_i32x4_splat(0x7f800000);
  int k = b;
  for (; k + 4 <= e; k += 4) {
    v128_t v = wasm_v128_load(x + k);
    v128_t keep = wasm_v128_and(wasm_i32x4_gt(v, zero), wasm_i32x4_le(v, inf));
    wasm_v128_store(o + k, wasm_v128_and(wasm_v128_load(dy + k), keep));
  }
  for (; k < e; k++) o[k] = x[k] > 0 && x[k] <= 0x7f800000 ? dy[k] : 0;
}

/* o = a + b (float32 sums round as JavaScript's float64 sum rounded to float32 does). */
static void add_f32(const float *a, const float *b, float *o, int lo, int hi) {
  int k = lo;
  for (; k + 4 <= hi; k += 4) wasm_v128_store(o + k, wasm_f32x4_add(wasm_v128_load(a + k), wasm_v128_load(b + k)));
  for (; k < hi; k++) o[k] = a[k] + b[k];
}

/* Eval-mode batch norm on planes [p0, p1) of [N, C, spatial]: y = (x − m)·k + b in float64, mkb[3c..3c+2] = m, k, b. */
static void bn_affine(const float *x, float *y, const double *mkb, int channels, int spatial, int p0, int p1) {
  for (int p = p0; p < p1; p++) {
    int c = p % channels;
    double m = mkb[3 * c], k = mkb[3 * c + 1], b = mkb[3 * c + 2];
    v128_t vm = wasm_f64x2_splat(m), vk = wasm_f64x2_splat(k), vb = wasm_f64x2_splat(b);
    const float *xs = x + (long)p * spatial;
    float *ys = y + (long)p * spatial;
    int i = 0;
    for (; i + 4 <= spatial; i += 4) {
      v128_t v = wasm_v128_load(xs + i);
      v128_t lo = wasm_f64x2_add(wasm_f64x2_mul(wasm_f64x2_sub(PROMOTE_LO(v), vm), vk), vb);
      v128_t hi = wasm_f64x2_add(wasm_f64x2_mul(wasm_f64x2_sub(PROMOTE_HI(v), vm), vk), vb);
      wasm_v128_store(ys + i, DEMOTE(lo, hi));
    }
    for (; i < spatial; i++) ys[i] = (float)(((double)xs[i] - m) * k + b);
  }
}

/*
 * conv2d.ts's forward store for an output in the arena, rows [r0, r1) of a finished block: out[(n·C + co)·P + pix] =
 * c[i·ldc + q − j0] (+ bias[co]) for q = n·P + pix in [j0, j0 + cols), co = co0 + i; as outStore, a run of 16 or more
 * without bias is copied and anything else has the bias (or +0) added, so −0 turns +0 exactly where it does there.
 */
static void conv_store(const float *c, int ldc, float *out, const float *bias, int co0, int j0, int cols, int P, int C, int r0, int r1) {
  for (int i = r0; i < r1; i++) {
    int co = co0 + i;
    const float *s = c + i * ldc;
    int q = j0, qEnd = j0 + cols;
    while (q < qEnd) {
      int n = q / P, pix = q - n * P;
      int cnt = P - pix < qEnd - q ? P - pix : qEnd - q;
      float *d = out + (n * C + co) * P + pix;
      int t = 0;
      if (bias == 0 && cnt >= 16) {
        for (; t + 4 <= cnt; t += 4) wasm_v128_store(d + t, wasm_v128_load(s + t));
        for (; t < cnt; t++) d[t] = s[t];
      } else {
        float b = bias == 0 ? 0.0f : bias[co];
        v128_t vb = wasm_f32x4_splat(b);
        for (; t + 4 <= cnt; t += 4) wasm_v128_store(d + t, wasm_f32x4_add(wasm_v128_load(s + t), vb));
        for (; t < cnt; t++) d[t] = s[t] + b;
      }
      s += cnt;
      q += cnt;
    }
  }
}

/*
 * max_pool2d with 2×2 windows, stride 2, no padding (VGG's and most CNNs'), planes [p0, p1) of x [planes, H, W]:
 * pool2d.ts's maxPool2x2, four outputs a vector. The taps are compared in its order (row 0 left, right, row 1
 * left, right), a tap taken when greater or NaN (so NaN wins, the last one, and ties keep the first); the max
 * goes to out, its in-plane index h·W + w to idx.
 */
#define TAKE(v, best) wasm_v128_or(wasm_f32x4_gt(v, best), wasm_f32x4_ne(v, v))
static void max_pool_2x2(const float *x, float *out, int *idx, int H, int W, int OH, int OW, int p0, int p1) {
  const v128_t lanes = wasm_i32x4_make(0, 2, 4, 6), one = wasm_i32x4_splat(1), down = wasm_i32x4_splat(W),
               diagonal = wasm_i32x4_splat(W + 1);
  for (int p = p0; p < p1; p++) {
    const float *plane = x + p * H * W;
    int o = p * OH * OW;
    for (int oh = 0; oh < OH; oh++) {
      const float *r0 = plane + 2 * oh * W, *r1 = r0 + W;
      int ow = 0;
      for (; ow + 4 <= OW; ow += 4, o += 4) {
        v128_t a = wasm_v128_load(r0 + 2 * ow), b = wasm_v128_load(r0 + 2 * ow + 4);
        v128_t c = wasm_v128_load(r1 + 2 * ow), d = wasm_v128_load(r1 + 2 * ow + 4);
        v128_t best = wasm_i32x4_shuffle(a, b, 0, 2, 4, 6), off = wasm_i32x4_splat(0);
        v128_t v = wasm_i32x4_shuffle(a, b, 1, 3, 5, 7), t = TAKE(v, best);
        best = wasm_v128_bitselect(v, best, t);
        off = wasm_v128_bitselect(one, off, t);
        v = wasm_i32x4_shuffle(c, d, 0, 2, 4, 6);
        t = TAKE(v, best);
        best = wasm_v128_bitselect(v, best, t);
        off = wasm_v128_bitselect(down, off, t);
        v = wasm_i32x4_shuffle(c, d, 1, 3, 5, 7);
        t = TAKE(v, best);
        best = wasm_v128_bitselect(v, best, t);
        off = wasm_v128_bitselect(diagonal, off, t);
        wasm_v128_store(out + o, best);
        v128_t i0 = wasm_i32x4_add(wasm_i32x4_splat(2 * oh * W + 2 * ow), lanes);
        wasm_v128_store(idx + o, wasm_i32x4_add(i0, off));
      }
      for (; ow < OW; ow++, o++) {
        int i0 = 2 * oh * W + 2 * ow, best = i0;
        float top = plane[i0];
#define TAP(at)                                                                                                    \
  if (plane[at] > top || plane[at] != plane[at]) {                                                                 \
    top = plane[at];                                                                                               \
    best = at;                                                                                                     \
  }
        TAP(i0 + 1)
        TAP(i0 + W)
        TAP(i0 + W + 1)
#undef TAP
        out[o] = top;
        idx[o] = best;
      }
    }
  }
}

/* dx planes [p0, p1) = 0, then dx[plane][idx[o]] += dy[o] over the plane's outputs (pool_windows.ts's scatterByIndices). */
static void scatter_planes(const float *dy, const int *idx, float *dx, int outSize, int inSize, int p0, int p1) {
  for (int p = p0; p < p1; p++) {
    float *d = dx + p * inSize;
    for (int k = 0; k < inSize; k++) d[k] = 0.0f;
    for (int t = p * outSize, end = t + outSize; t < end; t++) {
      int k = idx[t];
      if (k >= 0 && k < inSize) d[k] += dy[t];
    }
  }
}

/*
 * max_pool2d over any windows (kernel, stride, padding, dilation, ceil mode), planes [p0, p1) of x [planes, H, W]:
 * pool_windows.ts's windowMax over the windows strideWindows made (rs/re: each output row's first and end input
 * row, cs/ce the columns'). Taps in its order (row by row, dilation steps), a tap taken when greater or NaN; a window
 * wholly in the padding gives -Infinity at its first tap's index. Four outputs of a row whose windows are the same
 * width and evenly spaced (all but the clipped ones at the edges) go as one vector, each lane seeing its own taps in
 * that order; the rest one by one, with selects rather than branches (real activations make such a branch
 * mispredict half the time).
 */
static void max_pool_windows(const float *x, float *out, int *idx, int H, int W, int OH, int OW, int dH, int dW, const int *rs,
                             const int *re, const int *cs, const int *ce, int p0, int p1) {
  for (int p = p0; p < p1; p++) {
    const float *plane = x + p * H * W;
    int o = p * OH * OW;
    for (int oh = 0; oh < OH; oh++) {
      int h0 = rs[oh], h1 = re[oh];
      for (int ow = 0; ow < OW;) {
        int w0 = cs[ow], span = ce[ow] - w0;
        int step = ow + 4 <= OW ? cs[ow + 1] - w0 : 0;
        if (step > 0 && span > 0 && cs[ow + 2] - cs[ow + 1] == step && cs[ow + 3] - cs[ow + 2] == step && ce[ow + 1] - cs[ow + 1] == span &&
            ce[ow + 2] - cs[ow + 2] == span && ce[ow + 3] - cs[ow + 3] == span) {
          v128_t lanes = wasm_i32x4_make(0, step, 2 * step, 3 * step);
          v128_t top = wasm_f32x4_splat(-__builtin_inff());
          v128_t best = wasm_i32x4_add(wasm_i32x4_splat(h0 * W + w0), lanes);
          for (int h = h0; h < h1; h += dH) {
            for (int w = w0; w < w0 + span; w += dW) {
              int at = h * W + w;
              v128_t v = wasm_f32x4_make(plane[at], plane[at + step], plane[at + 2 * step], plane[at + 3 * step]);
              v128_t take = TAKE(v, top);
              top = wasm_v128_bitselect(v, top, take);
              best = wasm_v128_bitselect(wasm_i32x4_add(wasm_i32x4_splat(at), lanes), best, take);
            }
          }
          wasm_v128_store(out + o, top);
          wasm_v128_store(idx + o, best);
          ow += 4;
          o += 4;
          continue;
        }
        int w1 = ce[ow];
        int at0 = h0 * W + w0;
        float top = -__builtin_inff();
        for (int h = h0; h < h1; h += dH) {
          for (int w = w0; w < w1; w += dW) {
            int at = h * W + w;
            float v = plane[at];
            int take = (v > top) | (v != v);
            top = take ? v : top;
            at0 = take ? at : at0;
          }
        }
        out[o] = top;
        idx[o] = at0;
        ow++;
        o++;
      }
    }
  }
}

/* d[0, n) = s[0, n), a vector at a time (no memcpy to link). */
static inline void copy_floats(const float *s, float *d, int n) {
  int k = 0;
  for (; k + 4 <= n; k += 4) wasm_v128_store(d + k, wasm_v128_load(s + k));
  for (; k < n; k++) d[k] = s[k];
}

static inline void zero_floats(float *d, int n) {
  v128_t z = wasm_f32x4_splat(0.0f);
  int k = 0;
  for (; k + 4 <= n; k += 4) wasm_v128_store(d + k, z);
  for (; k < n; k++) d[k] = 0.0f;
}

/*
 * im2col.ts's padInto (unpad 0) or unpadGradient (unpad 1) for planes [p0, p1): plane p of x [planes, H, W] into
 * the interior of padded plane p ((H + 2·padH) rows of W + 2·padW), its border zeroed; or that interior back.
 * Only moves numbers, so the result is the JavaScript copy's.
 */
static void pad_planes(const float *src, float *dst, int H, int W, int padH, int padW, int unpad, int p0, int p1) {
  int rowLen = W + 2 * padW, planeLen = (H + 2 * padH) * rowLen;
  for (int p = p0; p < p1; p++) {
    if (unpad) {
      const float *s = src + p * planeLen + padH * rowLen + padW;
      float *d = dst + p * H * W;
      for (int h = 0; h < H; h++) copy_floats(s + h * rowLen, d + h * W, W);
      continue;
    }
    const float *s = src + p * H * W;
    float *d = dst + p * planeLen;
    zero_floats(d, padH * rowLen + padW);
    for (int h = 0; h < H; h++) {
      float *row = d + (h + padH) * rowLen + padW;
      copy_floats(s + h * W, row, W);
      zero_floats(row + W, h + 1 < H ? 2 * padW : padW + padH * rowLen);
    }
    if (H == 0) zero_floats(d + padH * rowLen + padW, planeLen - padH * rowLen - padW);
  }
}

/*
 * GELU (exact) and its slope in float64 for arena tensors, as elementwise.ts's geluExact and fused-backward.ts's
 * geluSlope: erf is kernels/erf.ts's (its Maclaurin and Taylor tables staged by the caller, evaluated in the same
 * order), exp is fdlibm's as V8's Math.exp, and the constants come from the caller, so the values are the JavaScript
 * ones bit for bit. Table t: 15 Maclaurin terms, 12 centres × 24 Taylor terms, then √½ and 1/√(2π).
 */
#define ERF_MACLAURIN 15
#define ERF_SQRT1_2 (15 + 12 * 24)
typedef union {
  double d;
  unsigned long long u;
} DoubleBits;

/* fdlibm's __ieee754_exp as V8's base::ieee754::exp (Math.exp), exp(1) = e included. */
static double fd_exp(double x) {
  const double halF0 = 0.5, halF1 = -0.5, o_threshold = 7.09782712893383973096e+02,
               u_threshold = -7.45133219101941108420e+02, ln2HI0 = 6.93147180369123816490e-01,
               ln2HI1 = -6.93147180369123816490e-01, ln2LO0 = 1.90821492927058770002e-10,
               ln2LO1 = -1.90821492927058770002e-10, invln2 = 1.44269504088896338700e+00,
               P1 = 1.66666666666666019037e-01, P2 = -2.77777777770155933842e-03, P3 = 6.61375632143793436117e-05,
               P4 = -1.65339022054652515390e-06, P5 = 4.13813679705723846039e-08, E = 2.718281828459045,
               huge = 1.0e+300, twom1000 = 9.33263618503218878990e-302;
  double y, hi = 0.0, lo = 0.0, c, t;
  int k = 0;
  DoubleBits bits = {x};
  unsigned hx = (unsigned)(bits.u >> 32);
  int xsb = (hx >> 31) & 1;
  hx &= 0x7fffffff;
  if (hx >= 0x40862E42) {
    if (hx >= 0x7ff00000) {
      if (((hx & 0xfffff) | (unsigned)bits.u) != 0) return x + x; /* NaN */
      return xsb == 0 ? x : 0.0;
    }
    if (x > o_threshold) return __builtin_inf();
    if (x < u_threshold) return twom1000 * twom1000;
  }
  if (hx > 0x3fd62e42) {
    if (hx < 0x3FF0A2B2) {
      if (x == 1.0) return E;
      hi = x - (xsb ? ln2HI1 : ln2HI0);
      lo = xsb ? ln2LO1 : ln2LO0;
      k = 1 - xsb - xsb;
    } else {
      k = (int)(invln2 * x + (xsb ? halF1 : halF0));
      t = k;
      hi = x - t * ln2HI0;
      lo = t * ln2LO0;
    }
    x = hi - lo;
  } else if (hx < 0x3e300000) {
    if (huge + x > 1.0) return 1.0 + x;
  } else {
    k = 0;
  }
  t = x * x;
  c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k == 0) return 1.0 - ((x * c) / (c - 2.0) - x);
  y = 1.0 - ((lo - (x * c) / (2.0 - c)) - hi);
  DoubleBits yb = {y};
  if (k >= -1021) {
    yb.u += (unsigned long long)((long long)k * (1LL << 52)); /* add k to y's exponent */
    return yb.d;
  }
  yb.u += (unsigned long long)((long long)(k + 1000) * (1LL << 52));
  return yb.d * twom1000;
}

/* kernels/erf.ts's erf over the staged tables. */
static double erf_tables(double x, const double *t) {
  double ax = __builtin_fabs(x);
  if (ax < 0.5) {
    double z = x * x, s = 0.0;
    for (int n = ERF_MACLAURIN - 1; n >= 0; n--) s = s * z + t[n];
    return x * s;
  }
  if (!(ax < 6.0)) return ax != ax ? x : x > 0 ? 1.0 : -1.0;
  int k = (int)(ax * 2.0);
  if (k > 11) k = 11;
  const double *a = t + ERF_MACLAURIN + 24 * k;
  double d = ax - (0.25 + 0.5 * k), s = 0.0;
  for (int n = 23; n >= 0; n--) s = s * d + a[n];
  s = s < 1.0 ? s : 1.0;
  return x < 0 ? -s : s;
}

/* out[i] = x·Φ(x) (backward 0), or dy[i]·(Φ(x) + x·φ(x)) (backward 1), values [b, e). */
static void gelu_values(const float *x, const float *dy, float *out, const double *t, int backward, int b, int e) {
  double r2 = t[ERF_SQRT1_2], inv = t[ERF_SQRT1_2 + 1];
  for (int i = b; i < e; i++) {
    double v = x[i];
    double phi = 1.0 + erf_tables(v * r2, t);
    if (!backward) {
      out[i] = (float)(0.5 * v * phi);
    } else {
      double slope = 0.5 * phi + v * fd_exp(-0.5 * v * v) * inv;
      out[i] = (float)((double)dy[i] * slope);
    }
  }
}

/* Values [b, e) of n for part i of count, whole 16-value chunks but the last. */
/*
 * Layer norm over rows [r0, r1) of `cols` contiguous values, as layernorm.ts's layerNormForward: the mean from two
 * alternating float64 sums, the biased variance likewise from the deviations, inv = 1/√(var + eps), then
 * ((x − mean)·inv)·weight + bias in that order, rounded to float32 once. p: eps, then the weight and the bias as
 * float64 (cols each; hasW / hasB say which are there).
 */
static void layer_norm_rows(const float *x, float *y, const double *p, int hasW, int hasB, int cols, int r0, int r1) {
  double eps = p[0];
  const double *w = p + 1, *b = p + 1 + cols;
  for (int r = r0; r < r1; r++) {
    const float *xr = x + r * cols;
    float *yr = y + r * cols;
    double s0 = 0.0, s1 = 0.0, q0 = 0.0, q1 = 0.0;
    int i = 0;
    for (; i + 1 < cols; i += 2) {
      s0 += xr[i];
      s1 += xr[i + 1];
    }
    if (i < cols) s0 += xr[i];
    double mean = (s0 + s1) / cols;
    for (i = 0; i + 1 < cols; i += 2) {
      double d0 = xr[i] - mean, d1 = xr[i + 1] - mean;
      q0 += d0 * d0;
      q1 += d1 * d1;
    }
    if (i < cols) {
      double d = xr[i] - mean;
      q0 += d * d;
    }
    double inv = 1.0 / __builtin_sqrt((q0 + q1) / cols + eps);
    for (int j = 0; j < cols; j++) {
      double v = (xr[j] - mean) * inv;
      if (hasW) v = v * w[j];
      if (hasB) v = v + b[j];
      yr[j] = (float)v;
    }
  }
}

/*
 * Layer norm's backward as fused-backward.ts's layerNormBackwardRows, rows [r0, r1): the forward's mean and inv from
 * one float64 sum each, then dx = inv·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·weight, x̂ and g recomputed for the
 * second pass (the same operations, so the same values). Each row's mean and inv go to stats for the column sums.
 * p: eps, then the weight as float64 (cols; hasW says whether there is one).
 */
static void layer_norm_backward_rows(const float *dy, const float *x, float *dx, const double *p, int hasW, int cols, double *stats,
                                     int r0, int r1) {
  double eps = p[0];
  const double *w = p + 1;
  for (int r = r0; r < r1; r++) {
    const float *xr = x + r * cols, *dr = dy + r * cols;
    float *gr = dx + r * cols;
    double s = 0.0, q = 0.0, sg = 0.0, sgx = 0.0;
    for (int j = 0; j < cols; j++) s += xr[j];
    double mean = s / cols;
    for (int j = 0; j < cols; j++) {
      double d = xr[j] - mean;
      q += d * d;
    }
    double inv = 1.0 / __builtin_sqrt(q / cols + eps);
    for (int j = 0; j < cols; j++) {
      double h = (xr[j] - mean) * inv, g = hasW ? dr[j] * w[j] : (double)dr[j];
      sg += g;
      sgx += g * h;
    }
    double mg = sg / cols, mgx = sgx / cols;
    for (int j = 0; j < cols; j++) {
      double h = (xr[j] - mean) * inv, g = hasW ? dr[j] * w[j] : (double)dr[j];
      gr[j] = (float)(inv * (g - mg - h * mgx));
    }
    stats[2 * r] = mean;
    stats[2 * r + 1] = inv;
  }
}

/* Σ over rows (in order) of dy·x̂ for columns [j0, j1), x̂ from each row's mean and inv in stats: the weight's gradient. */
static void layer_norm_column_sums(const float *dy, const float *x, const double *stats, double *sums, int rows, int cols, int j0, int j1) {
  for (int j = j0; j < j1; j++) sums[j] = 0.0;
  for (int r = 0; r < rows; r++) {
    const float *xr = x + r * cols, *dr = dy + r * cols;
    double mean = stats[2 * r], inv = stats[2 * r + 1];
    for (int j = j0; j < j1; j++) sums[j] = sums[j] + dr[j] * ((xr[j] - mean) * inv);
  }
}

/*
 * A matmul's GEMM operands and results (../src/backends/cpu/kernels/matmul-module.ts): gemm.ts's stridedB and
 * denseStore over operands in this memory, moving the same values into the same places.
 * B(p, j) = src[p·rs + j·cs]: panels [s0, s1) of NR columns from column j0 (of `cols`) over depths p0 .. p0 + kc, zero
 * past the last column.
 */
static void pack_b(const float *src, int rs, int cs, int p0, int kc, int j0, int cols, float *dst, int s0, int s1) {
  for (int s = s0; s < s1; s++) {
    float *d = dst + s * kc * NR;
    int valid = cols - s * NR < NR ? cols - s * NR : NR;
    const float *b = src + p0 * rs + (j0 + s * NR) * cs;
    if (valid == NR && cs == 1) {
      for (int p = 0; p < kc; p++, d += NR, b += rs) {
        wasm_v128_store(d, wasm_v128_load(b));
        wasm_v128_store(d + 4, wasm_v128_load(b + 4));
      }
    } else if (valid == NR) {
      for (int p = 0; p < kc; p++, d += NR, b += rs) {
        d[0] = b[0];
        d[1] = b[cs];
        d[2] = b[2 * cs];
        d[3] = b[3 * cs];
        d[4] = b[4 * cs];
        d[5] = b[5 * cs];
        d[6] = b[6 * cs];
        d[7] = b[7 * cs];
      }
    } else {
      for (int p = 0; p < kc; p++, d += NR, b += rs)
        for (int jj = 0; jj < NR; jj++) d[jj] = jj < valid ? b[jj * cs] : 0.0f;
    }
  }
}

/* out[i·ld + j] = c[i·ldc + j] (+ bias[j], a float32 add, when bias is not 0) for rows [r0, r1), j < cols. */
static void dense_store(const float *c, int ldc, float *out, int ld, int cols, const float *bias, int r0, int r1) {
  for (int i = r0; i < r1; i++) {
    const float *s = c + i * ldc;
    float *d = out + i * ld;
    if (!bias) {
      copy_floats(s, d, cols);
      continue;
    }
    int j = 0;
    for (; j + 4 <= cols; j += 4) wasm_v128_store(d + j, wasm_f32x4_add(wasm_v128_load(s + j), wasm_v128_load(bias + j)));
    for (; j < cols; j++) d[j] = s[j] + bias[j];
  }
}

/*
 * Softmax over rows of `size` values `inner` apart (row r = o·inner + i starts at o·size·inner + i), rows [r0, r1), as
 * reduce.ts's softmaxAlong: the row's maximum (where Math.max would give NaN or the other zero, the results are the
 * same: a NaN makes the sum NaN, and exp(x − 0) = exp(x + 0)), each exp(x − max) by Math.exp's algorithm kept in
 * float64 in e (one row) and summed in order, then e / sum rounded to float32 once.
 */
static void softmax_rows(const float *x, float *out, int size, int inner, double *e, int r0, int r1) {
  for (int r = r0; r < r1; r++) {
    int o = r / inner, at = o * size * inner + (r - o * inner);
    const float *xr = x + at;
    float *yr = out + at;
    double m = -__builtin_inf(), s = 0.0;
    for (int k = 0; k < size; k++) {
      double v = xr[k * inner];
      m = v > m ? v : m;
    }
    for (int k = 0; k < size; k++) {
      double ek = fd_exp((double)xr[k * inner] - m);
      e[k] = ek;
      s += ek;
    }
    for (int k = 0; k < size; k++) yr[k * inner] = (float)(e[k] / s);
  }
}

/* Softmax's backward as fused-backward.ts's softmaxBackward: s = Σ dy·y in float64, then y·(dy − s) per value. */
static void softmax_backward_rows(const float *dy, const float *y, float *out, int size, int inner, int r0, int r1) {
  for (int r = r0; r < r1; r++) {
    int o = r / inner, at = o * size * inner + (r - o * inner);
    const float *dr = dy + at, *yr = y + at;
    float *g = out + at;
    double s = 0.0;
    for (int k = 0; k < size; k++) s += (double)dr[k * inner] * (double)yr[k * inner];
    for (int k = 0; k < size; k++) g[k * inner] = (float)((double)yr[k * inner] * ((double)dr[k * inner] - s));
  }
}

#define CHUNKS(n, i, count, b, e)                                                                  \
  int chunks_ = ((n) + 15) / 16;                                                                   \
  int b = part(chunks_, i, count) * 16, e = part(chunks_, (i) + 1, count) * 16;                    \
  if (e > (n)) e = (n);                                                                            \
  if (b > (n)) b = (n);

#define F(i) ((float *)a[i])
#define CF(i) ((const float *)a[i])

/*
 * Jobs: 0 gemm_depth by B panels; 1 wino_filter, 2 wino_input, 3 wino_gemm, 4 wino_output; 5 pack_panels by panels;
 * 6 thin_dot by rows of w; 7 thin_axpy by columns; 8 pack_a by panels; 9 dw_forward by output planes,
 * 10 dw_backward_input by input planes, 11 dw_backward_weight by output channels; 12 gemm_depth by tiles;
 * 13 wino4_filter, 14 wino4_input, 15 wino4_output (F(4×4, 3×3); its products are job 3);
 * 16 relu, 17 relu backward, 18 add, 19 eval-mode batch norm (elementwise, on tensors in the arena); 20 conv_store by
 * rows; 21 scatter_add by input channels (rows of one channel's taps overlap: one part adds them in order); 22 zeros;
 * 23 max_pool_2x2, 24 scatter_planes (max pooling's backward) by planes; 25 max_pool_windows, 26 pad_planes by
 * planes; 27 gelu_values (forward or backward).
 */
void run_job(int job, int i, int count) {
  const int *a = JOB_ARGS;
  switch (job) {
  case 0: { /* K, KC, mPad, i0, rPanels, sPanels, ap, bp, c, ldc */
    int s = a[5];
    gemm_depth(a[0], a[1], a[2], a[3], a[4], part(s, i, count), part(s, i + 1, count), CF(6), CF(7), F(8), a[9]);
    break;
  }
  case 12: { /* as job 0, split by rPanels × sPanels tiles */
    int tiles = a[4] * a[5];
    gemm_tiles(a[0], a[1], a[2], a[3], a[4], part(tiles, i, count), part(tiles, i + 1, count), CF(6), CF(7), F(8), a[9]);
    break;
  }
  case 1: /* w, cout, cin, flip, u, mPad, uStride (floats from U[ξ] to U[ξ + 1]) */
    wino_filter(CF(0), a[1], a[2], a[3], F(4), a[5], a[6], part(a[5], i, count), part(a[5], i + 1, count));
    break;
  case 2: /* x, C, H, W, padH, padW, tilesH, tilesW, t0, count, v, tp, vStride (floats from V[ξ] to V[ξ + 1]) */
    wino_input(CF(0), a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[12], F(10), a[11], part(a[1], i, count), part(a[1], i + 1, count));
    break;
  case 3: { /* u, v, m, mPad, cin, tp, ξ count (16 or 36), uStride, vStride, mStride, depth block (channels) */
    int items = a[6] * (a[5] / NR);
    wino_gemm(CF(0), CF(1), F(2), a[3], a[4], a[5], a[7], a[8], a[9], a[10], part(items, i, count), part(items, i + 1, count));
    break;
  }
  case 4: /* m, bias (0: none), out, CO, OH, OW, tilesH, tilesW, t0, count, tp, mStride (floats from M[ξ] to M[ξ + 1]) */
    wino_output(CF(0), CF(1), F(2), a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], part(a[3], i, count), part(a[3], i + 1, count));
    break;
  case 13: /* as job 1, F(4×4, 3×3) */
    wino4_filter(CF(0), a[1], a[2], a[3], F(4), a[5], a[6], part(a[5], i, count), part(a[5], i + 1, count));
    break;
  case 14: /* as job 2, F(4×4, 3×3) */
    wino4_input(CF(0), a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[12], F(10), a[11], part(a[1], i, count), part(a[1], i + 1, count));
    break;
  case 15: /* as job 4, F(4×4, 3×3) */
    wino4_output(CF(0), CF(1), F(2), a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], part(a[3], i, count), part(a[3], i + 1, count));
    break;
  case 5: { /* src, depth, kc, across, width, dst, nr: panels [p0, p1) */
    int nr = a[6], kc = a[2], width = a[4];
    int panels = (width + nr - 1) / nr;
    int p0 = part(panels, i, count), p1 = part(panels, i + 1, count);
    if (p1 > p0) {
      int w1 = p1 * nr < width ? p1 * nr : width;
      pack_panels(CF(0), (const int *)a[1], kc, (const int *)a[3] + p0 * nr, w1 - p0 * nr, F(5) + p0 * kc * nr, nr);
    }
    break;
  }
  case 6: /* x, m, k, w, out, ldo, rows */
    thin_dot(CF(0), a[1], a[2], CF(3), F(4), a[5], part(a[6], i, count), part(a[6], i + 1, count));
    break;
  case 7: /* s, rows, w, n, out */
    thin_axpy(CF(0), a[1], CF(2), a[3], F(4), part(a[3], i, count), part(a[3], i + 1, count));
    break;
  case 8: { /* src, rs, cs, i0, rows, p0, kc, dst */
    int panels = (a[4] + MR - 1) / MR;
    pack_a(CF(0), a[1], a[2], a[3], a[4], a[5], a[6], F(7), part(panels, i, count), part(panels, i + 1, count));
    break;
  }
  case 16: { /* x, out, n */
    CHUNKS(a[2], i, count, b, e)
    relu_bits((const int *)a[0], (int *)a[1], b, e);
    break;
  }
  case 17: { /* dy, x, out, n */
    CHUNKS(a[3], i, count, b, e)
    relu_backward_bits((const int *)a[0], (const int *)a[1], (int *)a[2], b, e);
    break;
  }
  case 18: { /* a, b, out, n */
    CHUNKS(a[3], i, count, b, e)
    add_f32(CF(0), CF(1), F(2), b, e);
    break;
  }
  case 19: /* x, y, mkb (float64 m, k, b per channel), planes (N·C), channels, spatial */
    bn_affine(CF(0), F(1), (const double *)a[2], a[4], a[5], part(a[3], i, count), part(a[3], i + 1, count));
    break;
  case 23: /* x, out, idx, planes, H, W, OH, OW */
    max_pool_2x2(CF(0), F(1), (int *)a[2], a[4], a[5], a[6], a[7], part(a[3], i, count), part(a[3], i + 1, count));
    break;
  case 25: /* x, out, idx, planes, H, W, OH, OW, dH, dW, row starts, row ends, column starts, column ends */
    max_pool_windows(CF(0), F(1), (int *)a[2], a[4], a[5], a[6], a[7], a[8], a[9], (const int *)a[10], (const int *)a[11],
                     (const int *)a[12], (const int *)a[13], part(a[3], i, count), part(a[3], i + 1, count));
    break;
  case 27: { /* x, dy (backward) or 0, out, tables, backward, n */
    CHUNKS(a[5], i, count, b, e)
    gelu_values(CF(0), CF(1), F(2), (const double *)a[3], a[4], b, e);
    break;
  }
  case 28: { /* x, out, rows, size, inner, scratch (float64, `size` a slot), slots (at least the parts: part i uses slot i) */
    if (i >= a[6]) __builtin_trap();
    softmax_rows(CF(0), F(1), a[3], a[4], (double *)a[5] + i * a[3], part(a[2], i, count), part(a[2], i + 1, count));
    break;
  }
  case 29: /* dy, y, out, rows, size, inner */
    softmax_backward_rows(CF(0), CF(1), F(2), a[4], a[5], part(a[3], i, count), part(a[3], i + 1, count));
    break;
  case 30: { /* src, rs, cs, p0, kc, j0, cols, dst */
    int panels = (a[6] + NR - 1) / NR;
    pack_b(CF(0), a[1], a[2], a[3], a[4], a[5], a[6], F(7), part(panels, i, count), part(panels, i + 1, count));
    break;
  }
  case 31: /* c, ldc, out, ld, rows, cols, bias (0: none) */
    dense_store(CF(0), a[1], F(2), a[3], a[5], CF(6), part(a[4], i, count), part(a[4], i + 1, count));
    break;
  case 32: /* x, y, p (float64: eps, weight, bias), hasW, hasB, rows, cols */
    layer_norm_rows(CF(0), F(1), (const double *)a[2], a[3], a[4], a[6], part(a[5], i, count), part(a[5], i + 1, count));
    break;
  case 33: /* dy, x, dx, p (float64: eps, weight), hasW, rows, cols, stats (float64, 2 a row) */
    layer_norm_backward_rows(CF(0), CF(1), F(2), (const double *)a[3], a[4], a[6], (double *)a[7], part(a[5], i, count),
                             part(a[5], i + 1, count));
    break;
  case 34: /* dy, x, stats, sums (float64), rows, cols */
    layer_norm_column_sums(CF(0), CF(1), (const double *)a[2], (double *)a[3], a[4], a[5], part(a[5], i, count), part(a[5], i + 1, count));
    break;
  case 26: /* src, dst, planes, H, W, padH, padW, unpad */
    pad_planes(CF(0), F(1), a[3], a[4], a[5], a[6], a[7], part(a[2], i, count), part(a[2], i + 1, count));
    break;
  case 24: /* dy, idx, dx, planes, outSize, inSize */
    scatter_planes(CF(0), (const int *)a[1], F(2), a[4], a[5], part(a[3], i, count), part(a[3], i + 1, count));
    break;
  case 22: { /* dst, n: zeros */
    CHUNKS(a[1], i, count, b, e)
    float *d = F(0);
    v128_t z = wasm_f32x4_splat(0.0f);
    int k = b;
    for (; k + 4 <= e; k += 4) wasm_v128_store(d + k, z);
    for (; k < e; k++) d[k] = 0.0f;
    break;
  }
  case 20: /* c, ldc, out, bias (0: none), co0, j0, cols, P, C, rows */
    conv_store(CF(0), a[1], F(2), CF(3), a[4], a[5], a[6], a[7], a[8], part(a[9], i, count), part(a[9], i + 1, count));
    break;
  case 21: { /* dst, down, rows, runs, nRuns, colStep, c, ldc, i0 (the block's first tap), taps per channel */
    int i0 = a[8], kk = a[9], rows = a[2];
    int c0 = i0 / kk, channels = (i0 + rows - 1) / kk - c0 + 1;
    int r0 = (c0 + part(channels, i, count)) * kk - i0, r1 = (c0 + part(channels, i + 1, count)) * kk - i0;
    if (r0 < 0) r0 = 0;
    if (r1 > rows) r1 = rows;
    if (r1 > r0) scatter_add(F(0), (const int *)a[1] + r0, r1 - r0, (const int *)a[3], a[4], a[5], CF(6) + r0 * a[7], a[7]);
    break;
  }
  case 9: case 10: case 11: { /* xp (9, 11) or dy (10), w (9, 10) or dy (11), bias (9; 0: none), out / dxp / dw, N, Cin, Cout, Hp, Wp, OH, OW, kh, kw, sH, sW, dH, dW */
    DwGeom g = {a[11], a[12], a[13], a[14], a[15], a[16]};
    int N = a[4], cin = a[5], cout = a[6];
    if (job == 9) {
      int pl = N * cout;
      dw_forward(CF(0), CF(1), CF(2), F(3), cin, cout, a[7], a[8], a[9], a[10], g, part(pl, i, count), part(pl, i + 1, count));
    } else if (job == 10) {
      int pl = N * cin;
      dw_backward_input(CF(0), CF(1), F(3), cin, cout, a[7], a[8], a[9], a[10], g, part(pl, i, count), part(pl, i + 1, count));
    } else {
      dw_backward_weight(CF(0), CF(1), F(3), N, cin, cout, a[7], a[8], a[9], a[10], g, part(cout, i, count), part(cout, i + 1, count));
    }
    break;
  }
  }
}
