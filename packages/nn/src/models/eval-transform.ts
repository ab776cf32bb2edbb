import { didYouMean } from '../names';
import type { InputOptions } from '../input';
import { EVAL_TRANSFORMS } from './eval-transforms-data';

/** torchvision's evaluation transform of a model's published weights (`Weights.DEFAULT.transforms()`). */
export interface EvalTransform {
  /** Resize(resizeSize): the shorter side's length after resizing. */
  resizeSize: number;
  /** CenterCrop(cropSize): the side of the square model input. */
  cropSize: number;
  /** The resize filter (PIL's, as torchvision resizes a PIL picture). */
  interpolation: 'bilinear' | 'bicubic' | 'nearest';
  /** Normalize's per-channel mean and standard deviation (RGB). */
  mean: readonly number[];
  std: readonly number[];
}

/** A torchvision classification model name with a known evaluation transform (every one in torchvision 0.14). */
export type EvalTransformName = keyof typeof EVAL_TRANSFORMS;

/** Names of every model evalTransform knows, sorted. */
export const EVAL_TRANSFORM_NAMES: readonly string[] = Object.keys(EVAL_TRANSFORMS);

/** Whether `name` is a model evalTransform knows (narrows a string to EvalTransformName). */
export function hasEvalTransform(name: string): name is EvalTransformName {
  return Object.prototype.hasOwnProperty.call(EVAL_TRANSFORMS, name);
}

/**
 * Returns torchvision's evaluation transform for the DEFAULT published weights of the model `name`
 * (e.g. efficientnet_b4: bicubic Resize(384), CenterCrop(380), ImageNet mean/std); an unknown name throws.
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
 * cropSize × cropSize is fed as it is, as imageToInput always does).
 */
export function evalInputOptions(name: string): InputOptions {
  const t = evalTransform(name);
  return { size: t.cropSize, shorterSide: t.resizeSize, filter: t.interpolation, mean: t.mean, std: t.std };
}
