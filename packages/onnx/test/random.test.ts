import type { Tensor } from '@gradlens/tensor';
import { grad, manualSeed, mul, sum, tensor } from '@gradlens/tensor';
import { Const } from '@gradlens/onnx';
import type { AttrValue } from './op-harness';
import { runOp } from './op-harness';

// ONNX fixes no generator for its random ops, so these check what the spec does fix: shapes, dtypes, the
// distribution (means and variances over many draws, within about five standard errors), and that a seed gives
// the same values on every run.
const f = (v: number): AttrValue => ({ f: v });
const i = (v: number): AttrValue => ({ i: v });
const draw = (op: string, values: (Tensor | Const | null)[], attrs: Record<string, AttrValue>) => runOp(op, values, attrs, 17)[0] as Tensor;
const stats = (v: ArrayLike<number>) => {
  const a = Array.from(v);
  const mean = a.reduce((s, x) => s + x, 0) / a.length;
  return { mean, variance: a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length, min: Math.min(...a), max: Math.max(...a) };
};

describe('random ops draw from their distributions', () => {
  it('RandomNormal: mean + scale · N(0, 1) of the shape and dtype asked for', () => {
    const y = draw('RandomNormal', [], { shape: { ints: [200, 50] }, mean: f(1.5), scale: f(2), seed: f(3) });
    expect(y.shape).toEqual([200, 50]);
    expect(y.dtype).toBe('float32');
    const s = stats(y.values());
    expect(Math.abs(s.mean - 1.5)).toBeLessThan(0.1); // standard error 0.02
    expect(Math.abs(s.variance - 4)).toBeLessThan(0.3); // standard error 0.057
    expect(draw('RandomNormal', [], { shape: { ints: [3] }, dtype: i(11) }).dtype).toBe('float64');
  });

  it('RandomUniform: on [low, high)', () => {
    const y = draw('RandomUniform', [], { shape: { ints: [10000] }, low: f(-2), high: f(3), seed: f(1) });
    const s = stats(y.values());
    expect(s.min).toBeGreaterThanOrEqual(-2);
    expect(s.max).toBeLessThan(3);
    expect(Math.abs(s.mean - 0.5)).toBeLessThan(0.075); // standard error 0.0144
    expect(Math.abs(s.variance - 25 / 12)).toBeLessThan(0.15);
  });

  it('RandomNormalLike and RandomUniformLike: the input shape, its dtype unless dtype is given', () => {
    const x = tensor(new Float64Array(4000), [40, 100], 'float64');
    const n = draw('RandomNormalLike', [x], { seed: f(5) });
    expect(n.shape).toEqual([40, 100]);
    expect(n.dtype).toBe('float64');
    expect(Math.abs(stats(n.values()).mean)).toBeLessThan(0.08);
    expect(Math.abs(stats(n.values()).variance - 1)).toBeLessThan(0.12);
    const u = draw('RandomUniformLike', [x], { seed: f(5), dtype: i(1) });
    expect(u.dtype).toBe('float32');
    expect(Math.abs(stats(u.values()).mean - 0.5)).toBeLessThan(0.025);
    // The shape of a load-time constant too.
    expect(draw('RandomUniformLike', [new Const([1, 2, 3, 4, 5, 6], [2, 3], 'float32')], {}).shape).toEqual([2, 3]);
  });

  it('Bernoulli: 1 with the probability its input gives, in its dtype', () => {
    const n = 20000;
    const p = [0.1, 0.5, 0.9];
    const x = tensor(
      p.flatMap((v) => new Array<number>(n).fill(v)),
      [3, n],
      'float64',
    );
    const y = draw('Bernoulli', [x], { seed: f(0) });
    expect(y.dtype).toBe('float64');
    const v = y.values();
    expect(Array.from(new Set(v)).sort()).toEqual([0, 1]);
    p.forEach((q, k) => expect(Math.abs(stats(v.slice(k * n, (k + 1) * n)).mean - q)).toBeLessThan(0.02));
    expect(draw('Bernoulli', [x], { dtype: i(9) }).dtype).toBe('bool');
    expect(draw('Bernoulli', [x], { dtype: i(7) }).dtype).toBe('int32');
    expect(() => draw('Bernoulli', [tensor([0.5, 1.5], [2])], {})).toThrow(/^Bernoulli probability 1.5 is outside \[0, 1\]$/);
  });

  it('Multinomial: classes drawn with softmax(input) probabilities, int32 of [batch, sample_size]', () => {
    const probs = [0.2, 0.3, 0.5];
    const logits = tensor([...probs.map(Math.log), ...probs.map((q) => Math.log(q) + 7)], [2, 3]);
    const y = draw('Multinomial', [logits], { sample_size: i(20000), seed: f(2) });
    expect(y.shape).toEqual([2, 20000]);
    expect(y.dtype).toBe('int32');
    const v = Array.from(y.values());
    for (let b = 0; b < 2; b++) {
      const row = v.slice(b * 20000, (b + 1) * 20000);
      probs.forEach((q, k) => expect(Math.abs(row.filter((c) => c === k).length / 20000 - q)).toBeLessThan(0.02));
    }
    expect(() => draw('Multinomial', [logits], { dtype: i(1) })).toThrow(/^Multinomial dtype FLOAT must be INT32 or INT64$/);
  });
});

describe('random ops are deterministic given their seed, and off the tape', () => {
  const ops: [string, (Tensor | null)[], Record<string, AttrValue>][] = [
    ['RandomNormal', [], { shape: { ints: [5] } }],
    ['RandomUniform', [], { shape: { ints: [5] } }],
    ['RandomNormalLike', [tensor([1, 2, 3, 4, 5], [5])], {}],
    ['RandomUniformLike', [tensor([1, 2, 3, 4, 5], [5])], {}],
    ['Bernoulli', [tensor([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], [12])], {}],
    ['Multinomial', [tensor([0, 0, 0, 0], [1, 4])], { sample_size: i(12) }],
  ];
  for (const [op, values, attrs] of ops) {
    it(`${op}: one seed, the same values on every run; another seed, others; no seed, the default generator`, () => {
      const at = (seed?: number) => Array.from(draw(op, values, seed === undefined ? attrs : { ...attrs, seed: f(seed) }).values());
      expect(at(7)).toEqual(at(7));
      expect(at(8)).not.toEqual(at(7));
      manualSeed(11);
      const first = at();
      expect(at()).not.toEqual(first);
      manualSeed(11);
      expect(at()).toEqual(first);
    });
  }

  it('a draw like x has no gradient: the gradient of Σ x · noise is the noise', () => {
    const x = tensor([0.5, -1, 2, 3], [4], 'float64');
    const noise = draw('RandomNormalLike', [x], { seed: f(4) });
    const [g] = grad((v) => sum(mul(v, draw('RandomNormalLike', [v], { seed: f(4) }))), [x]);
    expect(Array.from(g!.values())).toEqual(Array.from(noise.values()));
  });
});
