/**
 * Crafts the hostile pictures of the hostile-input suite (issue 19) from their description, so the
 * suite needs no large committed files: PNG chunks with real CRCs around chosen IDAT streams, and
 * JPEGs whose frame header is rewritten.
 */
import * as zlib from 'zlib';
import { crc32 } from '../../src/formats/crc32';

/** One PNG chunk: length, type, data, CRC over type and data. */
export function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.from(data), crc32(head.subarray(4, 8))), 0);
  return Buffer.concat([head, Buffer.from(data), crc]);
}

/** IHDR data: size, bit depth, colour type, interlace. */
export function ihdr(width: number, height: number, depth = 8, colorType = 2, interlace = 0): Buffer {
  const b = Buffer.alloc(13);
  b.writeUInt32BE(width, 0);
  b.writeUInt32BE(height, 4);
  b[8] = depth;
  b[9] = colorType;
  b[12] = interlace;
  return b;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A PNG made of a header and the given IDAT payloads (and any extra chunks before IEND). */
export function png(header: Buffer, idat: Uint8Array[], extra: Buffer[] = []): Buffer {
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', header),
    ...extra,
    ...idat.map((d) => chunk('IDAT', d)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** The raw (filtered) scanlines of a non-interlaced 8-bit RGB picture, each row with filter byte 0. */
export function rgbRows(width: number, height: number, value = 0x5a): Buffer {
  const rowBytes = 1 + width * 3;
  const raw = Buffer.alloc(rowBytes * height, value);
  for (let y = 0; y < height; y++) raw[y * rowBytes] = 0;
  return raw;
}

/** A zlib stream of `bytes` zeros (about bytes / 1000 long). */
export function zerosDeflated(bytes: number): Buffer {
  return zlib.deflateSync(Buffer.alloc(bytes), { level: 9 });
}

/** Returns `jpeg` with its frame header (SOFn) declaring `width` x `height`. */
export function jpegWithSize(jpeg: Uint8Array, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let at = 2; at + 9 < out.length;) {
    if (out[at] !== 0xff) throw new Error('jpegWithSize: lost the marker chain');
    const marker = out[at + 1] ?? 0;
    const len = out.readUInt16BE(at + 2);
    if (marker >= 0xc0 && marker <= 0xc2) {
      out.writeUInt16BE(height, at + 5);
      out.writeUInt16BE(width, at + 7);
      return out;
    }
    at += 2 + len;
  }
  throw new Error('jpegWithSize: no frame header');
}

/** A small deterministic generator (mulberry32) for the fuzz pass. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
