import { baseName } from '../paths';
import type { NdArray } from '../array';
import type { ColormapName } from './colormaps';
import { applyColormap } from './colormaps';
import { toRgba } from './convert';
import type { ResizeFilter } from './filters';
import type { MapOptions } from './maps';
import { convertToGrayscale, mapShape, mapValues, normalizeMap, positiveNegativeSaliency } from './maps';
import type { RgbaImage } from './overlay';
import { alphaComposite, withAlpha } from './overlay';
import { writeImage } from './read';
import { resizeImage } from './resize';
import type { RasterImage, RgbImage } from './types';

/*
 * The picture conventions of pytorch-cnn-visualizations (misc_functions.py), so that its users get
 * the same files: maps are normalised, multiplied by 255 and truncated (numpy's astype(uint8)),
 * single-channel maps are written as RGB, CAM heatmaps as RGBA.
 */

const UNIT = { min: 0, max: 1 } as const;

/**
 * Returns the RGB picture (HWC, 8-bit) of a [C, H, W] map (C = 1 or 3; [H, W] is one channel):
 * min-max over the whole tensor (or the fixed `scale`), x 255, truncated: save_gradient_images.
 */
export function gradientToImage(gradient: NdArray, options: MapOptions = {}): RgbImage {
  const { C, H, W } = mapShape(gradient, 'gradientToImage');
  if (C !== 1 && C !== 3) throw new Error(`gradientToImage: expected 1 or 3 channels, got ${C} (shape [${gradient.shape.join(', ')}])`);
  const v = normalizeMap(mapValues(gradient, 'gradientToImage'), options);
  const n = H * W;
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) out[p * 3 + c] = Math.trunc(Math.fround((v[(C === 1 ? 0 : c) * n + p] ?? 0) * 255));
  }
  return { width: W, height: H, channels: 3, bitDepth: 8, data: out };
}

/** Writes `<prefix>_color.png` (the gradient) and `<prefix>_gray.png` (its grayscale); returns both paths. */
export function saveGradientImages(gradient: NdArray, prefix: string, options: MapOptions = {}): { color: string; gray: string } {
  const color = `${prefix}_color.png`;
  const gray = `${prefix}_gray.png`;
  writeImage(color, gradientToImage(gradient, { ...options, label: options.label ?? color }));
  const g = convertToGrayscale(gradient, { ...options, label: options.label ?? gray });
  // the reference min-max normalises the grayscale again; on a fixed scale it is already in [0, 1]
  writeImage(gray, gradientToImage(g, { ...options, label: options.label ?? gray, scale: options.scale ? UNIT : undefined }));
  return { color, gray };
}

/** Writes `<prefix>_pos_sal.png` and `<prefix>_neg_sal.png` (positive and negative saliency); returns both paths. */
export function saveSaliencyImages(gradient: NdArray, prefix: string, options: MapOptions = {}): { positive: string; negative: string } {
  const positive = `${prefix}_pos_sal.png`;
  const negative = `${prefix}_neg_sal.png`;
  const sal = positiveNegativeSaliency(gradient, { ...options, label: options.label ?? prefix });
  // the sides are drawn without a second warning for an empty side: positiveNegativeSaliency gave it
  const draw = { ...options, onWarning: (): void => undefined, scale: options.scale ? UNIT : undefined };
  writeImage(positive, gradientToImage(sal.positive, draw));
  writeImage(negative, gradientToImage(sal.negative, draw));
  return { positive, negative };
}

/** Options of the class-activation pictures. */
export interface CamOptions extends MapOptions {
  /** Colormap of the heatmap (default 'hsv', the reference's choice). */
  colormap?: ColormapName;
  /** Opacity of the heatmap laid on the image (default 0.4). */
  alpha?: number;
  /** Filter that brings the map to the image size (default 'lanczos', the reference's ANTIALIAS). */
  filter?: ResizeFilter;
}

/**
 * Returns an [h, w] CAM brought to outW x outH as the reference Grad-CAM script does: normalised
 * to [0, 1] (min-max, or the fixed scale), made uint8 (x 255, truncated), resized with PIL's
 * filter (Lanczos by default) and divided by 255. Row-major float64, values in [0, 1].
 */
export function camToImageSize(cam: NdArray, outW: number, outH: number, options: CamOptions = {}): Float64Array {
  const { C, H, W } = mapShape(cam, 'camToImageSize');
  if (C !== 1) throw new Error(`camToImageSize: a CAM has one channel, got shape [${cam.shape.join(', ')}]`);
  const v = normalizeMap(mapValues(cam, 'camToImageSize'), options);
  const u8 = Uint8Array.from(v, (x) => Math.trunc(Math.fround(x * 255)));
  const big = resizeImage({ width: W, height: H, channels: 1, bitDepth: 8, data: u8 }, outW, outH, options.filter ?? 'lanczos');
  return Float64Array.from(big.data, (x) => x / 255);
}

/** The three CAM pictures: colormap heatmap (RGBA), heatmap on the image (RGBA), grayscale map (RGB). */
export interface CamPictures {
  heatmap: RgbaImage;
  onImage: RgbaImage;
  grayscale: RgbImage;
  /** The map at image size, float64 in [0, 1], row-major. */
  map: Float64Array;
}

/**
 * Returns the pictures of save_class_activation_images for a CAM ([h, w] or [1, h, w]) and the
 * image it explains; the map is brought to the image size with camToImageSize.
 */
export function classActivationImages(image: RasterImage, cam: NdArray, options: CamOptions = {}): CamPictures {
  const { width: W, height: H } = image;
  const map = camToImageSize(cam, W, H, options);
  const colored = applyColormap(map, H, W, options.colormap ?? 'hsv');
  const alpha = options.alpha ?? 0.4;
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`classActivationImages: alpha must be in [0, 1], got ${alpha}`);
  const onImage = alphaComposite(toRgba(image), withAlpha(colored, Math.trunc(alpha * 255)));
  const gray = new Uint8Array(W * H * 3);
  for (let p = 0; p < map.length; p++) {
    const g = Math.trunc((map[p] ?? 0) * 255); // float64, as the reference's (cam * 255).astype(uint8)
    gray[p * 3] = g;
    gray[p * 3 + 1] = g;
    gray[p * 3 + 2] = g;
  }
  return {
    heatmap: withAlpha(colored, 255),
    onImage,
    grayscale: { width: W, height: H, channels: 3, bitDepth: 8, data: gray },
    map,
  };
}

/**
 * Writes `<prefix>_Cam_Heatmap.png`, `<prefix>_Cam_On_Image.png` and `<prefix>_Cam_Grayscale.png`
 * (see classActivationImages); returns the three paths.
 */
export function saveClassActivationImages(
  image: RasterImage,
  cam: NdArray,
  prefix: string,
  options: CamOptions = {},
): { heatmap: string; onImage: string; grayscale: string } {
  const files = {
    heatmap: `${prefix}_Cam_Heatmap.png`,
    onImage: `${prefix}_Cam_On_Image.png`,
    grayscale: `${prefix}_Cam_Grayscale.png`,
  };
  const pics = classActivationImages(image, cam, { ...options, label: options.label ?? baseName(prefix) });
  writeImage(files.heatmap, pics.heatmap);
  writeImage(files.onImage, pics.onImage);
  writeImage(files.grayscale, pics.grayscale);
  return files;
}
