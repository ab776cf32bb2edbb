import { Generator, noGrad, softmax, tensor, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { releasingIntermediates, type Module } from '@gradlens/nn';

/** One image [1, C, H, W] or [C, H, W] as float64 values with its geometry. */
export function imageValues(where: string, image: Tensor): { values: Float64Array; c: number; h: number; w: number } {
  const s = image.shape;
  const chw = s.length === 4 && s[0] === 1 ? s.slice(1) : s;
  if (chw.length !== 3) throw new Error(`${where}: expected one image [1, C, H, W] or [C, H, W], got [${s.join(', ')}]`);
  return { values: Float64Array.from(image.dataSync()), c: chw[0]!, h: chw[1]!, w: chw[2]! };
}

/**
 * The target's score (logit, or softmax probability with `probability`) for each of `rows` images
 * stored back to back in `data` (each of `shape` [C, H, W]), in batches of `batchSize`, without recording.
 */
export function scoreImages(
  model: Module,
  data: Float64Array | Float32Array,
  shape: readonly number[],
  target: number,
  probability: boolean,
  batchSize = 16,
  where = 'metric',
): Float64Array {
  const per = shape.reduce((a, b) => a * b, 1);
  const rows = data.length / per;
  const out = new Float64Array(rows);
  // As every batched method: at least 1 (a batch size of 0 never advanced: the metric hung).
  const batch = Math.max(1, Math.floor(batchSize) || 1);
  for (let r0 = 0; r0 < rows; r0 += batch) {
    const count = Math.min(batch, rows - r0);
    noGrad(() =>
      tidy(() => {
        const xs = tensor(Float32Array.from(data.subarray(r0 * per, (r0 + count) * per)), [count, ...shape]);
        const y = releasingIntermediates(() => model.call(xs));
        // A non-integer class read an undefined entry: every score NaN.
        if (y.rank !== 2 || !Number.isInteger(target) || target < 0 || target >= y.shape[1]!)
          throw new Error(`${where}: target class ${target} does not index the model's output [${y.shape.join(', ')}]`);
        const v = (probability ? softmax(y, 1) : y).dataSync();
        const k = y.shape[1]!;
        for (let r = 0; r < count; r++) out[r0 + r] = Number(v[r * k + target]);
      }),
    );
  }
  return out;
}

/** The generator a metric draws from: the caller's, or a fresh one seeded with `seed` (default 0), so runs repeat. */
export function metricGenerator(options: { generator?: Generator; seed?: number }): Generator {
  return options.generator ?? new Generator(options.seed ?? 0);
}

/** Pearson correlation of two equal-length series (NaN when either is constant). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]! / n;
    mb += b[i]! / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}

/** Euclidean norm of a − b (b omitted: of a). */
export function l2(a: ArrayLike<number>, b?: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - (b ? b[i]! : 0)) ** 2;
  return Math.sqrt(s);
}
