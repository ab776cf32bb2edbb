import { Generator } from '@gradlens/tensor';
import type { Dataset, Sample } from '../train/data';
import { FASHION_MNIST_CLASSES } from './classes';
import { loadFashionMnist, type FashionMnist, type FashionMnistOptions } from './fashion-mnist';

/**
 * "Cluttered Fashion-MNIST": one Fashion-MNIST item, tinted a random colour and placed at a random
 * position and scale on an RGB canvas with a textured background (smooth noise, a gradient or
 * stripes) and clutter made of translucent, tinted fragments of other items. The label is the
 * item's, and its tight bounding box is known, so attribution maps can be scored for localisation.
 *
 * Every sample is a pure function of (seed, split, epoch·length + index): random access, the same
 * image on every machine. Colour never tells the item from the clutter (both draw tints from the
 * same distribution); size, wholeness and opacity do.
 */

/** An item's bounding box on the canvas in pixels: [x0, y0, x1, y1], x1 and y1 exclusive (width = x1 − x0). */
export type Box = [number, number, number, number];

/** One generated picture. */
export interface ClutteredSample {
  /** RGB values in [0, 1], CHW: [3, size, size]. */
  image: Float32Array;
  /** The item's class index (Fashion-MNIST's label of the source image). */
  label: number;
  /** The tight box of the item's nonzero pixels. */
  box: Box;
  /** [size, size] row-major: 1 where the item covers the pixel (alpha > 0), else 0. */
  mask: Uint8Array;
  /** Index of the source image in its split. */
  source: number;
}

/** How pictures are composed; the defaults are what the bundled models were trained on. */
export interface ClutterConfig {
  /** Canvas side in pixels (default 64). */
  size: number;
  /** Range of the item's side in pixels after scaling the 28×28 source (default [26, 46]). */
  itemSize: [number, number];
  /** Range of the number of clutter fragments (default [3, 6]). */
  fragments: [number, number];
  /** Range of a fragment's crop side in source pixels (default [8, 16]). */
  fragmentCrop: [number, number];
  /** Range of a fragment's scale (default [0.8, 1.4]). */
  fragmentScale: [number, number];
  /** Range of a fragment's opacity (default [0.35, 0.7]). */
  fragmentAlpha: [number, number];
  /** Probability that a fragment is drawn over the item rather than under it (default 0.25). */
  fragmentOnTop: number;
  /** Standard deviation of the per-pixel noise added to the background (default 0.03). */
  noise: number;
  /** How far the background's texture strays from its base colour, per channel (default 0.3; 0 gives a flat background). */
  backgroundContrast: number;
  /** Least RGB distance between the item's tint and the background's mean colour (default 0.4). */
  minItemContrast: number;
  /**
   * How colourful the picture is, 0–1 (default 1). Below 1 every tint is pulled towards white and the
   * background towards black (at 0: white items and fragments on a dark textured background, like the
   * original dataset); training curricula start low and raise it.
   */
  colorfulness: number;
}

/** The default composition. */
export const CLUTTER_DEFAULTS: Readonly<ClutterConfig> = Object.freeze<ClutterConfig>({
  size: 64,
  itemSize: [26, 46],
  fragments: [3, 6],
  fragmentCrop: [8, 16],
  fragmentScale: [0.8, 1.4],
  fragmentAlpha: [0.35, 0.7],
  fragmentOnTop: 0.25,
  noise: 0.03,
  backgroundContrast: 0.3,
  minItemContrast: 0.4,
  colorfulness: 1,
});

export interface ClutteredOptions extends FashionMnistOptions {
  /** Which Fashion-MNIST split the items come from (default 'train'). */
  split?: 'train' | 'test';
  /** Seed of the composition (default 0). */
  seed?: number;
  /** Samples per epoch (default: the split's size, 60 000 or 10 000). */
  length?: number;
  /** Epoch: sample i of epoch e is composed from source (e·length + i) mod N with its own randomness (default 0). */
  epoch?: number;
  /** Source images to use instead of reading the idx files (tests, custom data). */
  data?: FashionMnist;
  /** Composition settings (defaults: CLUTTER_DEFAULTS). */
  config?: Partial<ClutterConfig>;
  /** Per-channel (x − mean) / std applied by get() (not by generate()). */
  normalize?: { mean: readonly number[]; std: readonly number[] };
}

