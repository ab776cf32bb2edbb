import { crc32, crc32Table, encodeZip, isZip, readZip } from '../../src/formats';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('crc32', () => {
  it('matches the standard check value, and the native and table versions agree', () => {
    expect(crc32(text('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    const data = new Uint8Array(1000).map((_, i) => (i * 37) & 0xff);
    const big = new Uint8Array(100000).map((_, i) => (i * 7919) & 0xff);
    expect(crc32(big)).toBe(crc32Table(big));
    expect(crc32(big.subarray(5000), crc32(big.subarray(0, 5000)))).toBe(crc32Table(big));
    expect(crc32(data.subarray(500), crc32(data.subarray(0, 500)))).toBe(crc32(data));
  });
});

describe('zip', () => {
  const files = [
    { name: 'a.txt', data: text('hello hello hello hello'), compress: true },
    { name: 'dir/b.bin', data: new Uint8Array([0, 1, 2, 255]) },
    { name: 'empty', data: new Uint8Array(0), compress: true },
    { name: 'ünïcode', data: text('x') },
  ];
  it.each([false, true])('round-trips stored and deflated entries (zip64=%s)', (zip64) => {
    const bytes = encodeZip(files, { zip64 });
    expect(isZip(bytes)).toBe(true);
    const zip = readZip(bytes, 't.zip');
    expect(zip.entries.map((e) => [e.name, e.method])).toEqual([
      ['a.txt', 8],
      ['dir/b.bin', 0],
      ['empty', 8],
      ['ünïcode', 0],
    ]);
    for (const f of files) expect(Array.from(zip.read(f.name))).toEqual(Array.from(f.data));
  });

  it('is deterministic', () => {
    expect(encodeZip(files)).toEqual(encodeZip(files));
  });

  it('refuses duplicate names, unknown entries, missing end records', () => {
    expect(() => encodeZip([files[1]!, files[1]!])).toThrow(/given twice/);
    expect(() => readZip(encodeZip(files), 't.zip').read('nope')).toThrow(/t\.zip: .*no entry named nope/);
    expect(() => readZip(text('PK\x03\x04 not really'), 't.zip')).toThrow(/t\.zip: .*no end-of-central-directory/);
  });

  it('refuses unsupported compression methods and encryption', () => {
    const bytes = encodeZip([files[1]!]);
    const cd = bytes.length - 22 - (46 + 9);
    const method = bytes.slice();
    method[cd + 10] = 12; // bzip2
    expect(() => readZip(method, 't.zip')).toThrow(/compression method 12/);
    const enc = bytes.slice();
    enc[cd + 8] = 1;
    expect(() => readZip(enc, 't.zip')).toThrow(/encrypted/);
  });

  it('reads a zip with a trailing archive comment', () => {
    const bytes = encodeZip([files[1]!]);
    const withComment = new Uint8Array([...bytes, ...text('comment!')]);
    withComment[bytes.length - 2] = 8;
    expect(Array.from(readZip(withComment).read('dir/b.bin'))).toEqual([0, 1, 2, 255]);
  });

  it('catches a deflate stream that inflates to the wrong size', () => {
    const bytes = encodeZip([files[0]!]);
    const v = new DataView(bytes.buffer);
    const cd = bytes.length - 22 - (46 + 5);
    v.setUint32(cd + 24, 5, true); // central directory now claims 5 bytes uncompressed
    expect(() => readZip(bytes, 't.zip').read('a.txt')).toThrow(/t\.zip: .*a\.txt/);
  });
});
