/**
 * Winograd F(2×2, 3×3) convolution (Lavin & Gray 2016) for 3×3, stride-1, undilated, dense float32
 * convolutions: each 2×2 output tile costs 16 multiplications per channel pair instead of 36.
 *
 *   U[ξ, co, ci] = (G g Gᵀ)[ξ]       the 3×3 filter g = W[co, ci] as a 4×4 tile (ξ = 4·row + column)
 *   V[ξ, ci, t]  = (Bᵀ d Bᵀᵀ)[ξ]     the 4×4 input tile d under output tile t, zero outside the image
 *   M[ξ]         = U[ξ] · V[ξ]        16 GEMMs through the packed GEMM (M=Cout, N=tiles, K=Cin), so threads compose
 *   y tile       = Aᵀ M A + bias      the 2×2 outputs of tile t
 * Tiles run over the whole batch (t = n·tilesH·tilesW + …), in chunks that bound the V and M buffers.
 * Backward-to-input is the same kernel: for stride 1, dx = conv(dy, W flipped and transposed, pad 2 − p).
 * The transforms add and halve only, so the float32 error stays near the direct sum's (tested against float64).
 */
import type { Conv2dGeometry, FloatArray } from './types';
import { currentFloat32Engine, gemm, type GemmStore, type PackA, type PackB } from './gemm';

/** Floats of V plus M per chunk of tiles (32 MiB): bounds the extra memory whatever the image size. */
let chunkFloats = 1 << 23;

/** Sets the bound on V plus M floats per chunk of tiles (tests use small chunks); returns the previous one. */
export function setWinogradChunkFloats(n: number): number {
  const prev = chunkFloats;
  chunkFloats = n;
  return prev;
}
/**
 * Below these sizes the transforms cost more than the multiplications saved (one thread, CPU time,
 * 2026-12-04: 32→32 at 56×56, 64→64 at 16×16 and 512→512 at 7×7, batch 1, lost 10–60%; 64→64 at
 * 56×56 and 512→512 at 14×14 gained 1.3–1.5×, batch 32 2.1×; see benchmarks/README.md): at least 64
 * channels each side, 40 output tiles, and Cin · Cout · tiles ≥ 2²⁰ multiply-adds per transformed GEMM.
 */
const MIN_CHANNELS = 64;
const MIN_TILES = 40;
const MIN_GEMM_MACS = 1 << 20;

/** V, M and U buffers, grown and reused across calls (float32, unlike scratch.ts's float64 slots). */
const buffers: Float32Array[] = [new Float32Array(0), new Float32Array(0), new Float32Array(0)];
function buffer(i: 0 | 1 | 2, size: number): Float32Array {
  if (buffers[i]!.length < size) buffers[i] = new Float32Array(size);
  return buffers[i]!;
}

let enabled: boolean | undefined; // undefined until first asked: GRADLENS_WINOGRAD decides

/** Whether 3×3 stride-1 float32 convolutions may use Winograd (default on; GRADLENS_WINOGRAD=0 or setWinograd(false) turns it off). */
export function winogradEnabled(): boolean {
  if (enabled === undefined) {
    const env = typeof process !== 'undefined' ? process.env.GRADLENS_WINOGRAD : undefined;
    if (env !== undefined && env !== '0' && env !== '1') throw new Error(`GRADLENS_WINOGRAD must be '0' or '1', got '${env}'`);
    enabled = env !== '0';
  }
  return enabled;
}

/** Turns Winograd F(2×2, 3×3) for 3×3 stride-1 float32 convolutions on or off (results differ by float rounding only); returns the previous setting. */
export function setWinograd(on: boolean): boolean {
  const prev = winogradEnabled();
  enabled = on;
  return prev;
}

/** Whether conv g (as a forward convolution writing `out`) runs on Winograd: enabled, 3×3, stride 1, undilated, dense, float32 on the float32 GEMM engine, wide enough. */
export function useWinograd(g: Conv2dGeometry, out: FloatArray): boolean {
  return (
    out instanceof Float32Array &&
    winogradEnabled() &&
    currentFloat32Engine() !== null &&
    g.kernelHeight === 3 &&
    g.kernelWidth === 3 &&
    g.strideH === 1 &&
    g.strideW === 1 &&
    g.dilationH === 1 &&
    g.dilationW === 1 &&
    g.groups === 1 &&
    g.inChannels >= MIN_CHANNELS &&
    g.outChannels >= MIN_CHANNELS &&
    tilesOf(g) >= MIN_TILES &&
    g.inChannels * g.outChannels * tilesOf(g) >= MIN_GEMM_MACS
  );
}

