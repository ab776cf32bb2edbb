import { Generator, noGrad, record, tensor, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { Adam, observeModuleCalls, SGD } from '@gradlens/nn';
import type { Optimizer, Module } from '@gradlens/nn';
import { IMAGENET_MEAN, IMAGENET_STD, recreateImage, writeImage } from '@gradlens/io';
import type { RgbImage } from '@gradlens/io';
import { fourierParam } from './parametrization';
import type { ImageParam, ImageParametrization } from './parametrization';

/**
 * The machinery every feature-visualisation method shares: an image [1, 3, H, W] in the model's
 * normalised input space, optimised in place by an optimiser on its pixels, with regularisers that
 * act on the pixel values between steps, progress and PNG frames.
 */

/** How the pixels are updated from the gradient of the loss. */
export type PixelOptimizer = 'adam' | 'sgd' | 'normalized';

/** Options every feature-visualisation method takes. */
export interface FeatureVisOptions {
  /** Number of update steps. */
  steps?: number;
  /** Learning rate (step size for 'normalized'). */
  lr?: number;
  /**
   * 'adam' and 'sgd' are nn's optimisers (torch's update formulas) on the pixels; 'normalized' is the
   * gradient ascent of DeepDream: x ← x − lr · g / mean|g|.
   */
  optimizer?: PixelOptimizer;
  /** SGD momentum (default 0). */
  momentum?: number;
  /** L2 weight decay on the pixels, inside the optimiser as torch's `weight_decay` (adam and sgd). */
  weightDecay?: number;
  /** Multiply the learning rate by `factor` every `every` steps (the inversion script's 1/10 every 40). */
  lrDecay?: { every: number; factor: number };
  /** Keep every pixel inside the picture range [0, 1] after de-normalisation (default true). */
  clampPixels?: boolean;
  /** Random shift of up to this many pixels (both axes, wrap-around) before each forward pass (default 0). */
  jitter?: number;
  /**
   * What the optimiser updates: the pixels, or Olah et al.'s decorrelated frequency basis ('fourier':
   * 1/f-scaled spatial frequencies, decorrelated colours, a sigmoid into the picture range). Each
   * method says its default.
   */
  parametrization?: ImageParametrization;
  /** Exponent of the 1/f scaling of the 'fourier' parametrisation (default 1; 0 gives a plain orthonormal basis). */
  spectrumDecay?: number;
  /** Channel means of the model's normalisation (default ImageNet's). */
  mean?: readonly number[];
  /** Channel standard deviations of the model's normalisation (default ImageNet's). */
  std?: readonly number[];
  /** Seed of the random initial image and of the jitter (default 0). */
  seed?: number;
  /** Called after each step with the step number (1-based) and the loss that step minimised. */
  onProgress?: (step: number, loss: number) => void;
  /**
   * Called every `frameEvery` steps and after the last one with the current image [3, H, W] in the
   * normalised space; the tensor is freed when the callback returns (copy it to keep it).
   */
  onFrame?: (step: number, image: Tensor) => void;
  /** Writes `<framePrefix>-<step>.png` (the de-normalised picture) here every `frameEvery` steps and after the last. */
  framesDir?: string;
  /** Frame interval in steps (default 10). */
  frameEvery?: number;
  /** File name prefix of the frames (default: the method's name). */
  framePrefix?: string;
}

/** What every feature-visualisation method returns; the caller owns (and disposes) `image`. */
export interface FeatureVisResult {
  /** The final image [3, H, W] in the model's normalised input space (use `visualizationToPicture` to see it). */
  image: Tensor;
  /** The loss minimised at each step (before that step's update), one per step. */
  losses: number[];
  /** The quantity of interest at each step before the update (activation, logit, feature distance…). */
  objective: number[];
  /** The loss and the quantity of interest of the final image. */
  finalLoss: number;
  finalObjective: number;
  /** Paths of the PNG frames written to `framesDir`. */
  frames: string[];
}

/** A loss to minimise for the image `x` [1, 3, H, W], and the quantity the method reports. */
export type ImageObjective = (x: Tensor) => { loss: Tensor; value: Tensor };

/** Pixel-space hooks a method adds around each step (all values are the normalised image, CHW). */
export interface StepHooks {
  /** Before the forward pass of step `step` (1-based): may change the pixels (blur). */
  before?: (pixels: Float32Array, step: number) => void;
  /** Gets the gradient before the optimiser sees it; may change it (gradient clipping). */
  gradient?: (grad: Float32Array, pixels: Float32Array, step: number) => void;
  /** After the optimiser's update (decay, pixel clipping). */
  after?: (pixels: Float32Array, grad: Float32Array, step: number) => void;
}

/** Normalised-space bounds [lo, hi] of each channel for pixel values 0 and 1. */
export function channelBounds(mean: readonly number[], std: readonly number[]): { lo: number[]; hi: number[] } {
  return { lo: mean.map((m, c) => (0 - m) / (std[c] ?? 1)), hi: mean.map((m, c) => (1 - m) / (std[c] ?? 1)) };
}

/** Checks the input size option and returns [H, W]. */
export function sizeOf(method: string, size: number | readonly [number, number] | undefined, fallback: number): [number, number] {
  const s: readonly number[] = size === undefined ? [fallback, fallback] : typeof size === 'number' ? [size, size] : size;
  if (s.length !== 2 || s.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`${method}: size must be a positive integer or [height, width], got ${JSON.stringify(size)}`);
  }
  return [s[0]!, s[1]!];
}

