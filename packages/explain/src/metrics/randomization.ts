import { assign, Generator, tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { BatchNorm, constant_, Conv2d, defaultLayerInit, Linear, normal_ } from '@gradlens/nn';
import type { Explainer, SaliencyOptions } from './saliency';
import { toSaliencyMap } from './saliency';
import { spearman, ssim } from './stats';

/** Re-initialises the parameters a module owns directly (not its children's), drawing from `generator`. */
export type Reinitializer = (module: Module, path: string, generator: Generator) => void;

export interface RandomizationOptions extends SaliencyOptions {
  /**
   * Module paths to randomise, in order (default: every module that owns parameters, from the output
   * back to the input, i.e. reverse registration order — logits first).
   */
  layers?: readonly string[];
  /** 'cascading' (default): step i randomises layers 0…i; 'independent': only layer i, the rest trained. */
  mode?: 'cascading' | 'independent';
  /** How a layer is re-initialised (default `defaultReinit`). */
  reinit?: Reinitializer;
  /** Seed of the random weights (default 0). */
  seed?: number;
  /** Also compute SSIM between the original and each randomised map (default false). */
  ssim?: boolean;
  /** Called after each randomised map with the number done and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface RandomizationResult {
  /** The layer randomised at each step (cascading: this one and all before it). */
  layers: string[];
  /** Spearman rank correlation between the original map and the map after each step. */
  spearman: number[];
  /** The same on absolute values of the maps (Adebayo et al. report both). */
  spearmanAbs: number[];
  /** SSIM per step, when asked for. */
  ssim: number[] | null;
  /** The original map [H, W] (float32); the caller owns it. */
  original: Tensor;
  /** The map [H, W] after each step (the "sanity strip"); the caller owns them. */
  maps: Tensor[];
}

/**
 * PyTorch's default re-initialisation: Conv2d and Linear get `reset_parameters` (weight and bias
 * U(±1/√fan_in)), BatchNorm1d/2d weight 1 and bias 0 (torchvision's init); any other module's own
 * parameters are redrawn from a normal with the mean and standard deviation the trained values have.
 */
export function defaultReinit(module: Module, _path: string, generator: Generator): void {
  if (module instanceof Conv2d || module instanceof Linear) {
    defaultLayerInit(module.weight, module.bias, generator);
    return;
  }
  if (module instanceof BatchNorm) {
    if (module.weight) constant_(module.weight, 1);
    if (module.bias) constant_(module.bias, 0);
    return;
  }
  for (const [, t] of ownParameters(module)) {
    const v = t.values();
    let m = 0;
    for (let i = 0; i < v.length; i++) m += Number(v[i]);
    m /= v.length || 1;
    let s = 0;
    for (let i = 0; i < v.length; i++) s += (Number(v[i]) - m) ** 2;
    normal_(t, m, Math.sqrt(s / (v.length || 1)), generator);
  }
}

/** Parameters a module owns itself (not its children's). */
function ownParameters(module: Module): [string, Tensor][] {
  return module.namedParameters().filter(([n]) => !n.includes('.'));
}

/** Paths of the modules that own parameters, from the output back to the input (reverse registration order). */
export function parameterLayers(model: Module): string[] {
  return model
    .namedModules()
    .filter(([, m]) => ownParameters(m).length > 0)
    .map(([p]) => p)
    .reverse();
}

/** Runs `fn` and then puts back, bit for bit, every parameter and buffer `model` had before. */
export function withRestoredWeights<T>(model: Module, fn: () => T): T {
  const saved = Object.entries(model.stateDict()).map(([, t]) => [t, t.values().slice()] as const);
  try {
    return fn();
  } finally {
    for (const [t, v] of saved) assign(t, v as ArrayLike<number>);
  }
}

/**
 * Cascading model-parameter randomisation (Adebayo et al. 2018, "Sanity Checks for Saliency Maps",
 * §3.1): re-initialises the layers from the top (logits) down, one more at each step, recomputes the
 * map with `explainer` for `target`, and reports the Spearman rank correlation (with and without
 * absolute values; optionally SSIM) between the original map and each randomised one. A method that
 * depends on the model keeps a correlation near 1 only while nothing it uses is randomised. Maps are
 * reduced to one channel (see `toSaliencyMap`). The original weights and buffers are restored bit for
 * bit afterwards, also on error.
 */
export function modelRandomization(
  model: Module,
  input: Tensor,
  target: number,
  explainer: Explainer,
  options: RandomizationOptions = {},
): RandomizationResult {
  const method = 'modelRandomization';
  // A batch's maps would be read as the channels of one map by toSaliencyMap.
  if (input.rank !== 4 || input.shape[0] !== 1)
    throw new Error(`${method}: expected one image [1, C, H, W], got [${input.shape.join(', ')}]; call it once per image`);
  const layers = options.layers ? [...options.layers] : parameterLayers(model);
  const modules = layers.map((p) => {
    try {
      return model.getModule(p);
    } catch (e) {
      throw new Error(`${method}: ${(e as Error).message}`);
    }
  });
  const reinit = options.reinit ?? defaultReinit;
  const mode = options.mode ?? 'cascading';
  if (mode !== 'cascading' && mode !== 'independent')
    throw new Error(`${method}: mode must be 'cascading' or 'independent', got ${String(mode)}`);
  const explain = () => {
    const raw = explainer(model, input, target);
    try {
      return toSaliencyMap(raw, options);
    } finally {
      raw.dispose();
    }
  };
  const maps: Tensor[] = [];
  let original: Tensor | null = null;
  try {
    return withRestoredWeights(model, () => {
      const base = explain();
      original = tensor(Float32Array.from(base.data), [base.height, base.width]);
      const absBase = base.data.map(Math.abs);
      const rho: number[] = [];
      const rhoAbs: number[] = [];
      const ssims: number[] = [];
      const g = new Generator(options.seed ?? 0);
      const restore = mode === 'independent' ? Object.values(model.stateDict()).map((t) => [t, t.values().slice()] as const) : [];
      modules.forEach((m, i) => {
        if (mode === 'independent') for (const [t, v] of restore) assign(t, v as ArrayLike<number>);
        reinit(m, layers[i]!, g);
        const r = explain();
        if (r.height !== base.height || r.width !== base.width)
          throw new Error(`${method}: the map changed size after randomising '${layers[i]}'`);
        maps.push(tensor(Float32Array.from(r.data), [r.height, r.width]));
        rho.push(spearman(base.data, r.data));
        rhoAbs.push(spearman(absBase, r.data.map(Math.abs)));
        if (options.ssim) ssims.push(ssim(base.data, r.data, r.height, r.width));
        options.onProgress?.(i + 1, modules.length);
      });
      return { layers, spearman: rho, spearmanAbs: rhoAbs, ssim: options.ssim ? ssims : null, original: original!, maps };
    });
  } catch (e) {
    for (const t of maps) t.dispose();
    (original as Tensor | null)?.dispose();
    throw e;
  }
}
