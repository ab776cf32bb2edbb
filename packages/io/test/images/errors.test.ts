import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { decodeImage, readImage } from '../../src/images';
import { FIXTURES, tempDir } from './helpers';

const png = fs.readFileSync(path.join(FIXTURES, 'png', 'rgb8.png'));
const jpg = fs.readFileSync(path.join(FIXTURES, 'jpeg', 'baseline.jpg'));
const prog = fs.readFileSync(path.join(FIXTURES, 'jpeg', 'progressive.jpg'));

describe('bad files give errors that name the file', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);
  const put = (name: string, data: Uint8Array): string => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, data);
    return f;
  };

  it('truncated PNGs, at every length', () => {
    for (let n = 0; n < png.length; n += 7) {
      expect(() => decodeImage(png.subarray(0, n), 'cut.png')).toThrow(/^cut\.png: /);
    }
    expect(() => readImage(put('half.png', png.subarray(0, png.length >> 1)))).toThrow(/half\.png: truncated PNG/);
    // only IEND missing: pngjs alone would accept this
    expect(() => decodeImage(png.subarray(0, png.length - 12), 'noend.png')).toThrow(/noend\.png: truncated PNG.*IEND/);
  });

  it('truncated JPEGs, baseline and progressive, at every length', () => {
    for (const [data, name] of [
      [jpg, 'cut.jpg'],
      [prog, 'cutp.jpg'],
    ] as const) {
      for (let n = 0; n < data.length; n += 11) {
        expect(() => decodeImage(data.subarray(0, n), name)).toThrow(new RegExp(`^${name.replace('.', '\\.')}: `));
      }
      expect(() => decodeImage(data.subarray(0, data.length - 2), name)).toThrow(/truncated JPEG/);
    }
    expect(() => readImage(put('cut.jpg', jpg.subarray(0, 400)))).toThrow(/cut\.jpg: truncated JPEG/);
  });

  it('corrupted PNG data (a flipped byte fails the CRC; with the CRC fixed, the zlib stream fails)', () => {
    const crc = Uint8Array.from(png);
    const at = png.length - 20; // inside the IDAT data
    crc[at] = (crc[at] ?? 0) ^ 0xff;
    expect(() => decodeImage(crc, 'crc.png')).toThrow(/^crc\.png: corrupt PNG/);
    // find IDAT and recompute its CRC so only the deflate data is wrong
    const idat = Buffer.from(crc).indexOf('IDAT') - 4;
    const len = Buffer.from(crc).readUInt32BE(idat);
    const body = crc.subarray(idat + 4, idat + 8 + len);
    for (let i = 10; i < len; i += 3) body[4 + i] = 0xaa;
    Buffer.from(crc.buffer).writeUInt32BE(zlib.crc32(body), idat + 8 + len);
    expect(() => decodeImage(crc, 'zlib.png')).toThrow(/^zlib\.png: corrupt PNG/);
  });

  it('corrupted JPEG headers', () => {
    const find = (data: Uint8Array, marker: number): number => {
      for (let i = 2; i + 1 < data.length; i++) if (data[i] === 0xff && data[i + 1] === marker) return i;
      throw new Error(`marker ${marker} not found`);
    };
    const badMarker = Uint8Array.from(jpg);
    badMarker[find(jpg, 0xdb) + 1] = 0x02; // DQT becomes a reserved marker
    expect(() => decodeImage(badMarker, 'bad.jpg')).toThrow(/^bad\.jpg: corrupt JPEG/);
    const badLength = Uint8Array.from(jpg);
    badLength[find(jpg, 0xdb) + 2] = 0xff; // a DQT segment longer than the file
    expect(() => decodeImage(badLength, 'len.jpg')).toThrow(/^len\.jpg: truncated JPEG/);
    // Flipped bits inside the compressed scan are not detectable in general: libjpeg (PIL) and
    // jpeg-js both decode such files to a damaged picture without an error.
  });

  it('content that does not match the extension', () => {
    expect(() => readImage(put('photo.jpg', png))).toThrow(/photo\.jpg: the extension says JPEG but the content is PNG/);
    expect(() => readImage(put('pic.png', jpg))).toThrow(/pic\.png: the extension says PNG but the content is JPEG/);
    // an unknown extension is no claim: the magic bytes decide
    expect(readImage(put('data.bin', png)).width).toBe(13);
  });

  it('other formats and non-images', () => {
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1');
    expect(() => readImage(put('a.gif', gif))).toThrow(/a\.gif: GIF images are not supported; only PNG and JPEG/);
    expect(() => readImage(put('a.txt', Buffer.from('hello world')))).toThrow(/a\.txt: not a PNG or JPEG image/);
    expect(() => readImage(put('empty.png', new Uint8Array(0)))).toThrow(/empty\.png: not a PNG or JPEG image \(the file is empty\)/);
    expect(() => readImage(path.join(dir, 'missing.png'))).toThrow(/cannot read .*missing\.png/);
  });

  it('unsupported JPEG codings are named', () => {
    const lossless = Uint8Array.from(jpg);
    // turn the SOF0 marker into SOF3 (lossless)
    for (let i = 2; i + 1 < lossless.length; i++) {
      if (lossless[i] === 0xff && lossless[i + 1] === 0xc0) {
        lossless[i + 1] = 0xc3;
        break;
      }
    }
    expect(() => decodeImage(lossless, 'l.jpg')).toThrow(/^l\.jpg: unsupported JPEG coding: lossless \(SOF marker 0xc3\)/);
  });
});
