import { PNG } from 'pngjs';
import { Channels, RasterImage, checkImage } from './types';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** What the chunk walk learns before pngjs decodes the pixels. */
interface PngHeader {
  colorType: number;
  depth: number;
  /** tRNS samples for gray (1 value) or RGB (3 values); undefined when absent. */
  transColor?: number[];
  hasTrns: boolean;
}

const u32 = (b: Uint8Array, at: number): number =>
  ((b[at] ?? 0) * 0x1000000) + (((b[at + 1] ?? 0) << 16) | ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0));
const u16 = (b: Uint8Array, at: number): number => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);

/**
 * Walks the chunk list up to IEND: pngjs reports a cut-off file vaguely (or not at all when the
 * missing part is after the last IDAT), so truncation is found here, with the file named.
 */
function readHeader(bytes: Uint8Array, name: string): PngHeader {
  if (!SIGNATURE.every((b, i) => bytes[i] === b)) throw new Error(`${name}: not a PNG file (bad signature)`);
  let at = 8;
  let header: PngHeader | undefined;
  for (;;) {
    if (at + 12 > bytes.length) {
      throw new Error(`${name}: truncated PNG (file ends at byte ${bytes.length} before the IEND chunk)`);
    }
    const len = u32(bytes, at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const body = at + 8;
    if (body + len + 4 > bytes.length) {
      throw new Error(`${name}: truncated PNG (chunk ${type} needs ${len} bytes at offset ${body}, file has ${bytes.length})`);
    }
    if (type === 'IHDR') {
      header = { depth: bytes[body + 8] ?? 0, colorType: bytes[body + 9] ?? 0, hasTrns: false };
    } else if (type === 'tRNS' && header) {
      header.hasTrns = true;
      if (header.colorType === 0) header.transColor = [u16(bytes, body)];
      if (header.colorType === 2) header.transColor = [u16(bytes, body), u16(bytes, body + 2), u16(bytes, body + 4)];
    } else if (type === 'IEND') {
      break;
    }
    at = body + len + 4;
  }
  if (!header) throw new Error(`${name}: corrupt PNG (no IHDR chunk)`);
  return header;
}

function channelsOf(h: PngHeader): Channels {
  switch (h.colorType) {
    case 0: return h.hasTrns ? 2 : 1;
    case 4: return 2;
    case 2: return h.hasTrns ? 4 : 3;
    case 6: return 4;
    case 3: return h.hasTrns ? 4 : 3;
    default: throw new Error(`unknown PNG colour type ${h.colorType}`);
  }
}

/**
 * Decodes a PNG (any colour type, 1 to 16 bits, interlaced or not) to a RasterImage (HWC).
 * 16-bit files stay 16-bit; palette files become RGB(A); a tRNS colour key becomes an alpha channel.
 */
export function decodePng(bytes: Uint8Array, name = 'PNG data'): RasterImage {
  const header = readHeader(bytes, name);
  const channels = channelsOf(header);
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    png = PNG.sync.read(buf, { skipRescale: header.depth === 16 });
  } catch (err) {
    throw new Error(`${name}: corrupt PNG: ${(err as Error).message}`);
  }
  const { width, height } = png;
  const rgba = png.data as Buffer | Uint16Array; // Uint16Array when 16-bit with skipRescale
  const n = width * height;
  const out = header.depth === 16 ? new Uint16Array(n * channels) : new Uint8Array(n * channels);
  const gray = channels <= 2;
  const hasAlpha = channels === 2 || channels === 4;
  // pngjs zeroes the colour of colour-keyed pixels; put the key back so only alpha says "transparent"
  const key = header.transColor?.map((v) => (header.depth < 8 ? Math.round((v * 255) / ((1 << header.depth) - 1)) : v));
  for (let p = 0, o = 0; p < n; p++) {
    const i = p * 4;
    const a = rgba[i + 3] ?? 0;
    const keyed = key !== undefined && a === 0;
    if (gray) {
      out[o++] = keyed ? (key[0] ?? 0) : (rgba[i] ?? 0);
    } else {
      out[o++] = keyed ? (key[0] ?? 0) : (rgba[i] ?? 0);
      out[o++] = keyed ? (key[1] ?? 0) : (rgba[i + 1] ?? 0);
      out[o++] = keyed ? (key[2] ?? 0) : (rgba[i + 2] ?? 0);
    }
    if (hasAlpha) out[o++] = a;
  }
  return out instanceof Uint16Array
    ? { width, height, channels, bitDepth: 16, data: out }
    : { width, height, channels, bitDepth: 8, data: out };
}

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
