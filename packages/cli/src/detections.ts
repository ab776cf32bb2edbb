/**
 * A detection ONNX model's outputs (torchvision's export examples: boxes, labels, scores), kept free of Node's modules
 * so that the web page reads them as the CLI does.
 */
import type { OnnxModel } from '@gradlens/onnx';

/**
 * Whether a graph's outputs are a detection model's as torchvision's export examples name them (boxes, labels,
 * scores): the CLI then explains its detections' scores, detection k as class k.
 */
export function isDetectionOutputs(names: readonly string[]): boolean {
  return names.includes('boxes') && names.includes('scores');
}

/** One detection of the last call: its label (when the graph gives labels), score and box [x1, y1, x2, y2] (when it gives boxes). */
export interface Detection {
  label: number | null;
  score: number;
  box: number[] | null;
}

/** The last call's detections, in the order of its scores (detection k is output k). */
export function detections(model: OnnxModel): Detection[] {
  const scores = model.lastOutputs.get('scores')?.values ?? [];
  const labels = model.lastOutputs.get('labels')?.values;
  const boxes = model.lastOutputs.get('boxes')?.values;
  return Array.from(scores, (score, i) => ({
    label: labels?.[i] === undefined ? null : Number(labels[i]),
    score: Number(score),
    box: boxes && boxes.length >= 4 * (i + 1) ? Array.from(boxes.slice(4 * i, 4 * i + 4), Number) : null,
  }));
}

/** A detection in words: `label 3, score 0.912, box [12, 30, 80, 95]`. */
export function describeDetection(d: Detection): string {
  const label = d.label === null ? '' : `label ${d.label}, `;
  const box = d.box ? `, box [${d.box.map((v) => Math.round(v)).join(', ')}]` : '';
  return `${label}score ${d.score.toFixed(3)}${box}`;
}

/**
 * The last call's detections as names for their indices: `detection: label 3, score 0.912, box [12, 30, 80, 95]`;
 * `place` moves each (its box into the original picture's pixels).
 */
export function detectionNames(model: OnnxModel, place: (d: Detection) => Detection = (d) => d): string[] {
  return detections(model).map((d) => `detection: ${describeDetection(place(d))}`);
}
