import { add, cat, mul, record, tensor, tidy } from '@gradlens/tensor';
import type { RuleOverrides, Tensor } from '@gradlens/tensor';
import { withOutputTransform } from '@gradlens/nn';
import type { Module } from '@gradlens/nn';
import type { BaseOptions, ProgressCallback, ResolvedTarget } from './common';
import { checkEval, disposePass, layerActivation, passGrad, recordPass, repeatTarget, requireOnPath, Warnings } from './common';
import type { IntegrationMethod } from './integrated-gradients';
import { quadrature } from './integrated-gradients';

/** Options of the layer attribution methods (Captum's layer family). */
export interface LayerAttributionOptions extends BaseOptions {
  /** Module path of the layer whose output is attributed (`features.3`, `layer4`). */
  layer: string;
}

/** Options of the layer methods that integrate along a path from a baseline. */
export interface LayerPathOptions extends LayerAttributionOptions {
  /** The baseline x′: a number, or a tensor broadcastable to the input (default 0). */
  baseline?: number | Tensor;
  /** Number of path points (default 50, as Captum). */
  steps?: number;
  /** Quadrature (default 'gauss-legendre', Captum's default). */
  method?: IntegrationMethod;
  /** Path points per forward pass (rows = batchSize · N; default 16). */
  batchSize?: number;
  onProgress?: ProgressCallback;
}

/** What a layer method returns; the caller owns the tensor. */
export interface LayerAttributionResult {
  /** One value per neuron of the layer's output: [N, …layer shape]. */
  attribution: Tensor;
  /** The target's score per item on the input. */
  scores: number[];
  classes: number[] | null;
  warnings: string[];
}

/** A layer method with a reference input: also the completeness gap Σ attribution − (F(x) − F(x′)) per item. */
export interface LayerDeltaResult extends LayerAttributionResult {
  delta: number[];
  baselineScores: number[];
}

/** The activation of `layer` for input `x` (a copy the caller owns), from one recorded pass. */
export function layerValuesOf(method: string, model: Module, x: Tensor, layer: string): Tensor {
  const { output, tape } = record(() => model.call(x));
  try {
    const a = layerActivation(method, model, tape, layer);
    return tidy(() => mul(a, 1));
  } finally {
    tape.dispose();
    if (output !== x) output.dispose(); // a model may hand its input back
  }
}

/**
 * One recorded pass over `xs` (rows: copies of items, `target` already repeated): the layer's
 * activation and ∂score/∂A, both copies the caller owns. A layer the output does not depend on is an error.
 */
export function layerGradAndEval(
  method: string,
  model: Module,
  xs: Tensor,
  target: ResolvedTarget,
  layer: string,
  rules?: RuleOverrides,
): { a: Tensor; g: Tensor } {
  const pass = recordPass(method, model, xs, target);
  try {
    const act = layerActivation(method, model, pass.tape, layer);
    requireOnPath(method, pass.tape, act, pass.output, layer);
    // A copy: where the layer is the model's output, the gradient is the pass's own seed, freed with it.
    const g = tidy(() => mul(passGrad(pass, [act], rules)[0]!, 1));
    return { a: tidy(() => mul(act, 1)), g };
  } finally {
    disposePass(pass);
  }
}

/** Points x′ + α (x − x′) for each α, stacked on dim 0 ([α₀ items; α₁ items; …]); the caller owns the tensor. */
export function pathInputs(baseline: Tensor, diff: Tensor, alphas: readonly number[]): Tensor {
  return tidy(() =>
    cat(
      alphas.map((a) => add(baseline, mul(diff, a))),
      0,
    ),
  );
}

/** `pathInputs` with the target repeated to match its rows. */
export function pathPoints(
  baseline: Tensor,
  diff: Tensor,
  alphas: readonly number[],
  target: ResolvedTarget,
): { xs: Tensor; target: ResolvedTarget } {
  const n = baseline.shape[0]!;
  return {
    xs: pathInputs(baseline, diff, alphas),
    target: repeatTarget(
      target,
      Array.from({ length: alphas.length * n }, (_, r) => r % n),
    ),
  };
}

/**
 * `transform` for one call of module `layer` per forward pass: a module that runs twice (torchvision's
 * ResNet blocks call one `relu` module twice) would have both of its outputs replaced, so a second
 * call is an error naming the layer.
 */
export function onceTransform(method: string, layer: string, transform: (y: Tensor) => Tensor): (y: Tensor) => Tensor {
  let calls = 0;
  return (y) => {
    if (++calls > 1)
      throw new Error(
        `${method}: layer '${layer}' runs more than once in one forward pass (a module used twice); its output cannot be set for one use: choose a module that runs once`,
      );
    return transform(y);
  };
}

/**
 * Runs `fn` (one forward pass) while module `layer` returns `replacement` instead of its output
 * (whose shape it must have): the layer's value is set from outside, as Captum's layer hooks do.
 */
export function withLayerOutput<T>(method: string, model: Module, layer: string, replacement: Tensor, fn: () => T): T {
  return withOutputTransform(
    model.getModule(layer),
    onceTransform(method, layer, (y) => {
      if (y.shape.join() !== replacement.shape.join()) {
        throw new Error(
          `${method}: layer '${layer}' gave [${y.shape.join(', ')}] where [${replacement.shape.join(', ')}] was to replace it`,
        );
      }
      return replacement;
    }),
    fn,
  );
}

/** Checks a path method's step count. */
export function checkSteps(method: string, steps: number): void {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`${method}: steps must be a positive integer, got ${steps}`);
}

/** The options every path method (layer and neuron IG and conductance, internal influence) reads the same way. */
interface PathSetupOptions {
  onWarning?: BaseOptions['onWarning'];
  steps?: number;
  method?: IntegrationMethod;
  batchSize?: number;
}

/**
 * What every path method sets up: its warnings (after checking the model is in eval mode), the step count (50 by
 * default), the quadrature's points and weights for `steps + extraPoints` points (`defaultMethod` unless the options
 * say), and the path points per forward pass (16 by default).
 */
export function pathSetup(
  method: string,
  model: Module,
  options: PathSetupOptions,
  defaultMethod: IntegrationMethod,
  extraPoints = 0,
): { warnings: Warnings; steps: number; alphas: number[]; weights: number[]; batch: number } {
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const steps = options.steps ?? 50;
  checkSteps(method, steps);
  const { alphas, weights } = quadrature(options.method ?? defaultMethod, steps + extraPoints);
  return { warnings, steps, alphas, weights, batch: Math.max(1, Math.floor(options.batchSize ?? 16)) };
}

/** Per-item sums of a [N, …] array. */
export function sumsPerItem(v: ArrayLike<number>, n: number): number[] {
  const per = v.length / n;
  return Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let j = i * per; j < (i + 1) * per; j++) s += v[j]!;
    return s;
  });
}

/** A tensor of `dtype` holding float64 sums (float64 inputs keep their precision). */
export function totalsTensor(values: Float64Array, shape: readonly number[], dtype: Tensor['dtype']): Tensor {
  return tensor(dtype === 'float64' ? values : Float32Array.from(values), shape, dtype);
}
