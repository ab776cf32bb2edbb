/**
 * Structure-aware fuzz: where formats.test.ts and images.test.ts change random bytes, this one sets the
 * fields that carry structure (JPEG table, frame and scan headers; PNG chunk lengths and IHDR with a
 * valid CRC; zip end records, central and local headers; .npy and safetensors headers) to the values
 * that break readers: 0, 1, the limits of their width, the file's length, and cuts the file at every
 * structural boundary. The contract for every case: the data, or one plain Error whose message is one
 * short line starting with the file's name; never a TypeError or RangeError text from deep inside,
 * never more than a few seconds. Declared sizes are checked against the bytes before allocating:
 * the budget-bounded child-process cases of formats.test.ts and images.test.ts measure that.
 */
import * as fs from 'fs';
import * as path from 'path';
import { crc32 } from '../../src/formats/crc32';
import { decodeImage, decodeNpy, decodeNpz, decodeSafetensors, decodeTorchFile, type NdArray, type ReadLimits } from '../../src';
import { chunk, ihdr, png, seeded } from './craft';

const IMAGES = path.resolve(__dirname, '..', 'fixtures', 'images');
const FORMATS = path.resolve(__dirname, '..', 'fixtures', 'formats');
const LIMITS: Partial<ReadLimits> = { maxDecodedBytes: 64 * 1024 * 1024 };

/** Texts of a JS exception from deep inside rather than a check naming the problem. */
const INTERNAL =
  /Cannot read prop|Cannot set prop|is not a function|is not iterable|Invalid array length|Invalid typed array length|Array buffer allocation failed|of undefined|of null|Maximum call stack|out of range/;

/** Runs `decode`; returns its result or the Error, after checking the error contract and the time. */
function attempt<T>(decode: () => T, name: string, what: string): T | Error {
  const t0 = Date.now();
  let result: T | Error;
  try {
    result = decode();
  } catch (err) {
    const e = err as Error;
    if (
      !(e instanceof Error) ||
      e.constructor !== Error ||
      !e.message.startsWith(`${name}: `) ||
      /[\n\r]/.test(e.message) ||
      e.message.length > 600 ||
      INTERNAL.test(e.message)
    )
      throw new Error(
        `${what}: not one clear line naming ${name}: ${String(e?.constructor?.name)}: ${JSON.stringify(String(e?.message).slice(0, 300))}`,
      );
    result = e;
  }
  const took = Date.now() - t0;
  if (took > 5000) throw new Error(`${what}: took ${took} ms`);
  return result;
}

/** The segments of a JPEG before its first scan's data (and that scan's header): [offset of 0xFF, marker, length]. */
function jpegSegments(b: Uint8Array): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let at = 2; at + 4 <= b.length;) {
    const marker = b[at + 1]!;
    const len = (b[at + 2]! << 8) | b[at + 3]!;
    out.push([at, marker, len]);
    if (marker === 0xda) break;
    at += 2 + len;
  }
  return out;
}

const EDGE_BYTES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x10, 0x11, 0x3f, 0x40, 0x7f, 0x80, 0xff];

