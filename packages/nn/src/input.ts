import { preprocessImageNet } from '@gradlens/io';
import type { PreprocessOptions, RasterImage } from '@gradlens/io';
import type { Tensor } from '@gradlens/tensor';
import { toTensor } from './convert';

/** How a picture becomes a model input: preprocessImageNet's options (size, resize, mean, std, normalize). */
export type InputOptions = Omit<PreprocessOptions, 'batch'>;

/**
 * Returns the model input for a picture as a Tensor batch [1, 3, size, size]: preprocessImageNet
 * (a picture already size × size is fed as it is; any other is resized so its shorter side is
 * round(size · 256 / 224), then centre-cropped; then mean/std normalisation). The CLI uses this same
 * transform, so a picture scores the same in both. Give a bundled model's `input` options
 * (`loadBundledModel(name).input`) to match its training.
 */
export function imageToInput(image: RasterImage, options: InputOptions = {}): Tensor {
  return toTensor(preprocessImageNet(image, { ...options, batch: true }));
}
