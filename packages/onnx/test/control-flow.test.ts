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
