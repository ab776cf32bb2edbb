/**
 * Implicit im2col as offset tables. With the input copied once into a zero-padded buffer, every
 * element of an im2col matrix is src[rowOffset + columnOffset]: a kernel tap (channel, ky, kx) gives
 * one offset and an output pixel (n, oh, ow) the other, with no bounds checks. The GEMM packers are
 * then one loop over two small offset tables (`packPanels`), and the fused col2im store the adjoint
 * (`scatterAdd`) into a zero-padded gradient buffer.
 */
import type { Conv2dGeometry, FloatArray } from './types';
import type { TypedArray } from '../../../dtype';

/** Input planes with a zero border of padH rows and padW columns: [N, C, H + 2·padH, W + 2·padW]. */
export interface PaddedPlanes {
  data: FloatArray;
  /** Row length and plane size of `data`. */
  rowLen: number;
  planeLen: number;
}

/** Reused padded buffers by dtype; buffers above CACHE_LIMIT elements are allocated per call instead. */
let cache32 = new Float32Array(0);
let cache64 = new Float64Array(0);
const CACHE_LIMIT = 1 << 22;

/**
 * At least size elements of like's dtype (contents unspecified), valid until the next call. Reusing one
 * buffer saves the page faults of a fresh allocation on every conv call (in a profile they made the
 * padding copy three times as costly).
 */
function reusedBuffer(like: FloatArray, size: number): FloatArray {
  const f32 = like instanceof Float32Array;
  if (size > CACHE_LIMIT) return f32 ? new Float32Array(size) : new Float64Array(size);
  if (f32) {
    if (cache32.length < size) cache32 = new Float32Array(size);
    return cache32;
  }
  if (cache64.length < size) cache64 = new Float64Array(size);
  return cache64;
}

/** Rows at least this long are copied with TypedArray.set (a memcpy; its call costs more than a short loop). */
const SET_MIN = 24;

/** dst[d .. d+len) = src[s .. s+len) (also shape-ops.ts's contiguous runs). */
export function copyRow(src: TypedArray, s: number, dst: TypedArray, d: number, len: number): void {
  if (len >= SET_MIN) dst.set(src.subarray(s, s + len), d);
  else for (let i = 0; i < len; i++) dst[d + i] = src[s + i]!;
}

/** Padded row length and plane size for geometry g. */
function paddedDims(g: Conv2dGeometry): [number, number] {
  const rowLen = g.inWidth + 2 * g.padW;
  return [rowLen, (g.inHeight + 2 * g.padH) * rowLen];
}

/** x [N, Cin, H, W] with a zero border (x itself when there is no padding). */
export function padInput(x: FloatArray, g: Conv2dGeometry): PaddedPlanes {
  const [rowLen, planeLen] = paddedDims(g);
  if (g.padH === 0 && g.padW === 0) return { data: x, rowLen, planeLen };
  return padInto(x, g, reusedBuffer(x, g.batch * g.inChannels * planeLen), 0);
}

/** padInput's layout over data (for a buffer filled elsewhere). */
export function paddedPlanes(data: FloatArray, g: Conv2dGeometry): PaddedPlanes {
  const [rowLen, planeLen] = paddedDims(g);
  return { data, rowLen, planeLen };
}

/** Elements of padInput's buffer for geometry g. */
export function paddedSize(g: Conv2dGeometry): number {
  return g.batch * g.inChannels * paddedDims(g)[1];
}

/** Writes x into the interior of padInput's layout at data[at..] and zeros its border. */
export function padInto(x: FloatArray, g: Conv2dGeometry, data: FloatArray, at: number): PaddedPlanes {
  const [rowLen, planeLen] = paddedDims(g);
  const H = g.inHeight,
    W = g.inWidth,
    planes = g.batch * g.inChannels;
  if (g.padH === 0 && g.padW === 0) {
    copyRow(x, 0, data, at, planes * planeLen); // no border: the planes as they are
    return { data, rowLen, planeLen };
  }
  data.fill(0, at, at + planes * planeLen);
  for (let pl = 0; pl < planes; pl++) {
    for (let ih = 0; ih < H; ih++) copyRow(x, (pl * H + ih) * W, data, at + pl * planeLen + (ih + g.padH) * rowLen + g.padW, W);
  }
  return { data, rowLen, planeLen };
}

/** A zeroed gradient buffer shaped like padInput's (dx itself, zeroed, when there is no padding). */
export function paddedGradient(dx: FloatArray, g: Conv2dGeometry): PaddedPlanes {
  const [rowLen, planeLen] = paddedDims(g);
  const size = g.batch * g.inChannels * planeLen;
  return { data: (g.padH === 0 && g.padW === 0 ? dx : reusedBuffer(dx, size)).fill(0, 0, size), rowLen, planeLen };
}

