import { extName } from '../paths';
import { fileAccess } from '../platform/files';
import { detectImageFormat, formatFromExtension } from './detect';
import type { JpegDecodeOptions } from './jpeg';
import { decodeJpeg } from './jpeg';
import { decodePng, encodePng } from './png';
import type { RasterImage } from './types';

/** Options of readImage / decodeImage. */
export type ReadImageOptions = JpegDecodeOptions;

/**
 * Decodes PNG or JPEG bytes, chosen by their magic bytes, to a RasterImage (HWC). `name` is used in
 * error messages; when it has an image extension that disagrees with the content, that is an error.
 */
export function decodeImage(bytes: Uint8Array, name = 'image data', options: ReadImageOptions = {}): RasterImage {
  const format = detectImageFormat(bytes);
  const claimed = formatFromExtension(name);
  if (format && claimed && format !== claimed) {
    throw new Error(
      `${name}: the extension says ${claimed.toUpperCase()} but the content is ${format.toUpperCase()}; rename the file or convert it`,
    );
  }
  switch (format) {
    case 'png':
      return decodePng(bytes, name, options.limits);
    case 'jpeg':
      return decodeJpeg(bytes, name, options);
    case undefined: {
      const what = bytes.length === 0 ? 'the file is empty' : 'its first bytes match no known image format';
      throw new Error(`${name}: not a PNG or JPEG image (${what})`);
    }
    default:
      throw new Error(`${name}: ${format.toUpperCase()} images are not supported; only PNG and JPEG can be read`);
  }
}

/**
 * Reads a PNG or JPEG file to a RasterImage (HWC); errors name the file. Only regular files are
 * read, and the picture must fit the reading limits (see `setReadLimits`).
 */
export function readImage(file: string, options: ReadImageOptions = {}): RasterImage {
  return decodeImage(fileAccess(`readImage ${file}`).readRegularFile(file, options.limits), file, options);
}

/** Writes a RasterImage as a PNG file, atomically; the file name must end in .png. */
export function writeImage(file: string, image: RasterImage): void {
  const ext = extName(file).toLowerCase();
  if (ext !== '.png') {
    throw new Error(`${file}: only PNG can be written, so the file name must end in .png (got "${ext || 'no extension'}")`);
  }
  let bytes: Uint8Array;
  try {
    bytes = encodePng(image);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  fileAccess(`writeImage ${file}`).writeFileAtomic(file, bytes);
}
