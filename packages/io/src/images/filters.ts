/** Resampling filters, with PIL's names and kernels (Pillow's libImaging/Resample.c). */
export type ResizeFilter = 'nearest' | 'box' | 'bilinear' | 'hamming' | 'bicubic' | 'lanczos';

/** A separable kernel: value at distance x (in source pixels at scale 1) and its half-width. */
export interface Kernel {
  support: number;
  weight(x: number): number;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

/** The kernels of the convolution-based filters (nearest is a different algorithm in PIL). */
export const KERNELS: Record<Exclude<ResizeFilter, 'nearest'>, Kernel> = {
  box: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: {
    support: 1,
    weight: (x) => {
      const a = Math.abs(x);
      return a < 1 ? 1 - a : 0;
    },
  },
  hamming: {
    support: 1,
    weight: (x) => {
      const a = Math.abs(x);
      if (a === 0) return 1;
      if (a >= 1) return 0;
      const px = a * Math.PI;
      return (Math.sin(px) / px) * (0.54 + 0.46 * Math.cos(px));
    },
  },
  bicubic: {
    support: 2,
    weight: (x) => {
      const a = -0.5; // PIL's (and Keys') choice, not OpenCV's -0.75
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

/** Filter weights for one axis: output i reads `count[i]` inputs from `start[i]`, weights at i*ksize. */
export interface AxisWeights {
  ksize: number;
  start: Int32Array;
  count: Int32Array;
  /** Normalised weights (sum 1 per output), as doubles: PIL's float path uses these. */
  weights: Float64Array;
  /** The same weights in PIL's 8-bit fixed point (22 fractional bits). */
  fixed: Int32Array;
}

/** PIL's PRECISION_BITS for 8-bit resampling: 32 - 8 - 2. */
export const PRECISION_BITS = 22;

/**
 * Returns the weights that map `inSize` samples onto `outSize` (PIL's precompute_coeffs): when
 * shrinking, the kernel is stretched by the scale factor, which is what makes PIL antialias.
 */
export function axisWeights(inSize: number, outSize: number, kernel: Kernel): AxisWeights {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = kernel.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize);
  const fixed = new Int32Array(outSize * ksize);
  const ss = 1 / filterscale;
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    // C's (int) cast truncates toward zero; the clamp to 0 makes that the same as floor here
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let k = 0; k < xmax; k++) {
      const w = kernel.weight((k + xmin - center + 0.5) * ss);
      weights[i * ksize + k] = w;
      sum += w;
    }
    for (let k = 0; k < xmax; k++) {
      const j = i * ksize + k;
      const w = sum !== 0 ? (weights[j] ?? 0) / sum : (weights[j] ?? 0);
      weights[j] = w;
      // round half away from zero, as PIL's normalize_coeffs_8bpc
      fixed[j] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    start[i] = xmin;
    count[i] = Math.max(xmax, 0);
  }
  return { ksize, start, count, weights, fixed };
}
