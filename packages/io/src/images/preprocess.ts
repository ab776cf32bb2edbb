import type { NdArray } from '../array';
import { toRgb } from './convert';
import { centerCrop } from './crop';
import type { ResizeFilter } from './filters';
import { resizeImage } from './resize';
import { roundHalfEven } from './rounding';
import type { RasterImage, RasterImage8, RgbImage } from './types';
import { checkImage } from './types';

/** ImageNet channel means (RGB), as torchvision's reference scripts use. */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
/** ImageNet channel standard deviations (RGB). */
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

const f32 = Math.fround;

/** Returns the image resized so its shorter side is `size`, as torchvision's Resize(int): long side = trunc(size * long / short). */
export function resizeShorterSide(image: RasterImage8, size: number, filter: ResizeFilter = 'bilinear'): RasterImage8 {
  const { width: W, height: H } = image;
  const short = Math.min(W, H);
  const long = Math.max(W, H);
  const newLong = Math.trunc((size * long) / short);
  return W <= H ? resizeImage(image, size, newLong, filter) : resizeImage(image, newLong, size, filter);
}

/**
 * Returns the image resized, keeping its aspect, to the smallest size that covers width × height: the side whose
 * ratio binds goes to its target exactly, the other to trunc(target · other / side) (torchvision's Resize(int)
 * rule). For a square box this is resizeShorterSide(image, side).
 */
export function resizeToCover(image: RasterImage8, width: number, height: number, filter: ResizeFilter = 'bilinear'): RasterImage8 {
  const { width: W, height: H } = image;
  // compare height / H with width / W without division: the binding side is the one whose ratio is larger
  if (height * W >= width * H) return resizeImage(image, Math.trunc((height * W) / H), height, filter);
  return resizeImage(image, width, Math.trunc((width * H) / W), filter);
}

/** Returns a float32 CHW NdArray [C, H, W] with samples / 255 in [0, 1] (torchvision's ToTensor). */
export function imageToTensor(image: RasterImage): NdArray<'float32'> {
  checkImage(image, 'imageToTensor');
  const { width: W, height: H, channels: C } = image;
  const max = image.bitDepth === 16 ? 65535 : 255;
  const n = W * H;
  const out = new Float32Array(C * n);
  const src = image.data;
  for (let p = 0; p < n; p++) for (let c = 0; c < C; c++) out[c * n + p] = (src[p * C + c] ?? 0) / max;
  return { dtype: 'float32', shape: [C, H, W], data: out };
}

function channelInfo(t: NdArray<'float32'>, k: number, where: string): { C: number; n: number } {
  const shape = t.shape;
  if (shape.length < 3) throw new Error(`${where}: expected a CHW or NCHW tensor, got shape [${shape.join(', ')}]`);
  const C = shape[shape.length - 3] ?? 0;
  if (C !== k) throw new Error(`${where}: the tensor has ${C} channels but ${k} mean/std values were given`);
  const n = (shape[shape.length - 1] ?? 0) * (shape[shape.length - 2] ?? 0);
  return { C, n };
}

/** Returns (x - mean[c]) / std[c] per channel, float32 arithmetic as torchvision's Normalize; shape unchanged (CHW or NCHW). */
export function normalize(
  t: NdArray<'float32'>,
  mean: readonly number[] = IMAGENET_MEAN,
  std: readonly number[] = IMAGENET_STD,
): NdArray<'float32'> {
  const { C, n } = channelInfo(t, mean.length, 'normalize');
  const out = new Float32Array(t.data.length);
  for (let i = 0; i < out.length; i++) {
    const c = Math.floor(i / n) % C;
    out[i] = f32(f32((t.data[i] ?? 0) - f32(mean[c] ?? 0)) / f32(std[c] ?? 1));
  }
  return { dtype: 'float32', shape: [...t.shape], data: out };
}

