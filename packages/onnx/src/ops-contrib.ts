import * as t from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { OpContext, OpTable } from './op-context';
import { axis, float, input } from './op-context';
import { nnOps } from './ops-nn';
import { asTensor } from './values';

/** FusedConv's activation (onnxruntime fuses a Conv with the activation after it), with its activation_params. */
function activation(ctx: OpContext, y: Tensor): Tensor {
  const name = ctx.attrs.string('activation', '');
  const p = ctx.attrs.floats('activation_params') ?? [];
  const param = (i: number, fallback: number) => p[i] ?? fallback;
  switch (name) {
    case '':
    case 'Identity':
      return y;
    case 'Relu':
      return t.relu(y);
    case 'Tanh':
      return t.tanh(y);
    case 'Sigmoid':
      return t.sigmoid(y);
    case 'LeakyRelu':
      return t.where(t.gt(y, 0), y, t.mul(y, param(0, 0.01)));
    case 'Clip':
      return t.clamp(y, { min: param(0, -Infinity), max: param(1, Infinity) });
    case 'HardSigmoid':
      return t.clamp(t.add(t.mul(y, param(0, 0.2)), param(1, 0.5)), { min: 0, max: 1 });
    default:
      throw new Error(`FusedConv activation '${name}' is not one of Relu, Tanh, Sigmoid, LeakyRelu, Clip, HardSigmoid`);
  }
}

/** The last two axes swapped (a matrix's transpose, batched); a vector stays as it is. */
function swapLast(x: Tensor): Tensor {
  return x.rank < 2 ? x : t.transpose(x, x.rank - 2, x.rank - 1);
}

/**
 * The contrib ops (domain com.microsoft) that onnxruntime's graph optimisations write into a model it saves,
 * each as its definition in onnxruntime's contrib_defs, on the default-domain ops.
 */
export const contribOps: OpTable = {
  // Gelu with erf; BiasGelu adds a bias first; FastGelu is the tanh approximation (with an optional bias).
  Gelu: { run: ({ values }) => [t.gelu(float(input(values, 0)))] },
  BiasGelu: {
    run: ({ values }) => {
      const x = float(input(values, 0));
      return [t.gelu(t.add(x, asTensor(input(values, 1), x)))];
    },
  },
  FastGelu: {
    run: ({ values }) => {
      const x = float(input(values, 0));
      return [t.gelu(values[1] ? t.add(x, asTensor(values[1], x)) : x, { approximate: 'tanh' })];
    },
  },
  QuickGelu: {
    run: ({ values, attrs }) => {
      const x = float(input(values, 0));
      return [t.mul(x, t.sigmoid(t.mul(x, attrs.float('alpha', 1.702))))];
    },
  },
  // Conv (same attributes), plus the optional input Z added before the activation.
  FusedConv: {
    run: (ctx) => {
      const y = nnOps.Conv!.run({ ...ctx, values: ctx.values.slice(0, 3), outputs: 1 })[0] as Tensor;
      const z = ctx.values[3];
      return [activation(ctx, z ? t.add(y, asTensor(z, y)) : y)];
    },
  },
  FusedMatMul: {
    run: ({ values, attrs }) => {
      if (attrs.int('transBatchA', 0) || attrs.int('transBatchB', 0))
        throw new Error('FusedMatMul with transBatchA or transBatchB is not supported');
      const a = float(input(values, 0));
      const b = asTensor(input(values, 1), a);
      const y = t.matmul(attrs.int('transA', 0) ? swapLast(a) : a, attrs.int('transB', 0) ? swapLast(b) : b);
      const alpha = attrs.float('alpha', 1);
      return [alpha === 1 ? y : t.mul(y, alpha)];
    },
  },
  // LayerNormalization over the last axis of input + skip (+ bias), ε 1e-12 unless given; the fourth output is that sum.
  SkipLayerNormalization: {
    run: ({ values, attrs, outputs }) => {
      const x = float(input(values, 0));
      let s = t.add(x, asTensor(input(values, 1), x));
      if (values[4]) s = t.add(s, asTensor(values[4], x));
      const n = [s.shape[s.rank - 1]!];
      const eps = attrs.float('epsilon', 1e-12);
      const beta = values[3] ? t.reshape(asTensor(values[3], x), n) : null;
      const y = t.layerNorm(s, n, t.reshape(asTensor(input(values, 2), x), n), beta, { eps });
      if (outputs === 1) return [y];
      const dim = [s.rank - 1];
      const mean = t.mean(s, { dim, keepdim: true });
      const invStdDev = t.div(1, t.sqrt(t.add(t.variance(s, { dim, keepdim: true, correction: 0 }), eps)));
      return [y, mean, invStdDev, s].slice(0, outputs);
    },
  },
};

/** x / √(mean(x²) + ε) · scale over the axes from `axis` on (RMS normalisation). */
function simplifiedLayerNorm({ values, attrs, outputs }: OpContext): Tensor[] {
  const x = float(input(values, 0));
  const a = axis(attrs.int('axis', -1), x.rank);
  const dim = x.shape.map((_, i) => i).slice(a);
  const invStdDev = t.div(1, t.sqrt(t.add(t.mean(t.mul(x, x), { dim, keepdim: true }), attrs.float('epsilon', 1e-5))));
  const y = t.mul(t.mul(x, invStdDev), asTensor(input(values, 1), x));
  return outputs > 1 ? [y, invStdDev] : [y];
}

/**
 * Ops onnxruntime registers in the default domain beside ONNX's own and writes into optimised models:
 * SimplifiedLayerNormalization (its LayerNormalization is ONNX's, which it accepts at any opset).
 */
export const ortDefaultDomainOps: OpTable = {
  SimplifiedLayerNormalization: { run: (ctx) => simplifiedLayerNorm(ctx) },
};
