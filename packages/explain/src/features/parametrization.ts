/**
 * Image parametrisations for feature visualisation (Olah, Mordvintsev & Schubert 2017, "Feature
 * Visualization", Distill, §"Preconditioning and Parameterization"). Gradient ascent on raw pixels
 * follows the network's gradient, which is dominated by high frequencies, and ends in noise; the
 * same ascent on a decorrelated parametrisation — spatial frequencies scaled by 1/f, colours
 * decorrelated, squashed into the picture range by a sigmoid — takes steps that are whitened for
 * natural images and reaches pictures with structure. The maps here run on the host: each is a
 * fixed linear transform and an elementwise sigmoid, so its adjoint is written out, not recorded.
 */

/** 'pixel': the optimiser updates the normalised pixels; 'fourier': a decorrelated frequency basis (Olah et al. 2017). */
export type ImageParametrization = 'pixel' | 'fourier';

/** A map from the optimised parameters to the normalised image (CHW) and its adjoint. */
export interface ImageParam {
  /** Number of parameters. */
  readonly size: number;
  /** Writes the normalised image (CHW) of `params` into `pixels`. */
  toPixels(params: Float32Array, pixels: Float32Array): void;
  /** Writes ∂L/∂params into `out` from ∂L/∂pixels at `params` (the Jacobian's transpose). */
  backward(params: Float32Array, gradPixels: Float32Array, out: Float32Array): void;
  /** Parameters whose image is `pixels` (values at the ends of the picture range are pulled in slightly). */
  fromPixels(pixels: Float32Array): Float32Array;
}

/**
 * The square root of ImageNet's colour covariance (Lucid's `color_correlation_svd_sqrt`): a
 * decorrelated colour vector z maps to RGB as M·z, so steps in z are whitened for natural colours.
 */
const COLOR_SQRT = [
  [0.26, 0.09, 0.02],
  [0.27, 0.0, -0.05],
  [0.27, -0.09, 0.03],
] as const;

/** The orthonormal DCT-II matrix of size n: row k is α_k·cos(π(2i+1)k / 2n). */
function dctMatrix(n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const a = Math.sqrt((k === 0 ? 1 : 2) / n);
    for (let i = 0; i < n; i++) m[k * n + i] = a * Math.cos((Math.PI * (2 * i + 1) * k) / (2 * n));
  }
  return m;
}

/**
 * out = A·X·Bᵀ (transposeA false) or Aᵀ·X·B (true) for one channel X [h, w], with A [h, h] and
 * B [w, w] orthonormal DCT matrices: the 2-D DCT and its inverse.
 */
function dct2(a: Float64Array, b: Float64Array, x: Float64Array, h: number, w: number, inverse: boolean, out: Float64Array): void {
  const t = new Float64Array(h * w);
  // t = X·Bᵀ (forward) or X·B (inverse), row by row
  for (let i = 0; i < h; i++) {
    for (let k = 0; k < w; k++) {
      let s = 0;
      if (inverse) for (let j = 0; j < w; j++) s += x[i * w + j]! * b[j * w + k]!;
      else for (let j = 0; j < w; j++) s += x[i * w + j]! * b[k * w + j]!;
      t[i * w + k] = s;
    }
  }
  // out = A·t (forward) or Aᵀ·t (inverse)
  out.fill(0);
  for (let k = 0; k < h; k++) {
    for (let i = 0; i < h; i++) {
      const c = inverse ? a[i * h + k]! : a[k * h + i]!;
      if (c === 0) continue;
      for (let j = 0; j < w; j++) out[k * w + j] = out[k * w + j]! + c * t[i * w + j]!;
    }
  }
}

/** Inverse of a 3×3 matrix (row-major). */
function invert3(m: readonly (readonly number[])[]): number[][] {
  const [a, b, c] = m[0]!;
  const [d, e, f] = m[1]!;
  const [g, h, i] = m[2]!;
  const det = a! * (e! * i! - f! * h!) - b! * (d! * i! - f! * g!) + c! * (d! * h! - e! * g!);
  return [
    [(e! * i! - f! * h!) / det, (c! * h! - b! * i!) / det, (b! * f! - c! * e!) / det],
    [(f! * g! - d! * i!) / det, (a! * i! - c! * g!) / det, (c! * d! - a! * f!) / det],
    [(d! * h! - e! * g!) / det, (b! * g! - a! * h!) / det, (a! * e! - b! * d!) / det],
  ];
}

/** The identity parametrisation: the optimiser updates the normalised pixels themselves. */
export function pixelParam(h: number, w: number): ImageParam {
  return {
    size: 3 * h * w,
    toPixels: (params, pixels) => pixels.set(params),
    backward: (_params, grad, out) => out.set(grad),
    fromPixels: (pixels) => Float32Array.from(pixels),
  };
}

/**
 * Olah et al.'s decorrelated parametrisation, with the real 2-D DCT in place of Lucid's FFT: per
 * decorrelated colour channel, coefficients S scaled by 1/max(f, 1/max(H, W))^decay (f in cycles per
 * pixel) and transformed back, z = DCT⁻¹(scale ⊙ S); colours mixed, y = M·z / max‖M_col‖; squashed,
 * picture = sigmoid(y) ∈ (0, 1); normalised, x = (picture − mean) / std. `decay` 1 is Lucid's default.
 */