/**
 * A random image [3·H·W] (CHW) in the normalised space: pixel values uniform in [low, high] (0…1
 * picture range) from a seeded generator, normalised with mean and std.
 */
export function randomImage(
  h: number,
  w: number,
  low: number,
  high: number,
  mean: readonly number[],
  std: readonly number[],
  g: Generator,
): Float32Array {
  const n = h * w;
  const out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < n; p++) out[c * n + p] = (low + (high - low) * g.uniform() - mean[c]!) / std[c]!;
  }
  return out;
}

/** A normalised image [3, H, W] or [1, 3, H, W], checked, as a copy of its values and its size. */
export function imageValues(method: string, image: Tensor): { values: Float32Array; h: number; w: number } {
  const s = image.shape;
  const chw = s.length === 4 && s[0] === 1 ? s.slice(1) : s;
  if (chw.length !== 3 || chw[0] !== 3) {
    throw new Error(`${method}: expected an image [3, H, W] or [1, 3, H, W] in the model's normalised space, got [${s.join(', ')}]`);
  }
  return { values: Float32Array.from(image.dataSync()), h: chw[1]!, w: chw[2]! };
}

/** Gaussian blur of each channel of a CHW image in place (separable, edges replicated). */
export function gaussianBlur(pixels: Float32Array, channels: number, h: number, w: number, sigma: number): void {
  if (!(sigma > 0)) return;
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float64Array(2 * radius + 1);
  let total = 0;
  for (let i = -radius; i <= radius; i++) total += kernel[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < kernel.length; i++) kernel[i] = kernel[i]! / total;
  const tmp = new Float64Array(h * w);
  const clampTo = (v: number, n: number) => (v < 0 ? 0 : v >= n ? n - 1 : v);
  for (let c = 0; c < channels; c++) {
    const off = c * h * w;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) acc += kernel[k + radius]! * pixels[off + y * w + clampTo(x + k, w)]!;
        tmp[y * w + x] = acc;
      }
    }
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) acc += kernel[k + radius]! * tmp[clampTo(y + k, h) * w + x]!;
        pixels[off + y * w + x] = acc;
      }
    }
  }
}

/** Rolls each channel of a CHW image by (dy, dx) with wrap-around into a new array. */
function roll(pixels: Float32Array, h: number, w: number, dy: number, dx: number): Float32Array {
  const out = new Float32Array(pixels.length);
  const n = h * w;
  for (let c = 0; c < pixels.length / n; c++) {
    for (let y = 0; y < h; y++) {
      const ty = (((y + dy) % h) + h) % h;
      for (let x = 0; x < w; x++) out[c * n + ty * w + ((((x + dx) % w) + w) % w)] = pixels[c * n + y * w + x]!;
    }
  }
  return out;
}

