import * as fs from 'fs';
import * as path from 'path';
import { decodeNpz, encodeNpz, encodeZip, fromNumbers, readNpz, writeNpz } from '../../src/formats';
import {
  type Expected,
  expectByteFlipsAreSafe,
  expectEveryTruncationThrows,
  expectMatches,
  expectedJson,
  fixture,
  tempDir,
} from './helpers';

const expected = expectedJson<Record<string, Expected>>('npz.expected.json');

describe('readNpz on files numpy wrote', () => {
  it.each(['stored.npz', 'compressed.npz'])('%s', (name) => {
    const arrays = readNpz(fixture(name));
    expect(Object.keys(arrays).sort()).toEqual(Object.keys(expected).sort());
    for (const key of Object.keys(expected)) expectMatches(arrays[key], expected[key], `${name}:${key}`);
  });
});

describe('writeNpz', () => {
  const arrays = {
    w: fromNumbers('float32', [2, 2], [1, 2, 3, 4]),
    ids: { dtype: 'int64' as const, shape: [1], data: new BigInt64Array([-5n]) },
    'layer.0/bias': fromNumbers('float16', [3], [0.5, 1, 2]),
  };
  it.each([false, true])('round-trips (compress=%s) through a file', (compress) => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'x.npz');
      writeNpz(file, arrays, { compress });
      const back = readNpz(file);
      expect(Object.keys(back)).toEqual(Object.keys(arrays));
      expect(Array.from(back.w?.data as Float32Array)).toEqual([1, 2, 3, 4]);
      expect(back.ids?.data).toEqual(new BigInt64Array([-5n]));
      expect(back['layer.0/bias']?.data).toEqual(arrays['layer.0/bias'].data);
    } finally {
      cleanup();
    }
  });

  it('compresses a compressible array', () => {
    const big = { z: fromNumbers('float32', [1000], new Array<number>(1000).fill(0)) };
    expect(encodeNpz(big, { compress: true }).length).toBeLessThan(encodeNpz(big).length / 10);
  });
});

describe('damaged .npz files', () => {
  it('every truncation throws', () => {
    for (const name of ['stored.npz', 'compressed.npz']) {
      expectEveryTruncationThrows(fs.readFileSync(fixture(name)), (b) => decodeNpz(b, name));
    }
  });

  it('byte flips either parse or throw an Error', () => {
    for (const name of ['stored.npz', 'compressed.npz']) {
      const thrown = expectByteFlipsAreSafe(fs.readFileSync(fixture(name)), (b) => decodeNpz(b, name));
      expect(thrown).toBeGreaterThan(0);
    }
  });

  it('a flipped data byte fails the CRC check, naming the entry', () => {
    const bytes = new Uint8Array(fs.readFileSync(fixture('stored.npz')));
    const at = bytes.length - 900; // inside the first entry's data (weight.npy)
    bytes[at] = (bytes[at] ?? 0) ^ 1;
    expect(() => decodeNpz(bytes, 'x.npz')).toThrow(/x\.npz: .*CRC-32 of weight\.npy/);
  });

  it('refuses entries that are not .npy', () => {
    const zip = encodeZip([{ name: 'README', data: new TextEncoder().encode('hi') }]);
    expect(() => decodeNpz(zip, 'r.npz')).toThrow(/r\.npz: entry README of the \.npz is not a \.npy file/);
  });
});