/** Output tiles of 2×2 over the whole batch. */
function tilesOf(g: Conv2dGeometry): number {
  return g.batch * Math.ceil(g.outHeight / 2) * Math.ceil(g.outWidth / 2);
}

/** The geometry of backward-to-input as a forward convolution of dy (stride 1, pad 2 − p), or null when a padding above 2 makes it no convolution. */
export function backwardInputAsForward(g: Conv2dGeometry): Conv2dGeometry | null {
  if (g.padH > 2 || g.padW > 2) return null;
  return {
    ...g,
    inChannels: g.outChannels,
    outChannels: g.inChannels,
    inHeight: g.outHeight,
    inWidth: g.outWidth,
    padH: 2 - g.padH,
    padW: 2 - g.padW,
    outHeight: g.inHeight,
    outWidth: g.inWidth,
  };
}

/**
 * U = G g Gᵀ for every filter, written straight in the GEMM's packed-A order so packing is a copy:
 * U[ξ][panel r][ci][lane] = U of filter (co = r·mr + lane, ci), zero for rows past Cout. `flip` reads
 * the filters of backward-to-input: g[co′ = ci][ci′ = co] = W[ci, co] turned by 180°.
 */
function filterTransform(w: FloatArray, cout: number, cin: number, mr: number, flip: boolean, u: Float32Array): void {
  const mPad = Math.ceil(cout / mr) * mr;
  const xi = mPad * cin;
  if (mPad > cout) u.fill(0, 0, 16 * xi);
  for (let co = 0; co < cout; co++) {
    const lane = ((co / mr) | 0) * cin * mr + (co % mr);
    for (let ci = 0; ci < cin; ci++) {
      // this filter's 9 taps, row-major, in the direction the convolution needs
      let s: number, st: number;
      if (flip) {
        s = (ci * cout + co) * 9 + 8;
        st = -1;
      } else {
        s = (co * cin + ci) * 9;
        st = 1;
      }
      const g00 = w[s]!,
        g01 = w[s + st]!,
        g02 = w[s + 2 * st]!;
      const g10 = w[s + 3 * st]!,
        g11 = w[s + 4 * st]!,
        g12 = w[s + 5 * st]!;
      const g20 = w[s + 6 * st]!,
        g21 = w[s + 7 * st]!,
        g22 = w[s + 8 * st]!;
      // t = G g (4×3): rows g0, (g0+g1+g2)/2, (g0−g1+g2)/2, g2; then U = t Gᵀ: per row a, (a+b+c)/2, (a−b+c)/2, c
      const o = lane + ci * mr;
      row(u, o, xi, g00, g01, g02);
      row(u, o + 4 * xi, xi, 0.5 * (g00 + g10 + g20), 0.5 * (g01 + g11 + g21), 0.5 * (g02 + g12 + g22));
      row(u, o + 8 * xi, xi, 0.5 * (g00 - g10 + g20), 0.5 * (g01 - g11 + g21), 0.5 * (g02 - g12 + g22));
      row(u, o + 12 * xi, xi, g20, g21, g22);
    }
  }
}

/** One row of U = t Gᵀ: a, (a+b+c)/2, (a−b+c)/2, c at o, o + xi, o + 2xi, o + 3xi. */
function row(u: Float32Array, o: number, xi: number, a: number, b: number, c: number): void {
  u[o] = a;
  u[o + xi] = 0.5 * (a + b + c);
  u[o + 2 * xi] = 0.5 * (a - b + c);
  u[o + 3 * xi] = c;
}

/** A(co, ci) = U[ξ] in packed order: each packed panel is one contiguous copy. */
function panelA(u: Float32Array, xiOff: number, cin: number, mrU: number): PackA {
  return {
    pack(dst, dstOff, i0, rows, p0, kc, mr) {
      if (mr !== mrU || i0 % mr !== 0) throw new Error(`winograd: GEMM panels of ${mr} rows at ${i0}, U laid out for ${mrU}`);
      const panels = Math.ceil(rows / mr);
      for (let r = 0; r < panels; r++) {
        const src = xiOff + ((i0 / mr + r) * cin + p0) * mr;
        dst.set(u.subarray(src, src + kc * mr), dstOff + r * kc * mr);
      }
    },
  };
}

/** Tile counts and the chunk of tiles per pass (a multiple of the GEMM's panel width). */
interface Tiling {
  tilesH: number;
  tilesW: number;
  tiles: number;
  chunk: number;
  nr: number;
  mr: number;
}

