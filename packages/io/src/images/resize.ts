import type { AxisWeights, ResizeFilter } from './filters';
import { KERNELS, PRECISION_BITS, axisWeights } from './filters';
import type { RasterImage, RasterImage8 } from './types';
import { checkImage, checkSize } from './types';

const HALF = 1 << (PRECISION_BITS - 1);
const MAX = 1 << (PRECISION_BITS + 8);

/** PIL's clip8: fixed-point sum to a byte. */
function clip8(v: number): number {
  if (v >= MAX) return 255;
  if (v <= 0) return 0;
  return v >> PRECISION_BITS;
}

/**
 * Horizontal pass over rows [y0, y1) of an 8-bit HWC image; returns (y1 - y0) rows of `w.start.length`
 * pixels. Hot loop: indices are in range by construction, hence the non-null assertions.
 */
function horizontal8(src: Uint8Array, width: number, C: number, y0: number, y1: number, w: AxisWeights): Uint8Array {
  const outW = w.start.length;
  const out = new Uint8Array((y1 - y0) * outW * C);
  const { start, count, fixed, ksize } = w;
  for (let y = y0; y < y1; y++) {
    const rowIn = y * width * C;
    let o = (y - y0) * outW * C;
    for (let x = 0; x < outW; x++) {
      const n = count[x]!;
      const kb = x * ksize;
      let p = rowIn + start[x]! * C;
      if (C === 3) {
        // the common case: three sums in one pass over the weights
        let s0 = HALF,
          s1 = HALF,
          s2 = HALF;
        for (let k = 0; k < n; k++, p += 3) {
          const wk = fixed[kb + k]!;
          s0 += src[p]! * wk;
          s1 += src[p + 1]! * wk;
          s2 += src[p + 2]! * wk;
        }
        out[o++] = clip8(s0);
        out[o++] = clip8(s1);
        out[o++] = clip8(s2);
      } else {
        for (let c = 0; c < C; c++) {
          let ss = HALF;
          for (let k = 0, q = p + c; k < n; k++, q += C) ss += src[q]! * fixed[kb + k]!;
          out[o++] = clip8(ss);
        }
      }
    }
  }
  return out;
}

/** Vertical pass: output row y sums input rows start[y] - rowOffset ... ; one accumulator row at a time. */
function vertical8(src: Uint8Array, rowLen: number, rowOffset: number, w: AxisWeights): Uint8Array {
  const outH = w.start.length;
  const out = new Uint8Array(outH * rowLen);
  const acc = new Float64Array(rowLen); // exact: the sums stay far below 2^53
  const { start, count, fixed, ksize } = w;
  for (let y = 0; y < outH; y++) {
    acc.fill(HALF);
    const s = (start[y] ?? 0) - rowOffset;
    for (let k = 0; k < count[y]!; k++) {
      const wk = fixed[y * ksize + k]!;
      const row = (s + k) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i]! += src[row + i]! * wk;
    }
    const o = y * rowLen;
    for (let i = 0; i < rowLen; i++) out[o + i] = clip8(acc[i]!);
  }
  return out;
}

/** PIL's nearest resize (ImagingScaleAffine): source index = trunc of an accumulated (i + 0.5) * scale. */
function nearestIndex(inSize: number, outSize: number): Int32Array {
  const idx = new Int32Array(outSize);
  const step = inSize / outSize;
  let pos = step * 0.5;
  for (let i = 0; i < outSize; i++, pos += step) idx[i] = Math.min(Math.trunc(pos), inSize - 1);
  return idx;
}

function resizeNearest(src: Uint8Array, W: number, H: number, C: number, outW: number, outH: number): Uint8Array {
  const xs = nearestIndex(W, outW);
  const ys = nearestIndex(H, outH);
  const out = new Uint8Array(outW * outH * C);
  let o = 0;
  for (let y = 0; y < outH; y++) {
    const row = (ys[y] ?? 0) * W;
    for (let x = 0; x < outW; x++) {
      const p = (row + (xs[x] ?? 0)) * C;
      for (let c = 0; c < C; c++) out[o++] = src[p + c] ?? 0;
    }
  }
  return out;
}

