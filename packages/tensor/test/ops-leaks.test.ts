/**
 * No tensor leaks: `numTensors()` is back where it started after `tidy` around forward passes, after
 * `grad(...)` once its results are disposed, and after `record` + `tape.grad` + `tape.dispose()` with
 * the results disposed — including max-pool indices, swapped rules, intermediate gradients and throws.
 */
import {
  adaptiveAvgPool2d,
  adaptiveMaxPool2d,
  add,
  dropout,
  indexSelect,
  nllLoss,
  pow,
  scaledDotProductAttention,
  stack,
  sub,
  where,
  avgPool2d,
  batchNorm,
  cast,
  cat,
  conv2d,
  crossEntropy,
  flatten,
  Generator,
  grad,
  gt,
  interpolate,
  keep,
  linear,
  logSoftmax,
  matmul,
  maxPool2d,
  maxPool2dWithIndices,
  mean,
  mseLoss,
  mul,
  numTensors,
  ones,
  pad,
  randn,
  record,
  relu,
  softmax,
  std,
  sum,
  tidy,
  withScope,
  zeros,
} from '../src';
import type { RuleOverrides, Tensor } from '../src';

const gen = new Generator(7);
const r = (shape: number[]) => randn(shape, { generator: gen });

/** The parameters of a small CNN: conv → BN → ReLU → max-pool → conv → avg-pool → adaptive → linear. */
function makeParams(): Record<string, Tensor> {
  return {
    w1: r([4, 3, 3, 3]),
    b1: r([4]),
    g1: ones([4]),
    beta1: zeros([4]),
    rm: zeros([4]),
    rv: ones([4]),
    w2: r([6, 4, 3, 3]),
    fc: r([5, 6]),
    fcb: r([5]),
  };
}

function forward(x: Tensor, p: Record<string, Tensor>): Tensor {
  const get = (k: string): Tensor => {
    const t = p[k];
    if (!t) throw new Error(`no parameter ${k}`);
    return t;
  };
  const a = withScope('features', () => {
    let h = withScope('0', () => conv2d(x, get('w1'), get('b1'), { padding: 1 }));
    h = withScope('1', () => batchNorm(h, get('rm'), get('rv'), get('g1'), get('beta1'), { training: true }));
    h = withScope('2', () => relu(h));
    h = withScope('3', () => maxPool2d(h, { kernelSize: 2, ceilMode: true }));
    h = withScope('4', () => conv2d(pad(h, [1, 1, 0, 1]), get('w2'), null, { stride: [1, 2], dilation: [1, 1] }));
    return withScope('5', () => relu(h));
  });
  const pooled = adaptiveAvgPool2d(avgPool2d(interpolate(a, { scaleFactor: 1.5, mode: 'bilinear' }), { kernelSize: 2, padding: 1 }), 1);
  return linear(flatten(pooled, 1), get('fc'), get('fcb'));
}

const x = () => r([2, 3, 7, 6]);

describe('no leaks', () => {
  test('tidy around forward passes frees every intermediate', () => {
    const p = makeParams();
    const input = x();
    const before = numTensors();
    tidy(() => {
      const logits = forward(input, p);
      const loss = crossEntropy(logits, [1, 3]);
      softmax(logits, 1);
      std(logSoftmax(logits, 0), { dim: 1 });
      mseLoss(logits, zeros([2, 5]));
      matmul(logits, r([5, 2]));
      cat([logits, logits], 1);
      maxPool2dWithIndices(input, { kernelSize: 2 });
      return loss.item();
    });
    expect(numTensors()).toBe(before);
  });

  test('tidy keeps what it returns, and only that', () => {
    const p = makeParams();
    const input = x();
    const before = numTensors();
    const logits = tidy(() => forward(input, p));
    expect(numTensors()).toBe(before + 1);
    const both = tidy(() => ({ a: mul(logits, 2), list: [sum(logits)], n: 3 }));
    expect(numTensors()).toBe(before + 3);
    both.a.dispose();
    both.list[0]!.dispose();
    logits.dispose();
    expect(numTensors()).toBe(before);
  });

  test('nested tidy and keep', () => {
    const before = numTensors();
    let kept: Tensor | undefined;
    tidy(() => {
      const outer = r([3]);
      tidy(() => {
        kept = keep(mul(outer, 2));
        mul(outer, 3);
      });
      return undefined;
    });
    expect(numTensors()).toBe(before + 1);
    kept!.dispose();
    expect(numTensors()).toBe(before);
  });

  test('grad(...) leaves only its results', () => {
    const p = makeParams();
    const input = x();
    const before = numTensors();
    const params = [input, p.w1!, p.b1!, p.g1!, p.w2!, p.fc!];
    const grads = grad(
      (xx, w1, b1, g1, w2, fc) => crossEntropy(forward(xx!, { ...p, w1: w1!, b1: b1!, g1: g1!, w2: w2!, fc: fc! }), [0, 4]),
      params,
    );
    expect(grads.map((g) => g.shape)).toEqual(params.map((t) => t.shape));
    expect(numTensors()).toBe(before + grads.length);
    grads.forEach((g) => g.dispose());
    expect(numTensors()).toBe(before);
  });

  test('record + tape.grad (several times, swapped rules, intermediate wrt) + dispose', () => {
    const p = makeParams();
    const input = x();
    const before = numTensors();
    const { output, tape } = record(() => sum(mul(forward(input, p), r([2, 5]))));
    expect(numTensors()).toBeGreaterThan(before);
    const activation = tape.activation('features');
    const guided: RuleOverrides = {
      relu: (dy, { inputs: [xin] }) => [mul(mul(dy, cast(gt(xin!, 0), dy.dtype)), cast(gt(dy, 0), dy.dtype))],
    };
    const vanilla = tape.grad(output, [input, activation, p.w1!]);
    const guidedGrads = tape.grad(output, [input, activation], { rules: guided });
    expect(vanilla[1]!.shape).toEqual(activation.shape);
    tape.dispose();
    output.dispose();
    [...vanilla, ...guidedGrads].forEach((g) => g.dispose());
    expect(numTensors()).toBe(before);
  });

  test('max-pool indices recorded on a tape are freed with it', () => {
    const input = x();
    const before = numTensors();
    const { output, tape } = record(() => {
      const { output: o, indices } = maxPool2dWithIndices(input, { kernelSize: 3, stride: 2, padding: 1 });
      void indices;
      return mean(o);
    });
    const [g] = tape.grad(output, [input]);
    tape.dispose();
    output.dispose();
    g!.dispose();
    expect(numTensors()).toBe(before);
  });

  test('an output disposed before its tape is freed by the tape', () => {
    const input = x();
    const before = numTensors();
    const { output, tape } = record(() => relu(input));
    output.dispose();
    expect(output.isDisposed).toBe(false); // the tape still needs it
    tape.dispose();
    expect(output.isDisposed).toBe(true);
    expect(numTensors()).toBe(before);
  });

  test('a throw inside record or tidy or grad leaks nothing', () => {
    const input = x();
    const before = numTensors();
    expect(() => record(() => conv2d(relu(input), zeros([1, 2, 3, 3])))).toThrow(/conv2d: /);
    expect(() => tidy(() => conv2d(relu(input), zeros([1, 2, 3, 3])))).toThrow(/conv2d: /);
    expect(() => grad((t) => mul(relu(t!), 2), [input])).toThrow(/grad: f must return a scalar/);
    expect(numTensors()).toBe(before);
  });
});

