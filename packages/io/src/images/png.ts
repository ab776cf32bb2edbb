import { crc32 } from '../formats/crc32';
import { zlib } from '../platform/zlib';
import type { Channels, RasterImage } from './types';
import { checkImage } from './types';

export { decodePng } from './png-decode';

const COLOR_TYPE: Record<Channels, 0 | 2 | 4 | 6> = { 1: 0, 2: 4, 3: 2, 4: 6 };

/** A PNG encoder for a checked image; the Node entry installs pngjs's (adaptive row filters), others use `encodePngPortable`. */
export type PngEncoder = (image: RasterImage, colorType: 0 | 2 | 4 | 6, compressionLevel: number) => Uint8Array;

let encoder: PngEncoder | null = null;

/** Installs the PNG encoder `encodePng` uses (null: the portable one). */
export function setPngEncoder(e: PngEncoder | null): void {
  encoder = e;
}

/** Encodes a RasterImage as PNG bytes: gray, gray+alpha, RGB or RGBA by `channels`, 8 or 16 bits. */
export function encodePng(image: RasterImage, options: { compressionLevel?: number } = {}): Uint8Array {
  checkImage(image, 'encodePng');
  return (encoder ?? encodePngPortable)(image, COLOR_TYPE[image.channels], options.compressionLevel ?? 6);
}

/**
 * PNG bytes with no row filter (filter type 0), compressed by the platform's zlib: a valid PNG that
 * every decoder reads back to the same samples, written without Node (browsers).
 */
export const encodePngPortable: PngEncoder = (image, colorType, level) => {
  const bytesPerSample = image.bitDepth === 16 ? 2 : 1;
  const rowBytes = image.width * image.channels * bytesPerSample;
  const raw = new Uint8Array((rowBytes + 1) * image.height);
  const samplesPerRow = image.width * image.channels;
  for (let y = 0; y < image.height; y++) {
    let o = y * (rowBytes + 1) + 1; // byte 0 of each row: filter type 0
    for (let i = y * samplesPerRow, end = i + samplesPerRow; i < end; i++) {
      const v = image.data[i]!;
      if (bytesPerSample === 2) raw[o++] = v >>> 8; // PNG stores 16-bit samples big-endian
      raw[o++] = v & 0xff;
    }
  }
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, image.width);
  hv.setUint32(4, image.height);
  header.set([image.bitDepth, colorType, 0, 0, 0], 8);
  const chunks = [chunk('IHDR', header), chunk('IDAT', zlib().deflate(raw, level)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(8 + chunks.reduce((n, c) => n + c.length, 0));
  out.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let at = 8;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};

/** One PNG chunk: length, type, data, CRC-32 of type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}
