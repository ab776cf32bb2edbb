import type { ColormapName } from './colormaps';
import { applyColormap } from './colormaps';
import { toRgba } from './convert';
import type { RasterImage, RasterImage8 } from './types';
import { checkImage } from './types';

/** An 8-bit RGBA image. */
export type RgbaImage = RasterImage8 & { channels: 4 };

/**
 * Returns `src` composited over `dst` (both RGBA, same size) with PIL's Image.alpha_composite
 * integer arithmetic, so pictures match the reference byte for byte. Layout HWC RGBA.
 */
export function alphaComposite(dst: RasterImage, src: RasterImage): RgbaImage {
  checkImage(dst, 'alphaComposite (dst)');
  checkImage(src, 'alphaComposite (src)');
  if (dst.width !== src.width || dst.height !== src.height) {
    throw new Error(`alphaComposite: sizes differ, ${dst.width}x${dst.height} vs ${src.width}x${src.height}`);
  }
  const d = toRgba(dst).data;
  const s = toRgba(src).data;
  const out = new Uint8Array(d.length);
  const div255 = (v: number): number => ((v >> 8) + v) >> 8; // PIL's SHIFTFORDIV255
  for (let i = 0; i < d.length; i += 4) {
    const sa = s[i + 3] ?? 0;
    if (sa === 0) {
      out[i] = d[i] ?? 0;
      out[i + 1] = d[i + 1] ?? 0;
      out[i + 2] = d[i + 2] ?? 0;
      out[i + 3] = d[i + 3] ?? 0;
      continue;
    }
    const blend = (d[i + 3] ?? 0) * (255 - sa);
    const outa255 = sa * 255 + blend;
    const coef1 = Math.floor((sa * 255 * 255 * 128) / outa255); // 7 bits of extra precision, as PIL
    const coef2 = 255 * 128 - coef1;
    for (let c = 0; c < 3; c++) {
      const t = (s[i + c] ?? 0) * coef1 + (d[i + c] ?? 0) * coef2 + (0x80 << 7);
      out[i + c] = div255(t) >> 7;
    }
    out[i + 3] = div255(outa255 + 0x80);
  }
  return { width: dst.width, height: dst.height, channels: 4, bitDepth: 8, data: out };
}

/** Returns an RGB picture as RGBA with every alpha set to `alpha` (0..255). */
export function withAlpha(image: RasterImage, alpha: number): RgbaImage {
  const rgba = toRgba(image);
  const data = new Uint8Array(rgba.data);
  for (let i = 3; i < data.length; i += 4) data[i] = alpha;
  return { ...rgba, data };
}

/**
 * Returns the colour-mapped `map` (h x w = image size, values in [0, 1]) laid over `image` at
 * opacity `alpha` (default 0.4, colormap default 'hsv': what pytorch-cnn-visualizations does),
 * as RGBA HWC. The heatmap's alpha byte is trunc(alpha * 255), e.g. 102 for 0.4.
 */
export function overlayHeatmap(
  image: RasterImage,
  map: Float32Array | Float64Array,
  options: { colormap?: ColormapName; alpha?: number } = {},
): RgbaImage {
  const alpha = options.alpha ?? 0.4;
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`overlayHeatmap: alpha must be in [0, 1], got ${alpha}`);
  if (map.length !== image.width * image.height) {
    throw new Error(
      `overlayHeatmap: the map has ${map.length} values but the image is ${image.width}x${image.height}; resize the map to the image first (camToImageSize)`,
    );
  }
  const heat = withAlpha(applyColormap(map, image.height, image.width, options.colormap ?? 'hsv'), Math.trunc(alpha * 255));
  return alphaComposite(image, heat);
}
