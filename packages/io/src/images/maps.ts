import type { NdArray } from '../array';

/** Receives the warnings about degenerate maps (constant, all zero, NaN). */
export type WarningHandler = (message: string) => void;

/** Options shared by everything that turns a float map into a picture. */
export interface MapOptions {
  /**
   * A fixed value range mapped to [0, 1] (values outside clip), to compare several maps on one
   * scale; without it each map is min-max normalised on its own.
   */
  scale?: { min: number; max: number };
  /** Called with a message when a map is constant, all zero or has NaN (default console.warn). */
  onWarning?: WarningHandler;
  /** Names the map in warnings (e.g. the file being written). */
  label?: string;
}

const f32 = Math.fround;
const warn = (o: MapOptions, msg: string): void => (o.onWarning ?? console.warn)(o.label ? `${o.label}: ${msg}` : msg);

/** Min, max (NaN ignored) and NaN count of a float array. */
export interface MapStats {
  min: number;
  max: number;
  nanCount: number;
}

/** Returns min, max (ignoring NaN) and the number of NaNs. */
export function mapStats(data: ArrayLike<number>): MapStats {
  let min = Infinity;
  let max = -Infinity;
  let nanCount = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] ?? NaN;
    if (Number.isNaN(v)) {
      nanCount++;
      continue;
    }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max, nanCount };
}

/** Warns about NaN; returns the stats. */
function checkedStats(data: ArrayLike<number>, o: MapOptions): MapStats {
  const s = mapStats(data);
  if (s.nanCount > 0) {
    warn(
      o,
      `the map has ${s.nanCount} NaN value(s) of ${data.length}; they are drawn as 0 (check the attribution for a division by zero or an overflow)`,
    );
  }
  return s;
}

/**
 * Returns the map scaled to [0, 1] as float32 (same length and layout): (x - min) / (max - min)
 * over the whole array in float32 steps, as the reference's save_gradient_images; or clipped
 * (x - scale.min) / (scale.max - scale.min) with a fixed scale. A constant map (all zero included)
 * gives zeros and a warning, NaN gives 0 and a warning.
 */
export function normalizeMap(data: ArrayLike<number>, options: MapOptions = {}): Float32Array {
  const out = new Float32Array(data.length);
  const s = checkedStats(data, options);
  if (options.scale) {
    const { min, max } = options.scale;
    if (!(max > min)) throw new Error(`the fixed scale needs max > min, got min ${min}, max ${max}`);
    const range = max - min;
    for (let i = 0; i < out.length; i++) {
      const v = ((data[i] ?? NaN) - min) / range;
      out[i] = Number.isNaN(v) ? 0 : v < 0 ? 0 : v > 1 ? 1 : v;
    }
    return out;
  }
  if (s.nanCount === data.length) return out;
  const range = f32(s.max - s.min);
  if (!(range > 0)) {
    const what = s.min === 0 ? 'all zero' : `constant (every value is ${s.min})`;
    warn(
      options,
      `the map is ${what}, so it has no contrast to show: the picture is uniformly black (was a gradient lost, e.g. a dead ReLU or the wrong target?)`,
    );
    return out;
  }
  const min = f32(s.min);
  for (let i = 0; i < out.length; i++) {
    const v = f32(f32((data[i] ?? NaN) - min) / range);
    out[i] = Number.isNaN(v) ? 0 : v;
  }
  return out;
}

