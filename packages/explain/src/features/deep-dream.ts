import { interpolate, mean, mul, neg, slice, square } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { ReLU, ReLU6 } from '@gradlens/nn';
import type { Module } from '@gradlens/nn';
import { resizeFloat } from '@gradlens/io';
import type { FeatureVisOptions, FeatureVisResult } from './common';
import { countCallsOn, findModule, imageValues, layerOutput, optimizeImage } from './common';

export interface DeepDreamOptions extends FeatureVisOptions {
  /** Module path of the layer whose activation is amplified. */
  layer: string;
  /**
   * Amplify one filter (maximise its mean activation, as the reference project's deep_dream.py)
   * instead of the whole layer's activation norm (Mordvintsev et al. 2015, the default).
   */
  filter?: number;
  /**
   * With `filter` on a ReLU layer, maximise the mean of the ReLU's input (default true): a filter
   * silent on the picture has a zero output and a zero gradient, so the reference objective leaves
   * the picture as it was. `false` keeps the reference's objective.
   */
  preActivation?: boolean;
  /**
   * Number of scales (octaves) dreamed from the smallest up (default 3): patterns grown at a coarse
   * scale come out larger than the receptive field of the layer (Mordvintsev et al. 2015). 1: one scale.
   */
  octaves?: number;
  /** Size ratio between successive octaves (default 1.4). */
  octaveScale?: number;
  /**
   * Feed the model every octave at the picture's own size [H, W]: the octave's smaller picture is
   * resized to it (bilinear, on the tape) before the model sees it, so the ascent still shapes the
   * coarse picture. For models with a fixed input size, such as a vision transformer, whose position
   * embedding takes one number of patches (default false: each octave is fed at its own size).
   */
  fixedInputSize?: boolean;
}

/** Each channel of a CHW image (h×w) resized to oh×ow, bilinear. */
function resizeChw(v: Float32Array, h: number, w: number, oh: number, ow: number): Float32Array {
  if (h === oh && w === ow) return Float32Array.from(v);
  const out = new Float32Array(3 * oh * ow);
  for (let c = 0; c < 3; c++) out.set(resizeFloat(v.subarray(c * h * w, (c + 1) * h * w), w, h, ow, oh), c * oh * ow);
  return out;
}

/**
 * DeepDream (Mordvintsev, Olah & Tyka 2015): gradient ascent on a real image (normalised [3, H, W]
 * or [1, 3, H, W], not changed) of ½·mean(A²) of the layer's activation A — or, with `filter`, of the
 * filter's mean activation (its pre-activation on a ReLU layer). Over `octaves` scales, smallest
 * first, the detail dreamed at one scale is enlarged and added to the picture at the next.
 * Defaults: 3 octaves 1.4 apart, 20 normalised gradient steps per octave (x ← x + lr·g/mean|g|),
 * lr 0.05, jitter 2 px, pixels kept in the picture range. Returns the dreamed image [3, H, W];
 * `objective` and `losses` hold every step of every octave, `finalObjective` is at full size.
 */
export function deepDream(model: Module, image: Tensor, options: DeepDreamOptions): FeatureVisResult {
  const method = 'deepDream';
  const { values, h, w } = imageValues(method, image);
  const calls = countCallsOn(method, model, options.layer, values, h, w);
  const f = options.filter;
  const octaves = options.octaves ?? 3;
  const ratio = options.octaveScale ?? 1.4;
  if (!Number.isInteger(octaves) || octaves < 1) throw new Error(`${method}: octaves must be a positive integer, got ${octaves}`);
  if (!(ratio > 1) || !Number.isFinite(ratio)) throw new Error(`${method}: octaveScale must be a number above 1, got ${ratio}`);
  const module = findModule(method, model, options.layer);
  const side =
    f !== undefined && (options.preActivation ?? true) && (module instanceof ReLU || module instanceof ReLU6) ? 'input' : 'output';
  // a fixed-size model sees each octave's picture resized to the full size
  const fed = (x: Tensor): Tensor =>
    options.fixedInputSize && (x.shape[2] !== h || x.shape[3] !== w) ? interpolate(x, { size: [h, w], mode: 'bilinear' }) : x;
  const objective = (x: Tensor) => {
    const act = layerOutput(method, model, options.layer, fed(x), calls, side);
    let value: Tensor;
    if (f === undefined) {
      value = mul(mean(square(act)), 0.5);
    } else {
      const channels = act.shape[1] ?? 0;
      if (act.rank < 2 || !Number.isInteger(f) || f < 0 || f >= channels) {
        throw new Error(`${method}: filter ${f} is out of range for layer '${options.layer}' of shape [${act.shape.join(', ')}]`);
      }
      value = mean(slice(act, 1, f, f + 1));
    }
    return { loss: neg(value), value };
  };
  const defaults = { steps: 20, lr: 0.05, optimizer: 'normalized' as const };
  const opts = { ...options, jitter: options.jitter ?? 2 };
  const sizes: [number, number][] = [];
  for (let o = octaves - 1; o >= 0; o--) sizes.push([Math.max(1, Math.round(h / ratio ** o)), Math.max(1, Math.round(w / ratio ** o))]);
  let detail: Float32Array | null = null;
  let prev: [number, number] = sizes[0]!;
  const losses: number[] = [];
  const objectiveAll: number[] = [];
  const frames: string[] = [];
  let last: FeatureVisResult | null = null;
  for (const [oh, ow] of sizes) {
    const base = resizeChw(values, h, w, oh, ow);
    if (detail) {
      const up = resizeChw(detail, prev[0], prev[1], oh, ow);
      for (let i = 0; i < base.length; i++) base[i] = base[i]! + up[i]!;
    }
    last?.image.dispose();
    const full = oh === h && ow === w;
    const r = optimizeImage(method, base, oh, ow, objective, full ? opts : { ...opts, framesDir: undefined, onFrame: undefined }, defaults);
    last = r;
    losses.push(...r.losses);
    objectiveAll.push(...r.objective);
    frames.push(...r.frames);
    // The detail this octave added over the plain picture at its size.
    const dreamed = Float32Array.from(r.image.dataSync());
    const plain = resizeChw(values, h, w, oh, ow);
    for (let i = 0; i < dreamed.length; i++) dreamed[i] = dreamed[i]! - plain[i]!;
    detail = dreamed;
    prev = [oh, ow];
  }
  return { ...last!, losses, objective: objectiveAll, frames };
}
