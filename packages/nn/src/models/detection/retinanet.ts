import type { Tensor } from '@gradlens/tensor';
import { cat, reshape, sigmoid, withScope } from '@gradlens/tensor';
import { ReLU } from '../../layers/activation';
import { Sequential } from '../../layers/container';
import { Conv2d } from '../../layers/conv';
import { overwriteEps } from '../../layers/frozen-batchnorm';
import { Module } from '../../module';
import type { InitOptions } from '../../init';
import { constant_, normal_ } from '../../init';
import type { ModelOptions } from '../common';
import { numClassesOf, widthScaler } from '../common';
import { resnet50 } from '../resnet';
import { IntermediateLayerGetter } from '../segmentation';
import { AnchorGenerator } from './anchors';
import { batchedNms, BoxCoder, clipBoxes, pick } from './boxes';
import { Detector } from './detector';
import { positive } from './faster-rcnn';
import { BackboneWithFPN, FeaturePyramidNetwork, LastLevelP6P7 } from './fpn';
import type { RawDetections } from './roi-heads';
import { GeneralizedRCNNTransform } from './transform';

/** RetinaNet's options: torchvision's RetinaNet keyword arguments at test time. */
export interface RetinaNetOptions extends ModelOptions {
  /** Classes (default 91, COCO's; RetinaNet has no background class: labels are 0 … classes − 1). */
  numClasses?: number;
  /** GeneralizedRCNNTransform's min_size (800) and max_size (1333). */
  minSize?: number;
  maxSize?: number;
  /** score_thresh (0.05), nms_thresh (0.5), detections_per_img (300), topk_candidates per level (1000). */
  scoreThresh?: number;
  nmsThresh?: number;
  detectionsPerImg?: number;
  topkCandidates?: number;
  /** eps of every FrozenBatchNorm2d (1e-5); torchvision sets 0 for its published COCO_V1 weights (overwrite_eps). */
  frozenBatchNormEps?: number;
}

/** A conv of the heads, initialised as torchvision's (normal std 0.01, bias `bias`). */
function headConv(inChannels: number, outChannels: number, o: InitOptions, bias = 0): Conv2d {
  const conv = new Conv2d(inChannels, outChannels, 3, { padding: 1, init: false });
  if (o.init !== false) {
    normal_(conv.weight, 0, 0.01, o.generator);
    if (conv.bias) constant_(conv.bias, bias);
  }
  return conv;
}

/** The four 3×3 conv + ReLU (Conv2dNormActivation with no norm) of RetinaNet's heads: `conv.0` … `conv.3`. */
const headTower = (channels: number, o: InitOptions): Sequential =>
  new Sequential(...Array.from({ length: 4 }, () => new Sequential(headConv(channels, channels, o), new ReLU())));

/** torchvision's RetinaNetClassificationHead: `conv`, then `cls_logits` (A·K channels; bias −log((1 − 0.01) / 0.01)). */
export class RetinaNetClassificationHead extends Module {
  readonly conv: Sequential;
  readonly clsLogits: Conv2d;

  constructor(channels: number, numAnchors: number, numClasses: number, o: InitOptions = {}) {
    super();
    this.conv = this.registerModule('conv', headTower(channels, o));
    this.clsLogits = this.registerModule('cls_logits', headConv(channels, numAnchors * numClasses, o, -Math.log((1 - 0.01) / 0.01)));
  }

  override forward(x: Tensor): Tensor {
    return this.clsLogits.call(this.conv.call(x));
  }
}

/** torchvision's RetinaNetRegressionHead: `conv`, then `bbox_reg` (A·4 channels). */
export class RetinaNetRegressionHead extends Module {
  readonly conv: Sequential;
  readonly bboxReg: Conv2d;

  constructor(channels: number, numAnchors: number, o: InitOptions = {}) {
    super();
    this.conv = this.registerModule('conv', headTower(channels, o));
    this.bboxReg = this.registerModule('bbox_reg', headConv(channels, numAnchors * 4, o));
  }

  override forward(x: Tensor): Tensor {
    return this.bboxReg.call(this.conv.call(x));
  }
}

