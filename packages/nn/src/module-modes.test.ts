import { mul, record, tensor } from '@gradlens/tensor';
import { Dropout, Linear, ReLU, Sequential } from './layers';
import { withMode, withOutputTransform } from './module';

describe('withMode', () => {
  test("sets every module to the mode for fn and puts back each one's own mode, also after a throw", () => {
    const model = new Sequential(new Linear(2, 2), new ReLU(), new Dropout(0.5));
    model.eval();
    model.getModule('2').training = true; // mixed modes must come back as they were
    const seen = withMode(model, 'train', () => model.namedModules().map(([, m]) => m.training));
    expect(seen.every((t) => t)).toBe(true);
    expect(model.namedModules().map(([, m]) => m.training)).toEqual([false, false, false, true]);
    expect(() =>
      withMode(model, 'eval', () => {
        throw new Error('inside');
      }),
    ).toThrow('inside');
    expect(model.namedModules().map(([, m]) => m.training)).toEqual([false, false, false, true]);
  });
});

describe('withOutputTransform', () => {
  test("transforms a module's output inside its scope for fn only, nesting, restored after a throw", () => {
    const model = new Sequential(new Linear(2, 2, { bias: false }), new ReLU());
    const x = tensor([[1, -1]]);
    const plain = model.call(x).dataSync();
    const first = model.getModule('0');
    const { output, tape } = record(() =>
      withOutputTransform(
        first,
        (y) => mul(y, 2),
        () =>
          withOutputTransform(
            first,
            (y) => mul(y, 3),
            () => model.call(x),
          ),
      ),
    );
    expect(Array.from(output.dataSync())).toEqual(Array.from(plain, (v) => v * 6));
    expect(tape.nodes.filter((n) => n.op === 'mul').map((n) => n.scope)).toEqual(['0', '0']);
    tape.dispose();
    output.dispose();
    expect(() =>
      withOutputTransform(
        first,
        () => {
          throw new Error('bad transform');
        },
        () => model.call(x),
      ),
    ).toThrow('bad transform');
    const after = model.call(x);
    expect(Array.from(after.dataSync())).toEqual(Array.from(plain));
    after.dispose();
    x.dispose();
  });
});
