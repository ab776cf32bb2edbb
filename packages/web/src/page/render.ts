import { applyColormap } from '@gradlens/io';
import type { ColormapName } from '@gradlens/io';
import type { FloatArray } from '../protocol';

/** How a gradient-like map [3, H, W] becomes one value per pixel. */
export type GradientView = 'abs' | 'signed';

/** A map ready to draw: one value in [0, 1] per pixel, with the raw range it came from. */
export interface DisplayMap {
  height: number;
  width: number;
  values: Float32Array;
  min: number;
  max: number;
}

/**
 * The per-pixel values of a method's result, scaled to [0, 1]: CAM and occlusion maps (their
 * input-resolution `upsampled`) by min–max; gradient maps [3, H, W] summed over channels, then either
 * |Σ| over its maximum ('abs') or Σ mapped symmetrically around 0.5 ('signed', for LRP's signs).
 */
export function displayMap(
  kind: 'gradient' | 'cam' | 'occlusion',
  raw: FloatArray,
  upsampled: FloatArray | null,
  view: GradientView,
): DisplayMap {
  const src = kind === 'gradient' ? raw : (upsampled ?? raw);
  const [h, w] = src.shape.slice(-2) as [number, number];
  const n = h * w;
  let v = new Float32Array(n);
  if (kind === 'gradient' && src.shape.length === 3) {
    const c = src.shape[0]!;
    for (let k = 0; k < c; k++) for (let i = 0; i < n; i++) v[i]! += src.data[k * n + i]!;
  } else v = Float32Array.from(src.data.subarray(0, n));
  let min = Infinity;
  let max = -Infinity;
  for (const x of src.data) {
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const out = new Float32Array(n);
  if (kind === 'gradient') {
    let m = 0;
    for (const x of v) m = Math.max(m, Math.abs(x));
    for (let i = 0; i < n; i++)
      out[i] = m === 0 ? (view === 'signed' ? 0.5 : 0) : view === 'signed' ? 0.5 + v[i]! / (2 * m) : Math.abs(v[i]!) / m;
  } else {
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of v) {
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    for (let i = 0; i < n; i++) out[i] = hi > lo ? (v[i]! - lo) / (hi - lo) : 0;
  }
  return { height: h, width: w, values: out, min, max };
}

/**
 * The overlay's pixels (RGBA, H×W): (1 − opacity)·picture + opacity·colormap(map), rounded; `picture`
 * is RGB interleaved at the map's size.
 */
export function blend(picture: Uint8Array, map: DisplayMap, colormap: ColormapName, opacity: number): Uint8ClampedArray<ArrayBuffer> {
  const colors = applyColormap(map.values, map.height, map.width, colormap).data;
  const n = map.height * map.width;
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out[i * 4 + c] = Math.round((1 - opacity) * picture[i * 3 + c]! + opacity * colors[i * 3 + c]!);
    out[i * 4 + 3] = 255;
  }
  return out;
}

/** Draws RGBA pixels onto a canvas at their own size (CSS scales it up, pixelated). */
export function paint(canvas: HTMLCanvasElement, width: number, height: number, rgba: Uint8ClampedArray<ArrayBuffer>): void {
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('this browser gives no 2D canvas context');
  ctx.putImageData(new ImageData(rgba, width, height), 0, 0);
}

/** A number for the raw-range line: 3 significant digits, exponent form when tiny or huge. */
export function fmt(x: number): string {
  if (x === 0 || !Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a < 1e-3 || a >= 1e4 ? x.toExponential(2) : x.toPrecision(3);
}
