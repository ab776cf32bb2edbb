import type { Generator, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { imageValues, metricGenerator, pearson, scoreImages } from './batch-scores';
import type { SaliencyMap } from './saliency';

export interface FaithfulnessCorrelationOptions {
  /** Random subsets (default 100, as Quantus). */
  runs?: number;
  /** Pixels per subset (default min(224, H·W / 4); Quantus's 224 is for 224×224 pictures). */
  subsetSize?: number;
  /** The value removed pixels take in every channel (default: the image's minimum, Quantus's "black"). */
  fill?: number;
  /** Score the softmax probability instead of the logit (default false, as Quantus). */
  probability?: boolean;
  /** The subsets themselves, `runs` arrays of pixel indices (for tests); otherwise drawn without replacement. */
  subsets?: readonly (readonly number[])[];
  generator?: Generator;
  /** Seed of a fresh generator (default 0): the same seed draws the same subsets. */
  seed?: number;
  batchSize?: number;
}

/**
 * Faithfulness correlation (Bhatt et al. 2020, as Quantus's `FaithfulnessCorrelation`): over random
 * pixel subsets S, the Pearson correlation between Σ_{p∈S} map_p and the score drop f(x) − f(x with
 * S set to `fill` in every channel). In [−1, 1]; higher (↑) means the map's mass predicts what
 * removing pixels costs. Assumes a per-pixel map of the image's size and a class target.
 */
export function faithfulnessCorrelation(
  model: Module,
  image: Tensor,
  map: SaliencyMap,
  target: number,
  options: FaithfulnessCorrelationOptions = {},
): number {
  const where = 'faithfulnessCorrelation';
  const { values, c, h, w } = imageValues(where, image);
  if (map.height !== h || map.width !== w)
    throw new Error(`${where}: the map is ${map.height}×${map.width} but the image ${h}×${w}; resize the map first`);
  const hw = h * w;
  const runs = options.subsets ? options.subsets.length : (options.runs ?? 100);
  const size = options.subsetSize ?? Math.max(1, Math.min(224, Math.floor(hw / 4)));
  if (!Number.isInteger(runs) || runs < 2)
    throw new Error(`${where}: runs must be an integer ≥ 2 (a correlation needs two points), got ${runs}`);
  if (!Number.isInteger(size) || size < 1 || size > hw) throw new Error(`${where}: subsetSize must be an integer in 1…${hw}, got ${size}`);
  let fill = options.fill;
  if (fill === undefined) {
    fill = Infinity;
    for (const v of values) fill = Math.min(fill, v);
  }
  const gen = metricGenerator(options);
  const subsets: (readonly number[])[] = [];
  for (let r = 0; r < runs; r++) {
    if (options.subsets) {
      const s = options.subsets[r]!;
      for (const p of s)
        if (!Number.isInteger(p) || p < 0 || p >= hw) throw new Error(`${where}: subset ${r} names pixel ${p}, outside 0…${hw - 1}`);
      subsets.push(s);
    } else {
      // partial Fisher–Yates: the first `size` of a random permutation
      const idx = Int32Array.from({ length: hw }, (_, i) => i);
      for (let i = 0; i < size; i++) {
        const j = i + gen.int(hw - i);
        const t = idx[i]!;
        idx[i] = idx[j]!;
        idx[j] = t;
      }
      subsets.push(Array.from(idx.subarray(0, size)));
    }
  }
  const data = new Float64Array((runs + 1) * values.length);
  data.set(values, 0);
  const sums = new Float64Array(runs);
  subsets.forEach((s, r) => {
    const off = (r + 1) * values.length;
    data.set(values, off);
    for (const p of s) {
      sums[r] = sums[r]! + map.data[p]!;
      for (let k = 0; k < c; k++) data[off + k * hw + p] = fill!;
    }
  });
  const scores = scoreImages(model, data, [c, h, w], target, options.probability ?? false, options.batchSize ?? 16, where);
  const drops = Float64Array.from({ length: runs }, (_, r) => scores[0]! - scores[r + 1]!);
  return pearson(sums, drops);
}