export function fourierParam(h: number, w: number, mean: readonly number[], std: readonly number[], decay = 1): ImageParam {
  const n = h * w;
  const ah = dctMatrix(h);
  const bw = h === w ? ah : dctMatrix(w);
  const scale = new Float64Array(n);
  const floor = 1 / Math.max(h, w);
  for (let u = 0; u < h; u++) {
    for (let v = 0; v < w; v++) scale[u * w + v] = 1 / Math.max(Math.hypot(u / (2 * h), v / (2 * w)), floor) ** decay;
  }
  // Normalised so that unit-variance coefficients give a unit-variance image (any size, any decay).
  const rms = Math.sqrt(scale.reduce((s, v) => s + v * v, 0) / n);
  for (let i = 0; i < n; i++) scale[i] = scale[i]! / rms;
  const colNorm = Math.max(...[0, 1, 2].map((d) => Math.hypot(COLOR_SQRT[0][d]!, COLOR_SQRT[1][d]!, COLOR_SQRT[2][d]!)));
  const mix = COLOR_SQRT.map((row) => row.map((v) => v / colNorm));
  const unmix = invert3(mix);
  const buf = new Float64Array(n);
  const chan = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];

  /** y (pre-sigmoid RGB, CHW) of params. */
  const colours = (params: Float32Array): Float64Array[] => {
    const z = [0, 1, 2].map((d) => {
      for (let i = 0; i < n; i++) buf[i] = scale[i]! * params[d * n + i]!;
      const out = new Float64Array(n);
      dct2(ah, bw, buf, h, w, true, out);
      return out;
    });
    for (let c = 0; c < 3; c++) {
      const y = chan[c]!;
      const m = mix[c]!;
      for (let i = 0; i < n; i++) y[i] = m[0]! * z[0]![i]! + m[1]! * z[1]![i]! + m[2]! * z[2]![i]!;
    }
    return chan;
  };
  return {
    size: 3 * n,
    toPixels: (params, pixels) => {
      const y = colours(params);
      for (let c = 0; c < 3; c++) {
        for (let i = 0; i < n; i++) pixels[c * n + i] = (1 / (1 + Math.exp(-y[c]![i]!)) - mean[c]!) / std[c]!;
      }
    },
    backward: (params, grad, out) => {
      const y = colours(params);
      // ∂L/∂y = ∂L/∂x · σ′(y) / std, then Mᵀ, then the DCT (the inverse DCT's adjoint), then the scale.
      const gy = [0, 1, 2].map((c) => {
        const g = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const s = 1 / (1 + Math.exp(-y[c]![i]!));
          g[i] = (grad[c * n + i]! * s * (1 - s)) / std[c]!;
        }
        return g;
      });
      for (let d = 0; d < 3; d++) {
        for (let i = 0; i < n; i++) buf[i] = mix[0]![d]! * gy[0]![i]! + mix[1]![d]! * gy[1]![i]! + mix[2]![d]! * gy[2]![i]!;
        const g = new Float64Array(n);
        dct2(ah, bw, buf, h, w, false, g);
        for (let i = 0; i < n; i++) out[d * n + i] = scale[i]! * g[i]!;
      }
    },
    fromPixels: (pixels) => {
      const eps = 1e-3;
      const y = [0, 1, 2].map((c) => {
        const v = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const p = Math.min(1 - eps, Math.max(eps, pixels[c * n + i]! * std[c]! + mean[c]!));
          v[i] = Math.log(p / (1 - p));
        }
        return v;
      });
      const params = new Float32Array(3 * n);
      for (let d = 0; d < 3; d++) {
        const u = unmix[d]!;
        for (let i = 0; i < n; i++) buf[i] = u[0]! * y[0]![i]! + u[1]! * y[1]![i]! + u[2]! * y[2]![i]!;
        const s = new Float64Array(n);
        dct2(ah, bw, buf, h, w, false, s);
        for (let i = 0; i < n; i++) params[d * n + i] = s[i]! / scale[i]!;
      }
      return params;
    },
  };
}

/**
 * A starting image (normalised, CHW) for a parametrisation: for 'fourier', Olah et al.'s start —
 * parameters normal with standard deviation `sd`, a faint smooth grey; for 'pixel', null (the
 * method keeps its own start).
 */
export function parametrizedStart(
  kind: ImageParametrization,
  h: number,
  w: number,
  mean: readonly number[],
  std: readonly number[],
  decay: number,
  sd: number,
  normal: () => number,
): Float32Array | null {
  if (kind !== 'fourier') return null;
  const param = fourierParam(h, w, mean, std, decay);
  const params = new Float32Array(param.size);
  for (let i = 0; i < params.length; i++) params[i] = sd * normal();
  const pixels = new Float32Array(param.size);
  param.toPixels(params, pixels);
  return pixels;
}
