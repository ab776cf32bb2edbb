/**
 * What the page lists for a picture and what its target means, by the model's output: class scores [1, K] (the
 * top-5 by softmax), a segmentation map [1, K, H, W] (the classes predicted on most pixels; a target is a class's
 * logits summed over its predicted pixels, the CLI's resolveMapTargets), or a detection model's scores (its
 * detections, the CLI's reading of their labels and boxes; detection k is output k).
 */
import type { OnnxModel } from '@gradlens/onnx';
import { boxToPicture } from '@gradlens/io';
import type { PictureFrame } from '@gradlens/io';
import { describeDetection, detections } from '../../../cli/src/detections';
import { predictedClasses, resolveMapTargets } from '../../../cli/src/map-targets';
import type { ModelOutput } from '../../../cli/src/model-output';
import type { ResolvedTarget } from '../../../cli/src/target-types';
import type { Listing, PredictionRow } from '../protocol';
import type { YoloDetection, YoloLayout } from '@gradlens/onnx';
import { describeYolo } from '../../../cli/src/yolo';

/** What the prediction panel shows for one picture. */
export interface Prediction {
  listing: Listing;
  top: PredictionRow[];
  targets: { index: number; label: string }[];
  defaultTarget: string;
}

const ROWS = 5;

/**
 * The prediction for the model's output `out` (item 0) on a picture; `detector` for a detection model (its last call),
 * its boxes moved into the original picture's pixels through `frame` (where the model input lies in it).
 */
export function predict(out: ModelOutput, classes: readonly string[], detector: OnnxModel | null, frame?: PictureFrame): Prediction {
  if (detector) return detectionPrediction(detector, frame);
  if (out.shape.length === 4) return pixelPrediction(out, classes);
  if (out.shape.length !== 2)
    throw new Error(`the model's output has shape [${out.shape.join(', ')}], neither class scores [N, K] nor a map [N, K, H, W]`);
  return classPrediction(out.values, classes);
}

const nameOf = (classes: readonly string[], c: number): string => classes[c] ?? `class ${c}`;

function classPrediction(logits: Float32Array, classes: readonly string[]): Prediction {
  const max = Math.max(...logits);
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const total = exps.reduce((a, b) => a + b, 0);
  const top: PredictionRow[] = [...logits.keys()]
    .sort((a, b) => logits[b]! - logits[a]! || a - b)
    .slice(0, ROWS)
    .map((index) => ({ kind: 'class', index, name: nameOf(classes, index), probability: exps[index]! / total, logit: logits[index]! }));
  const targets = Array.from(logits, (_, i) => ({ index: i, label: `${i}: ${nameOf(classes, i)}` }));
  return { listing: 'classes', top, targets, defaultTarget: `top class (${top[0]?.name ?? '?'})` };
}

function pixelPrediction(out: ModelOutput, classes: readonly string[]): Prediction {
  const { counts } = predictedClasses(out);
  const hw = out.shape[2]! * out.shape[3]!;
  const predicted = [...counts.keys()].filter((c) => counts[c]! > 0).sort((a, b) => counts[b]! - counts[a]! || a - b);
  const top: PredictionRow[] = predicted
    .slice(0, ROWS)
    .map((index) => ({ kind: 'pixels', index, name: nameOf(classes, index), share: counts[index]! / hw, pixels: counts[index]! }));
  // only the classes some pixel is predicted as: the others have no pixels to sum over
  const targets = predicted.map((c) => ({ index: c, label: `${c}: ${nameOf(classes, c)} (${counts[c]} pixels)` }));
  const first = mapTarget(out, null, classes).mapClass!;
  return { listing: 'pixels', top, targets, defaultTarget: `most pixels apart from background (${nameOf(classes, first)})` };
}

function detectionPrediction(model: OnnxModel, frame: PictureFrame | undefined): Prediction {
  const found = detections(model).map((d) => (frame && d.box ? { ...d, box: boxToPicture(d.box, frame) } : d));
  const top: PredictionRow[] = found.map((d, index) => ({
    kind: 'detection',
    index,
    name: d.label === null ? `detection ${index}` : `label ${d.label}`,
    label: d.label,
    score: d.score,
    box: d.box,
  }));
  const targets = found.map((d, i) => ({ index: i, label: `${i}: ${describeDetection(d)}` }));
  const best = found.reduce((b, d, i) => (d.score > found[b]!.score ? i : b), 0);
  return {
    listing: 'detections',
    top,
    targets,
    defaultTarget: found.length === 0 ? 'no detection' : `top score (detection ${best})`,
  };
}

/** The prediction of a YOLO model: its detections (Ultralytics' postprocess) best first, boxes in the picture's pixels. */
export function yoloPrediction(found: readonly YoloDetection[], layout: YoloLayout): Prediction {
  const top: PredictionRow[] = found.map((d, index) => ({
    kind: 'detection',
    index,
    name: layout.names?.[d.cls] ?? `class ${d.cls}`,
    label: d.cls,
    score: d.score,
    box: [...(d.original ?? d.box)],
  }));
  const targets = found.map((d, i) => ({ index: i, label: `${i}: ${describeYolo(d, layout)}` }));
  return { listing: 'detections', top, targets, defaultTarget: found.length === 0 ? 'no detection' : 'top score (detection 0)' };
}

/**
 * The target on a segmentation map, as `gradlens explain` resolves it without a mask: `target` a class (its logits
 * summed over the pixels predicted as it), null the class predicted on most pixels apart from background.
 */
export function mapTarget(out: ModelOutput, target: number | null, classes: readonly string[]): ResolvedTarget {
  const k = out.shape[1]!;
  // numbered classes (`class 3`) are no names
  const label = (c: number): string => (classes[c] === undefined || classes[c] === `class ${c}` ? String(c) : `${c} (${classes[c]})`);
  const classIndex = (ref: number | string): number => {
    if (typeof ref !== 'number' || ref < 0 || ref >= k) throw new Error(`class ${ref} is out of range: the model has ${k} classes`);
    return ref;
  };
  return resolveMapTargets(target === null ? { kind: 'top1' } : { kind: 'classes', classes: [target] }, out, label, classIndex)[0]!;
}

/**
 * The gradient of a map target with respect to the output [1, K, H, W], the seed of the tape's backward walk: 1 at
 * class `c`'s logits on the pixels predicted as `c`, 0 elsewhere.
 */
export function mapSeed(out: ModelOutput, c: number): Float32Array {
  const hw = out.shape[2]! * out.shape[3]!;
  const { pred } = predictedClasses(out);
  const seed = new Float32Array(out.values.length);
  for (let p = 0; p < hw; p++) if (pred[p] === c) seed[c * hw + p] = 1;
  return seed;
}