function tiling(g: Conv2dGeometry): Tiling {
  const engine = currentFloat32Engine()!; // useWinograd checked there is one
  const { nr, mr } = engine;
  const tilesH = Math.ceil(g.outHeight / 2),
    tilesW = Math.ceil(g.outWidth / 2);
  const tiles = g.batch * tilesH * tilesW;
  const perTile = 16 * (g.inChannels + g.outChannels);
  const chunk = Math.max(nr, Math.floor(chunkFloats / perTile / nr) * nr);
  return { tilesH, tilesW, tiles, chunk: Math.min(chunk, Math.ceil(tiles / nr) * nr), nr, mr };
}

/**
 * V for tiles t0 .. t0+count−1 in GEMM panel order: V[ξ][panel][ci][lane] with tile t0 + panel·nr + lane,
 * zero past count, so the B packer copies whole panels. Input tile (ty, tx) starts at row 2ty − padH, column 2tx − padW.
 */
function inputTransform(x: FloatArray, g: Conv2dGeometry, tl: Tiling, t0: number, count: number, v: Float32Array, tp: number): void {
  const { inChannels: C, inHeight: H, inWidth: W } = g;
  const { tilesH, tilesW, nr } = tl;
  const perImage = tilesH * tilesW;
  const xi = tp * C; // floats per ξ
  const d = new Float64Array(16);
  if (count < tp) v.fill(0, 0, 16 * xi); // lanes past count stay zero
  for (let k = 0; k < count; k++) {
    const t = t0 + k;
    const n = (t / perImage) | 0;
    const r = t - n * perImage;
    const ty = (r / tilesW) | 0,
      tx = r - ty * tilesW;
    const y0 = 2 * ty - g.padH,
      x0 = 2 * tx - g.padW;
    const inside = y0 >= 0 && x0 >= 0 && y0 + 4 <= H && x0 + 4 <= W;
    const lane = (k % nr) + ((k / nr) | 0) * C * nr;
    for (let c = 0; c < C; c++) {
      const plane = (n * C + c) * H * W;
      if (inside) {
        for (let i = 0, s = plane + y0 * W + x0; i < 4; i++, s += W) {
          d[4 * i] = x[s]!;
          d[4 * i + 1] = x[s + 1]!;
          d[4 * i + 2] = x[s + 2]!;
          d[4 * i + 3] = x[s + 3]!;
        }
      } else {
        for (let i = 0; i < 4; i++) {
          const yy = y0 + i;
          for (let j = 0; j < 4; j++) {
            const xx = x0 + j;
            d[4 * i + j] = yy >= 0 && yy < H && xx >= 0 && xx < W ? x[plane + yy * W + xx]! : 0;
          }
        }
      }
      // columns: Bᵀ d (rows d0 − d2, d1 + d2, d2 − d1, d1 − d3), then rows: (·) B likewise
      for (let j = 0; j < 4; j++) {
        const a0 = d[j]!,
          a1 = d[4 + j]!,
          a2 = d[8 + j]!,
          a3 = d[12 + j]!;
        d[j] = a0 - a2;
        d[4 + j] = a1 + a2;
        d[8 + j] = a2 - a1;
        d[12 + j] = a1 - a3;
      }
      const o = lane + c * nr;
      for (let i = 0; i < 4; i++) {
        const a0 = d[4 * i]!,
          a1 = d[4 * i + 1]!,
          a2 = d[4 * i + 2]!,
          a3 = d[4 * i + 3]!;
        const base = 4 * i * xi + o;
        v[base] = a0 - a2;
        v[base + xi] = a1 + a2;
        v[base + 2 * xi] = a2 - a1;
        v[base + 3 * xi] = a1 - a3;
      }
    }
  }
}

/** B(ci, j) = V[ξ] in panel order: each packed panel is one contiguous copy. */
function panelB(v: Float32Array, xiOff: number, cin: number, nrV: number): PackB {
  return {
    pack(dst, dstOff, p0, kc, j0, cols, nr) {
      if (nr !== nrV || j0 % nr !== 0) throw new Error(`winograd: GEMM panels of ${nr} columns at ${j0}, V laid out for ${nrV}`);
      const panels = Math.ceil(cols / nr);
      for (let s = 0; s < panels; s++) {
        const src = xiOff + ((j0 / nr + s) * cin + p0) * nr;
        dst.set(v.subarray(src, src + kc * nr), dstOff + s * kc * nr);
      }
    },
  };
}

/** M[ξ] stored [Cout][tp] at mOff. */
function mStore(m: Float32Array, mOff: number, tp: number): GemmStore {
  return {
    store(c, ldc, i0, rows, j0, cols) {
      for (let i = 0; i < rows; i++) {
        const d = mOff + (i0 + i) * tp + j0;
        m.set(c.subarray(i * ldc, i * ldc + cols), d);
      }
    },
  };
}