describe('JPEG header fields set to edge values, and cuts at every segment boundary', () => {
  const files = [
    'jpeg/baseline.jpg',
    'jpeg/progressive.jpg',
    'jpeg/gray.jpg',
    'jpeg/exif6_mm.jpg',
    'jpeg-variants/restart1.jpg',
    'jpeg-variants/adobe_ycck.jpg',
    'jpeg-sampling/s420_progressive.jpg',
  ];
  it.each(files)('%s', (file) => {
    const original = new Uint8Array(fs.readFileSync(path.join(IMAGES, file)));
    const name = path.basename(file);
    const reference = decodeImage(original, name);
    const segments = jpegSegments(original);
    // every header byte of the segments that steer decoding: DQT, DHT, SOFn, DRI, SOS, APP1 (Exif)
    const fields = segments
      .filter(([, m]) => m === 0xdb || m === 0xc4 || (m >= 0xc0 && m <= 0xc2) || m === 0xdd || m === 0xda || m === 0xe1)
      .flatMap(([at, marker, len]) => Array.from({ length: Math.min(len, marker === 0xe1 ? 40 : 20) }, (_, k) => [at + 2 + k, marker]));
    const next = seeded(original.length);
    let errors = 0;
    let decoded = 0;
    for (let trial = 0; trial < 160; trial++) {
      const [at, marker] = fields[Math.floor(next() * fields.length)]!;
      const bytes = original.slice();
      bytes[at!] = EDGE_BYTES[Math.floor(next() * EDGE_BYTES.length)]!;
      const what = `${file}: byte ${at} (segment 0x${marker!.toString(16)}) set to ${bytes[at!]}`;
      const r = attempt(() => decodeImage(bytes, name), name, what);
      if (r instanceof Error) errors++;
      else {
        decoded++;
        // a picture that decodes is whole: its declared size, every sample there
        expect(r.data.length).toBe(r.width * r.height * r.channels);
      }
    }
    for (const [at] of segments)
      for (const cut of [at, at + 1, at + 2, at + 3, at + 5]) {
        const r = attempt(() => decodeImage(original.subarray(0, cut), name), name, `${file} cut to ${cut} bytes`);
        expect(r).toBeInstanceOf(Error);
        errors++;
      }
    expect(errors).toBeGreaterThan(20);
    expect(decoded + errors).toBeGreaterThan(160);
    expect(reference.data.length).toBeGreaterThan(0);
  });

  it('tables a scan or component uses but no segment defines are named', () => {
    const base = new Uint8Array(fs.readFileSync(path.join(IMAGES, 'jpeg/baseline.jpg')));
    const [sof] = jpegSegments(base).filter(([, m]) => m === 0xc0);
    const [sos] = jpegSegments(base).filter(([, m]) => m === 0xda);
    const [dht] = jpegSegments(base).filter(([, m]) => m === 0xc4);
    const edit = (at: number, v: number): Uint8Array => {
      const b = base.slice();
      b[at] = v;
      return b;
    };
    const cases: [Uint8Array, RegExp][] = [
      [edit(sof![0] + 12, 3), /^b\.jpg: corrupt JPEG \(component 1 uses quantization table 3, which is not defined\)$/],
      [edit(sos![0] + 6, 0x33), /^b\.jpg: corrupt JPEG \(a scan uses DC Huffman table 3, which is not defined\)$/],
      [edit(sos![0] + 5, 9), /^b\.jpg: corrupt JPEG \(a scan codes component 9, which the frame does not have\)$/],
      [edit(sos![0] + 4, 0), /^b\.jpg: corrupt JPEG \(a scan header of 10 bytes for 0 components; scans code 1 to 4 components\)$/],
      [edit(dht![0] + 4, 0x53), /^b\.jpg: corrupt JPEG \(Huffman table of class 5 and id 3; they must be 0–1 and 0–3\)$/],
      [edit(5, 1).fill(0, 4, 5), /^b\.jpg: corrupt JPEG \(segment 0xe0 at byte 4 declares length 1, less than 2\)$/],
    ];
    for (const [bytes, message] of cases)
      expect(attempt(() => decodeImage(bytes, 'b.jpg'), 'b.jpg', String(message))).toMatchObject({
        message: expect.stringMatching(message),
      });
  });

  it('a second frame header is refused, not decoded with the checks of the first', () => {
    const base = Buffer.from(fs.readFileSync(path.join(IMAGES, 'jpeg/baseline.jpg')));
    const [[at, , len]] = jpegSegments(base).filter(([, m]) => m === 0xc0) as [[number, number, number]];
    const big = Buffer.from(base.subarray(at, at + 2 + len));
    big.writeUInt16BE(4000, 5);
    big.writeUInt16BE(4000, 7);
    const twice = Buffer.concat([base.subarray(0, at), big, base.subarray(at)]);
    expect(() => decodeImage(twice, 'two.jpg')).toThrow(/^two\.jpg: corrupt JPEG \(a second frame header, marker 0xc0\)$/);
  });
});

/** The chunks of a PNG: [offset of the length field, type, data length]. */
function pngChunks(b: Buffer): [number, string, number][] {
  const out: [number, string, number][] = [];
  for (let at = 8; at + 8 <= b.length;) {
    const len = b.readUInt32BE(at);
    out.push([at, b.toString('latin1', at + 4, at + 8), len]);
    at += 12 + len;
  }
  return out;
}

