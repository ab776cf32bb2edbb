/**
 * The fused backward ops of gelu, softmax and layer norm: the default rules run them (one node each on
 * the tape), they give the composed formulas' values in float32, and a backward recorded under a tape
 * (double backward) still differentiates correctly — checked against float64 finite differences of the
 * first gradient. The first derivatives themselves are in gradcheck.test.ts.
 */
import type { Tensor } from '../src';
import type { GradContext, GradRule, Tape } from '../src';
import { Generator, grad, gradRules, mul, numTensors, randn, record, sum, tidy } from '../src';
import type { OpName } from '../src/ops/op-attrs';
import * as T from '../src';

const g = new Generator(77);
const rn = (shape: readonly number[], dtype: 'float32' | 'float64' = 'float64') => randn([...shape], { dtype, generator: g });

/**
 * Runs the default rule of f's last node on dy under a recording tape (tape.grad itself records
 * nothing, so this is how a backward is differentiated again): the input gradients, and the ops it ran.
 */
function ruleRecorded(
  f: (...xs: Tensor[]) => Tensor,
  xs: Tensor[],
  dy: Tensor,
  then: (grads: (Tensor | null)[]) => Tensor = () => T.zeros([]),
): { value: Tensor; ops: string[]; tape: Tape } {
  // The forward pass is recorded on the outer tape too, so that a rule reading the output (softmax) is
  // differentiated through it.
  let fwd: Tape | null = null;
  let first = 0;
  const { output: value, tape } = record(() => {
    const inner = record(() => f(...xs));
    fwd = inner.tape;
    first = inner.tape.nodes.length;
    const node = inner.tape.nodes[inner.tape.nodes.length - 1]!;
    const rule = gradRules[node.op] as GradRule<OpName>;
    return then(rule(dy, { ...node, needsGrad: node.inputs.map(() => true) } as GradContext<OpName>));
  });
  const ops = tape.nodes.slice(first).map((n) => n.op);
  (fwd as Tape | null)?.dispose();
  return { value, ops, tape };
}

/** A parameter's gradient as the rule returns it (x-shaped, or already reduced) summed to the parameter's shape. */
const fit = (g: Tensor, like: Tensor): Tensor => (g.rank === like.rank ? g : sum(g, { dim: [...Array(g.rank - like.rank).keys()] }));

/** Largest |a − b| / max(1, |b|). */
function relErr(a: Tensor, b: Tensor): number {
  const av = a.values(),
    bv = b.values();
  let worst = 0;
  for (let i = 0; i < av.length; i++) worst = Math.max(worst, Math.abs(av[i]! - bv[i]!) / Math.max(1, Math.abs(bv[i]!)));
  return worst;
}

