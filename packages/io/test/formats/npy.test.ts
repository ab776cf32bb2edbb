import * as fs from 'fs';
import * as path from 'path';
import type { NdArray } from '../../src/array';
import { decodeNpy, encodeNpy, fromNumbers, readNpy, writeNpy } from '../../src/formats';
import {
  type Expected,
  expectByteFlipsAreSafe,
  expectEveryTruncationThrows,
  expectMatches,
  expectedJson,
  fixture,
  tempDir,
} from './helpers';

const expected = expectedJson<Record<string, Expected>>('npy.expected.json');

describe('readNpy on files numpy wrote', () => {
  it.each(Object.keys(expected))('%s', (name) => {
    expectMatches(readNpy(fixture(`${name}.npy`)), expected[name], name);
  });

  it('refuses a dtype NdArray cannot hold, naming it', () => {
    expect(() => readNpy(fixture('u2.npy'))).toThrow(/u2\.npy.*dtype <u2 has no NdArray equivalent/);
  });
});

const samples: NdArray[] = [
  fromNumbers('float64', [2, 2], [1.5, -0, Infinity, NaN]),
  fromNumbers('float32', [3], [0.1, -2, 3e38]),
  fromNumbers('float16', [2], [1, -65504]),
  { dtype: 'int64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
  fromNumbers('int32', [1, 2], [-(2 ** 31), 2 ** 31 - 1]),
  fromNumbers('int16', [2], [-32768, 32767]),
  fromNumbers('int8', [2], [-128, 127]),
  fromNumbers('uint8', [2, 1, 1], [0, 255]),
  fromNumbers('bool', [3], [1, 0, 1]),
  fromNumbers('float32', [], [7]),
  fromNumbers('float32', [0, 4], []),
];

describe('writeNpy / encodeNpy', () => {
  it.each(samples.map((a) => [`${a.dtype} [${a.shape.join(',')}]`, a] as const))('round-trips %s', (_label, arr) => {
    const bytes = encodeNpy(arr);
    expect((10 + (bytes[8] ?? 0) + 256 * (bytes[9] ?? 0)) % 64).toBe(0); // data is 64-byte aligned
    const back = decodeNpy(bytes);
    expect(back.dtype).toBe(arr.dtype);
    expect(back.shape).toEqual(arr.shape);
    expect(Array.from(back.data as ArrayLike<unknown>)).toEqual(Array.from(arr.data as ArrayLike<unknown>));
  });

  it('writes files numpy-compatible byte for byte (same header as np.save)', () => {
    const ours = encodeNpy(readNpy(fixture('f4.npy')));
    expect(Buffer.from(ours).equals(fs.readFileSync(fixture('f4.npy')))).toBe(true);
  });

  it('writes atomically to a file and reads it back', () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'a.npy');
      writeNpy(file, samples[1] as NdArray);
      expect(Array.from(readNpy(file).data as Float32Array)).toEqual(Array.from((samples[1] as NdArray).data as Float32Array));
      expect(fs.readdirSync(dir)).toEqual(['a.npy']);
    } finally {
      cleanup();
    }
  });

  it('uses a version 2.0 header when the header outgrows 64 KiB', () => {
    const shape = new Array<number>(30000).fill(1);
    const bytes = encodeNpy(fromNumbers('int8', shape, [5]));
    expect(bytes[6]).toBe(2);
    const back = decodeNpy(bytes);
    expect(back.shape.length).toBe(30000);
    expect(Array.from(back.data as Int8Array)).toEqual([5]);
  });

  it('refuses bfloat16 and malformed arrays with a message naming the file', () => {
    expect(() => encodeNpy(fromNumbers('bfloat16', [1], [1]), 'x.npy')).toThrow(/x\.npy: \.npy has no bfloat16/);
    expect(() => encodeNpy({ dtype: 'float32', shape: [3], data: new Float32Array(2) }, 'x.npy')).toThrow(
      /x\.npy.*needs 3 elements, data has 2/,
    );
    expect(() => encodeNpy({ dtype: 'float32', shape: [2], data: new Float64Array(2) } as unknown as NdArray, 'x.npy')).toThrow(
      /Float32Array/,
    );
  });
});

describe('damaged .npy files', () => {
  it('every truncation throws', () => {
    for (const name of ['f8', 'i4', 'fortran', 'scalar', 'b1']) {
      expectEveryTruncationThrows(fs.readFileSync(fixture(`${name}.npy`)), (b) => decodeNpy(b, name));
    }
  });

  it('byte flips either parse or throw an Error', () => {
    expectByteFlipsAreSafe(fs.readFileSync(fixture('fortran.npy')), (b) => decodeNpy(b));
  });

  const good = fs.readFileSync(fixture('f4.npy'));
  const withHeader = (text: string): Uint8Array => {
    const h = text.padEnd(118, ' ') + '\n';
    return new Uint8Array([...good.subarray(0, 8), h.length & 0xff, h.length >> 8, ...Buffer.from(h, 'latin1'), ...good.subarray(128)]);
  };
  it.each([
    ['bad magic', new Uint8Array([1, 2, 3, ...good.subarray(3)]), /magic string/],
    ['unknown version', new Uint8Array([...good.subarray(0, 6), 9, 0, ...good.subarray(8)]), /version 9\.0/],
    ['header not a dict', withHeader('[1, 2]'), /header is not a dict/],
    ['unparseable header', withHeader("{'descr': '<f4', 'shape': (3, 2}"), /cannot parse header/],
    ['structured dtype', withHeader("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,), }"), /structured/],
    ['missing fortran_order', withHeader("{'descr': '<f4', 'shape': (3, 2), }"), /fortran_order/],
    ['bad shape', withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3, -2), }"), /shape/],
    [
      'shape/data mismatch',
      withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3), }"),
      /needs 36 data bytes, the file has 24/,
    ],
    ['trailing bytes', new Uint8Array([...good, 0, 0, 0, 0]), /needs 24 data bytes, the file has 28/],
  ])('%s', (_label, bytes, message) => {
    expect(() => decodeNpy(bytes, 'bad.npy')).toThrow(message);
    expect(() => decodeNpy(bytes, 'bad.npy')).toThrow(/^bad\.npy: /);
  });
});
