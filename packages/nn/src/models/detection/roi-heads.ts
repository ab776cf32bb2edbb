import type { Tensor } from '@gradlens/tensor';
import { cat, flatten, indexSelect, relu, reshape, softmax, withScope } from '@gradlens/tensor';
import { Linear } from '../../layers/linear';
import { Module } from '../../module';
import type { InitOptions } from '../../init';
import { batchedNms, BoxCoder, clipBoxes, largeEnough, pick } from './boxes';
import { roiAlign } from './roi-align';

const f = Math.fround;

/** torch.round's half to even, on a float. */
const roundHalfEven = (v: number): number => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));

/**
 * torchvision's MultiScaleRoIAlign (featmap names '0'..'3', output 7×7, sampling ratio 2, aligned=False): each
 * box pooled from the pyramid level its size maps to (LevelMapper: ⌊4 + log2(√area / 224) + 1e-6⌋, clamped to the
 * maps' levels), each level's scale inferred from its size over the largest image size, 2^round(log2(ratio)).
 */
export class MultiScaleRoIAlign {
  constructor(
    readonly outputSize: readonly [number, number] = [7, 7],
    readonly samplingRatio = 2,
    readonly canonicalScale = 224,
    readonly canonicalLevel = 4,
  ) {}

  /** [ΣK, C, 7, 7] for the boxes of each image (flat [K, 4]), in their order; differentiable in the features. */
  pool(features: readonly Tensor[], boxes: readonly Float32Array[], imageSizes: readonly (readonly [number, number])[]): Tensor {
    const maxH = Math.max(...imageSizes.map((s) => s[0]));
    // _infer_scale: from the height alone, as torchvision
    const scales = features.map((x) => 2 ** roundHalfEven(Math.log2(f(x.shape[2]! / maxH))));
    const kMin = Math.trunc(f(-Math.log2(scales[0]!)));
    const kMax = Math.trunc(f(-Math.log2(scales[scales.length - 1]!)));
    const rois: number[] = [];
    const batch: number[] = [];
    boxes.forEach((b, i) => {
      rois.push(...b);
      for (let k = 0; k < b.length / 4; k++) batch.push(i);
    });
    const count = batch.length;
    const levels = Array.from({ length: count }, (_, k) => {
      const area = f(f(rois[4 * k + 2]! - rois[4 * k]!) * f(rois[4 * k + 3]! - rois[4 * k + 1]!));
      const s = f(Math.sqrt(area));
      const lvl = Math.floor(f(f(this.canonicalLevel + f(Math.log2(f(s / this.canonicalScale)))) + f(1e-6)));
      return Math.min(Math.max(lvl, kMin), kMax) - kMin;
    });
    const parts: Tensor[] = [];
    const order: number[] = [];
    features.forEach((x, l) => {
      const mine = levels.flatMap((v, k) => (v === l ? [k] : []));
      if (mine.length === 0) return;
      const r = mine.flatMap((k) => rois.slice(4 * k, 4 * k + 4));
      const options = { outputSize: this.outputSize, spatialScale: scales[l]!, samplingRatio: this.samplingRatio, aligned: false };
      parts.push(
        roiAlign(
          x,
          r,
          mine.map((k) => batch[k]!),
          options,
        ),
      );
      order.push(...mine);
    });
    if (parts.length === 0)
      return roiAlign(features[0]!, [], [], { outputSize: this.outputSize, spatialScale: 1, samplingRatio: 1, aligned: false });
    const stacked = parts.length === 1 ? parts[0]! : cat(parts, 0);
    const back = new Array<number>(count);
    order.forEach((k, j) => (back[k] = j));
    return order.every((k, j) => k === j) ? stacked : indexSelect(stacked, 0, back);
  }
}

/** torchvision's TwoMLPHead: flatten, `fc6` + ReLU, `fc7` + ReLU. */
export class TwoMLPHead extends Module {
  readonly fc6: Linear;
  readonly fc7: Linear;

  constructor(inChannels: number, representationSize: number, o: InitOptions = {}) {
    super();
    this.fc6 = this.registerModule('fc6', new Linear(inChannels, representationSize, o));
    this.fc7 = this.registerModule('fc7', new Linear(representationSize, representationSize, o));
  }

  override forward(x: Tensor): Tensor {
    return relu(this.fc7.call(relu(this.fc6.call(flatten(x, 1)))));
  }
}

/** torchvision's FastRCNNPredictor: `cls_score` (class logits) and `bbox_pred` (four deltas per class). */
export class FastRCNNPredictor extends Module {
  readonly clsScore: Linear;
  readonly bboxPred: Linear;