/** `b` with the CRC of the chunk at `at` recomputed (so a changed field is read, not refused by its CRC). */
function fixCrc(b: Buffer, at: number): Buffer {
  const len = b.readUInt32BE(at);
  b.writeUInt32BE(crc32(b.subarray(at + 4, at + 8 + len)), at + 8 + len);
  return b;
}

describe('PNG fields set to edge values (with valid CRCs), and cuts at every chunk boundary', () => {
  const files = ['gray1.png', 'pal4_interlaced.png', 'pal8_trns.png', 'rgba16_interlaced.png', 'gray16_trns.png', 'graya8.png'];
  it.each(files)('%s', (file) => {
    const original = fs.readFileSync(path.join(IMAGES, 'png', file));
    const reference = decodeImage(original, file);
    const chunks = pngChunks(original);
    const u32 = [0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, reference.width + 1, reference.height + 1];
    const next = seeded(original.length + 17);
    let errors = 0;
    // IHDR: width, height (4 bytes each), depth, colour type, compression, filter, interlace
    for (let trial = 0; trial < 60; trial++) {
      const b = Buffer.from(original);
      const field = Math.floor(next() * 7);
      if (field < 2) b.writeUInt32BE(u32[Math.floor(next() * u32.length)]!, 16 + 4 * field);
      else b[24 + field - 2] = [0, 1, 2, 3, 4, 6, 7, 8, 16, 32, 255][Math.floor(next() * 11)]!;
      const r = attempt(() => decodeImage(fixCrc(b, 8), file), file, `${file}: IHDR field ${field} changed`);
      if (r instanceof Error) errors++;
      else expect(r.data.length).toBe(r.width * r.height * r.channels);
    }
    // the length of each chunk, and the palette and transparency chunks' contents
    for (const [at, type] of chunks) {
      for (const v of [0, 1, 0x7fffffff, 0xffffffff, original.length]) {
        const b = Buffer.from(original);
        b.writeUInt32BE(v, at);
        if (!(attempt(() => decodeImage(b, file), file, `${file}: ${type} length set to ${v}`) instanceof Error)) {
          // only an ancillary chunk's length (skipped on a CRC error) or IEND's (nothing is read after it) can change without an error
          expect(type).toMatch(/^[a-z]|^IEND$/);
        } else errors++;
      }
      for (const cut of [at, at + 4, at + 8, at + 9]) {
        expect(attempt(() => decodeImage(original.subarray(0, cut), file), file, `${file} cut to ${cut}`)).toBeInstanceOf(Error);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(chunks.length * 4);
  });

  it('palette and transparency chunks of odd lengths', () => {
    const rows = (fill: number): Buffer => {
      const raw = Buffer.alloc(2 * 3, fill);
      raw[0] = raw[3] = 0;
      return require('zlib').deflateSync(raw) as Buffer;
    };
    const cases: [Buffer, RegExp | null][] = [
      [png(ihdr(2, 2, 8, 3), [rows(0)]), /palette colour type without a PLTE chunk/],
      [png(ihdr(2, 2, 8, 3), [rows(200)], [chunk('PLTE', new Uint8Array(6))]), /palette index 200 beyond the 2-entry palette/],
      [png(ihdr(2, 2, 8, 3), [rows(0)], [chunk('PLTE', new Uint8Array(7))]), /PLTE has 7 bytes; it needs 3 per entry, 1 to 256 entries/],
      [png(ihdr(2, 2, 8, 3), [rows(0)], [chunk('PLTE', new Uint8Array(771))]), /PLTE has 771 bytes/],
      // a tRNS longer than the palette: libpng warns and reads it; so does this reader (the pixels' entries are there)
      [png(ihdr(2, 2, 8, 3), [rows(1)], [chunk('PLTE', Uint8Array.of(1, 2, 3, 4, 5, 6)), chunk('tRNS', Uint8Array.of(9, 8, 7))]), null],
    ];
    for (const [bytes, message] of cases) {
      const r = attempt(() => decodeImage(bytes, 'p.png'), 'p.png', String(message));
      if (message) expect((r as Error).message).toMatch(message);
      else expect(Array.from((r as { data: Uint8Array }).data.slice(0, 4))).toEqual([4, 5, 6, 8]);
    }
  });
});

/** The offsets of a zip's structural fields: [offset, width in bytes, what]. */
function zipFields(b: Buffer): [number, number, string][] {
  const out: [number, number, string][] = [];
  const eocd = b.lastIndexOf(Buffer.from([0x50, 0x4b, 5, 6]));
  for (const [o, s] of [
    [4, 2],
    [6, 2],
    [8, 2],
    [10, 2],
    [12, 4],
    [16, 4],
    [20, 2],
  ] as const)
    out.push([eocd + o, s, `end record +${o}`]);
  const z64 = b.lastIndexOf(Buffer.from([0x50, 0x4b, 6, 6]));
  if (z64 >= 0) for (const o of [24, 32, 40, 48]) out.push([z64 + o, 8, `zip64 end record +${o}`]);
  let cd = b.readUInt32LE(eocd + 16);
  if (cd === 0xffffffff) cd = Number(b.readBigUInt64LE(z64 + 48));
  for (let p = cd, k = 0; b.readUInt32LE(p) === 0x02014b50 && k < 3; k++) {
    for (const [o, s] of [
      [8, 2],
      [10, 2],
      [16, 4],
      [20, 4],
      [24, 4],
      [28, 2],
      [30, 2],
      [42, 4],
    ] as const)
      out.push([p + o, s, `entry ${k} +${o}`]);
    const local = b.readUInt32LE(p + 42);
    for (const [o, s] of [
      [6, 2],
      [8, 2],
      [14, 4],
      [18, 4],
      [22, 4],
      [26, 2],
      [28, 2],
    ] as const)
      out.push([local + o, s, `local header ${k} +${o}`]);
    p += 46 + b.readUInt16LE(p + 28) + b.readUInt16LE(p + 30) + b.readUInt16LE(p + 32);
  }
  return out;
}

/** A comparable image of a decoded value (arrays by dtype, shape and bytes). */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'bigint') return `${x}n`;
    if (x && typeof x === 'object' && 'data' in x && ArrayBuffer.isView((x as NdArray).data)) {
      const a = x as NdArray;
      return [a.dtype, a.shape, Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).toString('hex')];
    }
    return x;
  });
}

