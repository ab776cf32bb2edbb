import type { Tensor } from '@gradlens/tensor';
import { withScope } from '@gradlens/tensor';
import { overwriteEps } from '../../layers/frozen-batchnorm';
import type { ModelOptions } from '../common';
import { numClassesOf, widthScaler } from '../common';
import { MobileNetV3Block, mobilenetV3Large } from '../mobilenet-v3';
import { resnet50 } from '../resnet';
import { featureChannels, IntermediateLayerGetter } from '../segmentation';
import { AnchorGenerator } from './anchors';
import { Detector } from './detector';
import { BackboneWithFPN, FeaturePyramidNetwork } from './fpn';
import { FastRCNNPredictor, MultiScaleRoIAlign, type RawDetections, RoIHeads, TwoMLPHead } from './roi-heads';
import { RegionProposalNetwork, RPNHead } from './rpn';
import { GeneralizedRCNNTransform } from './transform';

/** The detection models' options: torchvision's FasterRCNN keyword arguments at test time. */
export interface DetectionOptions extends ModelOptions {
  /** Classes including the background, 0 (default 91, COCO's as torchvision). */
  numClasses?: number;
  /** GeneralizedRCNNTransform's min_size (800) and max_size (1333). */
  minSize?: number;
  maxSize?: number;
  /** rpn_pre_nms_top_n_test (1000 per level) and rpn_post_nms_top_n_test (1000 per image). */
  rpnPreNmsTopN?: number;
  rpnPostNmsTopN?: number;
  /** rpn_nms_thresh (0.7) and rpn_score_thresh (0). */
  rpnNmsThresh?: number;
  rpnScoreThresh?: number;
  /** box_score_thresh (0.05), box_nms_thresh (0.5), box_detections_per_img (100). */
  boxScoreThresh?: number;
  boxNmsThresh?: number;
  boxDetectionsPerImg?: number;
  /**
   * The canonical_scale of the box_roi_pool (MultiScaleRoIAlign; 224): the box side pooled from level 4 of the
   * pyramid. Only for a model built with another box_roi_pool (the parity fixture's small images reach every level).
   */
  roiCanonicalScale?: number;
  /**
   * eps of every FrozenBatchNorm2d (default 1e-5, as torchvision builds them). torchvision sets 0 when it loads
   * the published `fasterrcnn_resnet50_fpn_coco-258fb6c6.pth` (COCO_V1, its `overwrite_eps(model, 0.0)`): pass
   * 0 with that file to get its detections.
   */
  frozenBatchNormEps?: number;
}

