/** Einsum against a brute-force sum over every assignment of its labels (float64), and its one-line refusals. */
import { expand, Generator, randn } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { einsum } from '../src/ops-einsum';

const g = new Generator(5);
const rn = (...shape: number[]) => randn(shape, { dtype: 'float64', generator: g });

/** Σ over all label values of the operands' product, for explicit equations without '...'. */
function bruteForce(equation: string, xs: Tensor[]): number[] {
  const [lhs, out] = equation.split('->') as [string, string];
  const terms = lhs.split(',');
  const size = new Map<string, number>();
  terms.forEach((term, k) => [...term].forEach((l, d) => size.set(l, Math.max(size.get(l) ?? 1, xs[k]!.shape[d]!))));
  const labels = [...size.keys()];
  const outShape = [...out].map((l) => size.get(l)!);
  const result = new Array<number>(outShape.reduce((a, b) => a * b, 1)).fill(0);
  const value: Record<string, number> = {};
  const visit = (i: number): void => {
    if (i === labels.length) {
      let p = 1;
      terms.forEach((term, k) => {
        const x = xs[k]!;
        let off = 0;
        [...term].forEach((l, d) => (off = off * x.shape[d]! + (x.shape[d] === 1 ? 0 : value[l]!)));
        p *= x.values()[off]!;
      });
      let o = 0;
      [...out].forEach((l, d) => (o = o * outShape[d]! + value[l]!));
      result[o] = result[o]! + p;
      return;
    }
    for (let v = 0; v < size.get(labels[i]!)!; v++) {
      value[labels[i]!] = v;
      visit(i + 1);
    }
  };
  visit(0);
  return result;
}

describe('Einsum', () => {
  test.each([
    ['bij,bjk->bik', [rn(2, 3, 4), rn(2, 4, 5)]],
    ['ij,jk,kl->li', [rn(2, 3), rn(3, 4), rn(4, 2)]],
    ['ijk->', [rn(2, 3, 4)]],
    ['bhqd,bhkd->bhqk', [rn(1, 2, 3, 4), rn(1, 2, 5, 4)]],
    ['ij,j->i', [rn(3, 4), rn(4)]],
    ['ab,cb->ca', [rn(1, 3), rn(4, 3)]],
    ['abc,abd->cd', [rn(2, 3, 4), rn(2, 3, 2)]],
  ] as [string, Tensor[]][])('%s', (equation, xs) => {
    const y = einsum(equation, xs).values();
    const expected = bruteForce(equation, xs);
    expect(y.length).toBe(expected.length);
    expected.forEach((v, k) => expect(Math.abs(y[k]! - v)).toBeLessThan(1e-12));
  });

  test('ellipsis and implicit output follow NumPy (batch dims first, then the labels used once)', () => {
    const a = rn(2, 1, 3, 4);
    const b = rn(5, 4, 2);
    const y = einsum('...ij,...jk', [a, b]);
    expect(y.shape).toEqual([2, 5, 3, 2]);
    const explicit = einsum('xyij,yjk->xyik', [expand(a, [2, 5, 3, 4]), b]);
    expect(Array.from(y.values())).toEqual(Array.from(explicit.values()));
  });

  test.each([
    ['ii->i', [rn(3, 3)], /repeats a label \(a diagonal\)/],
    ['ij,jk->ik', [rn(2, 3)], /names 2 operands, but 1 are given/],
    ['ijk->i', [rn(2, 3)], /does not match operand 0's rank 2/],
    ['ij->iz', [rn(2, 3)], /output label 'z' names no operand's dim/],
    ['ij,jk->ik', [rn(2, 3), rn(4, 2)], /label 'j' has sizes 3 and 4/],
  ] as [string, Tensor[], RegExp][])('%s is refused in one line', (equation, xs, message) => {
    expect(() => einsum(equation, xs)).toThrow(message);
  });
});