/** A 32-bit hash of a few integers (murmur3's finaliser over a running mix). */
function hash32(...values: number[]): number {
  let h = 0x811c9dc5;
  for (const v of values) {
    h = Math.imul(h ^ (v >>> 0), 0x01000193) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}

const uniform = (g: Generator, lo: number, hi: number): number => lo + (hi - lo) * g.uniform();
const intIn = (g: Generator, lo: number, hi: number): number => lo + g.int(hi - lo + 1);

/** A saturated random colour (HSV: any hue, saturation 0.3–1, value 0.55–1) as RGB in [0, 1]. */
function randomTint(g: Generator): [number, number, number] {
  const h = g.uniform() * 6;
  const s = uniform(g, 0.3, 1);
  const v = uniform(g, 0.55, 1);
  const i = Math.floor(h);
  const f = h - i;
  const p = v * (1 - s),
    q = v * (1 - s * f),
    t = v * (1 - s * (1 - f));
  switch (i % 6) {
    case 0:
      return [v, t, p];
    case 1:
      return [q, v, p];
    case 2:
      return [p, v, t];
    case 3:
      return [p, q, v];
    case 4:
      return [t, p, v];
    default:
      return [v, p, q];
  }
}

/** Bilinear sample of a [h, w] uint8 image (values /255) at (x, y) in pixel-centre coordinates, zero outside the rectangle [x0, x1) × [y0, y1). */
function sampleGray(
  img: Uint8Array,
  offset: number,
  w: number,
  x: number,
  y: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
): number {
  const fx = Math.floor(x),
    fy = Math.floor(y);
  const ax = x - fx,
    ay = y - fy;
  let acc = 0;
  for (let dy = 0; dy < 2; dy++) {
    const yy = fy + dy;
    if (yy < y0 || yy >= y1) continue;
    const wy = dy ? ay : 1 - ay;
    for (let dx = 0; dx < 2; dx++) {
      const xx = fx + dx;
      if (xx < x0 || xx >= x1) continue;
      acc += wy * (dx ? ax : 1 - ax) * img[offset + yy * w + xx]!;
    }
  }
  return acc / 255;
}

/** Paints a textured background into `out` (CHW) and returns its mean colour. */
function paintBackground(
  out: Float32Array,
  size: number,
  g: Generator,
  noise: number,
  contrast: number,
  colorfulness: number,
): [number, number, number] {
  const n = size * size;
  const kind = g.int(3);
  const c0: number[] = [uniform(g, 0.1, 0.9), uniform(g, 0.1, 0.9), uniform(g, 0.1, 0.9)];
  const c1: number[] = c0.map((c) => Math.min(1, Math.max(0, c + contrast * uniform(g, -2, 2))));
  if (kind === 0) {
    // Smooth value noise: a coarse grid of colours around a base colour, interpolated with smoothstep.
    const cells = intIn(g, 2, 6);
    const grid = new Float32Array(3 * (cells + 1) * (cells + 1));
    for (let c = 0; c < 3; c++)
      for (let k = 0; k < (cells + 1) * (cells + 1); k++)
        grid[c * (cells + 1) * (cells + 1) + k] = Math.min(1, Math.max(0, c0[c]! + contrast * uniform(g, -1.5, 1.5)));
    const step = (size - 1) / cells;
    for (let y = 0; y < size; y++) {
      const gy = y / step,
        iy = Math.min(cells - 1, Math.floor(gy)),
        ty = gy - iy,
        sy = ty * ty * (3 - 2 * ty);
      for (let x = 0; x < size; x++) {
        const gx = x / step,
          ix = Math.min(cells - 1, Math.floor(gx)),
          tx = gx - ix,
          sx = tx * tx * (3 - 2 * tx);
        for (let c = 0; c < 3; c++) {
          const base = c * (cells + 1) * (cells + 1);
          const a = grid[base + iy * (cells + 1) + ix]!,
            b = grid[base + iy * (cells + 1) + ix + 1]!;
          const d = grid[base + (iy + 1) * (cells + 1) + ix]!,
            e = grid[base + (iy + 1) * (cells + 1) + ix + 1]!;
          out[c * n + y * size + x] = (a + (b - a) * sx) * (1 - sy) + (d + (e - d) * sx) * sy;
        }
      }
    }
  } else {
    // A linear gradient (kind 1) or soft stripes (kind 2) between two colours at a random angle.
    const angle = g.uniform() * Math.PI;
    const ux = Math.cos(angle),
      uy = Math.sin(angle);
    const period = uniform(g, 6, 18);
    const phase = g.uniform() * 2 * Math.PI;
    const span = size * (Math.abs(ux) + Math.abs(uy));
    const offset = (Math.min(0, ux) + Math.min(0, uy)) * size;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const p = x * ux + y * uy;
        const t = kind === 1 ? (p - offset) / span : 0.5 + 0.5 * Math.sin((2 * Math.PI * p) / period + phase);
        for (let c = 0; c < 3; c++) out[c * n + y * size + x] = c0[c]! + (c1[c]! - c0[c]!) * t;
      }
    }
  }
  const mean: [number, number, number] = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    let s = 0;
    for (let k = 0; k < n; k++) {
      const v = colorfulness * out[c * n + k]! + noise * g.normal();
      out[c * n + k] = v;
      s += v;
    }
    mean[c] = s / n;
  }
  return mean;
}

