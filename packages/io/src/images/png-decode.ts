import { zlib } from '../platform/zlib';
import { crc32 } from '../formats/crc32';
import type { ReadLimits } from '../read-policy';
import { checkDecodedBytes, resolveLimits } from '../read-policy';
import type { Channels, RasterImage } from './types';

/**
 * PNG decoding written out here rather than taken from pngjs: pngjs's synchronous inflate, on
 * Node 20, can hand back its whole uninitialised output buffer for a short or non-zlib IDAT stream.
 * Here the IDAT stream is inflated by Node's zlib with an output cap equal to the exact size the
 * header implies, anything else is an error, and every output sample is written before it is read.
 */

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Deflate cannot expand by more than 1032:1 (a 258-byte match in two 1-bit codes). */
const MAX_DEFLATE_RATIO = 1032;
/** Adam7's passes: x start, y start, x step, y step. */
const ADAM7: ReadonlyArray<readonly [number, number, number, number]> = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

interface Header {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlaced: boolean;
}

interface Chunks {
  header: Header;
  idat: Uint8Array[];
  palette?: Uint8Array;
  trns?: Uint8Array;
}

const u32 = (b: Uint8Array, at: number): number =>
  (b[at] ?? 0) * 0x1000000 + (((b[at + 1] ?? 0) << 16) | ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0));
const u16 = (b: Uint8Array, at: number): number => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);

function parseHeader(body: Uint8Array, name: string): Header {
  if (body.length !== 13) throw new Error(`${name}: corrupt PNG (IHDR has ${body.length} bytes, not 13)`);
  const width = u32(body, 0);
  const height = u32(body, 4);
  const depth = body[8] ?? 0;
  const colorType = body[9] ?? 0;
  if (width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new Error(`${name}: corrupt PNG (size ${width} x ${height}; both must be 1 to 2^31-1)`);
  }
  const depths = DEPTHS[colorType];
  if (!depths) throw new Error(`${name}: corrupt PNG (colour type ${colorType}; valid ones are 0, 2, 3, 4 and 6)`);
  if (!depths.includes(depth)) throw new Error(`${name}: corrupt PNG (bit depth ${depth} is not allowed with colour type ${colorType})`);
  if (body[10] !== 0 || body[11] !== 0) throw new Error(`${name}: corrupt PNG (unknown compression or filter method)`);
  if (body[12] !== 0 && body[12] !== 1) throw new Error(`${name}: corrupt PNG (unknown interlace method ${body[12] ?? 0})`);
  return { width, height, depth, colorType, interlaced: body[12] === 1 };
}

