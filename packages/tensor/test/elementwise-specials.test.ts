/**
 * ReLU and the comparisons on the values where their branch-free float32 forms could go wrong: NaN
 * (either sign), ±Infinity, ±0, subnormals and the largest finite numbers, against the plain definitions
 * (and against float64, which takes the plain loops).
 */
import { eq, ge, gt, le, lt, ne, relu, tensor } from '../src';

const negativeNaN = new Float32Array(new Int32Array([0xffc00001 | 0]).buffer)[0]!;
const specials = [NaN, negativeNaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 3.5, -3.5, 3.4028234e38, -3.4028234e38, 1, -1];

const same = (a: number, b: number): boolean => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
const plainRelu = (e: number): number => (e > 0 ? e : e !== e ? e : 0);

describe.each(['float32', 'float64'] as const)('%s', (dtype) => {
  test('relu keeps NaN (of either sign) and positives, gives +0 for every negative, -0 and -Infinity', () => {
    // Long enough to cross any unrolled tail, with each special at several offsets.
    const values = Array.from({ length: 3 * specials.length + 5 }, (_, i) => specials[i % specials.length]!);
    const input = dtype === 'float32' ? Array.from(Float32Array.from(values)) : values;
    const out = Array.from(relu(tensor(input, undefined, dtype)).values());
    out.forEach((v, i) => {
      const want = plainRelu(input[i]!);
      if (!same(v, want)) throw new Error(`relu(${input[i]}) gave ${v}, want ${want} (${dtype}, index ${i})`);
    });
    expect(out.filter((v) => Object.is(v, -0))).toEqual([]);
  });

  test('comparisons give 0/1 masks equal to the plain definitions, NaN comparing false (true for ne)', () => {
    const a = dtype === 'float32' ? Array.from(Float32Array.from(specials)) : specials;
    const pairs: [number, number][] = [];
    for (const x of a) for (const y of a) pairs.push([x, y]);
    const ta = tensor(pairs.map(([x]) => x), undefined, dtype), tb = tensor(pairs.map(([, y]) => y), undefined, dtype);
    const cases: [string, (p: typeof ta, q: typeof ta) => typeof ta, (x: number, y: number) => boolean][] = [
      ['eq', eq, (x, y) => x === y], ['ne', ne, (x, y) => x !== y], ['lt', lt, (x, y) => x < y],
      ['le', le, (x, y) => x <= y], ['gt', gt, (x, y) => x > y], ['ge', ge, (x, y) => x >= y],
    ];
    for (const [name, op, plain] of cases) {
      const out = op(ta, tb);
      expect(out.dtype).toBe('bool');
      const got = Array.from(out.values());
      const want = pairs.map(([x, y]) => (plain(x, y) ? 1 : 0));
      expect({ name, got }).toEqual({ name, got: want });
    }
  });
});
