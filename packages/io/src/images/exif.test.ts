import { parseExifOrientation } from './exif';
import { detectImageFormat, formatFromExtension } from './detect';
import { roundHalfEven } from './rounding';

function tiff(order: 'II' | 'MM', entries: [number, number, number, number][]): Uint8Array {
  const little = order === 'II';
  const buf = new DataView(new ArrayBuffer(8 + 2 + entries.length * 12 + 4));
  buf.setUint8(0, order.charCodeAt(0));
  buf.setUint8(1, order.charCodeAt(1));
  buf.setUint16(2, 42, little);
  buf.setUint32(4, 8, little);
  buf.setUint16(8, entries.length, little);
  entries.forEach(([tag, type, count, value], i) => {
    const at = 10 + i * 12;
    buf.setUint16(at, tag, little);
    buf.setUint16(at + 2, type, little);
    buf.setUint32(at + 4, count, little);
    buf.setUint16(at + 8, value, little);
  });
  return new Uint8Array(buf.buffer);
}

describe('parseExifOrientation', () => {
  it('reads the tag in both byte orders, after other tags', () => {
    expect(
      parseExifOrientation(
        tiff('II', [
          [0x010f, 2, 4, 0],
          [0x0112, 3, 1, 6],
        ]),
      ),
    ).toBe(6);
    expect(parseExifOrientation(tiff('MM', [[0x0112, 3, 1, 8]]))).toBe(8);
  });

  it('ignores what is missing, out of range or malformed instead of failing the image', () => {
    expect(parseExifOrientation(tiff('II', [[0x010f, 2, 4, 0]]))).toBeUndefined();
    expect(parseExifOrientation(tiff('II', [[0x0112, 3, 1, 9]]))).toBeUndefined();
    expect(parseExifOrientation(tiff('II', [[0x0112, 4, 1, 6]]))).toBeUndefined(); // LONG, not SHORT
    expect(parseExifOrientation(tiff('II', [[0x0112, 3, 1, 6]]).subarray(0, 15))).toBeUndefined(); // cut entry
    expect(parseExifOrientation(new Uint8Array([0x58, 0x58, 0, 42, 0, 0, 0, 8]))).toBeUndefined();
    expect(parseExifOrientation(new Uint8Array(3))).toBeUndefined();
    const farIfd = tiff('II', [[0x0112, 3, 1, 6]]);
    new DataView(farIfd.buffer).setUint32(4, 1000, true);
    expect(parseExifOrientation(farIfd)).toBeUndefined();
  });
});

describe('format detection', () => {
  it('knows the magic bytes and the extensions', () => {
    expect(detectImageFormat(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe('png');
    expect(detectImageFormat(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(detectImageFormat(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toBe('webp');
    expect(detectImageFormat(new Uint8Array([0x4d, 0x4d, 0, 0x2a]))).toBe('tiff');
    expect(detectImageFormat(new Uint8Array([0xff, 0xd8]))).toBeUndefined();
    expect(formatFromExtension('a/B.JPEG')).toBe('jpeg');
    expect(formatFromExtension('noext')).toBeUndefined();
  });
});

describe('roundHalfEven', () => {
  it("rounds like Python's round", () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6, 3].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 2, 3, 3]);
  });
});