/** torchvision's RetinaNetHead: `classification_head` and `regression_head`, run on every pyramid map. */
export class RetinaNetHead extends Module {
  readonly classificationHead: RetinaNetClassificationHead;
  readonly regressionHead: RetinaNetRegressionHead;

  constructor(channels: number, numAnchors: number, numClasses: number, o: InitOptions = {}) {
    super();
    this.classificationHead = this.registerModule(
      'classification_head',
      new RetinaNetClassificationHead(channels, numAnchors, numClasses, o),
    );
    this.regressionHead = this.registerModule('regression_head', new RetinaNetRegressionHead(channels, numAnchors, o));
  }

  override forward(): Tensor {
    throw new Error('RetinaNetHead: gives logits and deltas per map; call its classification_head and regression_head');
  }
}

/** RetinaNet's test-time settings. */
export interface RetinaNetSettings {
  scoreThresh: number;
  nmsThresh: number;
  detectionsPerImg: number;
  topkCandidates: number;
}

/**
 * torchvision's RetinaNet in eval mode: `transform`, `backbone` (ResNet-50-FPN with P6, P7), `head`, anchors (three
 * sizes per octave, three ratios) and postprocess_detections: per map, sigmoid scores above scoreThresh, their
 * topkCandidates best, boxes decoded (BoxCoder weights 1, 1, 1, 1) from their anchors and clipped; then NMS per
 * class and the first detectionsPerImg. The scores are the sigmoid outputs, differentiable back to the pixels.
 */
export class RetinaNet extends Detector {
  readonly backbone: BackboneWithFPN;
  readonly head: RetinaNetHead;
  readonly boxCoder = new BoxCoder([1, 1, 1, 1]);

  constructor(
    name: string,
    transform: GeneralizedRCNNTransform,
    backbone: BackboneWithFPN,
    head: RetinaNetHead,
    readonly anchorGenerator: AnchorGenerator,
    readonly settings: RetinaNetSettings,
  ) {
    super(name, transform);
    this.backbone = this.registerModule('backbone', backbone);
    this.head = this.registerModule('head', head);
  }

  protected detectBatch(batch: Tensor, imageSizes: [number, number][]): { scores: Tensor; detections: RawDetections[] } {
    const features = withScope('backbone', () => this.backbone.features(batch));
    const { logits, deltas } = withScope('head', () => ({
      logits: features.map((x) => this.head.classificationHead.call(x)),
      deltas: features.map((x) => this.head.regressionHead.call(x)),
    }));
    const anchors = this.anchorGenerator.anchors(
      [batch.shape[2]!, batch.shape[3]!],
      features.map((x) => [x.shape[2]!, x.shape[3]!] as [number, number]),
    );
    const probs = logits.map((l) => sigmoid(l));
    // one flat tensor of every map's sigmoid scores [N, A·K, h, w]; `offsets[l]` where map l starts
    const offsets: number[] = [];
    let total = 0;
    for (const p of probs) (offsets.push(total), (total += p.size));
    const scores =
      probs.length === 1
        ? reshape(probs[0]!, [-1])
        : cat(
            probs.map((p) => reshape(p, [-1])),
            0,
          );
    const values = probs.map((p) => p.values());
    const deltaValues = deltas.map((d) => d.values());
    const s = this.settings;
    const detections = imageSizes.map((size, n) => {
      const boxes: number[] = [];
      const candScores: number[] = [];
      const labels: number[] = [];
      const index: number[] = [];
      probs.forEach((p, l) => {
        const [, ak, h, w] = p.shape as [number, number, number, number];
        const a = deltas[l]!.shape[1]! / 4;
        const k = ak / a;
        // torchvision's order: (row, column, anchor, class)
        const flat: { score: number; at: number; anchor: number; label: number }[] = [];
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++)
            for (let ai = 0; ai < a; ai++)
              for (let c = 0; c < k; c++) {
                const at = ((n * ak + ai * k + c) * h + y) * w + x;
                const score = values[l]![at]!;
                if (score > s.scoreThresh) flat.push({ score, at, anchor: (y * w + x) * a + ai, label: c });
              }
        // topk: sorted by score, highest first (ties to the earlier candidate)
        const top = flat
          .map((c, i) => [c, i] as const)
          .sort((p1, p2) => p2[0].score - p1[0].score || p1[1] - p2[1])
          .slice(0, Math.min(s.topkCandidates, flat.length))
          .map(([c]) => c);
        const dv = deltaValues[l]!;
        const d = new Float32Array(4 * top.length);
        top.forEach((c, i) => {
          const y = Math.floor(c.anchor / a / w);
          const x = Math.floor(c.anchor / a) % w;
          const ai = c.anchor % a;
          for (let j = 0; j < 4; j++) d[4 * i + j] = dv[((n * 4 * a + 4 * ai + j) * h + y) * w + x]!;
        });
        const decoded = clipBoxes(
          this.boxCoder.decode(
            d,
            pick(
              anchors[l]!,
              top.map((c) => c.anchor),
              4,
            ),
          ),
          size,
        );
        boxes.push(...decoded);
        for (const c of top) (candScores.push(c.score), labels.push(c.label), index.push(offsets[l]! + c.at));
      });
      const box = Float32Array.from(boxes);
      const keep = batchedNms(box, candScores, labels, s.nmsThresh).slice(0, s.detectionsPerImg);
      return { boxes: pick(box, keep, 4), labels: keep.map((i) => labels[i]!), scoreIndex: keep.map((i) => index[i]!) };
    });
    return { scores, detections };
  }
}