describe('zip fields (end records, central and local headers) set to edge values', () => {
  const files: [string, (b: Uint8Array, n: string) => unknown][] = [
    ['stored.npz', (b, n) => decodeNpz(b, n, LIMITS)],
    ['compressed.npz', (b, n) => decodeNpz(b, n, LIMITS)],
    ['state_dict.pth', (b, n) => decodeTorchFile(b, n, LIMITS)],
  ];
  it.each(files)('%s: the same data or one clear line', (file, decode) => {
    const original = fs.readFileSync(path.join(FORMATS, file));
    const reference = canonical(decode(new Uint8Array(original), file));
    const next = seeded(original.length + 3);
    const fields = zipFields(original);
    let errors = 0;
    for (let trial = 0; trial < 150; trial++) {
      const [at, width, what] = fields[Math.floor(next() * fields.length)]!;
      const edges = [
        0,
        1,
        0x7f,
        2 ** (8 * Math.min(width, 4) - 1) - 1,
        2 ** (8 * Math.min(width, 4)) - 1,
        original.length,
        original.length + 1,
      ];
      const v = edges[Math.floor(next() * edges.length)]!;
      const b = Buffer.from(original);
      if (width === 2) b.writeUInt16LE(Math.min(v, 0xffff), at);
      else if (width === 4) b.writeUInt32LE(Math.min(v, 0xffffffff), at);
      else b.writeBigUInt64LE(BigInt(v === 0xffffffff ? '18446744073709551615' : v), at);
      const r = attempt(() => decode(new Uint8Array(b), file), file, `${file}: ${what} set to ${v}`);
      if (r instanceof Error) errors++;
      // zip entries carry CRC-32s: a field that changes nothing the reader checks leaves the data as it was
      else expect(canonical(r)).toBe(reference);
    }
    expect(errors).toBeGreaterThan(30);
  });
});