describe('fused backward ops', () => {
  const cases: {
    name: string;
    op: string;
    composedOps: string[];
    f: (x: Tensor, w?: Tensor) => Tensor;
    shape: number[];
    composed: (x: Tensor, r: Tensor) => Tensor;
  }[] = [
    {
      name: 'gelu',
      op: 'geluBackward',
      composedOps: ['erf', 'exp'],
      shape: [4, 7, 9],
      f: (x) => T.gelu(x),
      // Φ(x) + x·φ(x)
      composed: (x, r) =>
        mul(
          r,
          T.add(mul(T.add(T.erf(mul(x, Math.SQRT1_2)), 1), 0.5), mul(x, mul(T.exp(mul(mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI)))),
        ),
    },
    {
      name: 'softmax over a middle dim',
      op: 'softmaxBackward',
      composedOps: ['sub', 'sum'],
      shape: [3, 6, 5],
      f: (x) => T.softmax(x, 1),
      composed: (x, r) => {
        const y = T.softmax(x, 1);
        return mul(y, T.sub(r, sum(mul(r, y), { dim: 1, keepdim: true })));
      },
    },
    {
      name: 'layerNorm',
      op: 'layerNormBackward',
      composedOps: ['mean', 'pow', 'sub'],
      shape: [5, 3, 8],
      f: (x) => T.layerNorm(x, [8]),
      composed: (x, r) => {
        const m = (t: Tensor) => T.mean(t, { dim: [2], keepdim: true });
        const c = T.sub(x, m(x));
        const inv = T.pow(T.add(m(mul(c, c)), 1e-5), -0.5);
        const xh = mul(c, inv);
        return mul(inv, T.sub(T.sub(r, m(r)), mul(xh, m(mul(r, xh)))));
      },
    },
  ];
  for (const c of cases) {
    test(`${c.name}: the rule is one ${c.op} node, equal in float32 to the composed formula in float64`, () => {
      const x32 = mul(rn(c.shape, 'float32'), 2);
      const { ops, tape } = ruleRecorded(c.f, [x32], T.onesLike(c.f(x32)));
      tape.dispose();
      expect(ops.filter((o) => o === c.op)).toHaveLength(1);
      for (const o of c.composedOps) expect(ops).not.toContain(o);
      const r = rn(c.shape);
      const [dx] = grad((x) => sum(mul(c.f(x!), T.cast(r, 'float32'))), [x32]);
      const want = c.composed(T.cast(x32, 'float64'), r);
      expect(dx!.dtype).toBe('float32');
      expect(relErr(dx!, want)).toBeLessThan(1e-5);
    });
  }

  test('layerNorm with a weight: the weight gradient is the kernel’s Σ dy·x̂, equal to the composed one', () => {
    const x = rn([6, 10]),
      w = rn([10]),
      b = rn([10]),
      r = rn([6, 10]);
    const [dx, dw, db] = grad((x_, w_, b_) => sum(mul(T.layerNorm(x_!, 10, w_, b_), r)), [x, w, b]);
    const m = (t: Tensor) => T.mean(t, { dim: [1], keepdim: true });
    const cx = T.sub(x, m(x));
    const xh = mul(cx, T.pow(T.add(m(mul(cx, cx)), 1e-5), -0.5));
    expect(relErr(dw!, sum(mul(r, xh), { dim: [0] }))).toBeLessThan(1e-12);
    expect(relErr(db!, sum(r, { dim: [0] }))).toBeLessThan(1e-12);
    expect(dx!.shape).toEqual([6, 10]);
  });

  // Double backward: the rule run under a recording tape, its output differentiated again (v·∂f) against
  // central differences of the rule's output (float64).
  const second: { name: string; f: (...xs: Tensor[]) => Tensor; inputs: () => Tensor[] }[] = [
    { name: 'gelu', f: (x) => T.gelu(x!), inputs: () => [rn([3, 5])] },
    { name: 'gelu (tanh)', f: (x) => T.gelu(x!, { approximate: 'tanh' }), inputs: () => [rn([3, 5])] },
    { name: 'softmax', f: (x) => T.softmax(x!, 0), inputs: () => [rn([3, 5])] },
    { name: 'layerNorm with weight and bias', f: (x, w, b) => T.layerNorm(x!, [5], w, b), inputs: () => [rn([3, 5]), rn([5]), rn([5])] },
    { name: 'layerNorm without weight', f: (x) => T.layerNorm(x!, [2, 5]), inputs: () => [rn([3, 2, 5])] },
  ];
  for (const c of second) {
    test(`${c.name}: a recorded backward differentiates to finite differences (dy, x and the weight)`, () => {
      const xs = c.inputs();
      const dy = rn(c.f(...xs).shape);
      const all = [dy, ...xs];
      const vs = xs.map((x) => rn(x.shape));
      // Σ_i v_i · (rule's gradient for input i), as a function of dy and the inputs.
      const objective = (grads: (Tensor | null)[]) =>
        grads.reduce<Tensor>((acc, g, i) => (g ? T.add(acc, sum(mul(fit(g, xs[i]!), vs[i]!))) : acc), T.zeros([], 'float64'));
      const { value, tape } = ruleRecorded(c.f, xs, dy, objective);
      const analytic = tape.grad(value, all);
      tape.dispose();
      const h = 1e-6;
      all.forEach((target, k) => {
        const values = target.values();
        const av = analytic[k]!.values();
        for (let i = 0; i < values.length; i++) {
          const keep = values[i]!;
          const at = (v: number) => {
            T.assign(target, (t) => (t[i] = v));
            return tidy(() => {
              const r = ruleRecorded(c.f, xs, dy, objective);
              r.tape.dispose();
              return r.value.item();
            });
          };
          const numeric = (at(keep + h) - at(keep - h)) / (2 * h);
          T.assign(target, (t) => (t[i] = keep));
          expect(Math.abs(av[i]! - numeric)).toBeLessThan(1e-6 * Math.max(1, Math.abs(numeric)));
        }
      });
    });
  }

  test('leave no tensors behind', () => {
    const before = numTensors();
    const x = rn([2, 4, 6], 'float32');
    const w = rn([6], 'float32');
    const grads = grad((a, b) => sum(mul(T.gelu(T.softmax(T.layerNorm(a!, [6], b!), -1)), 3)), [x, w]);
    grads.forEach((t) => t.dispose());
    x.dispose();
    w.dispose();
    expect(numTensors()).toBe(before);
  });
});
