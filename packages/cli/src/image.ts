import * as fs from 'fs';
import { normalize, preprocessImageNet, readImage } from '@gradlens/io';
import type { NdArray, RgbImage } from '@gradlens/io';
import { tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { CliError } from './args';

/** A picture made ready for a model. */
export interface PreparedImage {
  /** The network input [1, 3, size, size] (normalised unless asked not to). */
  input: Tensor;
  /** The same pixels before normalisation, as the picture the maps are drawn on (size × size RGB). */
  picture: RgbImage;
  /** The input as a plain array [3, size, size] (what `.npy` maps are compared with). */
  values: NdArray<'float32'>;
}

/** How to bring a picture to the model. */
export interface PrepareOptions {
  size: number;
  mean: readonly number[];
  std: readonly number[];
  /** Apply the mean/std normalisation (default true). */
  normalize?: boolean;
  /**
   * The reference scripts' preprocessing: stretch to size × size with Lanczos. Otherwise torchvision's
   * evaluation transform (Resize(round(size · 256 / 224)) of the shorter side, CenterCrop(size)),
   * skipped when the picture already has the size.
   */
  reference?: boolean;
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

/** Reads `file` and returns the model input and the picture to draw on; errors name the file. */
export function prepareImage(file: string, options: PrepareOptions): PreparedImage {
  if (!fs.existsSync(file)) throw new CliError(`image not found: ${file}`);
  let raw;
  try {
    raw = readImage(file);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const s = options.size;
  const resize = options.reference ? 'stretch' : raw.width === s && raw.height === s ? false : undefined;
  const plain = preprocessImageNet(raw, { size: s, resize, normalize: false });
  const values = options.normalize === false ? plain : normalize(plain, options.mean, options.std);
  return {
    input: tensor(values.data, [1, 3, s, s]),
    picture: chwToPicture(plain.data, s),
    values,
  };
}

/** Prepares an already decoded [0, 1] CHW picture (a bundled sample or a generated one). */
export function prepareValues(plain: Float32Array, size: number, options: { mean: readonly number[]; std: readonly number[]; normalize?: boolean }): PreparedImage {
  const arr: NdArray<'float32'> = { dtype: 'float32', shape: [3, size, size], data: plain };
  const values = options.normalize === false ? arr : normalize(arr, options.mean, options.std);
  return { input: tensor(values.data, [1, 3, size, size]), picture: chwToPicture(plain, size), values };
}