/** A version 1 or 2 .npy of this header text and data. */
function npy(header: string, data: Uint8Array, version = 1): Uint8Array {
  const pre = version === 1 ? 10 : 12;
  const pad = (64 - ((pre + header.length + 1) % 64)) % 64;
  const text = `${header}${' '.repeat(pad)}\n`;
  const head = Buffer.alloc(pre);
  head.write('\x93NUMPY', 'latin1');
  head[6] = version;
  if (version === 1) head.writeUInt16LE(text.length, 8);
  else head.writeUInt32LE(text.length, 8);
  return new Uint8Array(Buffer.concat([head, Buffer.from(text, 'latin1'), data]));
}
const header = (descr: string, shape: string, fortran = 'False'): string =>
  `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;

describe('.npy headers that lie', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['a negative dim', npy(header('<f4', '(-1,)'), new Uint8Array(8)), /shape \[-1\] is not a tuple of non-negative integers/],
    ['dims of 2^32 x 2^32', npy(header('<f4', '(4294967296, 4294967296)'), new Uint8Array(8)), /needs \d+ data bytes, the file has 8/],
    ['a dim past 2^53', npy(header('<f4', '(9007199254740993,)'), new Uint8Array(8)), /integer 9007199254740993 is too large/],
    ['a float dim', npy(header('<f4', '(2.5,)'), new Uint8Array(8)), /cannot parse header/],
    [
      'fewer bytes than the shape needs',
      npy(header('<f4', '(3,)'), new Uint8Array(8)),
      /shape \(3\) of float32 needs 12 data bytes, the file has 8/,
    ],
    ['more bytes than the shape needs', npy(header('<f4', '(1,)'), new Uint8Array(8)), /needs 4 data bytes, the file has 8/],
    ['a zero-size shape with data after it', npy(header('<f4', '(0,)'), new Uint8Array(8)), /needs 0 data bytes, the file has 8/],
    ['an object dtype', npy(header('|O', '(2,)'), new Uint8Array(16)), /dtype \|O has no NdArray equivalent/],
    [
      'a structured dtype',
      npy(`{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }`, new Uint8Array(8)),
      /structured arrays are not supported/,
    ],
    ['fortran_order missing', npy(`{'descr': '<f4', 'shape': (2,), }`, new Uint8Array(8)), /fortran_order is missing or not True\/False/],
    [
      'lists nested 200000 deep',
      npy(`{'x': ${'['.repeat(200000)}${']'.repeat(200000)}}`, new Uint8Array(0), 2),
      /^d\.npy: not a valid \.npy file: /,
    ],
    [
      'tuples nested 200000 deep',
      npy(`{'x': ${'('.repeat(200000)}${')'.repeat(200000)}}`, new Uint8Array(0), 2),
      /^d\.npy: not a valid \.npy file: /,
    ],
    [
      'a version 2 header length of 4 GiB',
      (() => {
        const b = npy(header('<f4', '(2,)'), new Uint8Array(8), 2);
        Buffer.from(b.buffer, b.byteOffset).writeUInt32LE(0xffffffff, 8);
        return b;
      })(),
      /header length 4294967295 is over the 1048576-byte limit/,
    ],
  ];
  it.each(cases)('%s', (what, bytes, message) => {
    const r = attempt(() => decodeNpy(bytes, 'd.npy', LIMITS), 'd.npy', what);
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toMatch(message);
  });

  it('odd but valid headers read the right values: big-endian, Fortran order, zero-size, scalar, version 3', () => {
    const be = Buffer.alloc(8);
    be.writeFloatBE(1.5, 0);
    be.writeFloatBE(-2, 4);
    expect(Array.from(decodeNpy(npy(header('>f4', '(2,)'), be), 'be.npy').data as Float32Array)).toEqual([1.5, -2]);
    const f = decodeNpy(npy(header('<i2', '(2, 3)', 'True'), new Uint8Array(Int16Array.of(1, 4, 2, 5, 3, 6).buffer)), 'f.npy');
    expect([f.shape, Array.from(f.data as Int16Array)]).toEqual([
      [2, 3],
      [1, 2, 3, 4, 5, 6],
    ]);
    expect(decodeNpy(npy(header('<f8', '(0, 5)'), new Uint8Array(0)), 'z.npy')).toMatchObject({ shape: [0, 5], dtype: 'float64' });
    expect(
      Array.from(decodeNpy(npy(header('<f4', '()'), new Uint8Array(Float32Array.of(NaN).buffer)), 's.npy').data as Float32Array),
    ).toEqual([NaN]);
    expect(decodeNpy(npy(header('<f4', '(1,)'), new Uint8Array(Float32Array.of(Infinity).buffer), 3), 'v3.npy').data[0]).toBe(Infinity);
  });
});

/** safetensors bytes of this header (text or object) and data. */
function safetensors(head: string | object, data: Uint8Array): Uint8Array {
  const text = Buffer.from(typeof head === 'string' ? head : JSON.stringify(head));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  return new Uint8Array(Buffer.concat([len, text, data]));
}

describe('safetensors headers that lie', () => {
  const f32 = (shape: unknown, offsets: unknown) => ({ a: { dtype: 'F32', shape, data_offsets: offsets } });
  const cases: [string, Uint8Array, RegExp][] = [
    ['negative offsets', safetensors(f32([2], [-8, 0]), new Uint8Array(8)), /tensor "a": data_offsets \[-8,0\] is not \[begin, end\]/],
    ['offsets the wrong way round', safetensors(f32([2], [8, 0]), new Uint8Array(8)), /data_offsets \[8, 0\] span -8 bytes/],
    ['an offset of 1e20', safetensors(f32([2], [0, 1e20]), new Uint8Array(8)), /is not \[begin, end\]/],
    [
      'dims of 2^40 x 2^40 over 8 bytes',
      safetensors(f32([2 ** 40, 2 ** 40], [0, 8]), new Uint8Array(8)),
      /shape \[1099511627776,1099511627776\] of float32 needs/,
    ],
    [
      'overlapping tensors',
      safetensors({ ...f32([2], [0, 8]), b: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /tensors must be contiguous/,
    ],
    [
      'a dtype of F8_E4M3',
      safetensors({ a: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)),
      /dtype "F8_E4M3" is not supported/,
    ],
    ['a header length of 2^63', safetensors('{}', new Uint8Array(0)).fill(0xff, 0, 8).fill(0x7f, 7, 8), /header length \d+ exceeds/],
    // regression: JSON.stringify of a deeply nested shape, quoted in the message, threw a RangeError
    [
      'a shape nested 100000 deep',
      safetensors(`{"a":{"dtype":"F32","shape":${'['.repeat(1e5)}${']'.repeat(1e5)},"data_offsets":[0,0]}}`, new Uint8Array(0)),
      /tensor "a": shape \(a value nested too deeply to show\) is not a list/,
    ],
    [
      'metadata that is not strings',
      safetensors({ __metadata__: { a: 1 } }, new Uint8Array(0)),
      /__metadata__ value a is 1, expected a string/,
    ],
  ];
  it.each(cases)('%s', (what, bytes, message) => {
    const r = attempt(() => decodeSafetensors(bytes, 't.safetensors', LIMITS), 't.safetensors', what);
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toMatch(message);
  });

  it('odd but valid: metadata, zero-size and scalar tensors, NaN and Inf values, spaces after the JSON', () => {
    const data = new Uint8Array(Float32Array.of(NaN, -Infinity, 7).buffer);
    const head = `${JSON.stringify({
      __metadata__: { format: 'pt', note: 'é\n' },
      empty: { dtype: 'F32', shape: [0, 3], data_offsets: [0, 0] },
      nan: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      scalar: { dtype: 'F32', shape: [], data_offsets: [8, 12] },
    })}    `;
    const r = decodeSafetensors(safetensors(head, data), 'ok.safetensors');
    expect(r.metadata).toEqual({ format: 'pt', note: 'é\n' });
    expect(r.tensors.empty).toMatchObject({ shape: [0, 3] });
    expect(Array.from(r.tensors.nan!.data as Float32Array)).toEqual([NaN, -Infinity]);
    expect([r.tensors.scalar!.shape, Array.from(r.tensors.scalar!.data as Float32Array)]).toEqual([[], [7]]);
  });
});
