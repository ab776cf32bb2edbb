/**
 * A float64 finite-difference check of every gradient rule, driven by the rule table: `cases` is a
 * mapped type over the op names, so a new op without a case does not compile, and each case is
 * checked to really run its op.
 */
import type { Tensor } from '../src';
import { gradRules, grad, record, randn, sum, mul } from '../src';
import * as T from '../src';
import type { OpName } from '../src/ops/op-attrs';
import { runOpFull } from '../src/ops/run';
import type { Entry } from './op-cases';
import { away, cases, g, numericGrad, rn } from './op-cases';
describe('every gradient rule matches float64 finite differences', () => {
  for (const [op, entry] of Object.entries(cases) as [OpName, Entry][]) {
    if (entry === 'not differentiable') {
      test(`${op}: declared not differentiable, and its rule returns no gradient`, () => {
        const x = rn(3);
        const { output, tape } = record(() => runOpFull(op, [x, x], { dim: null, keepdim: false } as never).out);
        const node = tape.nodes.find((n) => n.op === op)!;
        const rule = gradRules[op] as (dy: Tensor, ctx: unknown) => (Tensor | null)[];
        const grads = rule(T.onesLike(output), { ...node, needsGrad: node.inputs.map(() => true) });
        for (const gr of grads) if (gr) expect(Math.max(...Array.from(gr.values(), Math.abs))).toBe(0);
        tape.dispose();
      });
      continue;
    }
    entry.forEach((c, k) => {
      test(`${op} #${k}`, () => {
        const xs = c.inputs();
        const { output, tape } = record(() => c.f(...xs));
        // The case must really exercise the op it stands for.
        expect(tape.nodes.map((n) => n.op)).toContain(op);
        tape.dispose();
        const r = randn(output.shape, { dtype: 'float64', generator: g });
        const floatInputs = xs.map((x, i) => (x.dtype === 'float64' ? i : -1)).filter((i) => i >= 0);
        const analytic = grad((...ys) => sum(mul(c.f(...ys), r)), xs);
        for (const i of floatInputs) {
          const numeric = numericGrad(c.f, xs, i, r, c.h);
          const a = analytic[i]!.values();
          expect(analytic[i]!.shape).toEqual(xs[i]!.shape);
          const scale = Math.max(1, ...Array.from(numeric, Math.abs));
          let worst = 0;
          for (let j = 0; j < numeric.length; j++) worst = Math.max(worst, Math.abs(a[j]! - numeric[j]!) / scale);
          expect(worst).toBeLessThan(c.tol ?? 1e-6);
        }
      });
    });
  }
});

describe('double backward through relu', () => {
  // y = Σ relu(x)²: dy/dx = 2·relu(x)·[x > 0] = reluBackward(2·relu(x), x), and the second derivative
  // is diagonal, 2·[x > 0]. The first backward runs the default relu rule under `record`, so the
  // second one walks through reluBackward's own rule.
  test('the Hessian-vector product of Σ relu(x)² is 2·v·[x > 0]', () => {
    const x = away(4, 5);
    const v = rn(4, 5);
    const { output, tape } = record(() => {
      const r = T.relu(x);
      const dr = T.mul(r, 2);
      const relNode = { op: 'relu' as const, inputs: [x], output: r, extras: [], attrs: {}, scope: '', needsGrad: [true] };
      const [dx] = gradRules.relu(dr, relNode);
      return sum(mul(dx!, v));
    });
    // The rule is one fused op, not dy · cast(x > 0).
    expect(tape.nodes.map((n) => n.op)).toEqual(['relu', 'mul', 'reluBackward', 'mul', 'sum']);
    const [h] = tape.grad(output, [x]);
    const xv = x.values(),
      vv = v.values(),
      hv = h!.values();
    for (let i = 0; i < xv.length; i++) expect(hv[i]).toBe(xv[i]! > 0 ? 2 * vv[i]! : 0);
    // The first derivative, for completeness: 2·relu(x).
    const [d1] = grad((y) => sum(mul(T.relu(y!), T.relu(y!))), [x]);
    const d1v = d1!.values();
    for (let i = 0; i < xv.length; i++) expect(d1v[i]).toBe(xv[i]! > 0 ? 2 * xv[i]! : 0);
    tape.dispose();
  });
});
