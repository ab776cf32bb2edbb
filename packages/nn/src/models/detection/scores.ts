import type { Tensor } from '@gradlens/tensor';
import { cat, pad, reshape, slice } from '@gradlens/tensor';
import { Module } from '../../module';
import type { Detection, Detector } from './detector';

/** One detection of the last picture a DetectionScores model ran, as numbers. */
export interface DetectionSummary {
  /** [x1, y1, x2, y2] in the pixels of the picture the model was given. */
  box: [number, number, number, number];
  label: number;
  score: number;
}

/**
 * A detector as a model of its detections' scores, so that every method written for a classifier's class scores
 * explains detections: `call(x)` takes pictures [N, 3, H, W] (values in [0, 1]), detects in each alone and returns
 * [N, K] — picture i's detection scores best first, zero-padded to the longest list — so target k is detection k.
 * Its modules are the detector's, under the same paths (`backbone.body.layer4`), so CAM layers, the tape's
 * activations and layer edits name them as torchvision does; `lastDetections` holds the last picture's boxes and
 * labels. Detections differ per picture: a perturbed picture's detection k may be another object than the
 * original's (as for any model whose outputs are a list).
 */
export class DetectionScores extends Module {
  /** The last picture's detections, in the order of its scores (empty before the first call). */
  lastDetections: DetectionSummary[] = [];

  constructor(readonly detector: Detector) {
    super();
    for (const [name, child] of detector.children()) this.registerModule(name, child);
    this.training = detector.training;
  }

  override train(mode = true): this {
    super.train(mode);
    this.detector.train(mode);
    return this;
  }

  override forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== 3 || x.shape[0]! < 1)
      throw new Error(`${this.detector.name}: give pictures [N, 3, H, W] with values in [0, 1], got [${x.shape.join(', ')}]`);
    const rows = Array.from({ length: x.shape[0]! }, (_, i) => {
      const [d] = this.detector.detect(reshape(slice(x, 0, i, i + 1), x.shape.slice(1)));
      this.lastDetections = summaries(d!);
      d!.boxes.dispose();
      return d!.scores;
    });
    const longest = Math.max(...rows.map((s) => s.shape[0]!));
    return cat(
      rows.map((s) => reshape(s.shape[0]! < longest ? pad(s, [0, longest - s.shape[0]!]) : s, [1, longest])),
      0,
    );
  }
}

function summaries(d: Detection): DetectionSummary[] {
  const boxes = d.boxes.values();
  const scores = d.scores.values();
  return d.labels.map((label, k) => ({
    box: [boxes[4 * k]!, boxes[4 * k + 1]!, boxes[4 * k + 2]!, boxes[4 * k + 3]!],
    label,
    score: scores[k]!,
  }));
}
