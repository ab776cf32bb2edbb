import * as path from 'path';
import {
  applyColormap,
  classActivationImages,
  convertToGrayscale,
  gradientToImage,
  positiveNegativeSaliency,
  saveClassActivationImages,
  writeImage,
  writeNpy,
} from '@gradlens/io';
import { withLegend } from '@gradlens/io';
import type { ColormapName, NdArray, RgbImage } from '@gradlens/io';
import type { MethodMaps, MethodSpec } from './methods';

/**
 * File names follow pytorch-cnn-visualizations (`<image>_Vanilla_BP_color.png`, `_Guided_BP_gray`,
 * `_pos_sal`, `_neg_sal`, `_GGrad_Cam`, `_GGrad_Cam_gray`, `_SmoothGrad_color`, `_Integrated_G_gray`,
 * `_Vanilla_grad_times_image_gray`, `_Cam_Heatmap`, `_Cam_On_Image`, `_Cam_Grayscale`). The reference
 * saves every CAM script's pictures as `<image>_Cam_*`, so they overwrite each other; here Grad-CAM
 * keeps those exact names and every other CAM-style method inserts its tag: `<image>_ScoreCAM_Cam_Heatmap.png`.
 */
const GRADIENT_TAGS: Readonly<Record<string, string>> = {
  vanilla: 'Vanilla_BP',
  guided: 'Guided_BP',
  deconvnet: 'Deconvnet',
  'grad-x-input': 'Vanilla_grad_times_image',
  smoothgrad: 'SmoothGrad',
  ig: 'Integrated_G',
  lrp: 'LRP',
  'transformer-lrp': 'Transformer_LRP',
};

const CAM_TAGS: Readonly<Record<string, string>> = {
  gradcam: '',
  'gradcam++': 'GradCAMpp',
  xgradcam: 'XGradCAM',
  hirescam: 'HiResCAM',
  layercam: 'LayerCAM',
  scorecam: 'ScoreCAM',
  ablationcam: 'AblationCAM',
  eigencam: 'EigenCAM',
  cam: 'CAM',
  occlusion: 'Occlusion',
};

/** The pictures written for one method, and the one that best stands for it in a gallery. */
export interface WrittenPictures {
  files: string[];
  /** The picture to show in a gallery cell. */
  main: string;
}

/** The picture file stem of a method for image stem `stem`: `<stem>_<Tag>` (or `<stem>` for Grad-CAM). */
export function pictureStem(method: string, stem: string): string {
  const tag = GRADIENT_TAGS[method] ?? CAM_TAGS[method];
  if (method === 'guided-gradcam') return `${stem}_GGrad_Cam`;
  if (tag === undefined) return `${stem}_${method.replace(/[^A-Za-z0-9]+/g, '_')}`;
  return tag === '' ? stem : `${stem}_${tag}`;
}

/** The signed relevance summed over channels, drawn with the 'seismic' colormap centred on 0 (blue negative, red positive). */
export function signedHeatmap(map: NdArray<'float32'>): RgbImage {
  const [c, h, w] = map.shape.length === 3 ? (map.shape as [number, number, number]) : [1, map.shape[0]!, map.shape[1]!];
  const n = h * w;
  const sum = new Float32Array(n);
  for (let k = 0; k < c; k++) for (let p = 0; p < n; p++) sum[p] = sum[p]! + (map.data[k * n + p] ?? 0);
  let peak = 0;
  for (const v of sum) if (Math.abs(v) > peak) peak = Math.abs(v);
  const unit = Float32Array.from(sum, (v) => (peak > 0 ? 0.5 + v / (2 * peak) : 0.5));
  return applyColormap(unit, h, w, 'seismic');
}

/** How CAM-style maps are drawn: the colormap (jet unless the reference's hsv is asked for) and an optional colour-bar strip. */
export interface DrawOptions {
  colormap: ColormapName;
  /** Write the heatmap and the map on the picture with a colour bar under them (low left, high right). */
  legend: boolean;
}

