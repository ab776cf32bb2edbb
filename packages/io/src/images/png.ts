import { PNG } from 'pngjs';
import { Channels, RasterImage, checkImage } from './types';

export { decodePng } from './png-decode';

const COLOR_TYPE: Record<Channels, 0 | 2 | 4 | 6> = { 1: 0, 2: 4, 3: 2, 4: 6 };

/** Encodes a RasterImage as PNG bytes: gray, gray+alpha, RGB or RGBA by `channels`, 8 or 16 bits. */
export function encodePng(image: RasterImage, options: { compressionLevel?: number } = {}): Uint8Array {
  checkImage(image, 'encodePng');
  const colorType = COLOR_TYPE[image.channels];
  // pngjs reads 16-bit input through `new Uint16Array(data.buffer)`, so hand it a buffer of its own
  const data = image.bitDepth === 16
    ? Buffer.from(new Uint16Array(image.data).buffer)
    : Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  const png = new PNG({ width: image.width, height: image.height });
  png.data = data;
  return PNG.sync.write(png, {
    colorType,
    inputColorType: colorType,
    inputHasAlpha: image.channels === 2 || image.channels === 4,
    bitDepth: image.bitDepth,
    deflateLevel: options.compressionLevel ?? 6,
  });
}
