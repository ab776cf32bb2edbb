import { didYouMean } from '../names';
import type { InputOptions } from '../input';
import type { InceptionOptions } from './googlenet';
import type { MaxVitOptions } from './maxvit';
import { EVAL_TRANSFORMS, WEIGHTS_FILE_TRANSFORMS } from './eval-transforms-data';

/**
 * torchvision's evaluation transform of a model's published weights (`Weights.transforms()`: Resize, CenterCrop,
 * Normalize; for the segmentation models SemanticSegmentation: Resize, Normalize, no crop).
 */
export interface EvalTransform {
  /** Resize(resizeSize): the shorter side's length after resizing. */
  resizeSize: number;
  /** CenterCrop(cropSize): the side of the square model input; null: no crop (the segmentation models' transform). */
  cropSize: number | null;
  /** The resize filter (PIL's, as torchvision resizes a PIL picture). */
  interpolation: 'bilinear' | 'bicubic' | 'nearest';
  /** Normalize's per-channel mean and standard deviation (RGB). */
  mean: readonly number[];
  std: readonly number[];
}

/** A torchvision classification or segmentation model name with a known evaluation transform (every one in torchvision 0.14). */
export type EvalTransformName = keyof typeof EVAL_TRANSFORMS;

/** Names of every model evalTransform knows, sorted. */
export const EVAL_TRANSFORM_NAMES: readonly string[] = Object.keys(EVAL_TRANSFORMS);

/** Whether `name` is a model evalTransform knows (narrows a string to EvalTransformName). */
export function hasEvalTransform(name: string): name is EvalTransformName {
  return Object.prototype.hasOwnProperty.call(EVAL_TRANSFORMS, name);
}

/**
 * Returns torchvision's evaluation transform for the DEFAULT published weights of the model `name`
 * (e.g. efficientnet_b4: bicubic Resize(384), CenterCrop(380), ImageNet mean/std; deeplabv3_resnet50: bilinear
 * Resize(520), no crop); an unknown name throws.
 */
export function evalTransform(name: string): EvalTransform {
  if (!hasEvalTransform(name))
    throw new Error(
      `evalTransform: unknown model '${name}'${didYouMean(name, EVAL_TRANSFORM_NAMES)}; known models: ${EVAL_TRANSFORM_NAMES.join(', ')}`,
    );
  return EVAL_TRANSFORMS[name];
}

/**
 * Returns imageToInput's options that feed a picture as the model's published weights expect: shorter side
 * resized to resizeSize with its filter, centre-cropped to cropSize, its mean/std (a picture already
 * cropSize × cropSize is fed as it is, as imageToInput always does); with no crop (the segmentation models), the
 * resized picture whole, [1, 3, h, w].
 */
export function evalInputOptions(name: string): InputOptions {
  return transformInputOptions(evalTransform(name));
}

/** A published torchvision weights file's evaluation transform, with the model and weights it belongs to. */
export interface WeightsFileTransform extends EvalTransform {
  /** The torchvision model name (`resnet50`). */
  model: string;
  /** The weights' name in torchvision (`IMAGENET1K_V1`, `IMAGENET1K_SWAG_E2E_V1`, …). */
  weights: string;
}

/** The download names of every published torchvision weights file weightsFileTransform knows, sorted. */
export const WEIGHTS_FILE_NAMES: readonly string[] = Object.keys(WEIGHTS_FILE_TRANSFORMS);

/**
 * Returns the evaluation transform of a torchvision weights file recognised by the name torchvision
 * downloads it under (the last segment of `file`, e.g. `resnet50-0676ba61.pth`: V1, Resize(256), where
 * DEFAULT's V2 takes 232), or undefined for any other name.
 */
