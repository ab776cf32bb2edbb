/**
 * GroupNormalization and LpNormalization (no ONNX node vectors for them in Debian's onnx 1.12) against the
 * spec's definitions written out in float64 loops.
 */
import type { Tensor } from '@gradlens/tensor';
import { Generator, randn } from '@gradlens/tensor';
import type { Value } from '@gradlens/onnx';
import type { AttrValue } from './op-harness';
import { runOp } from './op-harness';

const g = new Generator(7);
const rn = (...shape: number[]) => randn(shape, { dtype: 'float64', generator: g });
const run = (op: string, values: Value[], a: Record<string, AttrValue>, opset = 21) => (runOp(op, values, a, opset)[0] as Tensor).values();

function expectClose(actual: ArrayLike<number>, expected: number[]) {
  expect(actual.length).toBe(expected.length);
  for (let k = 0; k < expected.length; k++) expect(Math.abs(actual[k]! - expected[k]!)).toBeLessThan(1e-12);
}

describe('GroupNormalization', () => {
  test.each([
    ['per channel', 6],
    ['per group (opset 18)', 3],
  ])('scale and bias %s', (_label, perValue) => {
    const [n, c, hw, groups, eps] = [2, 6, 5, 3, 1e-3];
    const x = rn(n, c, hw);
    const scale = rn(perValue);
    const bias = rn(perValue);
    const [xv, sv, bv] = [x.values(), scale.values(), bias.values()];
    const size = c / groups;
    const expected: number[] = new Array<number>(n * c * hw);
    for (let b = 0; b < n; b++)
      for (let grp = 0; grp < groups; grp++) {
        const at = (k: number) => xv[b * c * hw + grp * size * hw + k]!;
        let mean = 0;
        for (let k = 0; k < size * hw; k++) mean += at(k) / (size * hw);
        let variance = 0;
        for (let k = 0; k < size * hw; k++) variance += (at(k) - mean) ** 2 / (size * hw);
        for (let k = 0; k < size * hw; k++) {
          const ch = grp * size + Math.floor(k / hw);
          const p = perValue === c ? ch : grp;
          expected[b * c * hw + grp * size * hw + k] = ((at(k) - mean) / Math.sqrt(variance + eps)) * sv[p]! + bv[p]!;
        }
      }
    expectClose(run('GroupNormalization', [x, scale, bias], { num_groups: { i: groups }, epsilon: { f: eps } }), expected);
  });

  test('a channel count that does not split into the groups is one line', () => {
    expect(() => run('GroupNormalization', [rn(1, 5, 2), rn(5), rn(5)], { num_groups: { i: 2 } })).toThrow(
      /^GroupNormalization: 5 channels do not split into num_groups = 2$/,
    );
  });
});

describe('LpNormalization', () => {
  test.each([1, 2])('p = %i along axis 1', (p) => {
    const x = rn(3, 4, 2);
    const xv = x.values();
    const expected = new Array<number>(24);
    for (let a = 0; a < 3; a++)
      for (let c = 0; c < 2; c++) {
        let norm = 0;
        for (let k = 0; k < 4; k++) norm += Math.abs(xv[a * 8 + k * 2 + c]!) ** p;
        norm **= 1 / p;
        for (let k = 0; k < 4; k++) expected[a * 8 + k * 2 + c] = xv[a * 8 + k * 2 + c]! / norm;
      }
    expectClose(run('LpNormalization', [x], { axis: { i: 1 }, p: { i: p } }), expected);
  });
});