/** jet: low values blue, high red (hsv, the reference scripts' choice, is red at both ends). */
export const DEFAULT_DRAW: DrawOptions = { colormap: 'jet', legend: false };

/**
 * Writes the pictures of one method's maps for `picture` (the input as the model saw it, before
 * normalisation) into `dir`, named after the image stem; returns their paths.
 */
export function writePictures(
  spec: MethodSpec,
  maps: MethodMaps,
  picture: RgbImage,
  dir: string,
  stem: string,
  onWarning: (m: string) => void,
  draw: DrawOptions = DEFAULT_DRAW,
): WrittenPictures {
  const base = path.join(dir, pictureStem(spec.name, stem));
  const opts = { onWarning };
  const files: string[] = [];
  const put = (file: string, image: RgbImage | Parameters<typeof writeImage>[1]): string => {
    writeImage(file, image);
    files.push(file);
    return file;
  };
  if (maps.kind === 'gradient') {
    const label = path.basename(base);
    if (spec.name === 'guided-gradcam') {
      const main = put(`${base}.png`, gradientToImage(maps.raw, { ...opts, label }));
      put(`${base}_gray.png`, gradientToImage(convertToGrayscale(maps.raw, { ...opts, label }), { ...opts, label }));
      return { files, main };
    }
    const color = put(`${base}_color.png`, gradientToImage(maps.raw, { ...opts, label }));
    const gray = put(`${base}_gray.png`, gradientToImage(convertToGrayscale(maps.raw, { ...opts, label }), { ...opts, label }));
    let main = spec.name === 'vanilla' || spec.name === 'guided' || spec.name === 'deconvnet' ? color : gray;
    if (spec.name === 'guided') {
      const sal = positiveNegativeSaliency(maps.raw, { ...opts, label });
      const quiet = { onWarning: (): void => undefined };
      put(path.join(dir, `${stem}_pos_sal.png`), gradientToImage(sal.positive, quiet));
      put(path.join(dir, `${stem}_neg_sal.png`), gradientToImage(sal.negative, quiet));
    }
    if (spec.name === 'lrp' || spec.name === 'transformer-lrp') main = put(`${base}_Heatmap.png`, signedHeatmap(maps.raw));
    return { files, main };
  }
  // CAM methods draw the layer-resolution map as the reference does (normalise, uint8, Lanczos to
  // the picture's size); occlusion draws its per-pixel map, already at the picture's size.
  const map = maps.kind === 'cam' ? maps.raw : (maps.upsampled ?? maps.raw);
  const written = saveClassActivationImages(picture, map, base, { onWarning, label: path.basename(base), colormap: draw.colormap });
  files.push(written.heatmap, written.onImage, written.grayscale);
  if (draw.legend) {
    // the same pictures with a colour bar under them, as extra files: the reference-named ones stay as they are
    const pics = classActivationImages(picture, map, { onWarning: (): void => undefined, colormap: draw.colormap });
    put(`${base}_Cam_On_Image_legend.png`, withLegend(pics.onImage, draw.colormap));
    put(`${base}_Cam_Heatmap_legend.png`, withLegend(pics.heatmap, draw.colormap));
  }
  return { files, main: written.onImage };
}

/** Writes `<prefix><method>.npy` (and `<prefix><method>_upsampled.npy` when the method has one) into `dir`; returns the paths. */
export function writeRaw(spec: MethodSpec, maps: MethodMaps, dir: string, prefix = ''): string[] {
  const files = [path.join(dir, `${prefix}${spec.name}.npy`)];
  writeNpy(files[0]!, maps.raw);
  if (maps.upsampled) {
    const up = path.join(dir, `${prefix}${spec.name}_upsampled.npy`);
    writeNpy(up, maps.upsampled);
    files.push(up);
  }
  return files;
}