/** PIL's MULDIV255: a * b / 255, rounded, in integers. */
function mulDiv255(a: number, b: number): number {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

/** RGBA -> RGBa (LA -> La): PIL resizes images with alpha premultiplied, so colour does not bleed from transparent pixels. */
function premultiply(src: Uint8Array, C: number): Uint8Array {
  const out = new Uint8Array(src);
  for (let p = 0; p < out.length; p += C) {
    const a = out[p + C - 1] ?? 0;
    for (let c = 0; c < C - 1; c++) out[p + c] = mulDiv255(out[p + c] ?? 0, a);
  }
  return out;
}

/** RGBa -> RGBA with PIL's truncating division. */
function unpremultiply(data: Uint8Array, C: number): void {
  for (let p = 0; p < data.length; p += C) {
    const a = data[p + C - 1] ?? 0;
    if (a === 0 || a === 255) continue;
    for (let c = 0; c < C - 1; c++) data[p + c] = Math.min(255, Math.trunc((255 * (data[p + c] ?? 0)) / a));
  }
}

/**
 * Returns the image resized to width x height exactly as PIL's `Image.resize(size, filter)` (8-bit
 * fixed point, horizontal pass first, antialiased when shrinking; images with alpha premultiplied).
 * Layout HWC, channels unchanged. Filter defaults to bilinear.
 */
export function resizeImage(image: RasterImage, width: number, height: number, filter: ResizeFilter = 'bilinear'): RasterImage8 {
  checkImage(image, 'resizeImage');
  checkSize(width, height, 'resizeImage');
  if (image.bitDepth !== 8) throw new Error('resizeImage: needs an 8-bit image; convert 16-bit images with to8Bit first');
  const { width: W, height: H, channels: C } = image;
  const result = (data: Uint8Array): RasterImage8 => ({ width, height, channels: C, bitDepth: 8, data });
  if (W === width && H === height) return result(new Uint8Array(image.data));
  if (filter === 'nearest') return result(resizeNearest(image.data, W, H, C, width, height));
  const kernel = KERNELS[filter];
  if (!kernel)
    throw new Error(`resizeImage: unknown filter "${String(filter)}"; use one of nearest, box, bilinear, hamming, bicubic, lanczos`);
  const alpha = C === 2 || C === 4;
  let data = alpha ? premultiply(image.data, C) : image.data;
  const wv = axisWeights(H, height, kernel);
  if (W !== width) {
    // only the rows the vertical pass will read (PIL's ybox), or all of them when there is none
    const y0 = H !== height ? (wv.start[0] ?? 0) : 0;
    const y1 = H !== height ? (wv.start[height - 1] ?? 0) + (wv.count[height - 1] ?? 0) : H;
    data = horizontal8(data, W, C, y0, y1, axisWeights(W, width, kernel));
    if (H !== height) data = vertical8(data, width * C, y0, wv);
  } else {
    data = vertical8(data, W * C, 0, wv);
  }
  if (alpha) unpremultiply(data, C);
  return result(data);
}

/**
 * Returns a float map (h x w, row-major) resized to outW x outH as PIL does for mode "F" images:
 * double weights and sums, float32 storage, no clipping (Lanczos may overshoot the input range).
 */
export function resizeFloat(
  map: Float32Array,
  w: number,
  h: number,
  outW: number,
  outH: number,
  filter: ResizeFilter = 'bilinear',
): Float32Array {
  checkSize(w, h, 'resizeFloat');
  checkSize(outW, outH, 'resizeFloat');
  if (map.length !== w * h) throw new Error(`resizeFloat: a ${h}x${w} map needs ${w * h} values, got ${map.length}`);
  if (w === outW && h === outH) return new Float32Array(map);
  if (filter === 'nearest') {
    const xs = nearestIndex(w, outW);
    const ys = nearestIndex(h, outH);
    const out = new Float32Array(outW * outH);
    for (let y = 0; y < outH; y++) for (let x = 0; x < outW; x++) out[y * outW + x] = map[(ys[y] ?? 0) * w + (xs[x] ?? 0)] ?? 0;
    return out;
  }
  const kernel = KERNELS[filter];
  let data = map;
  let width = w;
  if (w !== outW) {
    const hw = axisWeights(w, outW, kernel);
    const out = new Float32Array(outW * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < outW; x++) {
        let ss = 0;
        const s = y * w + (hw.start[x] ?? 0);
        for (let k = 0; k < (hw.count[x] ?? 0); k++) ss += (data[s + k] ?? 0) * (hw.weights[x * hw.ksize + k] ?? 0);
        out[y * outW + x] = ss;
      }
    }
    data = out;
    width = outW;
  }
  if (h !== outH) {
    const vw = axisWeights(h, outH, kernel);
    const out = new Float32Array(outW * outH);
    const acc = new Float64Array(width);
    for (let y = 0; y < outH; y++) {
      acc.fill(0);
      for (let k = 0; k < (vw.count[y] ?? 0); k++) {
        const wk = vw.weights[y * vw.ksize + k] ?? 0;
        const row = ((vw.start[y] ?? 0) + k) * width;
        for (let i = 0; i < width; i++) acc[i] = (acc[i] ?? 0) + (data[row + i] ?? 0) * wk;
      }
      out.set(acc, y * width);
    }
    data = out;
  }
  return data;
}