  constructor(inChannels: number, numClasses: number, o: InitOptions = {}) {
    super();
    this.clsScore = this.registerModule('cls_score', new Linear(inChannels, numClasses, o));
    this.bboxPred = this.registerModule('bbox_pred', new Linear(inChannels, numClasses * 4, o));
  }

  /** Class logits [K, classes] and box deltas [K, classes·4]; run it inside the predictor's scope. */
  run(x: Tensor): { logits: Tensor; deltas: Tensor } {
    const flat = flatten(x, 1);
    return { logits: this.clsScore.call(flat), deltas: this.bboxPred.call(flat) };
  }

  override forward(): Tensor {
    throw new Error('FastRCNNPredictor: returns logits and deltas; use run(x)');
  }
}

/** The box head's test-time settings (torchvision's box_score_thresh, box_nms_thresh, box_detections_per_img). */
export interface BoxSettings {
  scoreThresh: number;
  nmsThresh: number;
  detectionsPerImg: number;
}

/** One image's detections before mapping back: boxes in the resized image, labels, and rows of the flat scores. */
export interface RawDetections {
  boxes: Float32Array;
  labels: number[];
  /** Indices into the softmax scores [ΣK, classes] flattened. */
  scoreIndex: number[];
}

/**
 * torchvision's RoIHeads at test time: `box_head` and `box_predictor` on the MultiScaleRoIAlign of the proposals,
 * then postprocess_detections (softmax; boxes decoded with weights 10, 10, 5, 5 and clipped; background dropped;
 * scores > scoreThresh; boxes under 1e-2 dropped; NMS per class; the first detectionsPerImg). Returns the softmax
 * scores [ΣK, classes] (differentiable back through RoIAlign to the features) and per image its detections.
 */
export class RoIHeads extends Module {
  readonly boxHead: TwoMLPHead;
  readonly boxPredictor: FastRCNNPredictor;
  readonly boxCoder = new BoxCoder([10, 10, 5, 5]);

  constructor(
    boxHead: TwoMLPHead,
    boxPredictor: FastRCNNPredictor,
    readonly settings: BoxSettings,
    readonly boxRoiPool = new MultiScaleRoIAlign(),
  ) {
    super();
    this.boxHead = this.registerModule('box_head', boxHead);
    this.boxPredictor = this.registerModule('box_predictor', boxPredictor);
  }

  /** Scores and detections from the pyramid's first four maps and the proposals; run it inside the heads' scope. */
  run(
    features: readonly Tensor[],
    proposals: readonly Float32Array[],
    imageSizes: readonly (readonly [number, number])[],
  ): { scores: Tensor; detections: RawDetections[] } {
    const pooled = this.boxRoiPool.pool(features, proposals, imageSizes);
    const represented = this.boxHead.call(pooled);
    const { logits, deltas } = withScope('box_predictor', () => this.boxPredictor.run(represented));
    const scores = softmax(logits, -1);
    const classes = logits.shape[1]!;
    const sv = scores.values();
    const dv = deltas.values();
    let offset = 0;
    const detections = proposals.map((props, i) => {
      const k = props.length / 4;
      const boxes = clipBoxes(this.boxCoder.decode(dv.subarray(offset * classes * 4, (offset + k) * classes * 4), props), imageSizes[i]!);
      const cand: number[] = [];
      for (let p = 0; p < k; p++)
        for (let c = 1; c < classes; c++) if (sv[(offset + p) * classes + c]! > this.settings.scoreThresh) cand.push(p * classes + c);
      const kept = largeEnough(pick(boxes, cand, 4), 1e-2).map((j) => cand[j]!);
      const keptBoxes = pick(boxes, kept, 4);
      const keptScores = kept.map((j) => sv[offset * classes + j]!);
      const keep = batchedNms(
        keptBoxes,
        keptScores,
        kept.map((j) => j % classes),
        this.settings.nmsThresh,
      ).slice(0, this.settings.detectionsPerImg);
      const out: RawDetections = {
        boxes: pick(keptBoxes, keep, 4),
        labels: keep.map((j) => kept[j]! % classes),
        scoreIndex: keep.map((j) => offset * classes + kept[j]!),
      };
      offset += k;
      return out;
    });
    return { scores: reshape(scores, [-1]), detections };
  }

  override forward(): Tensor {
    throw new Error('RoIHeads: takes features and proposals; use run(features, proposals, imageSizes)');
  }
}
