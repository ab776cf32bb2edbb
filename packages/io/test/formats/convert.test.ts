import {
  bfloat16BitsToNumber,
  float16BitsToNumber,
  fromNumbers,
  gatherStrided,
  numberToBFloat16Bits,
  numberToFloat16Bits,
  toFloat32,
  toFloat64,
} from '../../src/formats';

describe('float16', () => {
  it('decodes and re-encodes every one of the 65536 bit patterns (NaNs stay NaN)', () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = float16BitsToNumber(h);
      const back = numberToFloat16Bits(x);
      if (Number.isNaN(x)) expect(Number.isNaN(float16BitsToNumber(back))).toBe(true);
      else if (back !== h) throw new Error(`0x${h.toString(16)} -> ${x} -> 0x${back.toString(16)}`);
    }
  });

  it('rounds half to even, to subnormals, and overflows to infinity', () => {
    expect(numberToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and the next: even (1)
    expect(numberToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway: rounds up to even
    expect(numberToFloat16Bits(2 ** -25)).toBe(0); // half the smallest subnormal: to even (0)
    expect(numberToFloat16Bits(3 * 2 ** -25)).toBe(2);
    expect(numberToFloat16Bits(65519)).toBe(0x7bff);
    expect(numberToFloat16Bits(65520)).toBe(0x7c00);
    expect(numberToFloat16Bits(-1e9)).toBe(0xfc00);
    expect(numberToFloat16Bits(-0)).toBe(0x8000);
    expect(float16BitsToNumber(0x0001)).toBe(2 ** -24);
  });
});

describe('bfloat16', () => {
  it('decodes and re-encodes every bit pattern', () => {
    for (let b = 0; b < 0x10000; b++) {
      const x = bfloat16BitsToNumber(b);
      const back = numberToBFloat16Bits(x);
      if (Number.isNaN(x)) expect(Number.isNaN(bfloat16BitsToNumber(back))).toBe(true);
      else if (back !== b) throw new Error(`0x${b.toString(16)} -> ${x} -> 0x${back.toString(16)}`);
    }
  });
  it('rounds to nearest even', () => {
    expect(numberToBFloat16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(numberToBFloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
  });
});

describe('toFloat32 / toFloat64', () => {
  it('converts every dtype', () => {
    expect(Array.from(toFloat32(fromNumbers('float16', [2], [0.5, -2])))).toEqual([0.5, -2]);
    expect(Array.from(toFloat32(fromNumbers('bfloat16', [1], [3])))).toEqual([3]);
    expect(Array.from(toFloat64({ dtype: 'int64', shape: [2], data: new BigInt64Array([2n ** 53n, -1n]) }))).toEqual([2 ** 53, -1]);
    expect(Array.from(toFloat32(fromNumbers('bool', [2], [5, 0])))).toEqual([1, 0]);
    expect(Array.from(toFloat32(fromNumbers('int8', [1], [-3])))).toEqual([-3]);
  });
});

describe('gatherStrided', () => {
  it('materialises transposes, offsets and zero strides row-major', () => {
    const src = new Uint8Array([0, 1, 2, 3, 4, 5]);
    expect(Array.from(gatherStrided(src, 1, [3, 2], [1, 3], 0))).toEqual([0, 3, 1, 4, 2, 5]);
    expect(Array.from(gatherStrided(src, 1, [2, 2], [3, 1], 1))).toEqual([1, 2, 4, 5]);
    expect(Array.from(gatherStrided(src, 1, [2, 3], [0, 1], 0))).toEqual([0, 1, 2, 0, 1, 2]);
    expect(Array.from(gatherStrided(src, 2, [2], [2], 0))).toEqual([0, 1, 4, 5]);
    expect(gatherStrided(src, 1, [0, 3], [3, 1], 0).length).toBe(0);
  });

  it('matches an element-by-element gather on random shapes, strides (zero included) and sizes', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let trial = 0; trial < 300; trial++) {
      const rank = 1 + rand(4);
      const shape = Array.from({ length: rank }, () => rand(5));
      const strides = Array.from({ length: rank }, () => rand(4));
      const size = [1, 2, 4, 8][rand(4)]!;
      const offset = rand(3);
      const src = Uint8Array.from({ length: 200 * size }, (_, i) => (i * 31 + trial) & 0xff);
      const n = shape.reduce((a, d) => a * d, 1);
      const expected: number[] = [];
      for (let i = 0; i < n; i++) {
        let rest = i;
        let at = offset;
        for (let k = rank - 1; k >= 0; k--) {
          at += (rest % shape[k]!) * strides[k]!;
          rest = Math.floor(rest / shape[k]!);
        }
        for (let b = 0; b < size; b++) expected.push(src[at * size + b]!);
      }
      expect([shape, strides, size, Array.from(gatherStrided(src, size, shape, strides, offset))]).toEqual([
        shape,
        strides,
        size,
        expected,
      ]);
    }
  });
});
