/** pngjs's PNG encoder (adaptive row filters, Node's zlib): installed by the Node entry. */
import { PNG } from 'pngjs';
import type { PngEncoder } from './png';

/** Encodes with pngjs, as gradlens always has under Node. */
export const encodePngWithPngjs: PngEncoder = (image, colorType, level) => {
  // pngjs reads 16-bit input through `new Uint16Array(data.buffer)`, so hand it a buffer of its own
  const data =
    image.bitDepth === 16
      ? Buffer.from(new Uint16Array(image.data).buffer)
      : Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  const png = new PNG({ width: image.width, height: image.height });
  png.data = data;
  return PNG.sync.write(png, {
    colorType,
    inputColorType: colorType,
    inputHasAlpha: image.channels === 2 || image.channels === 4,
    bitDepth: image.bitDepth,
    deflateLevel: level,
  });
};
