import * as T from '../src';
import type { GradRule, Tensor } from '../src';
import { tensor, record, numTensors, tidy, withScope } from '../src';

/** Guided backprop's ReLU: pass positive gradient where the input was positive. */
const guidedRelu: GradRule<'relu'> = (dy, { inputs: [x] }) => [T.mul(T.relu(dy), T.cast(T.gt(x!, 0), dy.dtype))];
/** Deconvnet's ReLU: pass positive gradient, whatever the input was. */
const deconvRelu: GradRule<'relu'> = (dy) => [T.relu(dy)];

describe('one recorded pass, three rule sets', () => {
  // h = x·W1ᵀ = [4.5, 1, -2]; a = relu(h); y = a·w2 = 2.5, so dy/da = w2 = [1, -2, 3].
  const x = tensor([[1, -2, 3]]);
  const w1 = tensor([
    [1, -1, 0.5],
    [1, 0, 0],
    [0, 1, 0],
  ]);
  const w2 = tensor([[1, -2, 3]]);
  let forwardRuns = 0;
  const net = (input: Tensor) => {
    forwardRuns++;
    const h = withScope('fc1', () => T.linear(input, w1));
    const a = withScope('relu', () => T.relu(h));
    return withScope('fc2', () => T.sum(T.linear(a, w2)));
  };

  test('vanilla, guided and deconvnet gradients equal the hand-computed values', () => {
    const { output, tape } = record(() => net(x));
    expect(output.item()).toBeCloseTo(2.5, 6);
    const [vanilla] = tape.grad(output, [x]);
    const [guided] = tape.grad(output, [x], { rules: { relu: guidedRelu } });
    const [deconv] = tape.grad(output, [x], { rules: { relu: deconvRelu } });
    // vanilla: dh = [1, -2, 0] → dx = r0 − 2·r1; guided: dh = [1, 0, 0] → r0; deconvnet: dh = [1, 0, 3] → r0 + 3·r2
    expect(vanilla!.toArray()).toEqual([[-1, -1, 0.5]]);
    expect(guided!.toArray()).toEqual([[1, -1, 0.5]]);
    expect(deconv!.toArray()).toEqual([[1, 2, 0.5]]);
    expect(forwardRuns).toBe(1);
    tape.dispose();
  });

  test('gradients with respect to an intermediate tensor, found by module path', () => {
    const { output, tape } = record(() => net(x));
    const h = tape.activation('fc1');
    expect(h.toArray()).toEqual([[4.5, 1, -2]]);
    const [dh, dx] = tape.grad(output, [h, x]);
    expect(dh!.toArray()).toEqual([[1, -2, 0]]);
    expect(dx!.toArray()).toEqual([[-1, -1, 0.5]]);
    expect(tape.scopes()).toEqual(['fc1', 'relu', 'fc2']);
    expect(() => tape.activation('fc3')).toThrow(/no op ran inside module 'fc3'; recorded modules: fc1, relu, fc2/);
    tape.dispose();
  });

  test('an override applies to its call only', () => {
    const { output, tape } = record(() => net(x));
    tape.grad(output, [x], { rules: { relu: guidedRelu } });
    expect(tape.grad(output, [x])[0]!.toArray()).toEqual([[-1, -1, 0.5]]);
    tape.dispose();
  });
});

