/**
 * Second derivatives of every differentiable op, through `tape.grad(..., { createGraph: true })`: for each case of
 * the gradient checks' table (op-cases.ts), G(x) = Σᵢ ⟨∂/∂xᵢ ⟨f(x), r⟩, vᵢ⟩ is built from a recorded backward pass,
 * and its gradient (a Hessian-vector product) is compared with float64 central differences of G, which itself is
 * computed by a plain first-order backward pass. So every rule's own rule is checked, op by op.
 */
import type { Tensor } from '../src';
import { grad, numTensors, randn, record, sum, mul, tidy } from '../src';
import * as T from '../src';
import type { OpName } from '../src/ops/op-attrs';
import type { Case, Entry } from './op-cases';
import { cases, g, numericGrad, rn } from './op-cases';

/** ⟨∇⟨f(xs), r⟩, v⟩ over the float inputs, by a plain backward pass (nothing recorded). */
function directional(c: Case, xs: Tensor[], floats: number[], r: Tensor, vs: Tensor[]): Tensor {
  const gs = grad((...ys) => sum(mul(c.f(...ys), r)), xs);
  return floats.map((i, k) => sum(mul(gs[i]!, vs[k]!))).reduce((a, b) => T.add(a, b));
}

describe('every rule differentiates again: Hessian-vector products match float64 finite differences', () => {
  for (const [op, entry] of Object.entries(cases) as [OpName, Entry][]) {
    if (entry === 'not differentiable') continue;
    entry.forEach((c, k) => {
      test(`${op} #${k}`, () => {
        const xs = c.inputs();
        const floats = xs.map((x, i) => (x.dtype === 'float64' ? i : -1)).filter((i) => i >= 0);
        const r = tidy(() => T.keep(randn(c.f(...xs).shape, { dtype: 'float64', generator: g })));
        const vs = floats.map((i) => randn(xs[i]!.shape, { dtype: 'float64', generator: g }));
        const { output: G, tape } = record(() => {
          const { output: y, tape: first } = record(() => sum(mul(c.f(...xs), r)));
          const gs = first.grad(
            y,
            floats.map((i) => xs[i]!),
            { createGraph: true },
          );
          first.dispose();
          return gs.map((gi, k2) => sum(mul(gi, vs[k2]!))).reduce((a, b) => T.add(a, b));
        });
        // The backward pass was recorded: the outer tape holds more than the forward pass's ops.
        const forwardOps = record(() => c.f(...xs));
        expect(tape.nodes.length).toBeGreaterThan(forwardOps.tape.nodes.length + 2);
        forwardOps.tape.dispose();
        expect(G.item()).toBeCloseTo(directional(c, xs, floats, r, vs).item(), 8);
        const hv = tape.grad(
          G,
          floats.map((i) => xs[i]!),
        );
        const one = T.onesLike(G);
        floats.forEach((i, k2) => {
          const numeric = numericGrad((...ys) => directional(c, ys, floats, r, vs), xs, i, one, c.h ?? 1e-5);
          const a = hv[k2]!.values();
          const scale = Math.max(1, ...Array.from(numeric, Math.abs));
          let worst = 0;
          for (let j = 0; j < numeric.length; j++) worst = Math.max(worst, Math.abs(a[j]! - numeric[j]!) / scale);
          expect(worst).toBeLessThan(c.tol ?? 1e-6);
        });
        tape.dispose();
      });
    });
  }
});

describe('createGraph', () => {
  test('off by default: a backward pass inside record adds nothing to the tape', () => {
    const x = rn(3, 4);
    const { tape } = record(() => {
      const { output: y, tape: first } = record(() => sum(T.tanh(x)));
      const [dx] = first.grad(y, [x]);
      first.dispose();
      return sum(dx!);
    });
    expect(tape.nodes.map((n) => n.op)).toEqual(['tanh', 'sum', 'sum']);
    tape.dispose();
  });

  test('a gradient penalty ‖∇ₓ f‖² differentiates with respect to the weights (as WGAN-GP needs)', () => {
    // f(x) = Σ tanh(W x): ∇ₓ f = Wᵀ(1 − tanh²(Wx)); the penalty's gradient in W checked by central differences.
    const x = rn(5, 1);
    const w = rn(3, 5);
    const penalty = (wt: Tensor): Tensor => {
      const { output: y, tape: first } = record(() => sum(T.tanh(T.matmul(wt, x))));
      const [dx] = first.grad(y, [x], { createGraph: true });
      first.dispose();
      return sum(mul(dx!, dx!));
    };
    const { output, tape } = record(() => penalty(w));
    const [dw] = tape.grad(output, [w]);
    const numeric = numericGrad((wt) => tidy(() => penalty(wt!)), [w], 0, T.onesLike(output));
    const a = dw!.values();
    for (let j = 0; j < numeric.length; j++) expect(a[j]).toBeCloseTo(numeric[j]!, 6);
    tape.dispose();
  });

  test('leaves no tensor behind once the tapes are disposed', () => {
    const x = rn(2, 3);
    const before = numTensors();
    const { output, tape } = record(() => {
      const { output: y, tape: first } = record(() => sum(T.exp(mul(x, x))));
      const [dx] = first.grad(y, [x], { createGraph: true });
      first.dispose();
      return sum(dx!);
    });
    const [h] = tape.grad(output, [x]);
    tape.dispose();
    output.dispose();
    h!.dispose();
    expect(numTensors()).toBe(before);
  });
});
