import type { Segments } from './colormap-data';
import { GRAY_SEGMENTS, HSV_SEGMENTS, SEISMIC_SEGMENTS, VIRIDIS } from './colormap-data';
import type { RgbImage } from './types';
import { checkSize } from './types';

/** Colormaps: 'jet' is OpenCV's COLORMAP_JET; the others are matplotlib's maps of the same name. */
export type ColormapName = 'jet' | 'hsv' | 'viridis' | 'seismic' | 'gray';

export const COLORMAP_NAMES: readonly ColormapName[] = ['jet', 'hsv', 'viridis', 'seismic', 'gray'];

/** matplotlib's _create_lookup_table for N = 256, the same float steps, so truncation to bytes agrees. */
function segmentLut(seg: Segments): Float64Array {
  const N = 256;
  const lut = new Float64Array(N);
  const xs = seg.map((r) => r[0] * (N - 1));
  lut[0] = seg[0]?.[2] ?? 0;
  lut[N - 1] = seg[seg.length - 1]?.[1] ?? 0;
  const step = 1 / (N - 1); // np.linspace(0, 1, N) is arange(N) * step
  for (let i = 1; i < N - 1; i++) {
    const xi = (N - 1) * (i * step);
    let j = 0;
    while (j < xs.length && (xs[j] ?? 0) < xi) j++; // np.searchsorted, side 'left'
    const x0 = xs[j - 1] ?? 0;
    const x1 = xs[j] ?? 1;
    const distance = (xi - x0) / (x1 - x0);
    const yLeft = seg[j - 1]?.[2] ?? 0;
    lut[i] = distance * ((seg[j]?.[1] ?? 0) - yLeft) + yLeft;
  }
  return lut.map((v) => Math.min(1, Math.max(0, v)));
}

function fromSegments(segs: readonly [Segments, Segments, Segments]): Uint8Array {
  const out = new Uint8Array(256 * 3);
  segs.forEach((seg, c) =>
    segmentLut(seg).forEach((v, i) => {
      out[i * 3 + c] = Math.trunc(v * 255);
    }),
  );
  return out;
}

/**
 * OpenCV's COLORMAP_JET as integer ramps of slope 4 (verified against cv2.applyColorMap);
 * entry 159's blue is 1, not 2, as OpenCV's own float table rounds it.
 */
function jetLut(): Uint8Array {
  const out = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    out[i * 3] = i < 96 ? 0 : i < 160 ? 2 + 4 * (i - 96) : i < 224 ? 255 : 252 - 4 * (i - 224);
    out[i * 3 + 1] = i <= 32 ? 0 : i < 96 ? 4 * (i - 32) : i < 160 ? 255 : i < 224 ? 252 - 4 * (i - 160) : 0;
    out[i * 3 + 2] = i < 32 ? 128 + 4 * i : i < 96 ? 255 : i < 159 ? 254 - 4 * (i - 96) : i === 159 ? 1 : 0;
  }
  return out;
}

const cache = new Map<ColormapName, Uint8Array>();

/** Returns the colormap's 256-entry lookup table as bytes, [256 x 3] RGB row-major. */
export function colormapLut(name: ColormapName): Uint8Array {
  let lut = cache.get(name);
  if (lut) return lut;
  switch (name) {
    case 'jet':
      lut = jetLut();
      break;
    case 'hsv':
      lut = fromSegments(HSV_SEGMENTS);
      break;
    case 'seismic':
      lut = fromSegments(SEISMIC_SEGMENTS);
      break;
    case 'gray':
      lut = fromSegments(GRAY_SEGMENTS);
      break;
    case 'viridis':
      lut = Uint8Array.from(VIRIDIS, (v) => Math.trunc(v * 255));
      break;
    default:
      throw new Error(`unknown colormap "${String(name)}"; use one of ${COLORMAP_NAMES.join(', ')}`);
  }
  cache.set(name, lut);
  return lut;
}

/**
 * Returns the LUT index of a value, each map quantised as its reference library does:
 * matplotlib maps floor(v * 256) (v = 1 is the last entry), OpenCV's jet the usual
 * np.uint8(255 * v) (truncation, the product in float32 unless `float64`). Values are clipped to
 * [0, 1]; NaN gives -1.
 */
export function colormapIndex(name: ColormapName, v: number, float64 = false): number {
  if (Number.isNaN(v)) return -1;
  const x = v < 0 ? 0 : v > 1 ? 1 : v;
  if (name !== 'jet') return Math.min(255, Math.floor(x * 256));
  return Math.trunc(float64 ? x * 255 : Math.fround(x * 255));
}

/**
 * Returns an RGB picture (HWC, 8-bit) of an h x w map whose values are expected in [0, 1]
 * (out-of-range values clip to the end colours; NaN is black, matplotlib's "bad" colour).
 */
export function applyColormap(map: Float32Array | Float64Array, h: number, w: number, name: ColormapName = 'jet'): RgbImage {
  checkSize(w, h, 'applyColormap');
  if (map.length !== h * w) throw new Error(`applyColormap: an ${h}x${w} map needs ${h * w} values, got ${map.length}`);
  const lut = colormapLut(name);
  const float64 = map instanceof Float64Array;
  const out = new Uint8Array(h * w * 3);
  for (let i = 0; i < map.length; i++) {
    const k = colormapIndex(name, map[i] ?? NaN, float64);
    if (k < 0) continue;
    out[i * 3] = lut[k * 3] ?? 0;
    out[i * 3 + 1] = lut[k * 3 + 1] ?? 0;
    out[i * 3 + 2] = lut[k * 3 + 2] ?? 0;
  }
  return { width: w, height: h, channels: 3, bitDepth: 8, data: out };
}