/** Copies the interior of a paddedGradient buffer into dx [N, Cin, H, W] (nothing to do without padding). */
export function unpadGradient(p: PaddedPlanes, g: Conv2dGeometry, dx: FloatArray): void {
  if (p.data === dx) return;
  const H = g.inHeight,
    W = g.inWidth,
    planes = g.batch * g.inChannels;
  if (g.padH === 0 && g.padW === 0) {
    copyRow(p.data, 0, dx, 0, planes * H * W);
    return;
  }
  for (let pl = 0; pl < planes; pl++) {
    for (let ih = 0; ih < H; ih++) copyRow(p.data, pl * p.planeLen + (ih + g.padH) * p.rowLen + g.padW, dx, (pl * H + ih) * W, W);
  }
}

const tables: Int32Array[] = [];

/**
 * A reusable Int32Array of at least n elements for `slot` (contents unspecified). Packers and stores
 * fill their tables at the start of each call and never call each other, so slots 0 and 1 suffice.
 */
export function offsetTable(slot: 0 | 1, n: number): Int32Array {
  const cur = tables[slot];
  if (cur !== undefined && cur.length >= n) return cur;
  const next = new Int32Array(Math.max(n, cur === undefined ? 0 : Math.ceil(cur.length * 1.5)));
  tables[slot] = next;
  return next;
}

/**
 * Fills t[0..count) with the padded-input offsets of taps kk0 .. kk0+count-1 of a group's
 * (cinG·kh·kw) taps: ci·planeLen + ky·dilationH·rowLen + kx·dilationW.
 */
export function tapOffsets(t: Int32Array, g: Conv2dGeometry, p: PaddedPlanes, kk0: number, count: number): Int32Array {
  const kw = g.kernelWidth,
    khw = g.kernelHeight * kw;
  let ci = (kk0 / khw) | 0;
  let ky = ((kk0 - ci * khw) / kw) | 0;
  let kx = kk0 - ci * khw - ky * kw;
  for (let i = 0; i < count; i++) {
    t[i] = ci * p.planeLen + ky * g.dilationH * p.rowLen + kx * g.dilationW;
    if (++kx === kw) {
      kx = 0;
      if (++ky === g.kernelHeight) {
        ky = 0;
        ci++;
      }
    }
  }
  return t;
}

/**
 * Fills t[0..count) with base + offsets of batch pixels q0 .. q0+count-1 (q = n·OH·OW + oh·OW + ow):
 * n·imageLen + oh·rowStep + ow·colStep. For padded input: imageLen = Cin·planeLen,
 * rowStep = strideH·rowLen, colStep = strideW; for dy: imageLen = Cout·OH·OW, rowStep = OW, colStep = 1.
 */
export function pixelOffsets(
  t: Int32Array,
  g: Conv2dGeometry,
  q0: number,
  count: number,
  base: number,
  imageLen: number,
  rowStep: number,
  colStep: number,
): Int32Array {
  const OW = g.outWidth,
    P = g.outHeight * OW;
  let n = (q0 / P) | 0;
  let oh = ((q0 - n * P) / OW) | 0;
  let ow = q0 - n * P - oh * OW;
  let rowBase = base + n * imageLen + oh * rowStep;
  for (let i = 0; i < count; i++) {
    t[i] = rowBase + ow * colStep;
    if (++ow === OW) {
      ow = 0;
      if (++oh === g.outHeight) {
        oh = 0;
        n++;
      }
      rowBase = base + n * imageLen + oh * rowStep;
    }
  }
  return t;
}

/**
 * Packs M(p, j) = src[depth[p] + across[j]] for p < kc, j < width into panels of `nr` columns:
 * element (p, j) of panel s at dst[d + s·kc·nr + p·nr + (j − s·nr)], columns past `width` zero.
 * That is the B layout of gemm.ts (p = depth, j = column) and its A layout (p = depth, j = row).
 * Writes are sequential; each value is only moved, never computed.
 */