/** Composites a (scaled, possibly cropped) gray source over `out` in a tint; alpha = opacity · min(1, 3v). Writes coverage to `mask` if given. */
function drawGray(
  out: Float32Array,
  size: number,
  src: FashionMnist,
  index: number,
  crop: { x0: number; y0: number; x1: number; y1: number },
  dest: { x: number; y: number; scale: number },
  tint: readonly number[],
  opacity: number,
  mask?: Uint8Array,
): void {
  const n = size * size;
  const w = src.width;
  const offset = index * src.width * src.height;
  const dw = Math.round((crop.x1 - crop.x0) * dest.scale),
    dh = Math.round((crop.y1 - crop.y0) * dest.scale);
  for (let y = Math.max(0, dest.y); y < Math.min(size, dest.y + dh); y++) {
    const sy = crop.y0 + (y - dest.y + 0.5) / dest.scale - 0.5;
    for (let x = Math.max(0, dest.x); x < Math.min(size, dest.x + dw); x++) {
      const sx = crop.x0 + (x - dest.x + 0.5) / dest.scale - 0.5;
      const v = sampleGray(src.images, offset, w, sx, sy, crop.x0, crop.y0, crop.x1, crop.y1);
      if (v <= 0) continue;
      const a = opacity * Math.min(1, 3 * v);
      const shade = 0.25 + 0.75 * v;
      const k = y * size + x;
      for (let c = 0; c < 3; c++) out[c * n + k] = out[c * n + k]! * (1 - a) + tint[c]! * shade * a;
      if (mask) mask[k] = 1;
    }
  }
}

