import { mul, record, relu as reluOp, reshape, sum, tensor, tidy } from '@gradlens/tensor';
import type { Tape, Tensor } from '@gradlens/tensor';
import { defaultCamLayer } from '@gradlens/nn';
import type { Module } from '@gradlens/nn';
import type { BaseOptions, ResolvedTarget } from './common';
import {
  checkConstant,
  checkEval,
  checkInput,
  disposePass,
  layerActivation,
  passGrad,
  recordPass,
  requireOnPath,
  upsampleMaps,
  valuesOf,
  Warnings,
} from './common';
import type { ReshapeTransform } from './token-maps';
import { channelsLastReshape, defaultReshape } from './token-maps';

/** Options of every CAM-family method. */
export interface CamOptions extends BaseOptions {
  /**
   * Module path of the target layer (`features.29`, `layer4`); its output must be [N, K, h, w].
   * Default: `defaultCamLayer(model)` of @gradlens/nn (the last conv block; the rule the CLI uses).
   */
  layer?: string;
  /**
   * Maps the layer's output and its gradient to [N, K, h, w] (`tokenReshape(grid)` for transformer
   * tokens). Default: the token grid's reshape for a model with `tokenGrid` (VisionTransformer) at a
   * [N, tokens, C] layer; channels moved to dim 1 at a channels-last layer of a model with
   * `channelsLast(path)` (SwinTransformer); none otherwise (the layer must then give [N, K, h, w]).
   */
  reshape?: ReshapeTransform;
  /** Apply ReLU to the weighted sum (default: true, except CAM and Eigen-CAM whose papers have none). */
  relu?: boolean;
}

/** What a CAM-family method returns; the caller owns the tensors. */
export interface CamResult {
  /** The map at the target layer's resolution, before any normalisation: [N, h, w]. */
  map: Tensor;
  /** `map` upsampled bilinearly (align_corners = false) to the input size: [N, H, W]. */
  upsampled: Tensor;
  /** The channel weights where the method has them: [N, K]; null otherwise. */
  weights: Tensor | null;
  classes: number[] | null;
  scores: number[];
  warnings: string[];
}

/**
 * How a CAM method combines the target layer's activations A [N, K, h, w] and their gradient
 * ∂score/∂A [N, K, h, w] (null for gradient-free methods), as tensor ops: the map [N, h, w] before
 * any ReLU, and the channel weights [N, K] where the method has them. Runs inside a `tidy`.
 */
export type CamCombine = (a: Tensor, g: Tensor | null) => { map: Tensor; weights: Tensor | null };

/** One item's combine on host values: a [K·hw] and g [K·hw] → map [hw] and weights [K] (for methods with no tensor form, like Eigen-CAM's SVD). */
export type ItemCombine = (
  a: Float64Array,
  g: Float64Array | null,
  k: number,
  hw: number,
  item: number,
) => { map: Float64Array; weights: Float64Array | null };

/** The options with `layer` filled in: the given one, or the model's default CAM layer for input `x`. */
export function withLayer<O extends { layer?: string }>(model: Module, x: Tensor, options: O): O & { layer: string } {
  return { ...options, layer: options.layer ?? defaultCamLayer(model, x.shape) };
}

/** Throws unless the target layer's activation is [N, K, h, w]. */
export function checkActivation(method: string, a: Tensor, layer: string): void {
  if (a.rank === 3) {
    throw new Error(
      `${method}: layer '${layer}' gives tokens [${a.shape.join(', ')}] and the model has no token grid; pass { reshape: (a) => … } returning [N, K, h, w] (e.g. tokenReshape([h, w]))`,
    );
  }
  if (a.rank !== 4) {
    throw new Error(
      `${method}: layer '${layer}' gives an output of shape [${a.shape.join(', ')}]; CAM methods need a convolutional layer with output [N, K, h, w] (or a token layer [N, tokens, C] with a reshape)`,
    );
  }
}

/** The target layer of a CAM method: its output on the tape, that output as [N, K, h, w], and the same map for its gradient. */
export interface CamLayer {
  /** The layer's output as recorded (owned by the tape). */
  raw: Tensor;
  /** `raw` as [N, K, h, w]. */
  a: Tensor;
  /** Applies the layer's reshape to a tensor of raw's shape (its gradient); the result is freed by `dispose`. */
  grid(t: Tensor): Tensor;
  /** Frees every tensor the reshape made. */
  dispose(): void;
  /** True when `raw` is channels-last [N, h, w, K] (the reshape is channelsLastReshape, as for a Swin layer). */
  channelsLast: boolean;
}

/**
 * Finds the CAM target layer on `tape` and lays it out as [N, K, h, w] (options.reshape, or the model's
 * token grid). With `output`, the layer must lie on the path to it (methods that need ∂score/∂A or ablation).
 */