/**
 * The activation (output) of module `layer` of `model` for `x`: runs the model only as far as it
 * must — up to the last call of that module — so visualising an early layer of a large network does
 * not pay for the rest. Call it inside `record` to differentiate through it. With `side` 'input' it
 * returns what the module was given instead (a ReLU's pre-activation).
 */
export function layerOutput(
  method: string,
  model: Module,
  layer: string,
  x: Tensor,
  calls: number,
  side: 'output' | 'input' = 'output',
): Tensor {
  const target = findModule(method, model, layer);
  let seen = 0;
  const found: { t: Tensor | null } = { t: null };
  try {
    observeModuleCalls(
      (m, input, y) => {
        if (m !== target) return;
        found.t = side === 'input' ? input : y;
        seen++;
        if (seen === calls) throw STOP;
      },
      () => model.call(x),
    );
  } catch (e) {
    if (e !== STOP) throw e;
  }
  if (!found.t) throw new Error(`${method}: module '${layer}' did not run in the forward pass`);
  return found.t;
}

const STOP = Symbol('stop at layer');

/** The module at `layer`, or an error naming the method and the valid paths. */
export function findModule(method: string, model: Module, layer: string): Module {
  try {
    return model.getModule(layer);
  } catch (e) {
    throw new Error(`${method}: ${(e as Error).message}`);
  }
}

/**
 * An error of the model's own forward pass (not one of `method`'s checks) with what was fed to it: the
 * pictures optimised here are RGB [1, 3, H, W], which a 1-channel or non-image model cannot take.
 */
export function forwardError(method: string, x: Tensor, e: unknown): Error {
  const message = e instanceof Error ? e.message : String(e);
  if (message.startsWith(`${method}:`)) return e instanceof Error ? e : new Error(message);
  return new Error(
    `${method}: the model failed on the picture [${x.shape.join(', ')}] it is given (feature visualisation optimises RGB images in the normalised space): ${message}`,
  );
}

/** How many times module `layer` runs in one forward pass of `x` (a module can be reused, as ResNet's ReLU). */
export function countCalls(method: string, model: Module, layer: string, x: Tensor): number {
  const target = findModule(method, model, layer);
  let calls = 0;
  try {
    noGrad(() =>
      tidy(() => {
        observeModuleCalls(
          (m) => {
            if (m === target) calls++;
          },
          () => model.call(x),
        );
      }),
    );
  } catch (e) {
    throw forwardError(method, x, e);
  }
  if (calls === 0) throw new Error(`${method}: module '${layer}' did not run in the forward pass of ${model.constructor.name}`);
  return calls;
}

/** Returns the 8-bit RGB picture (HWC) of a normalised image [3, H, W] or [1, 3, H, W]: de-normalised, clipped, rounded. */
export function visualizationToPicture(image: Tensor, options: { mean?: readonly number[]; std?: readonly number[] } = {}): RgbImage {
  const { values, h, w } = imageValues('visualizationToPicture', image);
  return recreateImage({ dtype: 'float32', shape: [3, h, w], data: values }, options.mean ?? IMAGENET_MEAN, options.std ?? IMAGENET_STD);
}