/** RetinaNet with a ResNet-50-FPN backbone (P3–P7), as torchvision.models.detection.retinanet_resnet50_fpn. */
export function retinanetResnet50Fpn(o: RetinaNetOptions = {}): RetinaNet {
  const name = 'retinanet_resnet50_fpn';
  try {
    const nc = numClassesOf({ numClasses: o.numClasses ?? 91 }, name);
    const w = widthScaler(o, name);
    const init = { init: o.init, generator: o.generator };
    const settings: RetinaNetSettings = {
      scoreThresh: o.scoreThresh ?? 0.05,
      nmsThresh: o.nmsThresh ?? 0.5,
      detectionsPerImg: positive(name, 'detectionsPerImg', o.detectionsPerImg ?? 300, true),
      topkCandidates: positive(name, 'topkCandidates', o.topkCandidates ?? 1000, true),
    };
    const transform = new GeneralizedRCNNTransform({
      minSize: positive(name, 'minSize', o.minSize ?? 800, false),
      maxSize: positive(name, 'maxSize', o.maxSize ?? 1333, false),
      imageMean: [0.485, 0.456, 0.406],
      imageStd: [0.229, 0.224, 0.225],
      sizeDivisible: 32,
    });
    // torchvision skips P2 ("too many anchors"): layer2–layer4 as '0'–'2', then P6 and P7 from P5.
    const resnet = resnet50({ ...o, numClasses: 1, frozenBatchNorm: true });
    const body = new IntermediateLayerGetter(resnet, { layer2: '0', layer3: '1', layer4: '2' });
    const channels = w(256);
    const fpn = new FeaturePyramidNetwork(
      [w(128) * 4, w(256) * 4, w(512) * 4],
      channels,
      init,
      new LastLevelP6P7(channels, channels, init),
    );
    // _default_anchorgen: x, int(x·2^(1/3)), int(x·2^(2/3)) for x in 32 … 512
    const anchors = new AnchorGenerator(
      [32, 64, 128, 256, 512].map((x) => [x, Math.trunc(x * 2 ** (1 / 3)), Math.trunc(x * 2 ** (2 / 3))]),
      Array.from({ length: 5 }, () => [0.5, 1, 2]),
    );
    const head = new RetinaNetHead(channels, anchors.numAnchorsPerLocation()[0]!, nc, init);
    const model = new RetinaNet(name, transform, new BackboneWithFPN(body, fpn), head, anchors, settings);
    if (o.frozenBatchNormEps !== undefined) overwriteEps(model, o.frozenBatchNormEps);
    return model;
  } catch (e) {
    const message = (e as Error).message;
    throw new Error(message.startsWith(`${name}: `) ? message : `${name}: ${message}`);
  }
}
