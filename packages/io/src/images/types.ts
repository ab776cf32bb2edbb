import { getReadLimits } from '../read-policy';
/**
 * The decoded picture every reader returns and every writer takes: pixels row-major and
 * interleaved (HWC), `channels` samples per pixel, top-left first.
 *
 * - channels 1 = gray, 2 = gray + alpha, 3 = RGB, 4 = RGBA (alpha is straight, not premultiplied).
 * - bitDepth 8 holds samples 0..255 in a Uint8Array; bitDepth 16 holds 0..65535 in a Uint16Array.
 *   PNGs of 1, 2 or 4 bits are widened to 8 (v * 255 / max, as PIL and libpng do); palette images
 *   are expanded to RGB, or RGBA when the palette has transparency.
 */
export type RasterImage = RasterImage8 | RasterImage16;

/** Channel counts a RasterImage can have: gray, gray + alpha, RGB, RGBA. */
export type Channels = 1 | 2 | 3 | 4;

/** An 8-bit image (samples 0..255). */
export interface RasterImage8 {
  width: number;
  height: number;
  channels: Channels;
  bitDepth: 8;
  data: Uint8Array;
}

/** A 16-bit image (samples 0..65535). */
export interface RasterImage16 {
  width: number;
  height: number;
  channels: Channels;
  bitDepth: 16;
  data: Uint16Array;
}

/** An 8-bit RGB image, what preprocessing and colormaps produce. */
export interface RgbImage extends RasterImage8 {
  channels: 3;
}

/** Returns a zero-filled image of the given size (HWC layout). */
export function createImage(width: number, height: number, channels: Channels, bitDepth: 16): RasterImage16;
export function createImage(width: number, height: number, channels: Channels, bitDepth?: 8): RasterImage8;
export function createImage(width: number, height: number, channels: Channels, bitDepth: 8 | 16 = 8): RasterImage {
  checkSize(width, height, 'createImage');
  const n = width * height * channels;
  return bitDepth === 16
    ? { width, height, channels, bitDepth, data: new Uint16Array(n) }
    : { width, height, channels, bitDepth, data: new Uint8Array(n) };
}

/** Throws unless width and height are positive integers whose product is within the read limits' maxImagePixels. */
export function checkSize(width: number, height: number, where: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`${where}: width and height must be positive integers, got ${width} x ${height}`);
  }
  // a picture made here obeys the limit a decoded one does (an allocation this big would fail with a bare RangeError)
  const { maxImagePixels } = getReadLimits();
  if (width * height > maxImagePixels)
    throw new Error(
      `${where}: ${width} x ${height} = ${width * height} pixels, over the limit of ${maxImagePixels} (setReadLimits({ maxImagePixels }) raises it)`,
    );
}

/** Throws unless `image` is a consistent RasterImage (data length = width * height * channels). */
export function checkImage(image: RasterImage, where: string): void {
  checkSize(image.width, image.height, where);
  if (![1, 2, 3, 4].includes(image.channels)) {
    throw new Error(`${where}: channels must be 1, 2, 3 or 4, got ${String(image.channels)}`);
  }
  const want = image.width * image.height * image.channels;
  if (image.data.length !== want) {
    throw new Error(`${where}: a ${image.width}x${image.height}x${image.channels} image needs ${want} samples, got ${image.data.length}`);
  }
  const is16 = image.data instanceof Uint16Array;
  if ((image.bitDepth === 16) !== is16) {
    throw new Error(`${where}: bitDepth ${String(image.bitDepth)} does not match data of type ${image.data.constructor.name}`);
  }
}
