import { DetectionScores } from '@gradlens/nn';
import type { Module } from '@gradlens/nn';
import { OnnxModel } from '@gradlens/onnx';
import type { MethodContext } from './methods';

/**
 * Whether `model` is a detection model the CLI explains (an ONNX detection graph loaded `unbatched`, an Ultralytics
 * YOLO export run `itemwise`, or nn's native detector as DetectionScores): each picture runs alone, its outputs are
 * its own detections.
 */
export function isDetectionModel(model: Module): boolean {
  return (model instanceof OnnxModel && (model.unbatched || model.itemwise)) || model instanceof DetectionScores;
}

/**
 * Whether the model runs each picture through its graph alone (a detection model): a batch is then item after
 * item, so one recorded pass cannot hold several rows that ops mix or compare.
 */
export function runsPicturesAlone(c: MethodContext): boolean {
  return isDetectionModel(c.model);
}

/**
 * `applies` of the methods that run the picture and its references (or path points) as rows of one recorded batch
 * (DeepLIFT, layer integrated gradients, layer conductance): why they cannot run on such a model, or null.
 */
export function needsStackedRows(c: MethodContext): string | null {
  return runsPicturesAlone(c)
    ? 'it runs the picture and its references as rows of one recorded batch; this model runs each picture through its graph alone (a detection model)'
    : null;
}

/** `applies` of LRP: a detection model's heads (per-box softmax, box decoding) have no relevance rules. */
export function needsClassifierOps(c: MethodContext): string | null {
  if (!runsPicturesAlone(c)) return null;
  return c.model instanceof OnnxModel && c.model.itemwise
    ? "LRP's rules are a classifier's; a YOLO model's SiLU activations and head (distribution-focal box decoding, sigmoid scores) have none"
    : "LRP's rules are a classifier's; a detection model's heads (softmax over each box's classes, box decoding) have none";
}
