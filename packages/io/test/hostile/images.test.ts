/**
 * Hostile pictures and files (issue 19): every case is crafted here (craft.ts), run where it could
 * exhaust memory in a child process whose peak memory and time are measured, and must end in one
 * clear Error that names the file.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeImage, readImage, setReadLimits } from '../../src';
import { chunk, ihdr, jpegWithSize, png, rgbRows, seeded, zerosDeflated } from './craft';
import { inChild } from './in-child';
import * as zlib from 'zlib';

const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'images');
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-hostile-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function put(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

describe('picture bombs end in one clear line, within bounded memory and time', () => {
  // [case, bytes, expected message]: each a failure seen by the attacker-style review, or its neighbour
  const cases: Array<[string, () => Buffer, RegExp]> = [
    [
      '93-byte PNG declaring 32 x 2 097 176 pixels',
      () => png(ihdr(32, 2_097_176), [zlib.deflateSync(Buffer.alloc(10))]),
      /truncated PNG \(\d+ bytes of image data cannot hold/,
    ],
    [
      'valid-looking 16000 x 16000 PNG (over the pixel limit)',
      () => png(ihdr(16000, 16000), [zlib.deflateSync(rgbRows(16, 16))]),
      /declares 16000 x 16000 = 256000000 pixels, over the limit of 178956970/,
    ],
    [
      'interlaced 1 x 1 PNG whose IDAT inflates to 64 MiB',
      () => png(ihdr(1, 1, 8, 2, 1), [zerosDeflated(64 << 20)]),
      /corrupt PNG \(image data: it inflates to more than the 4 bytes the header implies\)/,
    ],
    [
      'PNG of the largest size a header can declare',
      () => png(ihdr(0x7fffffff, 0x7fffffff), [Buffer.alloc(1)]),
      /over the limit of 178956970/,
    ],
    [
      '646-byte-style JPEG declaring 9999 x 9999 pixels',
      () => jpegWithSize(fs.readFileSync(path.join(FIXTURES, 'jpeg', 'baseline.jpg')), 9999, 9999),
      /truncated JPEG \(\d+ bytes cannot hold the 97969 blocks a 9999 x 9999 picture needs\)/,
    ],
    [
      'JPEG declaring 65535 x 65535 pixels',
      () => jpegWithSize(fs.readFileSync(path.join(FIXTURES, 'jpeg', 'baseline.jpg')), 65535, 65535),
      /declares 65535 x 65535 = 4294836225 pixels, over the limit/,
    ],
  ];
  it.each(cases)('%s', (what, make, message) => {
    const file = put(`${what.replace(/[^a-z0-9]+/gi, '_')}.${what.includes('JPEG') ? 'jpg' : 'png'}`, make());
    const r = inChild('readImage', file);
    expect(r.ok).toBe(false);
    expect(r.name).toBe('Error');
    expect(r.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    expect(r.message).toMatch(message);
    expect(r.message!.length).toBeLessThan(400);
    expect(r.ms).toBeLessThan(5_000);
    expect(r.maxRssMiB).toBeLessThan(400); // Node itself takes about 50 MiB
  });
});

describe('PNG image data is exactly what the compressed stream holds, or an error', () => {
  const header = ihdr(64, 64);
  const rows = rgbRows(64, 64);
  const streams: Array<[string, Uint8Array[]]> = [
    ['short zlib stream (cut in half)', [zlib.deflateSync(rows).subarray(0, 40)]],
    ['complete stream of too few rows', [zlib.deflateSync(rows.subarray(0, rows.length / 2))]],
    ['stream with a row too many', [zlib.deflateSync(Buffer.concat([rows, rgbRows(64, 1)]))]],
    ['not zlib at all', [Buffer.from('this is not a zlib stream, just text')]],
    ['raw deflate without the zlib header', [zlib.deflateRawSync(rows)]],
    ['empty IDAT', [new Uint8Array(0)]],
    ['bad row filter type', [zlib.deflateSync(Buffer.from(rows).fill(9, 0, 1))]],
  ];
  it.each(streams)('%s', (what, idat) => {
    expect(() => decodeImage(png(header, idat), 'craft.png')).toThrow(/^craft\.png: (corrupt|truncated) PNG/);
  });

  it('never hands back freed memory as pixels: a marker written into freed buffers never appears', () => {
    const marker = Buffer.from('sk-live-SECRET-API-KEY-0123456789');
    const bad = streams.map(([, idat]) => png(header, idat));
    for (let round = 0; round < 200; round++) {
      // fill memory with the marker, then let it go, as earlier code handling a secret would
      let garbage: Buffer[] | null = Array.from({ length: 8 }, () => Buffer.allocUnsafe(64 * 64 * 3 + 64).fill(marker));
      garbage = null;
      expect(garbage).toBeNull();
      for (const bytes of bad) {
        let decoded: Uint8Array | Uint16Array | undefined;
        try {
          decoded = decodeImage(bytes, 'bad.png').data;
        } catch (err) {
          expect((err as Error).message).toMatch(/^bad\.png: /);
        }
        expect(decoded).toBeUndefined();
      }
    }
  });

  it('a valid stream split over many IDAT chunks decodes to the same pixels as one', () => {
    const z = zlib.deflateSync(rows);
    const pieces = Array.from({ length: Math.ceil(z.length / 7) }, (_, i) => z.subarray(i * 7, i * 7 + 7));
    const one = decodeImage(png(header, [z]), 'one.png');
    const many = decodeImage(png(header, pieces), 'many.png');
    expect(Buffer.from(many.data.buffer)).toEqual(Buffer.from(one.data.buffer));
    expect(one.data[0]).toBe(0x5a);
  });
});

describe('PNG headers and chunks that lie', () => {
  const ok = zlib.deflateSync(rgbRows(2, 2));
  const rows: Array<[string, Buffer, RegExp]> = [
    ['width 0', png(ihdr(0, 5), [ok]), /size 0 x 5/],
    ['colour type 7', png(ihdr(2, 2, 8, 7), [ok]), /colour type 7/],
    ['bit depth 3', png(ihdr(2, 2, 3, 0), [ok]), /bit depth 3 is not allowed with colour type 0/],
    ['16-bit palette', png(ihdr(2, 2, 16, 3), [ok]), /bit depth 16 is not allowed with colour type 3/],
    ['palette picture without PLTE', png(ihdr(2, 2, 8, 3), [zlib.deflateSync(Buffer.alloc(6))]), /without a PLTE chunk/],
    [
      'palette index beyond the palette',
      png(ihdr(1, 1, 8, 3), [zlib.deflateSync(Buffer.from([0, 5]))], [chunk('PLTE', Buffer.alloc(6))]),
      /palette index 5 beyond the 2-entry palette/,
    ],
    [
      'short IHDR',
      Buffer.concat([png(ihdr(2, 2), [ok]).subarray(0, 8), chunk('IHDR', Buffer.alloc(5)), chunk('IEND', Buffer.alloc(0))]),
      /IHDR has 5 bytes/,
    ],
    ['unknown critical chunk', png(ihdr(2, 2), [ok], [chunk('ABCD', Buffer.alloc(1))]), /critical chunk "ABCD" is unknown/],
    ['interlace method 2', png(ihdr(2, 2, 8, 2, 2), [ok]), /unknown interlace method 2/],
  ];
  it.each(rows)('%s', (what, bytes, message) => {
    expect(() => decodeImage(bytes, 'lie.png')).toThrow(/^lie\.png: /);
    expect(() => decodeImage(bytes, 'lie.png')).toThrow(message);
  });

  it('an unknown ancillary chunk is skipped', () => {
    const img = decodeImage(png(ihdr(2, 2), [ok], [chunk('abCD', Buffer.alloc(3))]), 'anc.png');
    expect([img.width, img.height, img.channels]).toEqual([2, 2, 3]);
  });

  it('the pixel limit can be raised and lowered', () => {
    const bytes = png(ihdr(64, 64), [zlib.deflateSync(rgbRows(64, 64))]);
    const previous = setReadLimits({ maxImagePixels: 1000 });
    try {
      expect(() => decodeImage(bytes, 'big.png')).toThrow(/big\.png: the PNG declares 64 x 64 = 4096 pixels, over the limit of 1000/);
    } finally {
      setReadLimits(previous);
    }
    expect(decodeImage(bytes, 'big.png').width).toBe(64);
    expect(() => readImage(put('small-limit.png', bytes), { limits: { maxImagePixels: 10 } })).toThrow(/over the limit of 10 /);
    expect(() => setReadLimits({ maxImagePixels: -1 })).toThrow(/maxImagePixels must be a positive number/);
  });
});

describe('only regular files are read', () => {
  it('a character device is refused at once', () => {
    expect(() => readImage('/dev/zero')).toThrow(/^cannot read \/dev\/zero: it is a character device, not a regular file$/);
  });
  it('a directory is refused', () => {
    expect(() => readImage(dir)).toThrow(/it is a directory, not a regular file/);
  });
  it('a FIFO with no writer is refused without hanging', () => {
    const fifo = path.join(dir, 'pipe.png');
    const made = spawnSync('mkfifo', [fifo]);
    if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr.toString()}`);
    const t0 = Date.now();
    expect(() => readImage(fifo)).toThrow(/it is a FIFO \(named pipe\), not a regular file/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
  it('a file over the size limit is refused before it is read', () => {
    const file = put('big.bin', Buffer.alloc(5000));
    expect(() => readImage(file, { limits: { maxFileBytes: 4096 } })).toThrow(/big\.bin: it has 4\.9 KiB, over the limit of 4\.0 KiB/);
  });
});

describe('fuzz: truncated and mutated pictures give the valid result or a clear Error', () => {
  const sources = [
    ...fs
      .readdirSync(path.join(FIXTURES, 'png'))
      .filter((f) => f.endsWith('.png'))
      .map((f) => path.join(FIXTURES, 'png', f)),
    ...fs
      .readdirSync(path.join(FIXTURES, 'jpeg'))
      .filter((f) => f.endsWith('.jpg'))
      .map((f) => path.join(FIXTURES, 'jpeg', f)),
    ...fs
      .readdirSync(path.join(FIXTURES, 'png-edge'))
      .filter((f) => f.endsWith('.png'))
      .map((f) => path.join(FIXTURES, 'png-edge', f)),
    ...fs
      .readdirSync(path.join(FIXTURES, 'jpeg-variants'))
      .filter((f) => f.endsWith('.jpg'))
      .map((f) => path.join(FIXTURES, 'jpeg-variants', f)),
  ];
  it.each(sources.map((f) => [path.basename(f), f]))('%s', (name, file) => {
    const original = fs.readFileSync(file);
    const reference = decodeImage(original, name);
    const random = seeded(original.length);
    let failures = 0;
    for (let trial = 0; trial < 60; trial++) {
      const bytes = Buffer.from(original);
      let mutated: Buffer;
      if (trial % 3 === 0) {
        mutated = bytes.subarray(0, Math.floor(random() * bytes.length));
      } else if (trial % 3 === 1 && trial % 2 === 0) {
        // a header byte (signature, IHDR, SOI, APPn, SOF): sizes, depths and colour types go wild here
        bytes[Math.floor(random() * Math.min(bytes.length, 64))] = Math.floor(random() * 256);
        mutated = bytes;
      } else {
        const flips = 1 + Math.floor(random() * 4);
        for (let k = 0; k < flips; k++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
        mutated = bytes;
      }
      let result: ReturnType<typeof decodeImage> | undefined;
      const t0 = Date.now();
      try {
        result = decodeImage(mutated, name);
      } catch (err) {
        // one plain Error (no RangeError or TypeError from inside a decoder), one line, naming the file
        expect((err as Error).constructor).toBe(Error);
        expect((err as Error).message.startsWith(`${name}: `)).toBe(true);
        expect((err as Error).message.length).toBeLessThan(400);
        expect((err as Error).message).not.toMatch(/\n/);
        failures++;
        continue;
      } finally {
        expect(Date.now() - t0).toBeLessThan(2000);
      }
      // a decode that succeeds is a picture of the declared size with every sample written
      expect(result.data.length).toBe(result.width * result.height * result.channels);
      if (name.endsWith('.png') && mutated.length === original.length) {
        // PNG chunks carry CRCs: a changed byte can only pass unnoticed outside the chunks, or
        // change nothing at all; either way the pixels are the file's
        expect(Buffer.from(result.data.buffer)).toEqual(Buffer.from(reference.data.buffer));
      }
    }
    expect(failures).toBeGreaterThan(0);
  });
});
