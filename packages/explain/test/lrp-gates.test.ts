import { Conv2d, Hardswish, Linear, Module, SiLU, SqueezeExcitation, Sequential, Hardsigmoid, ReLU } from '@gradlens/nn';
import type { Tensor } from '@gradlens/tensor';
import { flatten, mean, mul, randn, manualSeed, tensor } from '@gradlens/tensor';
import { lrp } from '../src/lrp';

/**
 * Gated units (SiLU, Hardswish, squeeze-and-excitation) multiply two input-dependent tensors. LRP gives
 * the whole relevance of such a product to the signal and none to the gate (Arras et al. 2017's
 * signal-take-all), so an activation x·g(x) passes relevance through unchanged, as ReLU does.
 */

/** flatten → linear → activation → linear, bias-free (LRP takes a batch of pictures: [1, 1, 1, 5]). */
class Mlp extends Module {
  readonly fc1 = this.registerModule('fc1', new Linear(5, 7, { bias: false }));
  readonly act: Module;
  readonly fc2 = this.registerModule('fc2', new Linear(7, 3, { bias: false }));
  constructor(act: Module) {
    super();
    this.act = this.registerModule('act', act);
  }
  forward(x: Tensor): Tensor {
    return this.fc2.call(this.act.call(this.fc1.call(flatten(x, 1))));
  }
}

/** LRP-0 written from the rule itself: R_j = h_j·w2[t, j]; R_i = Σ_j x_i·W1[j, i] / a_j · R_j. */
function lrpZeroByHand(m: Mlp, x: number[], target: number, act: (a: number) => number): number[] {
  const w1 = m.fc1.weight.dataSync();
  const w2 = m.fc2.weight.dataSync();
  const a = Array.from({ length: 7 }, (_, j) => x.reduce((s, xi, i) => s + xi * w1[j * 5 + i]!, 0));
  const rHidden = a.map((aj, j) => act(aj) * w2[target * 7 + j]!);
  return x.map((xi, i) => a.reduce((s, aj, j) => s + ((xi * w1[j * 5 + i]!) / aj) * rHidden[j]!, 0));
}

const silu = (v: number) => v / (1 + Math.exp(-v));
const hardswish = (v: number) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6;

test.each([
  ['SiLU', () => new SiLU(), silu],
  ['Hardswish', () => new Hardswish(), hardswish],
  ['ReLU (the same rule, for comparison)', () => new ReLU(), (v: number) => Math.max(v, 0)],
] as const)('%s: LRP-0 equals the rule computed by hand, and relevance is conserved', (_, make, act) => {
  manualSeed(3);
  const m = new Mlp(make()).eval();
  const x = [0.9, -1.3, 0.4, 2.2, -0.7];
  const input = tensor(x, [1, 1, 1, 5]);
  const r = lrp(m, input, { target: 1, composite: 'zero' });
  const want = lrpZeroByHand(m, x, 1, act);
  const got = r.relevance.dataSync();
  const scale = Math.max(...want.map(Math.abs));
  for (let i = 0; i < 5; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5 * scale);
  expect(r.conservation[0]).toBeCloseTo(1, 4);
});

/** conv → SiLU → squeeze-and-excitation (Hardsigmoid gate) → mean → linear, all bias-free but the SE's. */
class GatedNet extends Module {
  readonly conv = this.registerModule('conv', new Conv2d(3, 6, 3, { padding: 1, bias: false }));
  readonly act = this.registerModule('act', new SiLU());
  readonly se = this.registerModule(
    'se',
    new SqueezeExcitation(
      6,
      2,
      () => new SiLU(),
      () => new Hardsigmoid(),
    ),
  );
  readonly head = this.registerModule('head', new Sequential(new Linear(6, 4, { bias: false })));
  forward(x: Tensor): Tensor {
    return this.head.call(flatten(mean(this.se.call(this.act.call(this.conv.call(x))), { dim: [2, 3] }), 1));
  }
}

test('a squeeze-and-excitation block: its gate takes no relevance, so LRP-0 conserves it to the pixels', () => {
  manualSeed(5);
  const m = new GatedNet().eval();
  const x = randn([2, 3, 6, 5]);
  const r = lrp(m, x, { target: [2, 0], composite: 'zero' });
  for (const c of r.conservation) expect(c).toBeCloseTo(1, 4);
  expect(r.relevance.shape).toEqual([2, 3, 6, 5]);
});

test('a product of two input-dependent tensors with no gate still has no rule, and says so', () => {
  class Square extends Module {
    readonly fc = this.registerModule('fc', new Linear(4, 2, { bias: false }));
    forward(x: Tensor): Tensor {
      const h = this.fc.call(flatten(x, 1));
      return mul(h, h);
    }
  }
  expect(() => lrp(new Square().eval(), tensor([1, 2, 3, 4], [1, 1, 1, 4]), { target: 0, composite: 'zero' })).toThrow(
    /LRP: mul with an input-dependent pair of operands, neither of them a gate/,
  );
});
