import type { DetectionModelName } from './index';

/** Anchors per position of torchvision's RetinaNet head (three sizes per octave × three aspect ratios). */
const RETINANET_ANCHORS = 9;

/** The detector options a weights file implies (createDetectionModel's numClasses and frozenBatchNormEps). */
export interface DetectionFileOptions {
  numClasses?: number;
  frozenBatchNormEps?: number;
}

/**
 * What a detection weights file says about the model it was saved from: its class count (from the box predictor's
 * or the classification head's shape, so a model fine-tuned on other classes loads), and eps 0 for torchvision's
 * published ResNet-50 COCO files, known by their download names (`fasterrcnn_resnet50_fpn_coco-258fb6c6.pth`,
 * `retinanet_resnet50_fpn_coco-eeacb38b.pth`), as torchvision's `overwrite_eps` when it loads them.
 */
export function detectionFileOptions(
  name: DetectionModelName,
  dict: Readonly<Record<string, { shape: readonly number[] }>>,
  file = '',
): DetectionFileOptions {
  const out: DetectionFileOptions = {};
  const retina = name === 'retinanet_resnet50_fpn';
  const rows = dict[retina ? 'head.classification_head.cls_logits.weight' : 'roi_heads.box_predictor.cls_score.weight']?.shape[0];
  const classes = rows === undefined ? undefined : retina ? rows / RETINANET_ANCHORS : rows;
  if (classes !== undefined && Number.isInteger(classes) && classes >= 1) out.numClasses = classes;
  const base = file.slice(Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')) + 1);
  if ((name === 'fasterrcnn_resnet50_fpn' || retina) && base.startsWith(`${name}_coco-`)) out.frozenBatchNormEps = 0;
  return out;
}