/** Returns the q-th percentile (0..100) with linear interpolation, as numpy's default np.percentile. */
export function percentile(data: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(data).sort();
  const n = sorted.length;
  if (n === 0) throw new Error('percentile of an empty array');
  const pos = (q / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const t = pos - lo;
  const a = sorted[lo] ?? NaN;
  const b = sorted[hi] ?? NaN;
  const d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t; // numpy's _lerp, stable at both ends
}

/** Returns the channels, height and width of a [C, H, W], [H, W] or [1, C, H, W] map; throws on other shapes. */
export function mapShape(t: NdArray, where: string): { C: number; H: number; W: number } {
  const s = t.shape.length === 4 && t.shape[0] === 1 ? t.shape.slice(1) : t.shape;
  if (s.length === 2) return { C: 1, H: s[0] ?? 0, W: s[1] ?? 0 };
  if (s.length !== 3) throw new Error(`${where}: expected a [C, H, W] (or [H, W], [1, C, H, W]) map, got [${t.shape.join(', ')}]`);
  return { C: s[0] ?? 0, H: s[1] ?? 0, W: s[2] ?? 0 };
}

/** Returns the values of a float32/float64 map; throws for other dtypes. */
export function mapValues(t: NdArray, where: string): Float32Array | Float64Array {
  if (t.dtype !== 'float32' && t.dtype !== 'float64') throw new Error(`${where}: expected a float32 or float64 map, got ${t.dtype}`);
  return t.data as Float32Array | Float64Array;
}

/**
 * Returns the [1, H, W] float32 grayscale of a [C, H, W] gradient, as the reference's
 * convert_to_grayscale: sum of |g| over channels, then clip((x - min) / (p99 - min), 0, 1)
 * with p99 numpy's 99th percentile. With `scale`, clip((x - min) / (max - min)) on that scale instead.
 */
export function convertToGrayscale(gradient: NdArray, options: MapOptions = {}): NdArray<'float32'> {
  const { C, H, W } = mapShape(gradient, 'convertToGrayscale');
  const g = mapValues(gradient, 'convertToGrayscale');
  const n = H * W;
  const sum = new Float32Array(n);
  for (let c = 0; c < C; c++) for (let p = 0; p < n; p++) sum[p] = (sum[p] ?? 0) + Math.abs(g[c * n + p] ?? NaN);
  if (options.scale) return { dtype: 'float32', shape: [1, H, W], data: normalizeMap(sum, options) };
  const s = checkedStats(sum, options);
  const out = new Float32Array(n);
  if (s.nanCount === n) return { dtype: 'float32', shape: [1, H, W], data: out };
  const finite = s.nanCount ? sum.filter((v) => !Number.isNaN(v)) : sum;
  const p99 = f32(percentile(finite, 99));
  const min = f32(s.min);
  const range = f32(p99 - min);
  if (!(range > 0)) {
    warn(
      options,
      `the gradient's 99th percentile equals its minimum (${s.min}): more than 99% of the map is flat, so the grayscale picture is black`,
    );
    return { dtype: 'float32', shape: [1, H, W], data: out };
  }
  for (let p = 0; p < n; p++) {
    const v = f32(f32((sum[p] ?? NaN) - min) / range);
    out[p] = Number.isNaN(v) ? 0 : v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return { dtype: 'float32', shape: [1, H, W], data: out };
}

/**
 * Returns the positive and negative saliency of a gradient (float32, same shape), as the
 * reference's get_positive_negative_saliency: max(0, g) / max(g) and max(0, -g) / -min(g).
 * A side with no values of its sign comes back all zero, with a warning. With `scale`, the sides
 * are divided by scale.max and -scale.min instead (clipped to 1), the same for every map.
 */
export function positiveNegativeSaliency(
  gradient: NdArray,
  options: MapOptions = {},
): { positive: NdArray<'float32'>; negative: NdArray<'float32'> } {
  mapShape(gradient, 'positiveNegativeSaliency');
  const g = mapValues(gradient, 'positiveNegativeSaliency');
  const s = checkedStats(g, options);
  const side = (sign: 1 | -1): NdArray<'float32'> => {
    const sc = options.scale;
    const top = f32(sc ? (sign === 1 ? sc.max : -sc.min) : sign === 1 ? s.max : -s.min);
    const out = new Float32Array(g.length);
    if (!(top > 0)) {
      warn(
        options,
        `the gradient has no ${sign === 1 ? 'positive' : 'negative'} values, so its ${sign === 1 ? 'positive' : 'negative'} saliency is all zero`,
      );
    } else {
      for (let i = 0; i < out.length; i++) {
        const v = f32(Math.max(0, sign * (g[i] ?? NaN)) / top);
        out[i] = Number.isNaN(v) ? 0 : v > 1 ? 1 : v;
      }
    }
    return { dtype: 'float32', shape: [...gradient.shape], data: out };
  };
  return { positive: side(1), negative: side(-1) };
}
