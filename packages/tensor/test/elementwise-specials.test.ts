/**
 * ReLU, its fused backward, clamp and the comparisons on the values where their branch-free float32 forms
 * could go wrong: NaN (either sign), ±Infinity, ±0, subnormals and the largest finite numbers, against
 * the plain definitions (and against float64, which takes the plain loops).
 */
import { clamp, clampBackward, eq, Generator, ge, gradRules, gt, le, lt, ne, record, relu, reluBackward, tensor } from '../src';

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

  test('clamp equals the plain ternary bit for bit (NaN and -0 kept, bounds not representable in float32, one bound only)', () => {
    const values = Array.from({ length: 3 * specials.length + 5 }, (_, i) => specials[i % specials.length]!);
    values.push(0.1, Math.fround(0.1), -0.1, 6, 5.999999, 6.000001, 0.6, Math.fround(0.6), -0.5);
    const input = dtype === 'float32' ? Array.from(Float32Array.from(values)) : values;
    const bounds: [number | undefined, number | undefined][] = [
      [0, 6],
      [-0.5, 0.6],
      [0.1, 0.1],
      [-0, 0],
      [-Infinity, 1e-45],
      [undefined, 0.1],
      [-3.5, undefined],
      [-3.4028234e38, 3.4028234e38],
    ];
    for (const [min, max] of bounds) {
      const out = Array.from(clamp(tensor(input, undefined, dtype), { min, max }).values());
      const lo = min ?? -Infinity,
        hi = max ?? Infinity;
      const round = dtype === 'float32' ? Math.fround : (e: number) => e;
      out.forEach((v, i) => {
        const e = input[i]!;
        const want = round(e !== e ? e : e < lo ? lo : e > hi ? hi : e);
        if (!same(v, want)) throw new Error(`clamp(${e}, ${min}, ${max}) gave ${v}, want ${want} (${dtype}, index ${i})`);
      });
    }
  });

  test('comparisons give 0/1 masks equal to the plain definitions, NaN comparing false (true for ne)', () => {
    const a = dtype === 'float32' ? Array.from(Float32Array.from(specials)) : specials;
    const pairs: [number, number][] = [];
    for (const x of a) for (const y of a) pairs.push([x, y]);
    const ta = tensor(
        pairs.map(([x]) => x),
        undefined,
        dtype,
      ),
      tb = tensor(
        pairs.map(([, y]) => y),
        undefined,
        dtype,
      );
    const cases: [string, (p: typeof ta, q: typeof ta) => typeof ta, (x: number, y: number) => boolean][] = [
      ['eq', eq, (x, y) => x === y],
      ['ne', ne, (x, y) => x !== y],
      ['lt', lt, (x, y) => x < y],
      ['le', le, (x, y) => x <= y],
      ['gt', gt, (x, y) => x > y],
      ['ge', ge, (x, y) => x >= y],
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

describe('reluBackward', () => {
  // Bit patterns where a sign-and-exponent test could go wrong: quiet NaN of both signs, NaN with
  // other payloads, ±Infinity, ±0, the smallest and largest subnormals, the largest finite numbers, ±1.
  const specialBits = [
    0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0xffffffff, 0x7f800000, 0xff800000, 0, 0x80000000, 1, 0x80000001,
    0x007fffff, 0x807fffff, 0x7f7fffff, 0xff7fffff, 0x3f800000, 0xbf800000,
  ].map((b) => b | 0);

  /** Every (dy, x) pair of the special bit patterns, then random bit patterns, then random normals. */
  function float32Inputs(): { dy: Float32Array; x: Float32Array } {
    const g = new Generator(31);
    const pairs = specialBits.length ** 2;
    const n = pairs + 4000 + 1003; // an odd length, past any unrolled tail
    const dy = new Float32Array(n),
      x = new Float32Array(n);
    const dyBits = new Int32Array(dy.buffer),
      xBits = new Int32Array(x.buffer);
    specialBits.forEach((d, i) =>
      specialBits.forEach((b, j) => {
        dyBits[i * specialBits.length + j] = d;
        xBits[i * specialBits.length + j] = b;
      }),
    );
    for (let i = pairs; i < pairs + 4000; i++) {
      dyBits[i] = g.nextUint32() | 0;
      xBits[i] = g.nextUint32() | 0;
    }
    for (let i = pairs + 4000; i < n; i++) {
      dy[i] = g.normal();
      x[i] = g.normal();
    }
    return { dy, x };
  }

  test('float32 is bit for bit `x > 0 ? dy : 0` (NaN of either sign, ±Infinity, ±0, subnormals, random bits)', () => {
    const { dy, x } = float32Inputs();
    const out = reluBackward(tensor(dy, undefined, 'float32'), tensor(x, undefined, 'float32'));
    expect(out.dtype).toBe('float32');
    const got = new Int32Array((out.values() as Float32Array).slice().buffer);
    // The reference decides with the float comparison and copies dy's bits (a NaN passed through a
    // JavaScript number may lose its payload).
    const dyBits = new Int32Array(dy.buffer);
    for (let i = 0; i < x.length; i++) {
      const want = x[i]! > 0 ? dyBits[i]! : 0;
      if (got[i] !== want) {
        throw new Error(
          `reluBackward(dy bits 0x${(dyBits[i]! >>> 0).toString(16)}, x ${x[i]}) gave bits 0x${(got[i]! >>> 0).toString(16)}, want 0x${(want >>> 0).toString(16)} (index ${i})`,
        );
      }
    }
    out.dispose();
  });

  test('float64 equals `x > 0 ? dy : 0`: NaN x gives +0, NaN dy passes only where x > 0', () => {
    const nan64 = (hi: number) => new Float64Array(new Int32Array([1, hi]).buffer)[0]!;
    const specials64 = [
      NaN,
      nan64(0xfff80000 | 0),
      Infinity,
      -Infinity,
      0,
      -0,
      5e-324,
      -5e-324,
      2.2250738585072009e-308,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      1,
      -1,
      3.5,
      -3.5,
    ];
    const g = new Generator(32);
    const dy: number[] = [],
      x: number[] = [];
    for (const d of specials64)
      for (const b of specials64) {
        dy.push(d);
        x.push(b);
      }
    for (let i = 0; i < 1001; i++) {
      dy.push(g.normal());
      x.push(g.normal());
    }
    const out = Array.from(reluBackward(tensor(dy, undefined, 'float64'), tensor(x, undefined, 'float64')).values());
    out.forEach((v, i) => {
      const want = x[i]! > 0 ? dy[i]! : 0;
      if (!same(v, want)) throw new Error(`reluBackward(${dy[i]}, ${x[i]}) gave ${v}, want ${want} (float64, index ${i})`);
    });
  });

  test.each(['float32', 'float64'] as const)(
    'the %s relu gradient is 0 where x ≤ 0 or NaN even for a NaN or infinite dy (threshold_backward)',
    (dtype) => {
      const x = tensor([2, -1, 0, NaN, 3, -0], undefined, dtype);
      const { output, tape } = record(() => relu(x));
      const [dx] = tape.grad(output, [x], { gradOutputs: [tensor([NaN, NaN, Infinity, -Infinity, -Infinity, NaN], undefined, dtype)] });
      const got = Array.from(dx!.values());
      [NaN, 0, 0, 0, -Infinity, 0].forEach((want, i) => expect(same(got[i]!, want)).toBe(true));
      tape.dispose();
    },
  );
});

describe("clampBackward (clamp's and ReLU6's gradient in one pass)", () => {
  /** Every (dy, x) pair of the specials, the bounds and their float32 neighbours, then random normals scaled past 6. */
  function inputs(): { dy: number[]; x: number[] } {
    const edges = [0, 6, 0.1, -0.5, Math.fround(0.1), Math.fround(6.000001), Math.fround(5.999999), -1e-45];
    const xs = [...specials, ...edges];
    const dys = [NaN, Infinity, -Infinity, -0, 2.5, -1e-45, 3.4028234e38];
    const dy: number[] = [],
      x: number[] = [];
    for (const d of dys) for (const b of xs) (dy.push(d), x.push(b));
    const g = new Generator(17);
    for (let i = 0; i < 2001; i++) (dy.push(g.normal()), x.push(4 * g.normal()));
    return { dy, x };
  }
  const bounds: { min?: number; max?: number }[] = [{ min: 0, max: 6 }, { min: -0.5, max: 0.1 }, { max: 0 }, { min: 0.1 }];

  test.each(bounds)("float32 is bit for bit PyTorch's where(min <= x <= max, dy, 0) with float32 comparisons (%j)", (b) => {
    const { dy, x } = inputs();
    const dy32 = Float32Array.from(dy),
      x32 = Float32Array.from(x);
    const out = clampBackward(tensor(dy32, undefined, 'float32'), tensor(x32, undefined, 'float32'), b);
    const got = new Int32Array((out.values() as Float32Array).slice().buffer);
    const dyBits = new Int32Array(dy32.buffer);
    const lo = b.min === undefined ? -Infinity : Math.fround(b.min),
      hi = b.max === undefined ? Infinity : Math.fround(b.max);
    for (let i = 0; i < x32.length; i++) {
      const want = x32[i]! >= lo && x32[i]! <= hi ? dyBits[i]! : 0;
      if (got[i] !== want)
        throw new Error(`clampBackward(${dy32[i]}, ${x32[i]}, ${JSON.stringify(b)}) gave bits ${got[i]}, want ${want} (index ${i})`);
    }
  });

  test.each(bounds)('float64 is where(min <= x <= max, dy, 0) (%j)', (b) => {
    const { dy, x } = inputs();
    const out = Array.from(clampBackward(tensor(dy, undefined, 'float64'), tensor(x, undefined, 'float64'), b).values());
    const lo = b.min ?? -Infinity,
      hi = b.max ?? Infinity;
    out.forEach((v, i) => {
      const want = x[i]! >= lo && x[i]! <= hi ? dy[i]! : 0;
      if (!same(v, want)) throw new Error(`clampBackward(${dy[i]}, ${x[i]}) gave ${v}, want ${want} (float64, index ${i})`);
    });
  });

  test('no bound passes dy everywhere, NaN x included', () => {
    const out = clampBackward(tensor([1, 2, 3]), tensor([NaN, -5, 5]), {});
    expect(Array.from(out.values())).toEqual([1, 2, 3]);
  });

  test("ReLU6's gradient on the tape is one clampBackward node, inclusive at 0 and 6 as torch.clamp's", () => {
    const x = tensor([-1, 0, 3, 6, 7, NaN], undefined, 'float32');
    const { output, tape } = record(() => clamp(x, { min: 0, max: 6 }));
    const [g] = tape.grad(output, [x], { gradOutputs: [tensor([NaN, 2, 3, 4, Infinity, 5], undefined, 'float32')] });
    expect(Array.from(g!.values())).toEqual([0, 2, 3, 4, 0, 0]);
    // The rule itself, run under record: one fused op, not dy · cast(x ≥ 0) · cast(x ≤ 6).
    const node = { op: 'clamp' as const, inputs: [x], output, extras: [], attrs: { min: 0, max: 6 }, scope: '', needsGrad: [true] };
    const ruleRun = record(() => gradRules.clamp(tensor([1, 1, 1, 1, 1, 1], undefined, 'float32'), node)[0]!);
    expect(ruleRun.tape.nodes.map((n) => n.op)).toEqual(['clampBackward']);
    ruleRun.tape.dispose();
    tape.dispose();
  });
});
