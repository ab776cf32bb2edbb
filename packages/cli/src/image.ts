import * as fs from 'fs';
import { normalize, preprocessImageNet, readImage } from '@gradlens/io';
import type { NdArray, RasterImage, ResizeFilter, RgbImage } from '@gradlens/io';
import { imageToInput, toTensor } from '@gradlens/nn';
import type { Tensor } from '@gradlens/tensor';
import { CliError } from './args';

/** A picture made ready for a model. */
export interface PreparedImage {
  /** The network input [1, 3, size, size] (normalised unless asked not to). */
  input: Tensor;
  /** The same pixels before normalisation, as the picture the maps are drawn on (size × size RGB). */
  picture: RgbImage;
}

/** How to bring a picture to the model. */
export interface PrepareOptions {
  size: number;
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

/** The [0, 1] CHW float picture as 8-bit RGB (HWC), rounded. */
export function chwToPicture(values: Float32Array, size: number): RgbImage {
  const n = size * size;
  const data = new Uint8Array(3 * n);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) data[p * 3 + c] = Math.round(Math.min(1, Math.max(0, values[c * n + p] ?? 0)) * 255);
  }
  return { width: size, height: size, channels: 3, bitDepth: 8, data };
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
  const geometry = options.reference
    ? { size: s, resize: 'stretch' as const }
    : { size: s, shorterSide: options.shorterSide, filter: options.filter };
  const input = imageToInput(raw, { ...geometry, mean: options.mean, std: options.std, normalize: options.normalize !== false });
  const plain = preprocessImageNet(raw, { ...geometry, normalize: false });
  return { input, picture: chwToPicture(plain.data, s) };
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