/** Returns x * std[c] + mean[c] per channel (the inverse of normalize), float32; shape unchanged. */
export function denormalize(
  t: NdArray<'float32'>,
  mean: readonly number[] = IMAGENET_MEAN,
  std: readonly number[] = IMAGENET_STD,
): NdArray<'float32'> {
  const { C, n } = channelInfo(t, mean.length, 'denormalize');
  const out = new Float32Array(t.data.length);
  for (let i = 0; i < out.length; i++) {
    const c = Math.floor(i / n) % C;
    out[i] = f32(f32((t.data[i] ?? 0) * f32(std[c] ?? 1)) + f32(mean[c] ?? 0));
  }
  return { dtype: 'float32', shape: [...t.shape], data: out };
}

/**
 * Returns the 8-bit RGB picture (HWC) of a normalised CHW tensor, as pytorch-cnn-visualizations'
 * recreate_image: un-normalise (its float32 steps: x / (1/std) + mean), clip to [0, 1], x 255,
 * round half to even. A leading batch dimension of 1 is accepted.
 */
export function recreateImage(
  t: NdArray<'float32'>,
  mean: readonly number[] = IMAGENET_MEAN,
  std: readonly number[] = IMAGENET_STD,
): RgbImage {
  const shape = t.shape.length === 4 && t.shape[0] === 1 ? t.shape.slice(1) : t.shape;
  if (shape.length !== 3 || shape[0] !== 3) {
    throw new Error(`recreateImage: expected a [3, H, W] (or [1, 3, H, W]) tensor, got [${t.shape.join(', ')}]`);
  }
  const H = shape[1] ?? 0;
  const W = shape[2] ?? 0;
  const n = H * W;
  const out = new Uint8Array(n * 3);
  for (let c = 0; c < 3; c++) {
    const rstd = f32(1 / (std[c] ?? 1));
    const rmean = f32(-(mean[c] ?? 0));
    for (let p = 0; p < n; p++) {
      let v = f32(f32((t.data[c * n + p] ?? 0) / rstd) - rmean);
      v = v > 1 ? 1 : v < 0 ? 0 : v; // NaN stays NaN and becomes 0 below, as np.uint8 does on x86
      const r = roundHalfEven(f32(v * 255));
      out[p * 3 + c] = Number.isNaN(r) ? 0 : r;
    }
  }
  return { width: W, height: H, channels: 3, bitDepth: 8, data: out };
}

/** Options of preprocessImageNet. */
export interface PreprocessOptions {
  /** Side of the square output (default 224). */
  size?: number;
  /**
   * A non-square output height × width (both or neither; they replace `size`). The default rule then resizes the
   * picture, keeping its aspect, to cover round(height · z) × round(width · z), z = shorterSide / min(height,
   * width) (default 256 / 224), and centre-crops height × width; a picture already width × height is taken as it is.
   */
  height?: number;
  width?: number;
  /**
   * How to get there:
   * - default: a picture that already is size x size is taken as it is (torchvision's transform would
   *   enlarge a 224 x 224 picture to 256 and crop 16 pixels off every side, which a picture already
   *   made for the model does not want); any other gets Resize(shorterSide) + CenterCrop;
   * - a number n: torchvision's Resize(n) of the shorter side, then CenterCrop(size) — the ImageNet
   *   evaluation transform, always;
   * - 'stretch': straight to size x size with Lanczos, as pytorch-cnn-visualizations' preprocess_image;
   * - false: no resize, only CenterCrop(size).
   */
  resize?: number | 'stretch' | false;
  /**
   * The side the default rule resizes the shorter side to (default round(size * 256 / 224)), e.g. a
   * torchvision model's own resize_size; a picture already size x size is still taken as it is.
   */
  shorterSide?: number;
  /** Resampling filter (default 'bilinear' for a number, 'lanczos' for 'stretch'). */
  filter?: ResizeFilter;
  /**
   * Centre-crop to size × size (default true). false: the picture after the resize (`resize`, else `shorterSide`,
   * else none) is the output as it is, [3, h, w], `size` unused: torchvision's SemanticSegmentation transform.
   */
  crop?: boolean;
  /** Apply the mean/std normalisation (default true); false leaves values in [0, 1]. */
  normalize?: boolean;
  mean?: readonly number[];
  std?: readonly number[];
  /** Return [1, 3, size, size] instead of [3, size, size] (default false). */
  batch?: boolean;
}

