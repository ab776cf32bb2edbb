/**
 * The CAM options every layer CAM method takes on the command line (pytorch-grad-cam's): several
 * target layers averaged (`--layer a,b`), `--aug-smooth` (test-time augmentation) and
 * `--eigen-smooth` (first principal component of the weighted activations). One runner composes
 * them around any CAM function of @gradlens/explain, as pytorch-grad-cam does: augmentation outside,
 * then the layers, then eigen-smooth inside each layer's map.
 */

import { augSmoothCam, disposeResult, eigenSmoothCam, multiLayerCam } from '@gradlens/explain';
import type { CamMethod, CamResult, CombinedCamResult, WeightedActivations } from '@gradlens/explain';
import { tensor } from '@gradlens/tensor';
import type { MethodContext, MethodMaps, MethodSpec } from './methods';
import { camMaps, item0, targetOf } from './method-maps';

/** The CAM options of one run. */
export interface CamChoices {
  /** Target layers; more than one are averaged (each map ReLU'd and min–max scaled first). */
  layers: readonly string[];
  augSmooth: boolean;
  eigenSmooth: boolean;
}

/**
 * How a CAM method weighs its activations, for `--eigen-smooth`: its channel weights, g ⊙ A,
 * ReLU(g) ⊙ A, ReLU(g ⊙ A), or 'principal' for the methods that already are a first principal
 * component (Eigen-CAM, Eigen-Grad-CAM: eigen-smooth changes nothing, as in pytorch-grad-cam).
 */
export type EigenKind = 'channel' | 'product' | 'positive-gradient' | 'positive-product' | 'principal';

/** A layer CAM method as the runner composes it: its library function (with the run's extra options bound) and its eigen-smooth kind. */
export interface CamRecipe {
  fn: (c: MethodContext) => CamMethod;
  eigen: EigenKind;
}

/** A layer CAM method: runs its recipe with the context's CAM options. */
export function camMethod(spec: Omit<MethodSpec, 'kind' | 'usesLayer' | 'run' | 'cam'> & { cam: CamRecipe }): MethodSpec {
  return { ...spec, kind: 'cam', usesLayer: true, run: (c) => runCam(c, spec.cam) };
}

/** True when `choices` ask for anything beyond one layer's plain map. */
export function camChoicesActive(choices: CamChoices | undefined): boolean {
  return choices !== undefined && (choices.layers.length > 1 || choices.augSmooth || choices.eigenSmooth);
}

function weighted(kind: Exclude<EigenKind, 'principal'>, base: CamMethod): WeightedActivations {
  return kind === 'channel' ? { kind, camFn: base } : { kind };
}

/** A combined map as a CamResult, so that augmentation can wrap the layers' average (both tensors owned). */
function asCamResult(r: CombinedCamResult): CamResult {
  const copy = tensor(Float32Array.from(r.map.dataSync()), r.map.shape, r.map.dtype);
  return { map: copy, upsampled: r.map, weights: null, classes: r.classes, scores: r.scores, warnings: r.warnings };
}

/** How many times a combined run calls the CAM method: once per layer and augmentation. */
export function camCalls(choices: CamChoices | undefined): number {
  return Math.max(1, choices?.layers.length ?? 1) * (choices?.augSmooth ? 6 : 1);
}

/**
 * One progress line over the `calls` runs of a combined map: the inputs done so far against the
 * first run's total times the runs (exact when every layer has as many channels).
 */
function chainedProgress(report: (done: number, total: number) => void, calls: number): (done: number, total: number) => void {
  let finished = 0;
  let firstTotal = 0;
  let last = { done: 0, total: 0 };
  return (done, total) => {
    if (done < last.done || (last.total > 0 && total !== last.total)) finished += last.total;
    if (firstTotal === 0) firstTotal = total;
    last = { done, total };
    const all = Math.max(firstTotal * calls, finished + total);
    report(Math.min(all, finished + done), all);
  };
}

/** Runs a layer CAM method with the context's CAM options; returns its maps (a combined map is at input size, in [0, 1]). */
export function runCam(context: MethodContext, recipe: CamRecipe): MethodMaps {
  const choices = context.camOptions;
  const calls = camCalls(choices);
  const c = calls > 1 && context.onProgress ? { ...context, onProgress: chainedProgress(context.onProgress, calls) } : context;
  const base = recipe.fn(c);
  const target = targetOf(c);
  const notes: string[] = [];
  let fn: CamMethod = base;
  if (choices?.eigenSmooth) {
    if (recipe.eigen === 'principal') notes.push('already a first principal component: --eigen-smooth changes nothing');
    else {
      const how = weighted(recipe.eigen, base);
      fn = (m, x, o) => eigenSmoothCam(m, x, how, o);
      notes.push('eigen-smooth');
    }
  }
  const layers = choices && choices.layers.length > 0 ? choices.layers : [c.layer];
  if (layers.length === 1 && !choices?.augSmooth)
    return { ...camMaps(fn(c.model, c.input, { target, layer: layers[0], onWarning: c.onWarning })), notes };
  let combined: (o: { target: typeof target; onWarning: (m: string) => void }) => CombinedCamResult;
  if (layers.length > 1) {
    notes.push(`mean of ${layers.length} layers (${layers.join(', ')})`);
    const perLayer = fn;
    const multi: CamMethod = (m, x, o) => asCamResult(multiLayerCam(perLayer, m, x, { ...o, layers }));
    combined = choices?.augSmooth
      ? (o) => augSmoothCam(multi, c.model, c.input, o)
      : (o) => multiLayerCam(perLayer, c.model, c.input, { ...o, layers });
  } else {
    combined = (o) => augSmoothCam(fn, c.model, c.input, { ...o, layer: layers[0] });
  }
  if (choices?.augSmooth) notes.push('aug-smooth (6 flips × scales)');
  const r = combined({ target, onWarning: c.onWarning });
  try {
    const m = item0(r.map);
    return { kind: 'cam', raw: m, upsampled: m, target: r.classes?.[0] ?? null, notes };
  } finally {
    disposeResult(r);
  }
}
