import * as fs from 'fs';
import * as path from 'path';
import type { NdArray } from '../../src/array';
import { decodeSafetensors, encodeSafetensors, fromNumbers, readSafetensors, toFloat32, writeSafetensors } from '../../src/formats';
import {
  type Expected,
  expectByteFlipsAreSafe,
  expectEveryTruncationThrows,
  expectMatches,
  expectedJson,
  fixture,
  tempDir,
} from './helpers';

const expected = expectedJson<{ tensors: Record<string, Expected>; metadata: Record<string, string> }>('safetensors.expected.json');

describe('readSafetensors on a file the Python side wrote', () => {
  const { tensors, metadata } = readSafetensors(fixture('model.safetensors'));
  it('has every tensor, exactly', () => {
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(expected.tensors).sort());
    for (const [name, exp] of Object.entries(expected.tensors)) expectMatches(tensors[name], exp, name);
  });
  it('decodes float16 and bfloat16 bits to the values torch printed', () => {
    for (const name of ['f16', 'bf16']) {
      expect(Array.from(toFloat32(tensors[name] as NdArray))).toEqual(expected.tensors[name]?.values.map(Number));
    }
  });
  it('returns the metadata map', () => {
    expect(metadata).toEqual(expected.metadata);
  });
});

describe('writeSafetensors', () => {
  const tensors: Record<string, NdArray> = {
    'features.0.weight': fromNumbers('float32', [2, 1, 1, 1], [0.5, -1]),
    'bn.num_batches_tracked': { dtype: 'int64', shape: [], data: new BigInt64Array([12n]) },
    half: fromNumbers('float16', [3], [1, 2, 65504]),
    bf: fromNumbers('bfloat16', [2], [1.5, -3]),
    d: fromNumbers('float64', [1], [Math.PI]),
    i32: fromNumbers('int32', [2], [1, -1]),
    i16: fromNumbers('int16', [1], [-2]),
    i8: fromNumbers('int8', [1], [-3]),
    u8: fromNumbers('uint8', [1], [200]),
    mask: fromNumbers('bool', [2], [0, 1]),
    empty: fromNumbers('float32', [0], []),
  };

  it('round-trips every dtype and the metadata through a file', () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'm.safetensors');
      writeSafetensors(file, tensors, { format: 'pt' });
      const back = readSafetensors(file);
      expect(back.metadata).toEqual({ format: 'pt' });
      expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
      for (const [name, t] of Object.entries(tensors)) {
        expect({ name, dtype: back.tensors[name]?.dtype, shape: back.tensors[name]?.shape }).toEqual({
          name,
          dtype: t.dtype,
          shape: t.shape,
        });
        expect(back.tensors[name]?.data).toEqual(t.data);
      }
    } finally {
      cleanup();
    }
  });

  it('aligns the data and every tensor to its element size', () => {
    const bytes = encodeSafetensors(tensors);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8')) as Record<
      string,
      { dtype: string; data_offsets: number[] }
    >;
    const size: Record<string, number> = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, I16: 2, I8: 1, U8: 1, BOOL: 1 };
    for (const info of Object.values(header)) expect((info.data_offsets[0] ?? 0) % (size[info.dtype] ?? 1)).toBe(0);
  });

  it('re-encodes the Python fixture to the same tensors', () => {
    const a = readSafetensors(fixture('model.safetensors'));
    const b = decodeSafetensors(encodeSafetensors(a.tensors, a.metadata));
    expect(b).toEqual(a);
  });

  it('refuses bad input naming the tensor', () => {
    expect(() => encodeSafetensors({ w: { dtype: 'float32', shape: [2], data: new Float32Array(3) } }, undefined, 'o.safetensors')).toThrow(
      /o\.safetensors: tensor w: shape \[2\] needs 2 elements, data has 3/,
    );
    expect(() => encodeSafetensors({ __metadata__: fromNumbers('uint8', [1], [1]) })).toThrow(/__metadata__/);
  });
});

/** Builds a safetensors file from a raw header object and data length. */
function raw(header: unknown, dataLen: number, headerLen?: number): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + dataLen);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen ?? json.length), true);
  out.set(json, 8);
  return out;
}

describe('damaged safetensors files', () => {
  const file = fs.readFileSync(fixture('model.safetensors'));
  it('every truncation throws', () => {
    expectEveryTruncationThrows(file, (b) => decodeSafetensors(b, 'm.safetensors'));
  });
  it('byte flips either parse or throw an Error', () => {
    expect(expectByteFlipsAreSafe(file, (b) => decodeSafetensors(b))).toBeGreaterThan(0);
  });

  const t = (dtype: string, shape: number[], offsets: number[]): unknown => ({ dtype, shape, data_offsets: offsets });
  it.each([
    ['header length past the end', raw({}, 0, 1000), /header length 1000 exceeds/],
    ['huge header length', raw({}, 0, 2 ** 40), /header length/],
    [
      'header not JSON',
      (() => {
        const b = raw({}, 0);
        b[9] = 0x7b;
        return b;
      })(),
      /does not parse/,
    ],
    ['header not an object', raw([1], 0), /does not start with "\{"/],
    ['an entry that is a list', raw({ w: [1, 2] }, 0), /tensor "w": entry is not an object/],
    ['unknown dtype', raw({ w: t('F8_E4M3', [1], [0, 1]) }, 1), /tensor "w": dtype "F8_E4M3" is not supported/],
    ['bad shape', raw({ w: t('F32', [-1], [0, 4]) }, 4), /tensor "w": shape \[-1\]/],
    ['bad offsets', raw({ w: t('F32', [1], [0]) }, 4), /tensor "w": data_offsets \[0\] is not/],
    [
      'offsets/shape mismatch',
      raw({ w: t('F32', [2], [0, 4]) }, 4),
      /tensor "w": data_offsets \[0, 4\] span 4 bytes, shape \[2\] of float32 needs 8/,
    ],
    ['gap', raw({ a: t('U8', [1], [0, 1]), b: t('U8', [1], [2, 3]) }, 3), /tensor "b": data_offsets start at 2, expected 1/],
    ['overlap', raw({ a: t('U8', [2], [0, 2]), b: t('U8', [2], [1, 3]) }, 3), /tensor "b": data_offsets start at 1, expected 2/],
    ['past the end', raw({ a: t('U8', [4], [0, 4]) }, 3), /tensor "a": data_offsets end at 4, past the 3 data bytes/],
    ['bytes left over', raw({ a: t('U8', [2], [0, 2]) }, 3), /cover 2 data bytes, the file has 3/],
    ['metadata not strings', raw({ __metadata__: { n: 1 } }, 0), /__metadata__ value n is 1/],
  ])('%s', (_label, bytes, message) => {
    expect(() => decodeSafetensors(bytes, 'bad.safetensors')).toThrow(message);
    expect(() => decodeSafetensors(bytes, 'bad.safetensors')).toThrow(/^bad\.safetensors: /);
  });
});
