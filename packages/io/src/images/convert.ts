import type { RasterImage, RasterImage8, RgbImage } from './types';
import { checkImage } from './types';

/**
 * Returns the image at 8 bits per sample (HWC, same channels). 16-bit samples keep their high byte
 * (v >> 8), which is what PIL does when it opens 16-bit RGB(A) PNGs. (PIL clips 16-bit gray to 255
 * instead, a PIL quirk not copied here.)
 */
export function to8Bit(image: RasterImage): RasterImage8 {
  checkImage(image, 'to8Bit');
  if (image.bitDepth === 8) return image;
  const out = new Uint8Array(image.data.length);
  const src = image.data;
  for (let i = 0; i < src.length; i++) out[i] = (src[i] ?? 0) >> 8;
  return { width: image.width, height: image.height, channels: image.channels, bitDepth: 8, data: out };
}

/**
 * Returns an 8-bit RGB image (HWC) as PIL's `convert('RGB')`: gray is repeated into R, G and B,
 * alpha is dropped (not composited on a background), 16-bit samples keep their high byte.
 */
export function toRgb(image: RasterImage): RgbImage {
  const im = to8Bit(image);
  if (im.channels === 3) return im as RgbImage;
  const { width, height, channels: C } = im;
  const n = width * height;
  const out = new Uint8Array(n * 3);
  const src = im.data;
  if (C <= 2) {
    for (let p = 0; p < n; p++) {
      const v = src[p * C] ?? 0;
      out[p * 3] = v;
      out[p * 3 + 1] = v;
      out[p * 3 + 2] = v;
    }
  } else {
    for (let p = 0; p < n; p++) {
      out[p * 3] = src[p * 4] ?? 0;
      out[p * 3 + 1] = src[p * 4 + 1] ?? 0;
      out[p * 3 + 2] = src[p * 4 + 2] ?? 0;
    }
  }
  return { width, height, channels: 3, bitDepth: 8, data: out };
}

/** Returns an 8-bit RGBA image (HWC): RGB or gray gets an opaque alpha; alpha is kept where present. */
export function toRgba(image: RasterImage): RasterImage8 & { channels: 4 } {
  const im = to8Bit(image);
  if (im.channels === 4) return im as RasterImage8 & { channels: 4 };
  const { width, height, channels: C } = im;
  const n = width * height;
  const out = new Uint8Array(n * 4);
  const src = im.data;
  for (let p = 0; p < n; p++) {
    const s = p * C;
    const gray = C <= 2;
    out[p * 4] = src[s] ?? 0;
    out[p * 4 + 1] = (gray ? src[s] : src[s + 1]) ?? 0;
    out[p * 4 + 2] = (gray ? src[s] : src[s + 2]) ?? 0;
    out[p * 4 + 3] = C === 2 ? (src[s + 1] ?? 0) : 255;
  }
  return { width, height, channels: 4, bitDepth: 8, data: out };
}
