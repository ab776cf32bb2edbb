import * as t from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { OpTable } from './op-context';
import { axis, float, input } from './op-context';
import { asTensor } from './values';

// Normalisations beyond batch, layer and instance norm (ops-nn.ts), composed of means, variances and
// window sums so the tape differentiates them.

/** [1, C, 1, …]: a per-channel vector broadcast over x's other dims. */
function perChannel(v: Tensor, x: Tensor): Tensor {
  return t.reshape(v, [1, x.shape[1]!, ...x.shape.slice(2).map(() => 1)]);
}

/**
 * GroupNormalization: x [N, C, …] normalised over each group of C / G channels and the spatial dims, then scaled
 * and shifted per channel (opset 21's scale and bias of C) or per group (opset 18's, of G, spread to its channels).
 */
function groupNorm(x: Tensor, scale: Tensor, bias: Tensor, groups: number, eps: number): Tensor {
  if (x.rank < 2) throw new Error(`GroupNormalization needs [N, C, …], got [${x.shape.join(', ')}]`);
  const [n, c] = [x.shape[0]!, x.shape[1]!];
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0)
    throw new Error(`GroupNormalization: ${c} channels do not split into num_groups = ${groups}`);
  const grouped = t.reshape(x, [n, groups, -1]);
  const mean = t.mean(grouped, { dim: 2, keepdim: true });
  const variance = t.variance(grouped, { dim: 2, keepdim: true, correction: 0 });
  const normalised = t.reshape(t.div(t.sub(grouped, mean), t.sqrt(t.add(variance, eps))), x.shape);
  const channelOf = Array.from({ length: c }, (_, k) => Math.floor(k / (c / groups)));
  const spread = (v: Tensor, name: string) => {
    if (v.size === c) return perChannel(t.reshape(v, [c]), x);
    if (v.size === groups) return perChannel(t.indexSelect(t.reshape(v, [groups]), 0, channelOf), x);
    throw new Error(`GroupNormalization ${name} holds ${v.size} values: expected C = ${c} or num_groups = ${groups}`);
  };
  return t.add(t.mul(normalised, spread(scale, 'scale')), spread(bias, 'bias'));
}

/**
 * LRN across channels (AlexNet, GoogLeNet): x / (bias + α/size · Σ x²)^β, the sum over the `size` channels around
 * each one (floor((size−1)/2) before, ceil((size−1)/2) after), taken as shifted slices of the zero-padded squares.
 */
function lrn(x: Tensor, size: number, alpha: number, beta: number, bias: number): Tensor {
  if (x.rank < 3) throw new Error(`LRN needs [N, C, …], got [${x.shape.join(', ')}]`);
  if (!Number.isInteger(size) || size < 1) throw new Error(`LRN size ${size} is not a positive count`);
  const c = x.shape[1]!;
  const before = Math.floor((size - 1) / 2);
  const after = Math.ceil((size - 1) / 2);
  const pads = new Array<number>(2 * x.rank).fill(0);
  pads[2 * (x.rank - 2)] = before;
  pads[2 * (x.rank - 2) + 1] = after;
  const squares = t.pad(t.mul(x, x), pads, 0);
  let window = t.slice(squares, 1, 0, c);
  for (let k = 1; k < size; k++) window = t.add(window, t.slice(squares, 1, k, k + c));
  return t.div(x, t.pow(t.add(t.mul(window, alpha / size), bias), beta));
}

/** Group, Lp, mean-variance and local response normalisation. */
export const normalizationOps: OpTable = {
  GroupNormalization: {
    since: 18,
    run: ({ values, attrs }) => {
      const x = float(input(values, 0));
      const [scale, bias] = [1, 2].map((i) => asTensor(input(values, i), x)) as [Tensor, Tensor];
      return [groupNorm(x, scale, bias, attrs.int('num_groups', 0), attrs.float('epsilon', 1e-5))];
    },
  },
  LpNormalization: {
    run: ({ values, attrs }) => {
      const x = float(input(values, 0));
      const dim = axis(attrs.int('axis', -1), x.rank);
      const p = attrs.int('p', 2);
      if (p !== 1 && p !== 2) throw new Error(`LpNormalization p = ${p} is not 1 or 2`);
      const norm = p === 1 ? t.sum(t.abs(x), { dim, keepdim: true }) : t.sqrt(t.sum(t.mul(x, x), { dim, keepdim: true }));
      return [t.div(x, norm)];
    },
  },
  // ONNX's definition: (x − E[x]) / (sqrt(E[x²] − E[x]²) + 1e-9) over the axes (default N, H, W).
  MeanVarianceNormalization: {
    since: 9,
    run: ({ values, attrs }) => {
      const x = float(input(values, 0));
      const dim = (attrs.ints('axes') ?? [0, 2, 3]).map((a) => axis(a, x.rank));
      const mean = t.mean(x, { dim, keepdim: true });
      const variance = t.sub(t.mean(t.mul(x, x), { dim, keepdim: true }), t.mul(mean, mean));
      return [t.div(t.sub(x, mean), t.add(t.sqrt(variance), 1e-9))];
    },
  },
  LRN: {
    run: ({ values, attrs }) => [
      lrn(float(input(values, 0)), attrs.int('size', 0), attrs.float('alpha', 1e-4), attrs.float('beta', 0.75), attrs.float('bias', 1)),
    ],
  },
};