/** Composes picture `index` of a split's items with the given randomness; see ClutteredFashionMnist. */
export function composeCluttered(
  src: FashionMnist,
  source: number,
  g: Generator,
  config: ClutterConfig = CLUTTER_DEFAULTS,
): ClutteredSample {
  const size = config.size;
  const n = size * size;
  if (source < 0 || source >= src.count) throw new Error(`composeCluttered: source ${source} is outside 0..${src.count - 1}`);
  const image = new Float32Array(3 * n);
  const mask = new Uint8Array(n);
  const bgMean = paintBackground(image, size, g, config.noise, config.backgroundContrast, config.colorfulness);
  const pale = (t: [number, number, number]): [number, number, number] =>
    config.colorfulness === 1 ? t : (t.map((v) => 1 - config.colorfulness * (1 - v)) as [number, number, number]);

  // The item: its scale and place first, so the fragments' randomness does not move it.
  const side = intIn(g, Math.min(config.itemSize[0], size), Math.min(config.itemSize[1], size));
  const scale = side / src.width;
  const itemX = g.int(size - side + 1),
    itemY = g.int(size - side + 1);
  let tint = pale(randomTint(g));
  for (let tries = 0; tries < 20; tries++) {
    const d = Math.hypot(tint[0] - bgMean[0], tint[1] - bgMean[1], tint[2] - bgMean[2]);
    if (d > config.minItemContrast) break;
    tint = pale(randomTint(g));
  }

  // Fragments: crops of other items (where they have some ink), tinted and translucent.
  const count = intIn(g, config.fragments[0], config.fragments[1]);
  const over: (() => void)[] = [];
  for (let f = 0; f < count; f++) {
    let other = g.int(src.count - 1);
    if (other >= source) other++;
    const cw = intIn(g, config.fragmentCrop[0], config.fragmentCrop[1]);
    const ch = intIn(g, config.fragmentCrop[0], config.fragmentCrop[1]);
    let cx = 0,
      cy = 0;
    for (let tries = 0; tries < 6; tries++) {
      cx = g.int(src.width - cw + 1);
      cy = g.int(src.height - ch + 1);
      let ink = 0;
      const off = other * src.width * src.height;
      for (let y = cy; y < cy + ch; y++) for (let x = cx; x < cx + cw; x++) ink += src.images[off + y * src.width + x]!;
      if (ink / (cw * ch * 255) > 0.2) break;
    }
    const fs = uniform(g, config.fragmentScale[0], config.fragmentScale[1]);
    const dw = Math.round(cw * fs),
      dh = Math.round(ch * fs);
    const dx = intIn(g, -Math.floor(dw / 3), size - Math.ceil((2 * dw) / 3));
    const dy = intIn(g, -Math.floor(dh / 3), size - Math.ceil((2 * dh) / 3));
    const ftint = pale(randomTint(g));
    const alpha = uniform(g, config.fragmentAlpha[0], config.fragmentAlpha[1]);
    const draw = () =>
      drawGray(image, size, src, other, { x0: cx, y0: cy, x1: cx + cw, y1: cy + ch }, { x: dx, y: dy, scale: fs }, ftint, alpha);
    if (g.uniform() < config.fragmentOnTop) over.push(draw);
    else draw();
  }
  drawGray(image, size, src, source, { x0: 0, y0: 0, x1: src.width, y1: src.height }, { x: itemX, y: itemY, scale }, tint, 1, mask);
  for (const draw of over) draw();
  for (let k = 0; k < 3 * n; k++) image[k] = Math.min(1, Math.max(0, image[k]!));

  let x0 = size,
    y0 = size,
    x1 = 0,
    y1 = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!mask[y * size + x]) continue;
      if (x < x0) x0 = x;
      if (y < y0) y0 = y;
      if (x + 1 > x1) x1 = x + 1;
      if (y + 1 > y1) y1 = y + 1;
    }
  }
  if (x1 === 0) x0 = y0 = 0; // an empty source image: an empty box
  return { image, label: src.labels[source]!, box: [x0, y0, x1, y1], mask, source };
}

/** A generated sample as the DataLoader sees it, with the box alongside. */
export interface ClutteredDatasetSample extends Sample {
  x: Float32Array;
  box: Box;
}

/**
 * Cluttered Fashion-MNIST as a Dataset (`length`, `get(i)`, sampleShape [3, 64, 64]) for nn's
 * DataLoader: train split from the 60 000 training images, test split from the 10 000 test images.
 * `get` returns the image (normalised if asked) and label; `generate` returns image, label, box
 * and mask. Call `setEpoch(e)` between epochs for fresh compositions (and, when length < N, fresh items).
 */
export class ClutteredFashionMnist implements Dataset {
  readonly length: number;
  readonly sampleShape: readonly number[];
  readonly split: 'train' | 'test';
  readonly seed: number;
  readonly config: Readonly<ClutterConfig>;
  readonly classes: readonly string[] = FASHION_MNIST_CLASSES;
  readonly source: FashionMnist;
  readonly normalize: { mean: readonly number[]; std: readonly number[] } | undefined;
  epoch: number;

