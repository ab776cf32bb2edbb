/**
 * The fused batchNorm op against the composite it replaced (mean, variance, sub, div, sqrt, mul, add
 * as separate ops), in float64 and float32: outputs, running statistics, and gradients for every
 * subset of inputs; plus what the tape records and that nothing leaks.
 */
import * as T from '../src';
import type { Tensor } from '../src';
import { Generator, numTensors, record, tidy } from '../src';

const gen = new Generator(99);
const rn = (shape: number[], dtype: 'float32' | 'float64' = 'float64') => T.randn(shape, { dtype, generator: gen });
const positive = (shape: number[], dtype: 'float32' | 'float64' = 'float64') => T.add(T.rand(shape, { dtype, generator: gen }), 0.5);

/** The old composite: F.batch_norm written with separate ops, running statistics updated as before. */
function composite(
  x: Tensor,
  rm: Tensor | null,
  rv: Tensor | null,
  w: Tensor | null,
  b: Tensor | null,
  training: boolean,
  momentum = 0.1,
  eps = 1e-5,
): Tensor {
  const dims = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const pshape = x.shape.map((d, i) => (i === 1 ? d : 1));
  let m: Tensor;
  let v: Tensor;
  if (training) {
    m = T.mean(x, { dim: dims, keepdim: true });
    v = T.variance(x, { dim: dims, keepdim: true, correction: 0 });
    if (rm && rv) {
      T.noGrad(() => {
        const unbiased = T.variance(x, { dim: dims, correction: 1 }).values();
        const bm = m.values();
        T.assign(rm, (rmv) => {
          for (let i = 0; i < rmv.length; i++) rmv[i] = (1 - momentum) * rmv[i]! + momentum * bm[i]!;
        });
        T.assign(rv, (rvv) => {
          for (let i = 0; i < rvv.length; i++) rvv[i] = (1 - momentum) * rvv[i]! + momentum * unbiased[i]!;
        });
      });
    }
  } else {
    m = T.reshape(rm!, pshape);
    v = T.reshape(rv!, pshape);
  }
  let y = T.div(T.sub(x, m), T.sqrt(T.add(v, eps)));
  if (w) y = T.mul(y, T.reshape(w, pshape));
  if (b) y = T.add(y, T.reshape(b, pshape));
  return y;
}

function maxRelDiff(a: Tensor, b: Tensor): number {
  expect([...a.shape]).toEqual([...b.shape]);
  const av = a.values(),
    bv = b.values();
  let scale = 1e-30,
    err = 0;
  for (let i = 0; i < bv.length; i++) scale = Math.max(scale, Math.abs(bv[i]!));
  for (let i = 0; i < bv.length; i++) err = Math.max(err, Math.abs(av[i]! - bv[i]!));
  return err / scale;
}

interface Setup {
  shape: number[];
  training: boolean;
  weight: boolean;
  bias: boolean;
  running: boolean;
}
const setups: Setup[] = [];
for (const shape of [
  [4, 3],
  [3, 2, 5],
  [2, 3, 4, 5],
]) {
  for (const training of [true, false]) {
    for (const [weight, bias] of [
      [true, true],
      [false, false],
      [true, false],
      [false, true],
    ] as const) {
      setups.push({ shape, training, weight, bias, running: !training || shape.length !== 3 });
    }
  }
}

