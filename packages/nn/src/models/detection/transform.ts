import type { Tensor } from '@gradlens/tensor';
import { div, interpolate, pad, reshape, stack, sub, tensor } from '@gradlens/tensor';

const f = Math.fround;

/** torchvision's GeneralizedRCNNTransform settings at test time. */
export interface TransformSettings {
  /** The shorter side's target (torchvision's min_size; 800). */
  minSize: number;
  /** The longer side's cap (max_size; 1333). */
  maxSize: number;
  /** Per-channel mean and std the [0, 1] image is normalised with (ImageNet's). */
  imageMean: readonly [number, number, number];
  imageStd: readonly [number, number, number];
  /** The batch is zero-padded (after normalisation) to sizes divisible by this (32). */
  sizeDivisible: number;
}

/** A batch as the backbone sees it, and the sizes that map its boxes back. */
export interface PreparedBatch {
  /** [N, 3, Hp, Wp]: each image normalised, resized and zero-padded at the bottom and right. */
  batch: Tensor;
  /** Each image's size after resizing, before padding: [H, W]. */
  imageSizes: [number, number][];
  /** Each image's size as given: [H, W]. */
  originalSizes: [number, number][];
}

/**
 * torchvision's GeneralizedRCNNTransform in eval mode: normalise, resize (bilinear, align_corners=False, scale
 * min(minSize / shorter side, maxSize / longer side) in float32, size ⌊side · scale⌋), pad to a common size
 * divisible by `sizeDivisible`; `mapBack` takes boxes back to the original image. Differentiable in the images.
 */
export class GeneralizedRCNNTransform {
  constructor(readonly settings: TransformSettings) {}

  /** The batch from images [3, H, W] (values in [0, 1]), each of its own size. */
  prepare(model: string, images: readonly Tensor[]): PreparedBatch {
    if (images.length === 0) throw new Error(`${model}: no images given`);
    const s = this.settings;
    const mean = tensor(Float32Array.from(s.imageMean), [3, 1, 1]);
    const std = tensor(Float32Array.from(s.imageStd), [3, 1, 1]);
    const originalSizes: [number, number][] = [];
    const imageSizes: [number, number][] = [];
    const resized = images.map((img, i) => {
      if (img.rank !== 3 || img.shape[0] !== 3 || img.shape[1]! < 1 || img.shape[2]! < 1)
        throw new Error(`${model}: image ${i} must be [3, H, W], got [${img.shape.join(', ')}]`);
      if (img.dtype !== 'float32' && img.dtype !== 'float64') throw new Error(`${model}: image ${i} must be float, got ${img.dtype}`);
      const [h, w] = [img.shape[1]!, img.shape[2]!];
      originalSizes.push([h, w]);
      const scale = Math.min(f(s.minSize / Math.min(h, w)), f(s.maxSize / Math.max(h, w)));
      const size: [number, number] = [Math.floor(h * scale), Math.floor(w * scale)];
      imageSizes.push(size);
      const normalised = div(sub(img, mean), std);
      return reshape(interpolate(reshape(normalised, [1, 3, h, w]), { size, mode: 'bilinear', alignCorners: false }), [
        3,
        size[0],
        size[1],
      ]);
    });
    const up = (v: number) => Math.ceil(v / s.sizeDivisible) * s.sizeDivisible;
    const ph = up(Math.max(...imageSizes.map((z) => z[0])));
    const pw = up(Math.max(...imageSizes.map((z) => z[1])));
    const batch = stack(
      resized.map((r, i) => pad(r, [0, pw - imageSizes[i]![1], 0, ph - imageSizes[i]![0]])),
      0,
    );
    return { batch, imageSizes, originalSizes };
  }

  /** Boxes [K, 4] flat in the resized image, scaled (in float32) to the original one: resize_boxes. */
  mapBack(boxes: Float32Array, [h, w]: readonly [number, number], [oh, ow]: readonly [number, number]): Float32Array {
    const rh = f(oh / h);
    const rw = f(ow / w);
    return boxes.map((v, i) => (i % 2 === 0 ? v * rw : v * rh));
  }
}
