import type { Generator, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { imageValues, metricGenerator, pearson, scoreImages } from './batch-scores';
import { checkMapSize, imageMin, positiveInt, scoreGenerated, setPixels } from './perturbation-steps';
import type { SaliencyMap } from './saliency';

export interface SensitivityNOptions {
  /** Subset sizes n (default the fractions 1, 2, 5, 10, 20, 40, 60, 80 % of H·W, rounded, at least 1, repeats dropped). */
  sizes?: readonly number[];
  /** Random subsets per size (default 50). */
  runs?: number;
  /** The value removed pixels take in every channel (default: the image's minimum, Quantus's "black"). */
  fill?: number;
  /** Score the softmax probability (default true, as Quantus) or the logit. */
  probability?: boolean;
  /** The subsets themselves (for tests): per size, `runs` arrays of n pixel indices; otherwise drawn without replacement. */
  subsets?: readonly (readonly (readonly number[])[])[];
  generator?: Generator;
  /** Seed of a fresh generator (default 0). */
  seed?: number;
  batchSize?: number;
}

export interface SensitivityNResult {
  sizes: number[];
  /** Pearson correlation per size (NaN where the sums or the drops are constant). */
  correlations: number[];
  /** Mean of the finite correlations (NaN when none): ↑. */
  mean: number;
}

/**
 * Sensitivity-n (Ancona et al. 2018, "Towards better understanding of gradient-based attribution
 * methods"): for each subset size n, the Pearson correlation over `runs` random pixel subsets S with
 * |S| = n between Σ_{p∈S} map_p and f(x) − f(x with S set to `fill` in every channel). A map
 * satisfies sensitivity-n when it is 1. Quantus's `SensitivityN` correlates across a batch of images
 * instead; this is the paper's single-image form. Higher (↑) is better.
 */
export function sensitivityN(
  model: Module,
  image: Tensor,
  map: SaliencyMap,
  target: number,
  options: SensitivityNOptions = {},
): SensitivityNResult {
  const where = 'sensitivityN';
  const { values, c, h, w } = imageValues(where, image);
  checkMapSize(where, map, h, w);
  const hw = h * w;
  const sizes = options.sizes
    ? [...options.sizes]
    : [...new Set([0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8].map((f) => Math.max(1, Math.round(f * hw))))];
  for (const n of sizes) positiveInt(where, 'each size', n, 1, hw);
  const runs = options.subsets ? (options.subsets[0]?.length ?? 0) : positiveInt(where, 'runs', options.runs, 50);
  if (runs < 2) throw new Error(`${where}: runs must be ≥ 2 (a correlation needs two points), got ${runs}`);
  if (options.subsets && options.subsets.length !== sizes.length)
    throw new Error(`${where}: subsets must hold one list per size (${sizes.length}), got ${options.subsets.length}`);
  const gen = metricGenerator(options);
  const all: ArrayLike<number>[] = [];
  sizes.forEach((n, si) => {
    for (let r = 0; r < runs; r++) {
      if (options.subsets) {
        const s = options.subsets[si]![r];
        if (!s || s.length !== n) throw new Error(`${where}: subset ${r} of size ${n} has ${s ? s.length : 0} pixels`);
        for (const p of s)
          if (!Number.isInteger(p) || p < 0 || p >= hw) throw new Error(`${where}: a subset names pixel ${p}, outside 0…${hw - 1}`);
        all.push(s);
      } else {
        const idx = Int32Array.from({ length: hw }, (_, i) => i);
        for (let i = 0; i < n; i++) {
          const j = i + gen.int(hw - i);
          const t = idx[i]!;
          idx[i] = idx[j]!;
          idx[j] = t;
        }
        all.push(idx.slice(0, n));
      }
    }
  });
  const fill = options.fill ?? imageMin(values);
  const prob = options.probability ?? true;
  const y = scoreImages(model, values, [c, h, w], target, prob, 1, where)[0]!;
  const img = new Float64Array(values.length);
  const scores = scoreGenerated(
    model,
    [c, h, w],
    all.length,
    (r, out) => {
      img.set(values);
      setPixels(img, c, hw, all[r]!, fill);
      out.set(img);
    },
    target,
    prob,
    options.batchSize ?? 16,
    where,
  );
  const correlations = sizes.map((_, si) => {
    const sums = new Float64Array(runs);
    const drops = new Float64Array(runs);
    for (let r = 0; r < runs; r++) {
      const subset = all[si * runs + r]!;
      for (let q = 0; q < subset.length; q++) sums[r] = sums[r]! + map.data[subset[q]!]!;
      drops[r] = y - scores[si * runs + r]!;
    }
    return pearson(sums, drops);
  });
  const ok = correlations.filter((v) => Number.isFinite(v));
  return { sizes, correlations, mean: ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NaN };
}