/** y = Aᵀ M A + bias for tiles t0 .. t0+count−1, written where they fall inside the output. */
function outputTransform(
  m: Float32Array,
  bias: FloatArray | null,
  g: Conv2dGeometry,
  tl: Tiling,
  t0: number,
  count: number,
  tp: number,
  out: FloatArray,
): void {
  const { outChannels: CO, outHeight: OH, outWidth: OW } = g;
  const { tilesH, tilesW } = tl;
  const perImage = tilesH * tilesW;
  const xi = CO * tp;
  for (let co = 0; co < CO; co++) {
    const b = bias === null ? 0 : bias[co]!;
    for (let k = 0; k < count; k++) {
      const t = t0 + k;
      const n = (t / perImage) | 0;
      const r = t - n * perImage;
      const ty = (r / tilesW) | 0,
        tx = r - ty * tilesW;
      const s = co * tp + k;
      // rows: Aᵀ M (m0 + m1 + m2, m1 − m2 − m3) per column
      let s00 = 0,
        s01 = 0,
        s02 = 0,
        s03 = 0,
        s10 = 0,
        s11 = 0,
        s12 = 0,
        s13 = 0;
      {
        const m0 = m[s]!,
          m1 = m[s + 4 * xi]!,
          m2 = m[s + 8 * xi]!,
          m3 = m[s + 12 * xi]!;
        s00 = m0 + m1 + m2;
        s10 = m1 - m2 - m3;
      }
      {
        const m0 = m[s + xi]!,
          m1 = m[s + 5 * xi]!,
          m2 = m[s + 9 * xi]!,
          m3 = m[s + 13 * xi]!;
        s01 = m0 + m1 + m2;
        s11 = m1 - m2 - m3;
      }
      {
        const m0 = m[s + 2 * xi]!,
          m1 = m[s + 6 * xi]!,
          m2 = m[s + 10 * xi]!,
          m3 = m[s + 14 * xi]!;
        s02 = m0 + m1 + m2;
        s12 = m1 - m2 - m3;
      }
      {
        const m0 = m[s + 3 * xi]!,
          m1 = m[s + 7 * xi]!,
          m2 = m[s + 11 * xi]!,
          m3 = m[s + 15 * xi]!;
        s03 = m0 + m1 + m2;
        s13 = m1 - m2 - m3;
      }
      const oy = 2 * ty,
        ox = 2 * tx;
      const o = ((n * CO + co) * OH + oy) * OW + ox;
      const right = ox + 1 < OW,
        down = oy + 1 < OH;
      out[o] = s00 + s01 + s02 + b;
      if (right) out[o + 1] = s01 - s02 - s03 + b;
      if (down) {
        out[o + OW] = s10 + s11 + s12 + b;
        if (right) out[o + OW + 1] = s11 - s12 - s13 + b;
      }
    }
  }
}

/**
 * Writes conv2d(x, weight, bias) into out [N, Cout, OH, OW] by Winograd F(2×2, 3×3); g must pass
 * useWinograd. With `flip`, weight is the forward convolution's [Cin′ = Cout, Cout′ = Cin, 3, 3]
 * (backward-to-input: see backwardInputAsForward) and is read flipped and transposed.
 */
export function winogradConv(
  x: FloatArray,
  weight: FloatArray,
  bias: FloatArray | null,
  g: Conv2dGeometry,
  out: FloatArray,
  flip = false,
): void {
  const { inChannels: CI, outChannels: CO } = g;
  const tl = tiling(g);
  const mPad = Math.ceil(CO / tl.mr) * tl.mr;
  const u = buffer(2, 16 * mPad * CI);
  filterTransform(weight, CO, CI, tl.mr, flip, u);
  const v = buffer(0, 16 * CI * tl.chunk);
  const m = buffer(1, 16 * CO * tl.chunk);
  for (let t0 = 0; t0 < tl.tiles; t0 += tl.chunk) {
    const count = Math.min(tl.chunk, tl.tiles - t0);
    const tp = Math.ceil(count / tl.nr) * tl.nr;
    inputTransform(x, g, tl, t0, count, v, tp);
    for (let xi = 0; xi < 16; xi++) {
      gemm(CO, tp, CI, panelA(u, xi * mPad * CI, CI, tl.mr), panelB(v, xi * CI * tp, CI, tl.nr), mStore(m, xi * CO * tp, tp), {
        float32: true,
      });
    }
    outputTransform(m, bias, g, tl, t0, count, tp, out);
  }
}
