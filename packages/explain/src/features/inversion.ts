import { abs, add, div, Generator, keep, mean, mul, noGrad, pow, slice, square, sub, sum, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { IMAGENET_MEAN, IMAGENET_STD } from '@gradlens/io';
import { parametrizedStart } from './parametrization';
import type { FeatureVisOptions, FeatureVisResult } from './common';
import { countCallsOn, imageValues, layerOutput, optimizeImage, withImage } from './common';

export interface InversionOptions extends FeatureVisOptions {
  /** Module path of the layer whose representation is inverted. */
  layer: string;
  /** Exponent α of the α-norm regulariser (default 6, as Mahendran & Vedaldi). */
  alpha?: number;
  /** Weight λ_α of mean(|x|^α) (default 1e-5). */
  alphaWeight?: number;
  /** Exponent β of the total-variation regulariser (default 2). */
  tvBeta?: number;
  /** Weight λ_TV of the total variation (default 0.05). */
  tvWeight?: number;
  /**
   * Standard deviation of the random (normal) initial image in the normalised space, with the 'pixel'
   * parametrisation (default 0.1, as the reference); the 'fourier' start is a faint smooth grey.
   */
  initStd?: number;
}

/** Total variation mean(((x[i+1,j] − x[i,j])² + (x[i,j+1] − x[i,j])²)^(β/2)) of x [1, C, H, W]. */
export function totalVariation(x: Tensor, beta: number): Tensor {
  const h = x.shape[2]!;
  const w = x.shape[3]!;
  const base = slice(slice(x, 2, 0, h - 1), 3, 0, w - 1);
  const down = slice(slice(x, 2, 1, h), 3, 0, w - 1);
  const right = slice(slice(x, 2, 0, h - 1), 3, 1, w);
  const d2 = add(square(sub(down, base)), square(sub(right, base)));
  return mean(beta === 2 ? d2 : pow(add(d2, 1e-8), beta / 2));
}

/**
 * Inverted representation (Mahendran & Vedaldi 2015, "Understanding Deep Image Representations by
 * Inverting Them"; the reference project's inverted_representation.py): from seeded noise, finds x
 * minimising ‖Φ(x) − Φ(x₀)‖² / ‖Φ(x₀)‖² + λ_α·mean(|x|^α) + λ_TV·mean(TV_β(x)), where Φ is the
 * activation of `layer` and x₀ the target image (normalised [3, H, W] or [1, 3, H, W]). The
 * regularisers are means over pixels rather than the paper's sums with range normalisers, so one set
 * of weights works across image sizes. Defaults: Adam, lr 0.05, 200 steps, on the decorrelated
 * 'fourier' parametrisation (Olah et al. 2017): on raw pixels the feature distance falls as far but
 * the picture stays grey noise (on the bundled gapnet, features.8: pixel correlation with the target
 * 0.03 on pixels, 0.4 in the Fourier basis); `parametrization: 'pixel'` is the reference's ascent.
 * Returns the image [3, H, W]; `objective` is the relative feature distance ‖Φ(x) − Φ(x₀)‖² / ‖Φ(x₀)‖².
 */
export function invertRepresentation(model: Module, image: Tensor, options: InversionOptions): FeatureVisResult {
  const method = 'invertRepresentation';
  const { values, h, w } = imageValues(method, image);
  const calls = countCallsOn(method, model, options.layer, values, h, w);
  const alpha = options.alpha ?? 6;
  const alphaWeight = options.alphaWeight ?? 1e-5;
  const beta = options.tvBeta ?? 2;
  const tvWeight = options.tvWeight ?? 0.05;
  const target = withImage(values, h, w, (x0) =>
    noGrad(() => tidy(() => keep(mul(layerOutput(method, model, options.layer, x0, calls), 1)))),
  );
  try {
    const norm = tidy(() => sum(square(target)).item());
    if (!(norm > 0))
      throw new Error(`${method}: the target image's activation at '${options.layer}' is all zeros; pick another layer or image`);
    const g = new Generator(options.seed ?? 0);
    const std = options.initStd ?? 0.1;
    const kind = options.parametrization ?? 'fourier';
    const start = parametrizedStart(
      kind,
      h,
      w,
      options.mean ?? IMAGENET_MEAN,
      options.std ?? IMAGENET_STD,
      options.spectrumDecay ?? 1,
      0.01,
      () => g.normal(),
    );
    const init = start ?? new Float32Array(3 * h * w);
    if (!start) for (let i = 0; i < init.length; i++) init[i] = std * g.normal();
    return optimizeImage(
      method,
      init,
      h,
      w,
      (x) => {
        const act = layerOutput(method, model, options.layer, x, calls);
        const value = div(sum(square(sub(act, target))), norm);
        let loss = value;
        if (alphaWeight) loss = add(loss, mul(mean(pow(abs(x), alpha)), alphaWeight));
        if (tvWeight) loss = add(loss, mul(totalVariation(x, beta), tvWeight));
        return { loss, value };
      },
      options,
      { steps: 200, lr: 0.05, optimizer: 'adam', parametrization: 'fourier' },
    );
  } finally {
    target.dispose();
  }
}
