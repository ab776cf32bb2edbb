import type { Generator, Tensor } from '@gradlens/tensor';
import { assign, defaultGenerator } from '@gradlens/tensor';

/**
 * In-place initialisers with torch.nn.init's names and formulas, drawing from a seedable Generator
 * (the default generator when none is given), so a model built with the same seed is the same model.
 */

/** How a layer or model draws its initial values. */
export interface InitOptions {
  /** Where random values come from (default: the default generator; reseed it with `manualSeed`). */
  generator?: Generator;
  /**
   * Set false to skip random initialisation (parameters stay zero, BatchNorm's weight one): for models
   * whose weights are loaded right after, where drawing 100M random numbers would only waste time.
   */
  init?: boolean;
}

/** fan_in and fan_out of a weight as torch.nn.init computes them: [out, in, *kernel] → in·k, out·k. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`init: fan in and fan out need a weight of at least 2 dims, got [${shape.join(', ')}]`);
  let receptive = 1;
  for (const d of shape.slice(2)) receptive *= d;
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

/** Gain of torch.nn.init.calculate_gain for the nonlinearities the models use. */
export function calculateGain(nonlinearity: 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu', param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv2d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
  }
}

/** Fills `t` with U(low, high) in place; returns t. */
export function uniform_(t: Tensor, low: number, high: number, generator: Generator = defaultGenerator): Tensor {
  return assign(t, (v) => {
    for (let i = 0; i < v.length; i++) v[i] = low + (high - low) * generator.uniform();
  });
}

/** Fills `t` with N(mean, std²) in place; returns t. */
export function normal_(t: Tensor, mean = 0, std = 1, generator: Generator = defaultGenerator): Tensor {
  return assign(t, (v) => {
    for (let i = 0; i < v.length; i++) v[i] = mean + std * generator.normal();
  });
}

/** Fills `t` with `value` in place; returns t. */
export function constant_(t: Tensor, value: number): Tensor {
  return assign(t, (v) => v.fill(value));
}

export interface KaimingOptions {
  /** Negative slope of the leaky ReLU after this layer (0 for ReLU); torch's default is 0. */
  a?: number;
  mode?: 'fan_in' | 'fan_out';
  nonlinearity?: 'relu' | 'leaky_relu';
  generator?: Generator;
}

function kaimingStd(t: Tensor, o: KaimingOptions): number {
  const { fanIn, fanOut } = fans(t.shape);
  const fan = (o.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut;
  return calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) / Math.sqrt(fan);
}

/** He uniform init as torch.nn.init.kaiming_uniform_: U(±gain·√(3/fan)); returns t. */
export function kaimingUniform_(t: Tensor, options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, options);
  return uniform_(t, -bound, bound, options.generator);
}

/** He normal init as torch.nn.init.kaiming_normal_: N(0, gain²/fan); returns t. */
export function kaimingNormal_(t: Tensor, options: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, options), options.generator);
}

/**
 * PyTorch's default for Conv2d and Linear (`reset_parameters`): weight kaiming_uniform(a=√5), which
 * is U(±1/√fan_in), and bias U(±1/√fan_in).
 */
export function defaultLayerInit(weight: Tensor, bias: Tensor | null, generator?: Generator): void {
  kaimingUniform_(weight, { a: Math.sqrt(5), generator });
  if (bias) {
    const { fanIn } = fans(weight.shape);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound, generator);
  }
}

/** Glorot uniform init as torch.nn.init.xavier_uniform_: U(±gain·√(6/(fan_in + fan_out))); returns t. */
export function xavierUniform_(t: Tensor, gain = 1, generator: Generator = defaultGenerator): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound, generator);
}

/** N(mean, std²) truncated to [a, b] (redrawn until inside), as torch.nn.init.trunc_normal_; returns t. */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2, generator: Generator = defaultGenerator): Tensor {
  if (!(a < b) || !(a <= mean + 5 * std && b >= mean - 5 * std))
    throw new Error(`truncNormal_: [${a}, ${b}] is empty or too far from N(${mean}, ${std}²)`);
  return assign(t, (v) => {
    for (let i = 0; i < v.length; i++) {
      let s = mean + std * generator.normal();
      while (s < a || s > b) s = mean + std * generator.normal();
      v[i] = s;
    }
  });
}