  constructor(options: ClutteredOptions = {}) {
    this.split = options.split ?? 'train';
    this.source = options.data ?? loadFashionMnist(this.split, options);
    this.seed = options.seed ?? 0;
    this.epoch = options.epoch ?? 0;
    this.config = { ...CLUTTER_DEFAULTS, ...options.config };
    const size = this.config.size;
    if (!Number.isInteger(size) || size < 8) throw new Error(`ClutteredFashionMnist: config.size must be an integer ≥ 8, got ${size}`);
    if (this.source.count < 2)
      throw new Error(
        `ClutteredFashionMnist: need at least 2 source images (the clutter comes from other items), got ${this.source.count}`,
      );
    this.length = options.length ?? this.source.count;
    if (!Number.isInteger(this.length) || this.length < 0)
      throw new Error(`ClutteredFashionMnist: length must be a non-negative integer, got ${this.length}`);
    this.sampleShape = [3, size, size];
    const norm = options.normalize;
    if (norm && (norm.mean.length !== 3 || norm.std.length !== 3 || norm.std.some((s) => !(s > 0)))) {
      throw new Error(
        `ClutteredFashionMnist: normalize needs 3 means and 3 positive stds, got mean [${norm.mean.join(', ')}], std [${norm.std.join(', ')}]`,
      );
    }
    this.normalize = norm;
  }

  /** Uses epoch `e`'s compositions from now on (as torch's DistributedSampler.set_epoch). */
  setEpoch(e: number): void {
    if (!Number.isInteger(e) || e < 0) throw new Error(`ClutteredFashionMnist.setEpoch: expected a non-negative integer, got ${e}`);
    this.epoch = e;
  }

  /** Sample i of the current epoch: CHW image in [0, 1], label, box and mask. */
  generate(i: number): ClutteredSample {
    if (!Number.isInteger(i) || i < 0 || i >= this.length)
      throw new Error(`ClutteredFashionMnist: index ${i} is outside 0..${this.length - 1}`);
    const global = this.epoch * this.length + i;
    const source = global % this.source.count;
    const g = new Generator(hash32(this.seed, this.split === 'train' ? 1 : 2, global, Math.floor(global / 0x100000000)));
    return composeCluttered(this.source, source, g, this.config);
  }

  /** Sample i as the DataLoader takes it: x [3, size, size] (normalised when the dataset was given stats), y the label, and the box. */
  get(i: number): ClutteredDatasetSample {
    const s = this.generate(i);
    const x = s.image;
    if (this.normalize) {
      const n = x.length / 3;
      for (let c = 0; c < 3; c++) {
        const m = this.normalize.mean[c]!,
          sd = this.normalize.std[c]!;
        for (let k = c * n; k < (c + 1) * n; k++) x[k] = (x[k]! - m) / sd;
      }
    }
    return { x, y: s.label, box: s.box };
  }
}

/** Per-channel mean and standard deviation of the first `count` generated images (unnormalised), to normalise inputs with. */
export function channelStats(
  dataset: ClutteredFashionMnist,
  count = 1000,
): { mean: [number, number, number]; std: [number, number, number] } {
  const n = Math.min(count, dataset.length);
  if (n < 1) throw new Error('channelStats: the dataset is empty');
  const sum = [0, 0, 0],
    sq = [0, 0, 0];
  let per = 0;
  for (let i = 0; i < n; i++) {
    const { image } = dataset.generate(i);
    per = image.length / 3;
    for (let c = 0; c < 3; c++) {
      for (let k = c * per; k < (c + 1) * per; k++) {
        const v = image[k]!;
        sum[c]! += v;
        sq[c]! += v * v;
      }
    }
  }
  const total = n * per;
  const mean = sum.map((s) => s / total) as [number, number, number];
  const std = sq.map((s, c) => Math.sqrt(Math.max(0, s / total - mean[c]! ** 2))) as [number, number, number];
  return { mean, std };
}

/** A CHW float image in [0, 1] as an 8-bit RGB raster (HWC), ready for io's encodePng / writeImage. */
export function toRgb8(image: Float32Array, size: number): { width: number; height: number; channels: 3; bitDepth: 8; data: Uint8Array } {
  const n = size * size;
  if (image.length !== 3 * n) throw new Error(`toRgb8: expected ${3 * n} values for [3, ${size}, ${size}], got ${image.length}`);
  const data = new Uint8Array(3 * n);
  for (let k = 0; k < n; k++) for (let c = 0; c < 3; c++) data[3 * k + c] = Math.round(Math.min(1, Math.max(0, image[c * n + k]!)) * 255);
  return { width: size, height: size, channels: 3, bitDepth: 8, data };
}
