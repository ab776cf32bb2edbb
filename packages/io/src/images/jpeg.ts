import * as jpeg from 'jpeg-js';
import { ExifOrientation, parseExifOrientation } from './exif';
import { readJpegStructure } from './jpeg-markers';
import { applyExifOrientation } from './orient';
import { RasterImage8 } from './types';

/** Options of decodeJpeg and readImage for JPEG files. */
export interface JpegDecodeOptions {
  /**
   * Turn the picture upright by its EXIF Orientation tag (default true). Pass false for the
   * pixels as stored, which is what a bare PIL `Image.open` (and so torchvision) sees.
   */
  exifOrientation?: boolean;
}

const SUPPORTED_SOF: Record<number, string> = { 0xc0: 'baseline', 0xc1: 'extended sequential', 0xc2: 'progressive' };

/** Returns the EXIF orientation of a JPEG (1 when it has none). */
export function readJpegOrientation(bytes: Uint8Array, name = 'JPEG data'): ExifOrientation {
  const { exif } = readJpegStructure(bytes, name);
  return (exif && parseExifOrientation(exif)) ?? 1;
}

/**
 * Decodes a baseline or progressive JPEG with jpeg-js to an 8-bit image, HWC: 1 channel for
 * grayscale files, 3 (RGB) otherwise, turned upright by its EXIF orientation unless told not to.
 */
export function decodeJpeg(bytes: Uint8Array, name = 'JPEG data', options: JpegDecodeOptions = {}): RasterImage8 {
  const info = readJpegStructure(bytes, name);
  if (!(info.sof in SUPPORTED_SOF)) {
    throw new Error(`${name}: unsupported JPEG coding (SOF marker 0x${info.sof.toString(16)}); only baseline and progressive Huffman JPEGs can be read`);
  }
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    // tolerantDecoding off: a damaged scan must fail, not come back as a partly gray picture
    decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false });
  } catch (err) {
    throw new Error(`${name}: corrupt JPEG: ${(err as Error).message}`);
  }
  const { width, height } = decoded;
  let image: RasterImage8 = { width, height, channels: 3, bitDepth: 8, data: decoded.data };
  if (info.components === 1) {
    // jpeg-js replicates gray into RGB; keep one channel, as PIL's mode "L"
    const gray = new Uint8Array(width * height);
    for (let i = 0; i < gray.length; i++) gray[i] = decoded.data[i * 3] ?? 0;
    image = { width, height, channels: 1, bitDepth: 8, data: gray };
  }
  if (options.exifOrientation === false || !info.exif) return image;
  const orientation = parseExifOrientation(info.exif);
  return orientation ? applyExifOrientation(image, orientation) : image;
}
