import {
  applyColormap,
  camToImageSize,
  classActivationImages,
  convertToGrayscale,
  gradientToImage,
  preprocessImageNet,
  withLegend,
  writeImage,
  writeNpy,
} from '@gradlens/io';
import type { ColormapName, NdArray, RasterImage, RgbImage } from '@gradlens/io';
import { toNdArray } from '@gradlens/nn';
import { reshape, Tensor } from '@gradlens/tensor';

/*
 * From a method's result to files: the short path `readImage → imageToInput → method → saveMap`.
 * The result is taken as it comes (a CAM result, an attribution, LRP relevance, occlusion, or a bare
 * Tensor), so nobody has to know which field holds the map.
 */

/** What saveMap and saveNpy take: any method's result, or a Tensor. */
export type SavableMap =
  Tensor | { upsampled: Tensor; map: Tensor } | { attribution: Tensor } | { relevance: Tensor } | { grid: Tensor; map: Tensor };

/** Options of saveMap. */
export interface SaveMapOptions {
  /**
   * The picture to lay a CAM or occlusion map on (as read by readImage). One of another size than
   * the model input is brought to it with the same resize and centre crop as imageToInput.
   */
  image?: RasterImage;
  /** Colormap of CAM and occlusion maps (default 'jet': low blue, high red). */
  colormap?: ColormapName;
  /** Opacity of the map over `image` (default 0.4). */
  alpha?: number;
  /** Which item of a batch to draw (default 0). */
  item?: number;
  /** Add a colour bar under the picture (low on the left, high on the right). */
  legend?: boolean;
  /** Receives warnings about degenerate maps (constant, NaN); default console.warn. */
  onWarning?: (message: string) => void;
}

/**
 * The map kind and tensor a result holds: 'heat' for [N, h, w] maps, 'gradient' for [N, C, H, W]
 * attributions. `owned`: t was made here (a [h, w] map given a batch dimension) and is the caller's to free.
 */
function mapOf(result: SavableMap, where: string): { kind: 'heat' | 'gradient'; t: Tensor; owned?: boolean } {
  if (result instanceof Tensor) {
    if (result.rank === 4) return { kind: 'gradient', t: result };
    if (result.rank === 3) return { kind: 'heat', t: result };
    if (result.rank === 2) return { kind: 'heat', t: reshape(result, [1, ...result.shape]), owned: true };
    throw new Error(
      `${where}: a Tensor map must be [N, C, H, W] (an attribution), [N, h, w] or [h, w] (a heat map), got shape [${result.shape.join(', ')}]; pass the method's result itself`,
    );
  }
  if (result === null || typeof result !== 'object')
    throw new Error(`${where}: expected a method's result or a Tensor, got ${String(result)}`);
  if ('upsampled' in result && result.map instanceof Tensor) return { kind: 'heat', t: result.map };
  if ('grid' in result && result.map instanceof Tensor) return { kind: 'heat', t: result.map };
  if ('attribution' in result && result.attribution instanceof Tensor) return { kind: 'gradient', t: result.attribution };
  if ('relevance' in result && result.relevance instanceof Tensor) return { kind: 'gradient', t: result.relevance };
  throw new Error(
    `${where}: expected a method's result (with map, attribution or relevance) or a Tensor, got an object with keys ${Object.keys(result).join(', ')}`,
  );
}

/** Item `i` of a [N, …] tensor as a float32 array without the batch dimension. */
function itemOf(t: Tensor, i: number, where: string): NdArray<'float32'> {
  const n = t.shape[0]!;
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`${where}: item ${i} is out of range: the batch has ${n} item(s)`);
  const size = t.size / n;
  const all = toNdArray(t);
  return {
    dtype: 'float32',
    shape: t.shape.slice(1),
    data: Float32Array.from(all.data as ArrayLike<number>).subarray(i * size, (i + 1) * size),
  };
}

/**
 * The picture brought to outW × outH: as it is when it has that size, else imageToInput's resize and centre crop (a
 * non-square map: the picture covers it, aspect kept, and is centre-cropped, as preprocessImageNet's height and width).
 */
function pictureAt(image: RasterImage, outW: number, outH: number): RasterImage {
  if (image.width === outW && image.height === outH) return image;
  const chw = preprocessImageNet(image, outW === outH ? { size: outW, normalize: false } : { height: outH, width: outW, normalize: false });
  const n = outW * outH;
  const data = new Uint8Array(3 * n);
  for (let p = 0; p < n; p++)
    for (let c = 0; c < 3; c++) data[p * 3 + c] = Math.round(Math.min(1, Math.max(0, chw.data[c * n + p]!)) * 255);
  return { width: outW, height: outH, channels: 3, bitDepth: 8, data };
}

/** The picture saveMap writes (see there), without writing it. */
export function mapPicture(result: SavableMap, options: SaveMapOptions = {}): RgbImage | RasterImage {
  const where = 'mapPicture';
  const { kind, t, owned } = mapOf(result, where);
  let one: NdArray<'float32'>;
  try {
    one = itemOf(t, options.item ?? 0, where);
  } finally {
    if (owned) t.dispose();
  }
  const draw = { onWarning: options.onWarning };
  const colormap = options.colormap ?? 'jet';
  let picture: RasterImage;
  if (kind === 'gradient') {
    const c = one.shape[0]!;
    picture = gradientToImage(c === 3 || c === 1 ? one : convertToGrayscale(one, draw), draw);
  } else {
    const [h, w] = one.shape as [number, number];
    // a CAM result's map is at the layer's resolution: drawn at the input size (the upsampled map's)
    const up = typeof result === 'object' && 'upsampled' in result ? result.upsampled.shape : null;
    const H = options.image ? (up?.[1] ?? options.image.height) : (up?.[1] ?? h);
    const W = options.image ? (up?.[2] ?? options.image.width) : (up?.[2] ?? w);
    if (options.image) {
      picture = classActivationImages(pictureAt(options.image, W, H), one, { ...draw, colormap, alpha: options.alpha }).onImage;
    } else {
      picture = applyColormap(camToImageSize(one, W, H, draw), H, W, colormap);
    }
  }
  return options.legend ? withLegend(picture, kind === 'heat' ? colormap : 'gray') : picture;
}

/**
 * Writes a method's map as a PNG and returns the path. CAM results, occlusion and [N, h, w] tensors
 * are drawn with a colormap (jet by default), over `options.image` when given; attributions
 * ([N, C, H, W]: gradients, LRP relevance) as the reference project's gradient pictures (min–max to
 * [0, 1], colour for 3 channels). Item 0 of a batch unless `options.item` says otherwise.
 */
export function saveMap(file: string, result: SavableMap, options: SaveMapOptions = {}): string {
  writeImage(file, mapPicture(result, options));
  return file;
}

/** Writes the whole float map of a result (CAM: the layer-resolution map [N, h, w]; attributions: [N, C, H, W]) as .npy; returns the path. */
export function saveNpy(file: string, result: SavableMap): string {
  const { t, owned } = mapOf(result, 'saveNpy');
  try {
    writeNpy(file, toNdArray(t));
  } finally {
    if (owned) t.dispose();
  }
  return file;
}