export const positive = (model: string, name: string, v: number, integer: boolean): number => {
  if (!(v > 0) || !Number.isFinite(v) || (integer && !Number.isInteger(v)))
    throw new Error(`${model}: ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
  return v;
};

/**
 * torchvision's FasterRCNN (GeneralizedRCNN) in eval mode: `transform`, `backbone` (BackboneWithFPN), `rpn`,
 * `roi_heads`. `detect(images)` returns per image {boxes, labels, scores}; training (targets, losses) is not
 * implemented.
 */
export class FasterRCNN extends Detector {
  readonly backbone: BackboneWithFPN;
  readonly rpn: RegionProposalNetwork;
  readonly roiHeads: RoIHeads;

  constructor(
    name: string,
    transform: GeneralizedRCNNTransform,
    backbone: BackboneWithFPN,
    rpn: RegionProposalNetwork,
    roiHeads: RoIHeads,
  ) {
    super(name, transform);
    this.backbone = this.registerModule('backbone', backbone);
    this.rpn = this.registerModule('rpn', rpn);
    this.roiHeads = this.registerModule('roi_heads', roiHeads);
  }

  /** The RPN's proposals, the box head on their RoIAlign and torchvision's postprocess_detections. */
  protected detectBatch(batch: Tensor, imageSizes: [number, number][]): { scores: Tensor; detections: RawDetections[] } {
    const padded: [number, number] = [batch.shape[2]!, batch.shape[3]!];
    const features = withScope('backbone', () => this.backbone.features(batch));
    const proposals = withScope('rpn', () => this.rpn.run(features, padded, imageSizes));
    return withScope('roi_heads', () => this.roiHeads.run(features.slice(0, this.backbone.returnedMaps), proposals, imageSizes));
  }
}

/** The options of the MobileNetV3-Large-FPN detectors: `widthMult` narrows the backbone (`widthDivisor` the FPN and heads). */
export interface MobileNetDetectionOptions extends DetectionOptions {
  /** torchvision's width_mult of the MobileNetV3 backbone (default 1). */
  widthMult?: number;
}

/** torchvision's test-time defaults of a FasterRCNN, which a builder may change (the 320 model's). */
interface FasterRcnnDefaults {
  minSize: number;
  maxSize: number;
  rpnPreNmsTopN: number;
  rpnPostNmsTopN: number;
  rpnScoreThresh: number;
}

const FASTER_RCNN_DEFAULTS: FasterRcnnDefaults = {
  minSize: 800,
  maxSize: 1333,
  rpnPreNmsTopN: 1000,
  rpnPostNmsTopN: 1000,
  rpnScoreThresh: 0,
};

/**
 * torchvision's FasterRCNN(backbone, num_classes, rpn_anchor_generator, …) on a BackboneWithFPN: RPNHead (one 3×3
 * conv), TwoMLPHead (representation 1024) and FastRCNNPredictor, MultiScaleRoIAlign on the body's maps.
 */
function fasterRcnn(
  name: string,
  o: DetectionOptions,
  makeBackbone: (channels: number) => BackboneWithFPN,
  anchors: AnchorGenerator,
  d: FasterRcnnDefaults,
): FasterRCNN {
  try {
    const nc = numClassesOf({ numClasses: o.numClasses ?? 91 }, name);
    const w = widthScaler(o, name);
    const init = { init: o.init, generator: o.generator };
    const rpnSettings = {
      preNmsTopN: positive(name, 'rpnPreNmsTopN', o.rpnPreNmsTopN ?? d.rpnPreNmsTopN, true),
      postNmsTopN: positive(name, 'rpnPostNmsTopN', o.rpnPostNmsTopN ?? d.rpnPostNmsTopN, true),
      nmsThresh: o.rpnNmsThresh ?? 0.7,
      scoreThresh: o.rpnScoreThresh ?? d.rpnScoreThresh,
    };
    const boxSettings = {
      scoreThresh: o.boxScoreThresh ?? 0.05,
      nmsThresh: o.boxNmsThresh ?? 0.5,
      detectionsPerImg: positive(name, 'boxDetectionsPerImg', o.boxDetectionsPerImg ?? 100, true),
    };
    const transform = new GeneralizedRCNNTransform({
      minSize: positive(name, 'minSize', o.minSize ?? d.minSize, false),
      maxSize: positive(name, 'maxSize', o.maxSize ?? d.maxSize, false),
      imageMean: [0.485, 0.456, 0.406],
      imageStd: [0.229, 0.224, 0.225],
      sizeDivisible: 32,
    });
    const channels = w(256);
    const backbone = makeBackbone(channels);
    const rpn = new RegionProposalNetwork(anchors, new RPNHead(channels, anchors.numAnchorsPerLocation()[0]!, 1, init), rpnSettings);
    const representation = w(1024);
    const heads = new RoIHeads(
      new TwoMLPHead(channels * 7 * 7, representation, init),
      new FastRCNNPredictor(representation, nc, init),
      boxSettings,
      new MultiScaleRoIAlign([7, 7], 2, positive(name, 'roiCanonicalScale', o.roiCanonicalScale ?? 224, false)),
    );
    const model = new FasterRCNN(name, transform, backbone, rpn, heads);
    if (o.frozenBatchNormEps !== undefined) overwriteEps(model, o.frozenBatchNormEps);
    return model;
  } catch (e) {
    const message = (e as Error).message;
    throw new Error(message.startsWith(`${name}: `) ? message : `${name}: ${message}`);
  }
}

/** Faster R-CNN with a ResNet-50-FPN backbone (FrozenBatchNorm2d), as torchvision.models.detection.fasterrcnn_resnet50_fpn. */
export function fasterrcnnResnet50Fpn(o: DetectionOptions = {}): FasterRCNN {
  const anchors = new AnchorGenerator(
    [[32], [64], [128], [256], [512]],
    Array.from({ length: 5 }, () => [0.5, 1, 2]),
  );
  const backbone = (channels: number): BackboneWithFPN => {
    const w = widthScaler(o, 'fasterrcnn_resnet50_fpn');
    // numClasses 1: the classifier is dropped (and freed) by the layer getter.
    const resnet = resnet50({ ...o, numClasses: 1, frozenBatchNorm: true });
    const body = new IntermediateLayerGetter(resnet, { layer1: '0', layer2: '1', layer3: '2', layer4: '3' });
    const fpn = new FeaturePyramidNetwork([w(64) * 4, w(128) * 4, w(256) * 4, w(512) * 4], channels, o);
    return new BackboneWithFPN(body, fpn);
  };
  return fasterRcnn('fasterrcnn_resnet50_fpn', o, backbone, anchors, FASTER_RCNN_DEFAULTS);
}

/**
 * torchvision's _mobilenet_extractor with fpn=True: MobileNetV3-Large's `features` (FrozenBatchNorm2d) returning its
 * last two stages (the last block that strides to 16, and the final 1×1 conv) as '0' and '1', with an FPN.
 */
function mobilenetFpnBackbone(o: MobileNetDetectionOptions, channels: number): BackboneWithFPN {
  // widthDivisor narrows the FPN and heads only (MobileNetV3 takes widthMult); the classifier is dropped and freed.
  const m = mobilenetV3Large({ ...o, widthDivisor: undefined, numClasses: 1, frozenBatchNorm: true });
  for (const t of m.classifier.parameters()) t.dispose();
  const features = m.features;
  const kids = features.children().map(([, k]) => k);
  const stages = [0, ...kids.flatMap((k, i) => (k instanceof MobileNetV3Block && k.isCn ? [i] : [])), kids.length - 1];
  const returned = [stages[stages.length - 2]!, stages[stages.length - 1]!];
  const body = new IntermediateLayerGetter(features, { [String(returned[0])]: '0', [String(returned[1])]: '1' });
  const fpn = new FeaturePyramidNetwork(
    returned.map((i) => featureChannels(features.at(i))),
    channels,
    o,
  );
  return new BackboneWithFPN(body, fpn);
}

/** Anchors of the MobileNetV3 detectors: five sizes at each of the three maps ('0', '1', 'pool'). */
const mobilenetAnchors = (): AnchorGenerator =>
  new AnchorGenerator(
    Array.from({ length: 3 }, () => [32, 64, 128, 256, 512]),
    Array.from({ length: 3 }, () => [0.5, 1, 2]),
  );

/** Faster R-CNN with a MobileNetV3-Large-FPN backbone, as torchvision.models.detection.fasterrcnn_mobilenet_v3_large_fpn. */
export function fasterrcnnMobilenetV3LargeFpn(o: MobileNetDetectionOptions = {}): FasterRCNN {
  return fasterRcnn('fasterrcnn_mobilenet_v3_large_fpn', o, (c) => mobilenetFpnBackbone(o, c), mobilenetAnchors(), FASTER_RCNN_DEFAULTS);
}

/**
 * The same for low-resolution pictures, as torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn:
 * min_size 320, max_size 640, 150 proposals before and after NMS, rpn_score_thresh 0.05.
 */
export function fasterrcnnMobilenetV3Large320Fpn(o: MobileNetDetectionOptions = {}): FasterRCNN {
  return fasterRcnn('fasterrcnn_mobilenet_v3_large_320_fpn', o, (c) => mobilenetFpnBackbone(o, c), mobilenetAnchors(), {
    minSize: 320,
    maxSize: 640,
    rpnPreNmsTopN: 150,
    rpnPostNmsTopN: 150,
    rpnScoreThresh: 0.05,
  });
}