function checkPositiveInt(method: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${method}: ${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * Minimises `objective` over the pixels of an image that starts at `init` (CHW, normalised) and
 * returns the result; `defaults` are the method's own defaults for the shared options.
 */
export function optimizeImage(
  method: string,
  init: Float32Array,
  h: number,
  w: number,
  objective: ImageObjective,
  options: FeatureVisOptions,
  defaults: {
    steps: number;
    lr: number;
    optimizer: PixelOptimizer;
    weightDecay?: number;
    momentum?: number;
    parametrization?: ImageParametrization;
  },
  hooks: StepHooks = {},
): FeatureVisResult {
  const steps = checkPositiveInt(method, 'steps', options.steps ?? defaults.steps);
  const lr0 = options.lr ?? defaults.lr;
  if (!(lr0 > 0) || !Number.isFinite(lr0)) throw new Error(`${method}: lr must be a positive number, got ${lr0}`);
  const kind = options.optimizer ?? defaults.optimizer;
  if (kind !== 'adam' && kind !== 'sgd' && kind !== 'normalized') {
    throw new Error(`${method}: optimizer must be 'adam', 'sgd' or 'normalized', got ${JSON.stringify(kind)}`);
  }
  const frameEvery = checkPositiveInt(method, 'frameEvery', options.frameEvery ?? 10);
  const mean = options.mean ?? IMAGENET_MEAN;
  const std = options.std ?? IMAGENET_STD;
  if (mean.length !== 3 || std.length !== 3)
    throw new Error(`${method}: mean and std need 3 values (RGB), got ${mean.length} and ${std.length}`);
  const { lo, hi } = channelBounds(mean, std);
  const clampPixels = options.clampPixels ?? true;
  const jitter = Math.max(0, Math.floor(options.jitter ?? 0));
  const g = new Generator((options.seed ?? 0) + 0x5eed);
  const n = h * w;
  const prefix = options.framePrefix ?? method;
  const frames: string[] = [];

  const x = tensor(init, [1, 3, h, w], 'float32');
  // The one writer outside `assign`: this loop made x on the host (no device copy to go stale) and
  // owns it, and its hooks and update rules work on the pixel array in place.
  const pixels = x.values() as Float32Array;
  // With a parametrisation the optimiser updates p and the pixels follow (p is x itself for 'pixel').
  const param = parametrizationOf(method, options, defaults.parametrization, h, w, mean, std);
  const p = param ? tensor(param.fromPixels(pixels), [1, param.size], 'float32') : x;
  const pv = param ? (p.values() as Float32Array) : pixels;
  const gradP = param ? new Float32Array(param.size) : null;
  /** After a hook changed the pixels: the parameters that give them. */
  const resync = () => {
    if (param) pv.set(param.fromPixels(pixels));
  };
  const weightDecay = options.weightDecay ?? defaults.weightDecay ?? 0;
  const momentum = options.momentum ?? defaults.momentum ?? 0;
  const opt: Optimizer | null =
    kind === 'adam' ? new Adam([p], { lr: lr0, weightDecay }) : kind === 'sgd' ? new SGD([p], { lr: lr0, weightDecay, momentum }) : null;
  const clamp = () => {
    // A parametrisation's sigmoid keeps the picture in range already.
    if (!clampPixels || param) return;
    for (let c = 0; c < 3; c++) {
      for (let p = c * n; p < (c + 1) * n; p++) pixels[p] = Math.min(hi[c]!, Math.max(lo[c]!, pixels[p]!));
    }
  };
  const evaluate = (withGrad: boolean, step: number): { loss: number; value: number; grad: Float32Array | null } => {
    const dy = jitter && withGrad ? g.int(2 * jitter + 1) - jitter : 0;
    const dx = jitter && withGrad ? g.int(2 * jitter + 1) - jitter : 0;
    const shifted = dy !== 0 || dx !== 0;
    const input = shifted ? tensor(roll(pixels, h, w, dy, dx), [1, 3, h, w], 'float32') : x;
    const run = (t: Tensor) => {
      try {
        return objective(t);
      } catch (e) {
        throw forwardError(method, t, e);
      }
    };
    try {
      if (!withGrad) {
        return noGrad(() => {
          let r = { loss: 0, value: 0 };
          tidy(() => {
            const o = run(input);
            r = { loss: o.loss.item(), value: o.value.item() };
          });
          return { ...r, grad: null };
        });
      }
      const { output, tape } = record(() => run(input));
      try {
        if (tape.nodes.length === 0) {
          throw new Error(`${method}: nothing was recorded; it cannot run inside noGrad(), which turns off the gradients it ascends`);
        }
        const loss = output.loss.item();
        if (!Number.isFinite(loss)) throw new Error(`${method}: the loss became ${loss} at step ${step}; lower lr`);
        const [gt] = tape.grad(output.loss, [input]);
        const raw = Float32Array.from(gt!.dataSync());
        gt!.dispose();
        return { loss, value: output.value.item(), grad: shifted ? roll(raw, h, w, -dy, -dx) : raw };
      } finally {
        tape.dispose();
        output.loss.dispose();
        output.value.dispose();
      }
    } finally {
      if (shifted) input.dispose();
    }
  };
  const emitFrame = (step: number) => {
    if (!options.onFrame && !options.framesDir) return;
    const image = tensor(pixels, [3, h, w], 'float32');
    try {
      options.onFrame?.(step, image);
      if (options.framesDir) {
        // writeImage creates the folder; a plain join keeps this file free of Node's path (browsers).
        const file = `${options.framesDir.replace(/\/+$/, '')}/${prefix}-${String(step).padStart(4, '0')}.png`;
        writeImage(file, recreateImage({ dtype: 'float32', shape: [3, h, w], data: pixels }, mean, std));
        frames.push(file);
      }
    } finally {
      image.dispose();
    }
  };

  const losses: number[] = [];
  const values: number[] = [];
  try {
    param?.toPixels(pv, pixels);
    clamp();
    emitFrame(0);
    for (let step = 1; step <= steps; step++) {
      if (options.lrDecay && step > 1 && (step - 1) % options.lrDecay.every === 0) {
        if (opt) opt.lr *= options.lrDecay.factor;
      }
      const lr = options.lrDecay ? lr0 * options.lrDecay.factor ** Math.floor((step - 1) / options.lrDecay.every) : lr0;
      if (hooks.before) {
        hooks.before(pixels, step);
        resync();
      }
      const { loss, value, grad } = evaluate(true, step);
      losses.push(loss);
      values.push(value);
      hooks.gradient?.(grad!, pixels, step);
      const g = param ? (param.backward(pv, grad!, gradP!), gradP!) : grad!;
      if (opt) {
        const gt = tensor(g, p.shape, 'float32');
        try {
          opt.step([gt]);
        } finally {
          gt.dispose();
        }
      } else {
        let s = 0;
        for (let i = 0; i < g.length; i++) s += Math.abs(g[i]!);
        const scale = lr / (s / g.length + 1e-12);
        for (let i = 0; i < pv.length; i++) pv[i] = pv[i]! - scale * g[i]!;
      }
      param?.toPixels(pv, pixels);
      if (hooks.after) {
        hooks.after(pixels, grad!, step);
        resync();
      }
      clamp();
      options.onProgress?.(step, loss);
      if (step % frameEvery === 0 || step === steps) emitFrame(step);
    }
    const final = evaluate(false, steps + 1);
    return {
      image: tensor(pixels, [3, h, w], 'float32'),
      losses,
      objective: values,
      finalLoss: final.loss,
      finalObjective: final.value,
      frames,
    };
  } finally {
    x.dispose();
    if (param) p.dispose();
  }
}

/** The parametrisation the options ask for (null: the pixels themselves), checked. */
function parametrizationOf(
  method: string,
  options: FeatureVisOptions,
  fallback: ImageParametrization | undefined,
  h: number,
  w: number,
  mean: readonly number[],
  std: readonly number[],
): ImageParam | null {
  const kind = options.parametrization ?? fallback ?? 'pixel';
  if (kind === 'pixel') return null;
  if (kind !== 'fourier') throw new Error(`${method}: parametrization must be 'pixel' or 'fourier', got ${JSON.stringify(kind)}`);
  const decay = options.spectrumDecay ?? 1;
  if (!(decay >= 0 && decay <= 4)) throw new Error(`${method}: spectrumDecay must be in [0, 4], got ${decay}`);
  return fourierParam(h, w, mean, std, decay);
}

/** Runs `fn` on a temporary [1, 3, H, W] tensor of `values`, freed afterwards. */
export function withImage<T>(values: Float32Array, h: number, w: number, fn: (x: Tensor) => T): T {
  const x = tensor(values, [1, 3, h, w], 'float32');
  try {
    return fn(x);
  } finally {
    x.dispose();
  }
}

/** countCalls on a temporary image of `values` (CHW). */
export function countCallsOn(method: string, model: Module, layer: string, values: Float32Array, h: number, w: number): number {
  return withImage(values, h, w, (x) => countCalls(method, model, layer, x));
}