describe('tape mechanics', () => {
  test('a tensor used twice gets both contributions', () => {
    const x = tensor([2, 3], undefined, 'float64');
    const [g] = T.grad((a) => T.sum(T.mul(a, a)), [x]);
    expect(g!.toArray()).toEqual([4, 6]);
  });

  test('broadcast inputs get gradients reduced to their own shape', () => {
    const a = tensor([[1], [2]]);
    const b = tensor([10, 20, 30]);
    const [ga, gb] = T.grad((p, q) => T.sum(T.mul(p, q)), [a, b]);
    expect(ga!.shape).toEqual([2, 1]);
    expect(ga!.toArray()).toEqual([[60], [60]]);
    expect(gb!.toArray()).toEqual([3, 3, 3]);
  });

  test('a rule returning a gradient of the wrong shape is refused, naming the op', () => {
    const x = tensor([1, 2, 3]);
    const { output, tape } = record(() => T.sum(T.exp(x)));
    const bad: GradRule<'exp'> = () => [tensor([1, 2])];
    expect(() => tape.grad(output, [x], { rules: { exp: bad } })).toThrow(
      /gradient rule of exp: gradient \[2\] for input 0 does not fit its shape \[3\]/,
    );
    tape.dispose();
  });

  test('non-scalar outputs need gradOutputs, which seed the walk', () => {
    const x = tensor([1, 2, 3]);
    const { output, tape } = record(() => T.mul(x, 2));
    expect(() => tape.grad(output, [x])).toThrow(/output 0 has shape \[3\]; a non-scalar output needs gradOutputs/);
    const [g] = tape.grad(output, [x], { gradOutputs: [tensor([0, 1, 0])] });
    expect(g!.toArray()).toEqual([0, 2, 0]);
    tape.dispose();
  });

  test('tensors the output does not depend on get zeros', () => {
    const x = tensor([1, 2]);
    const y = tensor([5, 6]);
    const { output, tape } = record(() => T.sum(x));
    expect(tape.grad(output, [y])[0]!.toArray()).toEqual([0, 0]);
    tape.dispose();
  });

  test('noGrad keeps ops off the tape', () => {
    const x = tensor([1, 2]);
    const { tape } = record(() => T.noGrad(() => T.exp(x)));
    expect(tape.nodes).toHaveLength(0);
    tape.dispose();
  });

  test('a disposed tape refuses grad', () => {
    const x = tensor([1]);
    const { output, tape } = record(() => T.sum(x));
    tape.dispose();
    expect(() => tape.grad(output, [x])).toThrow(/disposed/);
  });
});

describe('no leaks', () => {
  test('tidy frees everything it made but its result', () => {
    const x = T.randn([4, 4]);
    const before = numTensors();
    const y = tidy(() => T.relu(T.add(T.mul(x, 2), 1)));
    expect(numTensors()).toBe(before + 1);
    y.dispose();
    expect(numTensors()).toBe(before);
  });

  test('tidyOwned says which tensors of its result it made; it frees the rest it made, and no caller tensor', () => {
    const x = tensor([1, -2, 3]);
    const captured = tensor([5]);
    const before = numTensors();
    const { result, made } = T.tidyOwned(() => {
      T.neg(x); // made, not returned: freed
      return { y: T.relu(x), x, captured };
    });
    expect([made.has(result.y), made.has(result.x), made.has(result.captured)]).toEqual([true, false, false]);
    expect(numTensors()).toBe(before + 1);
    expect(x.isDisposed || captured.isDisposed).toBe(false);
    result.y.dispose();
    x.dispose();
    captured.dispose();
  });

  test('record + tape.grad + dispose leave nothing behind, even with tidy inside the pass', () => {
    const x = T.randn([1, 2, 6, 6]);
    const w = T.randn([3, 2, 3, 3]);
    const before = numTensors();
    const { output, tape } = record(() => tidy(() => T.sum(T.maxPool2d(T.relu(T.conv2d(x, w, null, { padding: 1 })), { kernelSize: 2 }))));
    // tidy inside the pass released the intermediates, but the tape keeps them for backward.
    const grads = tape.grad(output, [x, w], { rules: { relu: guidedRelu } });
    expect(grads[0]!.shape).toEqual([1, 2, 6, 6]);
    tape.dispose();
    output.dispose();
    grads.forEach((g) => g.dispose());
    expect(numTensors()).toBe(before);
  });

  test('grad() leaves only its results', () => {
    const x = T.randn([3, 3]);
    const before = numTensors();
    const [g] = T.grad((a) => T.sum(T.softmax(a, 1)), [x]);
    expect(numTensors()).toBe(before + 1);
    g!.dispose();
    expect(numTensors()).toBe(before);
  });
});

describe('maxPool2d with returnIndices', () => {
  test('returns PyTorch-style flat per-plane indices beside the output', () => {
    const x = tensor([
      [
        [
          [1, 5, 2],
          [7, 3, 0],
          [4, 8, 6],
        ],
      ],
    ]);
    const { output, indices } = T.maxPool2d(x, { kernelSize: 2, stride: 1, returnIndices: true });
    expect(output.toArray()).toEqual([
      [
        [
          [7, 5],
          [8, 8],
        ],
      ],
    ]);
    expect(indices.dtype).toBe('int32');
    expect(indices.toArray()).toEqual([
      [
        [
          [3, 1],
          [7, 7],
        ],
      ],
    ]);
  });
});