/**
 * Returns the network input for a picture: RGB, resized and centre-cropped (unless it already has
 * the input size), scaled to [0, 1] and ImageNet-normalised, as a float32 NdArray [3, size, size] (or [1, 3, size, size] with `batch`).
 */
export function preprocessImageNet(image: RasterImage, options: PreprocessOptions = {}): NdArray<'float32'> {
  if ((options.height === undefined) !== (options.width === undefined))
    throw new Error('preprocessImageNet: give both height and width, or neither');
  for (const [k, v] of [
    ['height', options.height],
    ['width', options.width],
  ] as const)
    if (v !== undefined && !(Number.isInteger(v) && v > 0))
      throw new Error(`preprocessImageNet: ${k} must be a positive integer, got ${v}`);
  // a square height × width is the `size` path, byte for byte
  if (options.height !== undefined && options.height !== options.width) return preprocessBox(image, options);
  const size = options.height ?? options.size ?? 224;
  const ready = image.width === size && image.height === size;
  if (options.shorterSide !== undefined && !(Number.isInteger(options.shorterSide) && options.shorterSide > 0))
    throw new Error(`preprocessImageNet: shorterSide must be a positive integer, got ${options.shorterSide}`);
  const resize = options.resize ?? (ready ? false : (options.shorterSide ?? Math.round((size * 256) / 224)));
  let rgb: RasterImage8 = toRgb(image);
  if (options.crop === false) {
    if (options.resize === 'stretch') throw new Error("preprocessImageNet: crop: false goes with a shorter-side resize, not 'stretch'");
    const side = options.resize ?? options.shorterSide;
    if (side !== undefined && side !== false) rgb = resizeShorterSide(rgb, side, options.filter ?? 'bilinear');
  } else if (resize === 'stretch') {
    rgb = resizeImage(rgb, size, size, options.filter ?? 'lanczos');
  } else {
    if (resize !== false) rgb = resizeShorterSide(rgb, resize, options.filter ?? 'bilinear');
    rgb = centerCrop(rgb, size, size);
  }
  let t = imageToTensor(rgb);
  if (options.normalize ?? true) t = normalize(t, options.mean ?? IMAGENET_MEAN, options.std ?? IMAGENET_STD);
  return options.batch ? { ...t, shape: [1, ...t.shape] } : t;
}

/** preprocessImageNet for a non-square height × width output (see PreprocessOptions.height). */
function preprocessBox(image: RasterImage, options: PreprocessOptions): NdArray<'float32'> {
  const height = options.height!;
  const width = options.width!;
  if (options.crop === false)
    throw new Error('preprocessImageNet: crop: false takes no height and width (the resized picture is the output)');
  if (options.shorterSide !== undefined && !(Number.isInteger(options.shorterSide) && options.shorterSide > 0))
    throw new Error(`preprocessImageNet: shorterSide must be a positive integer, got ${options.shorterSide}`);
  let rgb: RasterImage8 = toRgb(image);
  const ready = image.width === width && image.height === height;
  const resize = options.resize ?? (ready ? false : 'cover');
  if (resize === 'stretch') {
    rgb = resizeImage(rgb, width, height, options.filter ?? 'lanczos');
  } else {
    if (resize === 'cover') {
      const z = (options.shorterSide ?? Math.round((Math.min(height, width) * 256) / 224)) / Math.min(height, width);
      rgb = resizeToCover(rgb, Math.round(width * z), Math.round(height * z), options.filter ?? 'bilinear');
    } else if (resize !== false) rgb = resizeShorterSide(rgb, resize, options.filter ?? 'bilinear');
    rgb = centerCrop(rgb, width, height);
  }
  let t = imageToTensor(rgb);
  if (options.normalize ?? true) t = normalize(t, options.mean ?? IMAGENET_MEAN, options.std ?? IMAGENET_STD);
  return options.batch ? { ...t, shape: [1, ...t.shape] } : t;
}