describe('outside tidy, an op leaves its result and nothing else', () => {
  // Ops built from other ops (losses, attention, dropout, std, stack), ops with extra outputs (max pooling's
  // indices) and ops given plain numbers (scalars, index lists) make tensors the caller never sees.
  const x2 = r([4, 5]);
  const x4 = r([2, 3, 8, 8]);
  const q = r([1, 2, 4, 8]);
  const probs = tidy(() => softmax(x2, 1));
  const boolMask = tidy(() => gt(r([4, 4]), 0));
  const classWeights = ones([5]);
  const calls: [string, () => Tensor][] = [
    ['add with a number', () => add(x2, 1)],
    ['a number minus a tensor', () => sub(2, x2)],
    ['pow with a number', () => pow(x2, 2)],
    ['a comparison with a number', () => gt(x2, 0.1)],
    ['where with numbers', () => where(boolMask, 1, 0)],
    ['indexSelect with a list', () => indexSelect(x2, 1, [0, 4, 2])],
    ['nllLoss with a list', () => nllLoss(x2, [0, 1, 2, 3])],
    ['crossEntropy with a list and weights', () => crossEntropy(x2, [0, 1, 2, 3], { weight: classWeights })],
    ['crossEntropy with probabilities', () => crossEntropy(x2, probs)],
    ['mseLoss', () => mseLoss(x2, probs)],
    ['dropout', () => dropout(x2, { p: 0.3, generator: gen })],
    ['std', () => std(x2, { dim: 1 })],
    ['stack', () => stack([x2, x2], 1)],
    ['attention', () => scaledDotProductAttention(q, q, q)],
    ['attention with a bool mask', () => scaledDotProductAttention(q, q, q, { mask: boolMask })],
    ['max pooling', () => maxPool2d(x4, { kernelSize: 2 })],
    ['adaptive max pooling', () => adaptiveMaxPool2d(x4, 3)],
    ['batch norm in training', () => batchNorm(x4, null, null, null, null, { training: true })],
  ];

  test.each(calls)('%s', (_name, call) => {
    const before = numTensors();
    const out = call();
    expect(numTensors()).toBe(before + 1);
    out.dispose();
    expect(numTensors()).toBe(before);
  });

  test.each(calls)('%s, recorded: its tape frees the rest', (_name, call) => {
    const before = numTensors();
    const { output, tape } = record(() => sum(call()));
    const grads = tape.grad(output, [x2, x4, q]);
    tape.dispose();
    output.dispose();
    grads.forEach((g) => g.dispose());
    expect(numTensors()).toBe(before);
  });

  test('a rejected number operand leaks no scalar', () => {
    const before = numTensors();
    expect(() => add(x2, r([3]))).toThrow(/add: /);
    expect(() => where(boolMask, 1, r([3]))).toThrow(/where: /);
    expect(() => indexSelect(x2, 1, [0, 9])).toThrow(/out of range/);
    expect(numTensors()).toBe(before + 2); // the two r([3]) operands, the caller's
  });
});
