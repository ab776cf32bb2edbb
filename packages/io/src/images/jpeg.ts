import * as jpeg from 'jpeg-js';
import type { ExifOrientation } from './exif';
import { parseExifOrientation } from './exif';
import { readJpegStructure, type JpegStructure } from './jpeg-markers';
import { applyExifOrientation } from './orient';
import { planesRecoverable, toLibjpegPixels, upsamplingRatios } from './jpeg-upsample';
import type { ReadLimits } from '../read-policy';
import { checkDecodedBytes, resolveLimits } from '../read-policy';
import type { RasterImage8 } from './types';

/** Options of decodeJpeg and readImage for JPEG files. */
export interface JpegDecodeOptions {
  /**
   * Turn the picture upright by its EXIF Orientation tag (default true). Pass false for the
   * pixels as stored, which is what a bare PIL `Image.open` (and so torchvision) sees.
   */
  exifOrientation?: boolean;
  /** Reading limits for this call (default: the process-wide ones, see `setReadLimits`). */
  limits?: Partial<ReadLimits>;
}

const SUPPORTED_SOF: Record<number, string> = { 0xc0: 'baseline', 0xc1: 'extended sequential', 0xc2: 'progressive' };
/** The codings jpeg-js cannot read, named for the error message. */
const OTHER_SOF: Record<number, string> = {
  0xc3: 'lossless',
  0xc5: 'differential sequential (hierarchical)',
  0xc6: 'differential progressive (hierarchical)',
  0xc7: 'differential lossless (hierarchical)',
  0xc9: 'arithmetic-coded sequential',
  0xca: 'arithmetic-coded progressive',
  0xcb: 'arithmetic-coded lossless',
  0xcd: 'arithmetic-coded differential sequential',
  0xce: 'arithmetic-coded differential progressive',
  0xcf: 'arithmetic-coded differential lossless',
};

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
    const coding = OTHER_SOF[info.sof] ?? 'unknown';
    throw new Error(
      `${name}: unsupported JPEG coding: ${coding} (SOF marker 0x${info.sof.toString(16)}); only baseline and progressive Huffman JPEGs can be read`,
    );
  }
  if (info.precision !== 8)
    throw new Error(`${name}: unsupported JPEG: ${info.precision}-bit samples (only 8-bit JPEGs can be read; PIL cannot read them either)`);
  checkJpegSize(info.width, info.height, info.components, bytes.length, name, options.limits);
  if (info.components === 4 && info.adobeTransform === undefined) {
    throw new Error(
      `${name}: unsupported JPEG: 4 components (CMYK) without an Adobe APP14 marker, whose ink convention is unknown; convert it to RGB first`,
    );
  }
  checkSampling(info, name);
  // libjpeg's upsampling and colour conversion redone on jpeg-js's planes where they can be read back exactly
  const ownPixels = info.components === 3 && planesRecoverable(info.sampling);
  const { maxDecodedBytes } = resolveLimits(options.limits);
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    // tolerantDecoding off: a damaged scan must fail, not come back as a partly gray picture
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: false,
      // libjpeg's rule, which PIL follows: jpeg-js would take an Adobe "no transform" 3-component file for YCbCr
      colorTransform: info.components === 3 ? !ownPixels && storesYCbCr(info) : info.adobeTransform === 2,
      maxResolutionInMP: Math.ceil((info.width * info.height) / 1e6) + 1,
      maxMemoryUsageInMB: Math.max(1, Math.floor(maxDecodedBytes / 1024 ** 2)),
    });
  } catch (err) {
    throw new Error(`${name}: corrupt JPEG: ${(err as Error).message}`);
  }
  const { width, height } = decoded;
  if (ownPixels) toLibjpegPixels(decoded.data, width, height, info.sampling, storesYCbCr(info));
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

/**
 * Refuses sampling factors libjpeg (so PIL) cannot read, before jpeg-js makes something of them: factors outside
 * 1–4, or a component whose factors do not divide the largest ones (libjpeg: "Fractional sampling not implemented").
 */
function checkSampling(info: JpegStructure, name: string): void {
  if (info.components === 1) return; // one component is read unsampled whatever its factors say
  const bad = info.sampling.findIndex((s) => s.h < 1 || s.h > 4 || s.v < 1 || s.v > 4);
  if (bad >= 0) {
    const s = info.sampling[bad]!;
    throw new Error(`${name}: corrupt JPEG (component ${bad + 1} has sampling factors ${s.h}x${s.v}; each must be 1 to 4)`);
  }
  if (upsamplingRatios(info.sampling) === null) {
    const factors = info.sampling.map((s) => `${s.h}x${s.v}`).join(',');
    throw new Error(`${name}: unsupported JPEG: fractional chroma sampling (${factors}); libjpeg and PIL cannot read it either`);
  }
}

/**
 * Whether a 3-component JPEG stores YCbCr (else RGB), as libjpeg decides: a JFIF marker means
 * YCbCr; else an Adobe marker's transform code (0: RGB); else component ids 'R', 'G', 'B' mean RGB.
 */
function storesYCbCr(info: JpegStructure): boolean {
  if (info.jfif) return true;
  if (info.adobeTransform !== undefined) return info.adobeTransform !== 0;
  const [a, b, c] = info.componentIds;
  return !(a === 0x52 && b === 0x47 && c === 0x42);
}

/**
 * Checks a JPEG's declared size against the reading limits before jpeg-js allocates anything:
 * the pixel count, the bytes jpeg-js will hold (its component planes and the RGB output), and
 * whether the file can hold that many blocks at all (every 8×8 block of the most subsampled
 * component costs at least one bit of DC code in the first scan).
 */
function checkJpegSize(
  width: number,
  height: number,
  components: number,
  fileBytes: number,
  name: string,
  limits?: Partial<ReadLimits>,
): void {
  if (width < 1 || height < 1) throw new Error(`${name}: corrupt JPEG (frame size ${width} x ${height})`);
  if (components !== 1 && components !== 3 && components !== 4)
    throw new Error(`${name}: unsupported JPEG: ${components} colour components (1, 3 or 4 are readable)`);
  const pixels = width * height;
  const { maxImagePixels } = resolveLimits(limits);
  if (pixels > maxImagePixels) {
    throw new Error(
      `${name}: the JPEG declares ${width} x ${height} = ${pixels} pixels, over the limit of ${maxImagePixels} (raise it with setReadLimits({ maxImagePixels }) if the file is trusted)`,
    );
  }
  const minimumBlocks = Math.ceil(width / 32) * Math.ceil(height / 32); // sampling factors are at most 4
  if (fileBytes * 8 < minimumBlocks) {
    throw new Error(
      `${name}: truncated JPEG (${fileBytes} bytes cannot hold the ${minimumBlocks} blocks a ${width} x ${height} picture needs)`,
    );
  }
  checkDecodedBytes(name, `decoding a ${width} x ${height} JPEG`, pixels * (components + 3), limits);
}