export function camLayer(method: string, model: Module, tape: Tape, options: CamOptions & { layer: string }, output?: Tensor): CamLayer {
  const raw = layerActivation(method, model, tape, options.layer);
  if (output) requireOnPath(method, tape, raw, output, options.layer);
  const transform = options.reshape ?? defaultReshape(model, raw.rank, options.layer);
  if (!transform) {
    checkActivation(method, raw, options.layer);
    return { raw, a: raw, grid: (t) => t, dispose: () => undefined, channelsLast: false };
  }
  const channelsLast = transform === channelsLastReshape;
  const made: Tensor[] = [];
  const grid = (t: Tensor): Tensor => {
    let out: Tensor;
    try {
      out = tidy(() => transform(t));
    } catch (e) {
      throw new Error(`${method}: the reshape of layer '${options.layer}' failed: ${(e as Error).message}`);
    }
    if (out.rank !== 4 || out.shape[0] !== t.shape[0]) {
      throw new Error(
        `${method}: the reshape of layer '${options.layer}' gave [${out.shape.join(', ')}] for [${t.shape.join(', ')}]; it must return [N, K, h, w]`,
      );
    }
    if (out !== t) made.push(out);
    return out;
  };
  const dispose = () => made.forEach((t) => t.dispose());
  try {
    return { raw, a: grid(raw), grid, dispose, channelsLast };
  } catch (e) {
    dispose();
    throw e;
  }
}

/** Σₖ wₖ Aₖ: activations [N, K, h, w] weighted by channel weights [N, K], summed over channels → [N, h, w]. */
export function weightedSum(a: Tensor, weights: Tensor): Tensor {
  const [n, k] = a.shape as [number, number];
  return sum(mul(a, reshape(weights, [n, k, 1, 1])), { dim: 1 });
}

/** An item-by-item host combine as a CamCombine: reads A and ∂score/∂A once, runs `combine` per item. */
export function perItem(combine: ItemCombine): CamCombine {
  return (a, g) => {
    const [n, k, h, w] = a.shape as [number, number, number, number];
    const hw = h * w;
    const av = valuesOf(a);
    const gv = g ? valuesOf(g) : null;
    const maps = new Float64Array(n * hw);
    let weights: Float64Array | null = null;
    for (let i = 0; i < n; i++) {
      const r = combine(av.subarray(i * k * hw, (i + 1) * k * hw), gv ? gv.subarray(i * k * hw, (i + 1) * k * hw) : null, k, hw, i);
      maps.set(r.map, i * hw);
      if (r.weights) {
        weights ??= new Float64Array(n * k);
        weights.set(r.weights, i * k);
      }
    }
    return { map: tensor(maps, [n, h, w], a.dtype), weights: weights ? tensor(weights, [n, k], a.dtype) : null };
  };
}

/** Combines A and ∂score/∂A with `combine`, applies the ReLU, and upsamples to the input's H×W. */
export function buildCam(
  method: string,
  a: Tensor,
  g: Tensor | null,
  combine: CamCombine,
  relu: boolean,
  inputShape: readonly number[],
  target: ResolvedTarget,
  scores: readonly number[],
  warnings: Warnings,
): CamResult {
  const { map, weights } = tidy(() => {
    const r = combine(a, g);
    if (r.map.rank !== 3 || r.map.shape[0] !== a.shape[0])
      throw new Error(`${method}: the combine gave a map of shape [${r.map.shape.join(', ')}], not [N, h, w]`);
    return { map: relu ? reluOp(r.map) : r.map, weights: r.weights };
  });
  checkConstant(
    map,
    target,
    warnings,
    relu
      ? 'the weighted sum was ≤ 0 everywhere and the ReLU removed it all (try another layer or class, or relu: false)'
      : 'try another layer or class',
  );
  return {
    map,
    upsampled: upsampleMaps(map, inputShape[2]!, inputShape[3]!),
    weights,
    classes: target.classes ? [...target.classes] : null,
    scores: [...scores],
    warnings: warnings.list,
  };
}

/**
 * A gradient-weighted CAM: records the forward pass once, takes ∂score/∂A of the target layer's
 * activation A from the same tape, and combines A and ∂score/∂A item by item.
 */
export function gradientCam(
  method: string,
  model: Module,
  x: Tensor,
  given: CamOptions,
  combine: CamCombine,
  reluDefault = true,
): CamResult {
  checkInput(method, x);
  const options = withLayer(model, x, given);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const pass = recordPass(method, model, x, options.target);
  let layer: CamLayer | null = null;
  try {
    layer = camLayer(method, model, pass.tape, options, pass.output);
    const [g] = passGrad(pass, [layer.raw]);
    try {
      return buildCam(method, layer.a, layer.grid(g!), combine, options.relu ?? reluDefault, x.shape, pass.target, pass.scores, warnings);
    } finally {
      g!.dispose();
    }
  } finally {
    layer?.dispose();
    disposePass(pass);
  }
}

/**
 * A class-agnostic CAM from the target layer's activations alone (Eigen-CAM, KPCA-CAM, FEM): records one forward
 * pass, lays the layer out as [N, K, h, w] and combines it; no target, no gradient.
 */
export function activationCam(
  method: string,
  model: Module,
  x: Tensor,
  options: CamOptions & { layer: string },
  combine: CamCombine,
  relu: boolean,
): CamResult {
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const { output, tape } = record(() => model.call(x));
  let layer: CamLayer | null = null;
  try {
    layer = camLayer(method, model, tape, options);
    return buildCam(method, layer.a, null, combine, relu, x.shape, { classes: null, fn: null }, [], warnings);
  } finally {
    layer?.dispose();
    tape.dispose();
    output.dispose();
  }
}
