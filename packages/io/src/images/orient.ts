import type { ExifOrientation } from './exif';
import type { RasterImage } from './types';
import { checkImage } from './types';

/**
 * Returns the image turned upright for an EXIF orientation (what PIL's ImageOps.exif_transpose
 * does): 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse,
 * 8 rotate 90 counter-clockwise. Orientations 5-8 swap width and height. Layout stays HWC.
 */
export function applyExifOrientation<T extends RasterImage>(image: T, orientation: ExifOrientation): T {
  checkImage(image, 'applyExifOrientation');
  if (orientation === 1) return image;
  const { width: W, height: H, channels: C } = image;
  const swap = orientation >= 5;
  const ow = swap ? H : W;
  const oh = swap ? W : H;
  // source pixel = x0 + x * dxx + y * dxy (in pixels), per output (x, y)
  let sx0 = 0,
    sxx = 1,
    sxy = 0,
    sy0 = 0,
    syx = 0,
    syy = 1;
  switch (orientation) {
    case 2:
      sx0 = W - 1;
      sxx = -1;
      break;
    case 3:
      sx0 = W - 1;
      sxx = -1;
      sy0 = H - 1;
      syy = -1;
      break;
    case 4:
      sy0 = H - 1;
      syy = -1;
      break;
    case 5:
      sxx = 0;
      sxy = 1;
      syx = 1;
      syy = 0;
      break;
    case 6:
      sxx = 0;
      sxy = 1;
      sy0 = H - 1;
      syx = -1;
      syy = 0;
      break;
    case 7:
      sx0 = W - 1;
      sxx = 0;
      sxy = -1;
      sy0 = H - 1;
      syx = -1;
      syy = 0;
      break;
    case 8:
      sx0 = W - 1;
      sxx = 0;
      sxy = -1;
      syx = 1;
      syy = 0;
      break;
  }
  const src = image.data;
  const out = new (src.constructor as Uint8ArrayConstructor | Uint16ArrayConstructor)(src.length);
  let o = 0;
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const sx = sx0 + x * sxx + y * sxy;
      const sy = sy0 + x * syx + y * syy;
      const s = (sy * W + sx) * C;
      for (let c = 0; c < C; c++) out[o++] = src[s + c] ?? 0;
    }
  }
  return { ...image, width: ow, height: oh, data: out };
}