export function weightsFileTransform(file: string): WeightsFileTransform | undefined {
  const base = file.slice(Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')) + 1);
  return Object.prototype.hasOwnProperty.call(WEIGHTS_FILE_TRANSFORMS, base)
    ? WEIGHTS_FILE_TRANSFORMS[base as keyof typeof WEIGHTS_FILE_TRANSFORMS]
    : undefined;
}

/** Returns imageToInput's options for an evaluation transform (see evalInputOptions). */
export function transformInputOptions(t: EvalTransform): InputOptions {
  if (t.cropSize === null) return { resize: t.resizeSize, crop: false, filter: t.interpolation, mean: t.mean, std: t.std };
  return { size: t.cropSize, shorterSide: t.resizeSize, filter: t.interpolation, mean: t.mean, std: t.std };
}

/** An input size: a side N, or an exact height × width ([h, w]; a square one is the side N). */
export type InputSize = number | readonly [number, number];

/** The model input options archInputOptions returns: `size` is the side probes use ([1, 3, size, size]). */
export type ArchInput = InputOptions & { size: number; mean: readonly number[]; std: readonly number[] };

/**
 * How a torchvision architecture's pictures are prepared for a weights file (the CLI's `--arch`, the web page):
 * without `size`, the evaluation transform of its torchvision weights (shorter side to resizeSize with its filter,
 * centre crop to cropSize): the weights file's own when torchvision's download name says which
 * (`resnet50-0676ba61.pth`: V1), else the DEFAULT weights' (evalTransform); with a side `size`, that side by the
 * 256/224 rule, bilinear; with `[h, w]`, h × w by the same rule (preprocessImageNet's height and width). The mean and
 * std are the weights' either way. A segmentation model (torchvision crops nothing) is fed the whole picture, its
 * shorter side resized to resizeSize (`crop: false`, [1, 3, h, w] at the picture's aspect), or to `size` when given;
 * `[h, w]` then feeds exactly h × w (resized to cover it, keeping the aspect, and centre-cropped).
 */
export function archInputOptions(arch: string, size?: InputSize, weightsFile?: string): ArchInput {
  const known = weightsFile === undefined ? undefined : weightsFileTransform(weightsFile);
  const t = known?.model === arch ? known : evalTransform(arch);
  const norm = { mean: t.mean, std: t.std };
  const box = size === undefined || typeof size === 'number' || size[0] === size[1] ? null : size;
  const side = size === undefined ? undefined : typeof size === 'number' ? size : size[0];
  if (t.cropSize === null) {
    if (box) return { size: Math.min(box[0], box[1]), height: box[0], width: box[1], shorterSide: Math.min(box[0], box[1]), ...norm };
    const shorter = side ?? t.resizeSize;
    return { size: shorter, shorterSide: shorter, crop: false, ...(side === undefined ? { filter: t.interpolation } : {}), ...norm };
  }
  if (box) return { size: Math.min(box[0], box[1]), height: box[0], width: box[1], ...norm };
  if (side !== undefined) return { size: side, ...norm };
  return { size: t.cropSize, shorterSide: t.resizeSize, filter: t.interpolation, ...norm };
}

/** The [1, 3, H, W] shape a model's probes (layer lists, default layers) use for these input options. */
export function inputProbeShape(input: InputOptions & { size: number }): [number, number, number, number] {
  return [1, 3, input.height ?? input.size, input.width ?? input.size];
}

/** Architectures whose torchvision builder turns transform_input on when it loads its published weights. */
const TRANSFORM_INPUT_ARCHS: ReadonlySet<string> = new Set(['googlenet', 'inception_v3']);

/**
 * Whether the architecture is built with transformInput (torchvision's transform_input, which turns the
 * ImageNet-normalised input into the (x − 0.5) / 0.5 the ported weights expect): as torchvision does for its
 * published GoogLeNet and Inception v3 weights, recognised by their download name; false for any other file.
 */
export function archTransformsInput(arch: string, weightsFile: string): boolean {
  return TRANSFORM_INPUT_ARCHS.has(arch) && weightsFileTransform(weightsFile)?.model === arch;
}

/**
 * The build options a torchvision architecture takes for a weights file fed `size`×`width` pictures (width: size): transformInput
 * for torchvision's own GoogLeNet and Inception v3 files (archTransformsInput), and MaxViT's one input size (its grid
 * attention cuts the maps into fixed cells, so torchvision builds it for one size too). Other architectures: none.
 */
export function archBuildOptions(arch: string, weightsFile: string, size: number, width: number = size): InceptionOptions & MaxVitOptions {
  return {
    ...(archTransformsInput(arch, weightsFile) ? { transformInput: true } : {}),
    ...(arch === 'maxvit_t' ? { inputSize: [size, width] as const } : {}),
  };
}

/** torchvision's `_VOC_CATEGORIES`: the 21 classes of its published segmentation weights (COCO with VOC labels). */
export const VOC_CATEGORIES: readonly string[] = [
  '__background__',
  'aeroplane',
  'bicycle',
  'bird',
  'boat',
  'bottle',
  'bus',
  'car',
  'cat',
  'chair',
  'cow',
  'diningtable',
  'dog',
  'horse',
  'motorbike',
  'person',
  'pottedplant',
  'sheep',
  'sofa',
  'train',
  'tvmonitor',
];

/**
 * The class names of a torchvision weights file when its download name says which and the names are known: the VOC
 * categories for the published segmentation weights (`deeplabv3_resnet50_coco-cd0a2569.pth`, …) of `arch`; else null.
 */
export function weightsFileClassNames(arch: string, weightsFile: string): readonly string[] | null {
  const known = weightsFileTransform(weightsFile);
  return known?.model === arch && known.weights === 'COCO_WITH_VOC_LABELS_V1' ? VOC_CATEGORIES : null;
}
