import type { ColormapName } from './colormaps';
import { applyColormap } from './colormaps';
import { toRgb } from './convert';
import type { RasterImage, RgbImage } from './types';
import { checkImage, checkSize } from './types';

/**
 * Returns a colour bar of a colormap as an RGB picture (HWC, 8-bit): width × height, the lowest value
 * (0) on the left and the highest (1) on the right, or bottom to top with `vertical`; each column
 * (row) is the colour applyColormap gives its value.
 */
export function colorBar(name: ColormapName, width: number, height: number, options: { vertical?: boolean } = {}): RgbImage {
  checkSize(width, height, 'colorBar');
  const values = new Float64Array(width * height);
  const steps = (options.vertical ? height : width) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) values[y * width + x] = steps > 0 ? (options.vertical ? (height - 1 - y) / steps : x / steps) : 1;
  }
  return applyColormap(values, height, width, name);
}

/**
 * Returns `picture` (any raster image, drawn as RGB) with a legend strip under it: a white gap of
 * 2 pixels and a colour bar of `colormap` as wide as the picture, low values on the left, high on
 * the right, with a 1-pixel dark frame. `barHeight` defaults to a tenth of the picture's height (≥ 6).
 */
export function withLegend(picture: RasterImage, colormap: ColormapName, options: { barHeight?: number } = {}): RgbImage {
  checkImage(picture, 'withLegend');
  const rgb = toRgb(picture);
  const W = rgb.width;
  const bar = Math.max(6, options.barHeight ?? Math.round(rgb.height / 10));
  const gap = 2;
  const H = rgb.height + gap + bar;
  const out = new Uint8Array(W * H * 3).fill(255);
  out.set(rgb.data.subarray(0, rgb.width * rgb.height * 3), 0);
  const strip = colorBar(colormap, W, bar);
  for (let y = 0; y < bar; y++) {
    for (let x = 0; x < W; x++) {
      const frame = y === 0 || y === bar - 1 || x === 0 || x === W - 1;
      const o = ((rgb.height + gap + y) * W + x) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = frame ? 40 : strip.data[(y * W + x) * 3 + c]!;
    }
  }
  return { width: W, height: H, channels: 3, bitDepth: 8, data: out };
}