/** Walks the chunks from the signature to IEND, checking every CRC; truncation is an error naming the file. */
function readChunks(bytes: Uint8Array, name: string): Chunks {
  if (!SIGNATURE.every((b, i) => bytes[i] === b)) throw new Error(`${name}: not a PNG file (bad signature)`);
  let at = 8;
  let header: Header | undefined;
  const idat: Uint8Array[] = [];
  let palette: Uint8Array | undefined;
  let trns: Uint8Array | undefined;
  for (;;) {
    if (at + 12 > bytes.length) throw new Error(`${name}: truncated PNG (file ends at byte ${bytes.length} before the IEND chunk)`);
    const len = u32(bytes, at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const body = at + 8;
    if (body + len + 4 > bytes.length) {
      throw new Error(
        `${name}: truncated PNG (chunk ${JSON.stringify(type)} needs ${len} bytes at offset ${body}, file has ${bytes.length})`,
      );
    }
    const data = bytes.subarray(body, body + len);
    if (crc32(data, crc32(bytes.subarray(at + 4, at + 8))) !== u32(bytes, body + len)) {
      throw new Error(`${name}: corrupt PNG (CRC mismatch in chunk ${JSON.stringify(type)} at offset ${at})`);
    }
    if (!header && type !== 'IHDR') throw new Error(`${name}: corrupt PNG (first chunk is ${JSON.stringify(type)}, not IHDR)`);
    if (type === 'IHDR') {
      if (header) throw new Error(`${name}: corrupt PNG (two IHDR chunks)`);
      header = parseHeader(data, name);
    } else if (type === 'PLTE') {
      if (len === 0 || len % 3 !== 0 || len > 768)
        throw new Error(`${name}: corrupt PNG (PLTE has ${len} bytes; it needs 3 per entry, 1 to 256 entries)`);
      palette = data;
    } else if (type === 'tRNS') {
      trns = data;
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    } else if (((bytes[at + 4] ?? 0) & 0x20) === 0) {
      throw new Error(`${name}: unsupported PNG (critical chunk ${JSON.stringify(type)} is unknown)`);
    }
    at = body + len + 4;
  }
  if (!header) throw new Error(`${name}: corrupt PNG (no IHDR chunk)`);
  return { header, idat, ...(palette ? { palette } : {}), ...(trns ? { trns } : {}) };
}

/** The reduced images: one for a plain PNG, Adam7's seven (some empty) for an interlaced one. */
function passesOf(h: Header): Array<{ x0: number; y0: number; dx: number; dy: number; w: number; h: number }> {
  const all = h.interlaced ? ADAM7 : [[0, 0, 1, 1] as const];
  return all.map(([x0, y0, dx, dy]) => ({
    x0,
    y0,
    dx,
    dy,
    w: h.width > x0 ? Math.ceil((h.width - x0) / dx) : 0,
    h: h.height > y0 ? Math.ceil((h.height - y0) / dy) : 0,
  }));
}

/** Undoes the per-row filters of one reduced image in place; returns the offset after it. */
function unfilter(raw: Uint8Array, at: number, rows: number, rowBytes: number, bpp: number, name: string): number {
  for (let y = 0; y < rows; y++) {
    const filter = raw[at] ?? 0;
    const row = at + 1;
    const prev = y > 0 ? row - rowBytes - 1 : -1;
    for (let i = 0; i < rowBytes; i++) {
      const a = i >= bpp ? (raw[row + i - bpp] ?? 0) : 0;
      const b = prev >= 0 ? (raw[prev + i] ?? 0) : 0;
      const c = prev >= 0 && i >= bpp ? (raw[prev + i - bpp] ?? 0) : 0;
      let add: number;
      switch (filter) {
        case 0:
          add = 0;
          break;
        case 1:
          add = a;
          break;
        case 2:
          add = b;
          break;
        case 3:
          add = (a + b) >> 1;
          break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          add = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new Error(`${name}: corrupt PNG (row filter type ${filter}; valid ones are 0 to 4)`);
      }
      raw[row + i] = ((raw[row + i] ?? 0) + add) & 0xff;
    }
    at = row + rowBytes;
  }
  return at;
}

/** Returns the output channel count: palette and colour keys become RGB(A) and gray + alpha. */
function channelsOf(colorType: number, hasTrns: boolean): Channels {
  switch (colorType) {
    case 0:
      return hasTrns ? 2 : 1;
    case 4:
      return 2;
    case 2:
      return hasTrns ? 4 : 3;
    case 3:
      return hasTrns ? 4 : 3;
    default:
      return 4;
  }
}

/**
 * Decodes a PNG (any colour type, 1 to 16 bits, interlaced or not) to a RasterImage (HWC).
 * 16-bit files stay 16-bit; 1/2/4-bit gray is widened to 8 bits (v · 255 / max, as PIL and libpng);
 * palette files become RGB(A); a tRNS colour key becomes an alpha channel. The picture must fit the
 * reading limits (`maxImagePixels`, `maxDecodedBytes`), checked before anything is inflated.
 */
export function decodePng(bytes: Uint8Array, name = 'PNG data', limits?: Partial<ReadLimits>): RasterImage {
  const { header: h, idat, palette, trns } = readChunks(bytes, name);
  const { maxImagePixels } = resolveLimits(limits);
  const pixels = h.width * h.height;
  if (pixels > maxImagePixels) {
    throw new Error(
      `${name}: the PNG declares ${h.width} x ${h.height} = ${pixels} pixels, over the limit of ${maxImagePixels} (a decompression bomb? raise it with setReadLimits({ maxImagePixels }) if the file is trusted)`,
    );
  }
  if (h.colorType === 3 && !palette) throw new Error(`${name}: corrupt PNG (palette colour type without a PLTE chunk)`);
  const hasTrns = trns !== undefined && h.colorType !== 4 && h.colorType !== 6;
  const channels = channelsOf(h.colorType, hasTrns);
  const outBytes = pixels * channels * (h.depth === 16 ? 2 : 1);
  checkDecodedBytes(name, `the pixels of a ${h.width} x ${h.height} picture`, outBytes, limits);

  const bitsPerPixel = SAMPLES[h.colorType]! * h.depth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const passes = passesOf(h);
  let expected = 0;
  for (const p of passes) if (p.w > 0 && p.h > 0) expected += p.h * (1 + Math.ceil((p.w * bitsPerPixel) / 8));
  const compressed = idat.reduce((n, c) => n + c.length, 0);
  if (compressed === 0) throw new Error(`${name}: corrupt PNG (no image data: no IDAT chunk)`);
  if (expected > compressed * MAX_DEFLATE_RATIO + 1024) {
    throw new Error(
      `${name}: truncated PNG (${compressed} bytes of image data cannot hold the ${expected} bytes a ${h.width} x ${h.height} picture needs)`,
    );
  }
  checkDecodedBytes(name, `the inflated image data of a ${h.width} x ${h.height} picture`, expected, limits);
  let raw: Uint8Array;
  try {
    raw = zlib().inflate(idat.length === 1 ? idat[0]! : concatBytes(idat), expected);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ERR_BUFFER_TOO_LARGE' ? `it inflates to more than the ${expected} bytes the header implies` : e.message;
    throw new Error(`${name}: corrupt PNG (image data: ${why})`);
  }
  if (raw.length !== expected) {
    throw new Error(
      `${name}: corrupt PNG (image data inflates to ${raw.length} bytes; a ${h.width} x ${h.height} picture needs ${expected})`,
    );
  }

  const out = h.depth === 16 ? new Uint16Array(pixels * channels) : new Uint8Array(pixels * channels);
  const paletteSize = palette ? palette.length / 3 : 0;
  const key = hasTrns && (h.colorType === 0 || h.colorType === 2) ? readKey(trns, h.colorType, name) : undefined;
  const maxSample = (1 << h.depth) - 1;
  const widen = h.depth < 8 && h.colorType === 0 ? 255 / maxSample : 1;
  const opaque = h.depth === 16 ? 65535 : 255;
  const sample = (row: number, x: number, s: number): number => {
    const samples = SAMPLES[h.colorType]!;
    if (h.depth === 16) return u16(raw, row + (x * samples + s) * 2);
    if (h.depth === 8) return raw[row + x * samples + s] ?? 0;
    const bit = (x * samples + s) * h.depth;
    return ((raw[row + (bit >> 3)] ?? 0) >> (8 - h.depth - (bit & 7))) & maxSample;
  };

  let at = 0;
  for (const p of passes) {
    if (p.w === 0 || p.h === 0) continue;
    const rowBytes = Math.ceil((p.w * bitsPerPixel) / 8);
    const start = at;
    at = unfilter(raw, at, p.h, rowBytes, bpp, name);
    for (let j = 0; j < p.h; j++) {
      const row = start + j * (rowBytes + 1) + 1;
      const y = p.y0 + j * p.dy;
      for (let i = 0; i < p.w; i++) {
        let o = (y * h.width + p.x0 + i * p.dx) * channels;
        switch (h.colorType) {
          case 0: {
            const v = sample(row, i, 0);
            out[o++] = v * widen;
            if (key) out[o] = v === key[0] ? 0 : opaque;
            break;
          }
          case 2: {
            const r = sample(row, i, 0);
            const g = sample(row, i, 1);
            const b = sample(row, i, 2);
            out[o++] = r;
            out[o++] = g;
            out[o++] = b;
            if (key) out[o] = r === key[0] && g === key[1] && b === key[2] ? 0 : opaque;
            break;
          }
          case 3: {
            const index = sample(row, i, 0);
            if (index >= paletteSize)
              throw new Error(`${name}: corrupt PNG (palette index ${index} beyond the ${paletteSize}-entry palette)`);
            out[o++] = palette![index * 3] ?? 0;
            out[o++] = palette![index * 3 + 1] ?? 0;
            out[o++] = palette![index * 3 + 2] ?? 0;
            if (hasTrns) out[o] = index < trns!.length ? (trns![index] ?? 255) : 255;
            break;
          }
          default:
            for (let s = 0; s < channels; s++) out[o++] = sample(row, i, s);
        }
      }
    }
  }
  return out instanceof Uint16Array
    ? { width: h.width, height: h.height, channels, bitDepth: 16, data: out }
    : { width: h.width, height: h.height, channels, bitDepth: 8, data: out };
}

function readKey(trns: Uint8Array | undefined, colorType: number, name: string): number[] {
  const need = colorType === 0 ? 2 : 6;
  if (!trns || trns.length < need)
    throw new Error(`${name}: corrupt PNG (tRNS has ${trns?.length ?? 0} bytes; colour type ${colorType} needs ${need})`);
  return colorType === 0 ? [u16(trns, 0)] : [u16(trns, 0), u16(trns, 2), u16(trns, 4)];
}

/** The chunks joined into one array. */
function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
