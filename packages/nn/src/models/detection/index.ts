import type { Module } from '../../module';
import { didYouMean } from '../../names';
import type { MobileNetDetectionOptions } from './faster-rcnn';
import type { RetinaNetOptions } from './retinanet';
import { retinanetResnet50Fpn } from './retinanet';
import { fasterrcnnMobilenetV3Large320Fpn, fasterrcnnMobilenetV3LargeFpn, fasterrcnnResnet50Fpn } from './faster-rcnn';

export * from './anchors';
export * from './boxes';
export * from './coco-categories';
export * from './detector';
export * from './file-options';
export * from './faster-rcnn';
export * from './fpn';
export * from './retinanet';
export * from './roi-align';
export * from './roi-heads';
export * from './rpn';
export * from './scores';
export * from './transform';

/**
 * The object detection builders by torchvision name. Kept apart from `modelBuilders` (the classifiers and
 * segmentation models, whose `call` returns one tensor): a detector's `detect` returns a list of detections.
 */
export const detectionBuilders = {
  fasterrcnn_resnet50_fpn: fasterrcnnResnet50Fpn,
  fasterrcnn_mobilenet_v3_large_fpn: fasterrcnnMobilenetV3LargeFpn,
  fasterrcnn_mobilenet_v3_large_320_fpn: fasterrcnnMobilenetV3Large320Fpn,
  retinanet_resnet50_fpn: retinanetResnet50Fpn,
} as const satisfies Record<string, (o?: MobileNetDetectionOptions & RetinaNetOptions) => Module>;

/** A torchvision detection model name createDetectionModel builds. */
export type DetectionModelName = keyof typeof detectionBuilders;

/** Whether `name` is a detection model name (narrows a string to DetectionModelName). */
export function isDetectionModelName(name: string): name is DetectionModelName {
  return Object.prototype.hasOwnProperty.call(detectionBuilders, name);
}

/** The options of detection model `N`'s builder. */
export type DetectionBuildOptions<N extends DetectionModelName> = NonNullable<Parameters<(typeof detectionBuilders)[N]>[0]>;

/** Builds a torchvision detection model by name (`fasterrcnn_resnet50_fpn`, …); call `.eval()` before `detect`. */
export function createDetectionModel<N extends DetectionModelName>(
  name: N,
  options: DetectionBuildOptions<N> = {},
): ReturnType<(typeof detectionBuilders)[N]> {
  if (!isDetectionModelName(name)) {
    const known = Object.keys(detectionBuilders);
    throw new Error(
      `createDetectionModel: unknown model '${String(name)}'${didYouMean(String(name), known)}; known models: ${known.join(', ')}`,
    );
  }
  const build = detectionBuilders[name] as (o: DetectionBuildOptions<N>) => ReturnType<(typeof detectionBuilders)[N]>;
  return build(options);
}
