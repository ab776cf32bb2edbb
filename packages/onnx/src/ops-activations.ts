import * as t from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { OpTable } from './op-context';
import { float, input } from './op-context';
import { asTensor } from './values';

// Each activation is composed of gradlens ops, so the tape differentiates it with the primitives' rules.
// A branch that `where` leaves unused is still differentiated (its gradient multiplied by zero), so the
// exponentials below see x capped at 0 or 20: an overflow there would turn that zero into NaN. The cap is a
// `where`, not `minimum`, whose tie at the cap would halve the gradient there.

/** x where x ≤ cap, else cap. */
const capped = (x: Tensor, cap: number) => t.where(t.gt(x, cap), cap, x);

/** α·(exp(x/scale) − 1) for x ≤ 0, x above: ELU's and CELU's negative side (scale 1 for ELU, α for CELU). */
export function expLinear(x: Tensor, alpha: number, scale: number): Tensor {
  const negative = t.mul(t.sub(t.exp(t.div(capped(x, 0), scale)), 1), alpha);
  return t.where(t.gt(x, 0), x, negative);
}

/** log(1 + exp(x)); above 20 it equals x to float precision (PyTorch's threshold), which keeps exp finite. */
export function softplus(x: Tensor): Tensor {
  return t.where(t.gt(x, 20), x, t.log(t.add(t.exp(capped(x, 20)), 1)));
}

/** Activations beyond the basic elementwise ops (ELU family, PReLU, softplus and its kin, shrink). */
export const activationOps: OpTable = {
  Elu: { run: ({ values, attrs }) => [expLinear(float(input(values, 0)), attrs.float('alpha', 1), 1)] },
  Celu: {
    since: 12,
    run: ({ values, attrs }) => {
      const alpha = attrs.float('alpha', 1);
      return [expLinear(float(input(values, 0)), alpha, alpha)];
    },
  },
  Selu: {
    run: ({ values, attrs }) => {
      // The defaults are ONNX's (float32 roundings of SELU's constants).
      const alpha = attrs.float('alpha', 1.67326319217681884765625);
      const gamma = attrs.float('gamma', 1.05070102214813232421875);
      return [t.mul(expLinear(float(input(values, 0)), alpha, 1), gamma)];
    },
  },
  ThresholdedRelu: {
    since: 10,
    run: ({ values, attrs }) => {
      const x = float(input(values, 0));
      return [t.where(t.gt(x, attrs.float('alpha', 1)), x, 0)];
    },
  },
  // The slope broadcasts to x (torch exports PReLU's weight as [C, 1, 1]).
  PRelu: {
    run: ({ values }) => {
      const x = float(input(values, 0));
      return [t.where(t.gt(x, 0), x, t.mul(x, asTensor(input(values, 1), x)))];
    },
  },
  Softplus: { run: ({ values }) => [softplus(float(input(values, 0)))] },
  Softsign: {
    run: ({ values }) => {
      const x = float(input(values, 0));
      return [t.div(x, t.add(t.abs(x), 1))];
    },
  },
  Mish: {
    since: 18,
    run: ({ values }) => {
      const x = float(input(values, 0));
      return [t.mul(x, t.tanh(softplus(x)))];
    },
  },
  Shrink: {
    since: 9,
    run: ({ values, attrs }) => {
      const x = float(input(values, 0));
      const lambd = attrs.float('lambd', 0.5);
      const bias = attrs.float('bias', 0);
      return [t.where(t.lt(x, -lambd), t.add(x, bias), t.where(t.gt(x, lambd), t.sub(x, bias), 0))];
    },
  },
};