describe.each(['float64', 'float32'] as const)('fused batchNorm equals the composite (%s)', (dtype) => {
  const tol = dtype === 'float64' ? { fwd: 1e-12, grad: 1e-11 } : { fwd: 2e-6, grad: 2e-5 };
  test.each(
    setups.map(
      (s) =>
        [
          `${s.shape.join('x')} ${s.training ? 'training' : 'eval'}${s.weight ? ' weight' : ''}${s.bias ? ' bias' : ''}${s.running ? ' running' : ''}`,
          s,
        ] as const,
    ),
  )('%s', (_name, s) => {
    const before = numTensors();
    tidy(() => {
      const c = s.shape[1]!;
      const x = T.add(T.mul(rn(s.shape, dtype), 2), 3);
      const w = s.weight ? rn([c], dtype) : null;
      const b = s.bias ? rn([c], dtype) : null;
      const rm = s.running ? rn([c], dtype) : null;
      const rv = s.running ? positive([c], dtype) : null;
      const rm2 = rm && T.add(rm, 0),
        rv2 = rv && T.add(rv, 0);
      const options = { training: s.training, momentum: 0.2, eps: 1e-4 };
      const dy = rn(s.shape, dtype);

      // Forward and running statistics (a fresh copy of the statistics for each).
      const y = T.batchNorm(x, rm, rv, w, b, options);
      const yRef = composite(x, rm2, rv2, w, b, s.training, 0.2, 1e-4);
      expect(maxRelDiff(y, yRef)).toBeLessThan(tol.fwd);
      if (rm && rv) {
        expect(maxRelDiff(rm, rm2!)).toBeLessThan(tol.fwd);
        expect(maxRelDiff(rv, rv2!)).toBeLessThan(tol.fwd);
      }

      // Gradients for every float input, then for each input alone (other rule branches).
      const all = [x, ...(w ? [w] : []), ...(b ? [b] : []), ...(!s.training && rm && rv ? [rm, rv] : [])];
      const grads = (fn: () => Tensor, wrt: Tensor[]) => {
        const { output, tape } = record(fn);
        const g = tape.grad(output, wrt, { gradOutputs: [dy] });
        tape.dispose();
        return g;
      };
      const want = grads(() => composite(x, rm && T.add(rm, 0), rv && T.add(rv, 0), w, b, s.training, 0.2, 1e-4), all);
      // Eval mode: the running statistics themselves are inputs, so pass them (not copies).
      const fused = (wrt: Tensor[]) =>
        grads(() => T.batchNorm(x, s.training && rm ? T.add(rm, 0) : rm, s.training && rv ? T.add(rv, 0) : rv, w, b, options), wrt);
      const got = fused(all);
      all.forEach((_, i) => expect(maxRelDiff(got[i]!, want[i]!)).toBeLessThan(tol.grad));
      all.forEach((t, i) => expect(maxRelDiff(fused([t])[0]!, want[i]!)).toBeLessThan(tol.grad));
      if (all.length > 2) expect(maxRelDiff(fused(all.slice(1))[0]!, want[1]!)).toBeLessThan(tol.grad);
    });
    expect(numTensors()).toBe(before);
  });
});

describe('what the fused op records', () => {
  test('training: one batchNorm node whose extras are the batch mean and biased variance', () => {
    const x = T.tensor(
      [
        [1, 10],
        [3, 20],
        [8, 60],
      ],
      undefined,
      'float64',
    );
    const { output, tape } = record(() => T.batchNorm(x, null, null, null, null, { training: true }));
    expect(tape.nodes.map((n) => n.op)).toEqual(['batchNorm']);
    const [mean, variance] = tape.nodes[0]!.extras;
    expect(Array.from(mean!.values())).toEqual([4, 30]);
    expect(Array.from(variance!.values()).map((v) => +v.toFixed(12))).toEqual([26 / 3, 1400 / 3].map((v) => +v.toFixed(12)));
    // The node's output is the op's output, so tape.activation finds it.
    expect(tape.nodes[0]!.output).toBe(output);
    tape.dispose();
    output.dispose();
    x.dispose();
  });

  test('eval: one batchNorm node reading the running statistics, no extras', () => {
    const x = T.ones([2, 3, 2, 2]);
    const { output, tape } = record(() => T.batchNorm(x, T.zeros([3]), T.ones([3]), T.ones([3]), T.zeros([3])));
    expect(tape.nodes.map((n) => n.op)).toEqual(['batchNorm']);
    expect(tape.nodes[0]!.inputs).toHaveLength(5);
    expect(tape.nodes[0]!.extras).toHaveLength(0);
    tape.dispose();
    output.dispose();
    x.dispose();
  });

  test('outside any tape or tidy, a training step leaves only its output alive', () => {
    const x = rn([4, 3, 2]);
    const rm = T.zeros([3], 'float64');
    const rv = T.ones([3], 'float64');
    const before = numTensors();
    const y = T.batchNorm(x, rm, rv, null, null, { training: true });
    expect(numTensors()).toBe(before + 1);
    y.dispose();
    const { output, tape } = record(() => T.batchNorm(x, rm, rv, null, null, { training: true }));
    expect(numTensors()).toBe(before + 3); // output, and the statistics the tape keeps
    tape.dispose();
    expect(numTensors()).toBe(before + 1);
    output.dispose();
    expect(numTensors()).toBe(before);
    for (const t of [x, rm, rv]) t.dispose();
  });
});
