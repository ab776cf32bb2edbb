import * as path from 'path';
import { grad, sum, tensor } from '@gradlens/tensor';
import { loadOnnx } from '@gradlens/onnx';

// if_branches.onnx (scripts/make-onnx-ops-fixture.py): y = If(ReduceSum(x) > 0, then: x · 2 + w, else: −x), the
// branches reading x and the initializer w from the enclosing graph, the condition computed from the input.
const model = loadOnnx(path.join(__dirname, 'fixtures', 'if_branches.onnx'));

describe('If runs the branch its condition picks', () => {
  it('takes then_branch for a positive sum, with its gradient', () => {
    const x = tensor([1, 2, 3, -1, 0.5, 0.25], [2, 3]);
    expect(Array.from(model.call(x).values())).toEqual([2.5, 3, 8, -1.5, 0, 2.5]);
    const [g] = grad((v) => sum(model.call(v)), [x]);
    expect(Array.from(g!.values())).toEqual([2, 2, 2, 2, 2, 2]);
  });

  it('takes else_branch for a negative sum, with its gradient', () => {
    const x = tensor([-1, -2, -3, 1, 0.5, 0.25], [2, 3]);
    expect(Array.from(model.call(x).values())).toEqual([1, 2, 3, -1, -0.5, -0.25]);
    const [g] = grad((v) => sum(model.call(v)), [x]);
    expect(Array.from(g!.values())).toEqual([-1, -1, -1, -1, -1, -1]);
  });
});

// loop_carried.onnx: x ← x · w + i for i = 0, 1, 2 (w = [1.5, −0.5] from the enclosing graph), the scan output
// stacking each iteration's x; z = x₃ · Σ scan. loop_runaway.onnx: no trip count, a condition that stays true.
describe('Loop unrolls its body on the tape', () => {
  const w = [1.5, -0.5];
  const iterate = (x: number, k: number) => {
    const xs: number[] = [];
    for (let i = 0; i < 3; i++) xs.push((x = x * w[k]! + i));
    return xs;
  };

  it('carries values across iterations and stacks the scan output, with the gradient through every iteration', () => {
    const loop = loadOnnx(path.join(__dirname, 'fixtures', 'loop_carried.onnx'));
    const x = tensor([0.5, 2], [2]);
    const expected = [0, 1].map((k) => {
      const xs = iterate([0.5, 2][k]!, k);
      const scanSum = [0, 1].flatMap((j) => iterate([0.5, 2][j]!, j)).reduce((a, b) => a + b, 0);
      return xs[2]! * scanSum;
    });
    const z = Array.from(loop.call(x).values());
    z.forEach((v, k) => expect(v).toBeCloseTo(expected[k]!, 4));
    // d z / d x by central differences of the same closed form.
    const zAt = (v: number[]) =>
      [0, 1].map((k) => iterate(v[k]!, k)[2]! * [0, 1].flatMap((j) => iterate(v[j]!, j)).reduce((a, b) => a + b, 0));
    const [g] = grad((v) => sum(loop.call(v)), [x]);
    [0, 1].forEach((k) => {
      const up = [0.5, 2].map((v, j) => (j === k ? v + 1e-4 : v));
      const down = [0.5, 2].map((v, j) => (j === k ? v - 1e-4 : v));
      const numeric = (zAt(up).reduce((a, b) => a + b, 0) - zAt(down).reduce((a, b) => a + b, 0)) / 2e-4;
      expect(g!.values()[k]).toBeCloseTo(numeric, 2);
    });
  });

  it('stops a loop that would never end with one line', () => {
    expect(() => loadOnnx(path.join(__dirname, 'fixtures', 'loop_runaway.onnx'))).toThrow(
      /Loop ran 65536 iterations without stopping \(trip count Infinity, condition still true\)/,
    );
  });
});

// scan_sum.onnx: Scan over the rows of x [3, 2] in reverse, s ← s + row · w (s₀ = [0.5, −1], w = [2, 0.5]), each
// step's s stacked; z = s₃ · Σ scan.
describe('Scan unrolls its body over the scanned axis', () => {
  const s0 = [0.5, -1];
  const w = [2, 0.5];
  /** z for rows x (row-major [3, 2]), from the definition. */
  const zOf = (x: number[]) => {
    const steps: number[][] = [];
    let s = [...s0];
    for (const r of [2, 1, 0]) steps.push((s = s.map((v, k) => v + x[r * 2 + k]! * w[k]!)));
    const total = steps.flat().reduce((a, b) => a + b, 0);
    return s.map((v) => v * total);
  };

  it('gives the definition’s values and gradient', () => {
    const scan = loadOnnx(path.join(__dirname, 'fixtures', 'scan_sum.onnx'));
    const xv = [0.3, -0.2, 1.1, 0.4, -0.7, 0.9];
    const x = tensor(xv, [3, 2]);
    Array.from(scan.call(x).values()).forEach((v, k) => expect(v).toBeCloseTo(zOf(xv)[k]!, 4));
    const [g] = grad((v) => sum(scan.call(v)), [x]);
    xv.forEach((_, i) => {
      const at = (d: number) => zOf(xv.map((v, j) => (j === i ? v + d : v))).reduce((a, b) => a + b, 0);
      expect(g!.values()[i]).toBeCloseTo((at(1e-4) - at(-1e-4)) / 2e-4, 2);
    });
  });
});
