import * as fs from 'fs';
import { normalize, preprocessFrame, preprocessImageNet, readImage } from '@gradlens/io';
import type { NdArray, PictureFrame, RasterImage, ResizeFilter, RgbImage } from '@gradlens/io';
import { imageToInput, toTensor } from '@gradlens/nn';
import type { Tensor } from '@gradlens/tensor';
import { CliError } from './args';

/** A picture made ready for a model. */
export interface PreparedImage {
  /** The network input [1, 3, H, W] (normalised unless asked not to). */
  input: Tensor;
  /** The same pixels before normalisation, as the picture the maps are drawn on (W × H RGB). */
  picture: RgbImage;
  /** Where the input lies in the original picture (to report boxes in its pixels); absent for generated pictures. */
  frame?: PictureFrame;
}

/** How to bring a picture to the model. */
export interface PrepareOptions {
  size: number;
  /** An exact non-square height × width (both or neither): the picture covers it, aspect kept, and is centre-cropped. */
  height?: number;
  width?: number;
  /** false: no crop, the whole picture with its shorter side resized to `shorterSide` (torchvision's segmentation transform). */
  crop?: boolean;
  mean: readonly number[];
  std: readonly number[];
  /** Apply the mean/std normalisation (default true). */
  normalize?: boolean;
  /**
   * The reference scripts' preprocessing: stretch to size × size with Lanczos. Otherwise imageToInput's
   * (torchvision's evaluation transform, Resize(shorterSide) of the shorter side with `filter` and
   * CenterCrop(size), skipped when the picture already has the size).
   */
  reference?: boolean;
  /** The shorter side before the crop (default round(size · 256 / 224)); not with `reference`. */
  shorterSide?: number;
  /** The resize filter (default bilinear); not with `reference`. */
  filter?: ResizeFilter;
}

/** The [0, 1] CHW float picture (height rows of width, height defaulting to width) as 8-bit RGB (HWC), rounded. */
export function chwToPicture(values: Float32Array, width: number, height: number = width): RgbImage {
  const n = width * height;
  const data = new Uint8Array(3 * n);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) data[p * 3 + c] = Math.round(Math.min(1, Math.max(0, values[c * n + p] ?? 0)) * 255);
  }
  return { width, height, channels: 3, bitDepth: 8, data };
}

/** Reads `file` as a picture; a missing or undecodable file is a CliError naming it. */
export function readPicture(file: string): RasterImage {
  if (!fs.existsSync(file)) throw new CliError(`image not found: ${file}`, 2);
  if (!fs.statSync(file).isFile()) throw new CliError(`image is not a file: ${file}`, 2);
  try {
    return readImage(file);
  } catch (e) {
    throw new CliError(`cannot read the image ${file}: ${(e as Error).message}`, 2);
  }
}

/**
 * Returns the model input and the picture to draw on for a picture: the library's imageToInput
 * transform (one implementation: a picture already size × size is fed as is, any other resized and
 * centre-cropped), or with `reference` the reference scripts' stretch.
 */
export function prepareImage(raw: RasterImage, options: PrepareOptions): PreparedImage {
  const s = options.size;
  const box = options.height !== undefined && options.width !== undefined ? { height: options.height, width: options.width } : {};
  // --reference stretches to the model's size (a whole-picture model's: size × size, as before)
  const geometry = options.reference
    ? { size: s, ...box, resize: 'stretch' as const }
    : options.crop === false
      ? { size: s, crop: false as const, shorterSide: options.shorterSide ?? s, filter: options.filter }
      : { size: s, ...box, shorterSide: options.shorterSide, filter: options.filter };
  const input = imageToInput(raw, { ...geometry, mean: options.mean, std: options.std, normalize: options.normalize !== false });
  const plain = preprocessImageNet(raw, { ...geometry, normalize: false });
  const [, h, w] = plain.shape as [number, number, number];
  return { input, picture: chwToPicture(plain.data, w, h), frame: preprocessFrame(raw.width, raw.height, geometry) };
}

/** Prepares an already decoded [0, 1] CHW picture (a bundled sample or a generated one). */
export function prepareValues(
  plain: Float32Array,
  size: number,
  options: { mean: readonly number[]; std: readonly number[]; normalize?: boolean },
): PreparedImage {
  const arr: NdArray<'float32'> = { dtype: 'float32', shape: [3, size, size], data: plain };
  const values = options.normalize === false ? arr : normalize(arr, options.mean, options.std);
  return { input: toTensor({ ...values, shape: [1, 3, size, size] }), picture: chwToPicture(plain, size) };
}