export function packPanels(
  src: FloatArray,
  depth: Int32Array,
  kc: number,
  across: Int32Array,
  width: number,
  dst: FloatArray,
  d: number,
  nr: number,
): void {
  const full = Math.floor(width / nr);
  let s = 0;
  if (nr === 8) {
    // The wasm engine's B panels: eight column offsets held in locals.
    for (; s < full; s++) {
      const j = s * 8;
      const a0 = across[j]!,
        a1 = across[j + 1]!,
        a2 = across[j + 2]!,
        a3 = across[j + 3]!;
      const a4 = across[j + 4]!,
        a5 = across[j + 5]!,
        a6 = across[j + 6]!,
        a7 = across[j + 7]!;
      for (let p = 0; p < kc; p++, d += 8) {
        const b = depth[p]!;
        dst[d] = src[b + a0]!;
        dst[d + 1] = src[b + a1]!;
        dst[d + 2] = src[b + a2]!;
        dst[d + 3] = src[b + a3]!;
        dst[d + 4] = src[b + a4]!;
        dst[d + 5] = src[b + a5]!;
        dst[d + 6] = src[b + a6]!;
        dst[d + 7] = src[b + a7]!;
      }
    }
  } else if (nr === 6) {
    // The wasm engine's A panels (dy rows in backward-weight).
    for (; s < full; s++) {
      const j = s * 6;
      const a0 = across[j]!,
        a1 = across[j + 1]!,
        a2 = across[j + 2]!,
        a3 = across[j + 3]!,
        a4 = across[j + 4]!,
        a5 = across[j + 5]!;
      for (let p = 0; p < kc; p++, d += 6) {
        const b = depth[p]!;
        dst[d] = src[b + a0]!;
        dst[d + 1] = src[b + a1]!;
        dst[d + 2] = src[b + a2]!;
        dst[d + 3] = src[b + a3]!;
        dst[d + 4] = src[b + a4]!;
        dst[d + 5] = src[b + a5]!;
      }
    }
  } else if (nr === 4) {
    // The JavaScript engine's 4×4 panels (float64 data, or GRADLENS_CPU_GEMM=js).
    for (; s < full; s++) {
      const j = s * 4;
      const a0 = across[j]!,
        a1 = across[j + 1]!,
        a2 = across[j + 2]!,
        a3 = across[j + 3]!;
      for (let p = 0; p < kc; p++, d += 4) {
        const b = depth[p]!;
        dst[d] = src[b + a0]!;
        dst[d + 1] = src[b + a1]!;
        dst[d + 2] = src[b + a2]!;
        dst[d + 3] = src[b + a3]!;
      }
    }
  } else {
    for (; s < full; s++) {
      const j0 = s * nr;
      for (let p = 0; p < kc; p++) {
        const b = depth[p]!;
        for (let j = j0; j < j0 + nr; j++) dst[d++] = src[b + across[j]!]!;
      }
    }
  }
  if (full * nr === width) return;
  // The last, partial panel: zeros past `width`.
  const j0 = full * nr;
  for (let p = 0; p < kc; p++) {
    const b = depth[p]!;
    for (let j = j0; j < width; j++) dst[d++] = src[b + across[j]!]!;
    for (let j = width; j < j0 + nr; j++) dst[d++] = 0;
  }
}

/**
 * Splits batch pixels q0 .. q0+count-1 into runs along output rows and writes, per run, the triple
 * (first column, length, base + n·imageLen + oh·rowStep + ow0·colStep) into t; returns the number of runs.
 * t needs room for 3·(count/OW + 2) entries.
 */
export function pixelRuns(
  t: Int32Array,
  g: Conv2dGeometry,
  q0: number,
  count: number,
  base: number,
  imageLen: number,
  rowStep: number,
  colStep: number,
): number {
  const OW = g.outWidth,
    P = g.outHeight * OW;
  let runs = 0;
  for (let c = 0; c < count; runs++) {
    const q = q0 + c;
    const n = (q / P) | 0;
    const oh = ((q - n * P) / OW) | 0;
    const ow = q - n * P - oh * OW;
    const len = Math.min(OW - ow, count - c);
    t[3 * runs] = c;
    t[3 * runs + 1] = len;
    t[3 * runs + 2] = base + n * imageLen + oh * rowStep + ow * colStep;
    c += len;
  }
  return runs;
}

/**
 * The adjoint of an im2col gather: dst[down[i] + (offset of column j)] += c[i·ldc + j] for i < rows,
 * over the column runs of pixelRuns (offsets base, base + colStep, ...), row by row (the order in which
 * each dst element receives its terms is fixed by that loop).
 */
export function scatterAdd(
  dst: FloatArray,
  down: Int32Array,
  rows: number,
  runs: Int32Array,
  nRuns: number,
  colStep: number,
  c: FloatArray,
  ldc: number,
): void {
  for (let i = 0; i < rows; i++) {
    const b = down[i]!;
    for (let r = 0; r < nRuns; r++) {
      let s = i * ldc + runs[3 * r]!;
      const end = s + runs[3 * r + 1]!;
      for (let o = b + runs[3 * r + 2]!; s < end; s++, o += colStep) dst[o] = dst[o]! + c[s]!;
    }
  }
}
