import { Generator, Tensor, tensor } from '@gradlens/tensor';

/** One example: its values, row-major (shape given by the dataset or the loader), and its class index. */
export interface Sample {
  x: ArrayLike<number>;
  y: number;
}

/** Indexed examples: `get(i)` for 0 ≤ i < length. `sampleShape` is each x's shape ([x.length] if absent). */
export interface Dataset {
  readonly length: number;
  get(i: number): Sample;
  readonly sampleShape?: readonly number[];
}

/** A batch: inputs [B, ...sampleShape] (float32), labels [B] (int32), and which samples they are. The holder disposes it. */
export interface Batch {
  x: Tensor;
  y: Tensor;
  /** Dataset indices of the samples, in batch order. */
  indices: number[];
  /** Frees x and y. */
  dispose(): void;
}

export interface DataLoaderOptions {
  /** Samples per batch (default 1, as torch). */
  batchSize?: number;
  /** Draw a new permutation every epoch (default false: dataset order). */
  shuffle?: boolean;
  /** Seed of the shuffling generator; the same seed gives the same sequence of epochs. */
  seed?: number;
  /** The shuffling generator itself (wins over `seed`). */
  generator?: Generator;
  /** Skip the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** The shape of each sample's x (default: the dataset's sampleShape, else [x.length]). */
  sampleShape?: readonly number[];
}

/** A dataset over in-memory arrays: x [N, ...] row-major (a tensor or plain values with a shape), y [N] class indices. */
export function tensorDataset(x: Tensor | { data: ArrayLike<number>; shape: readonly number[] }, y: Tensor | ArrayLike<number>): Dataset {
  const shape = [...x.shape];
  const data = Float32Array.from(x instanceof Tensor ? (x.values() as ArrayLike<number>) : x.data);
  const labels = Int32Array.from(y instanceof Tensor ? (y.values() as ArrayLike<number>) : y);
  const n = shape[0];
  if (n === undefined) throw new Error('tensorDataset: x must have a leading sample dimension [N, ...], got a scalar');
  if (labels.length !== n) throw new Error(`tensorDataset: x holds ${n} samples but y holds ${labels.length} labels`);
  const sampleShape = shape.slice(1);
  const per = sampleShape.reduce((a, b) => a * b, 1);
  if (data.length !== n * per) throw new Error(`tensorDataset: ${data.length} values cannot fill shape [${shape.join(', ')}]`);
  return {
    length: n,
    sampleShape,
    get(i: number): Sample {
      return { x: data.subarray(i * per, (i + 1) * per), y: labels[i]! };
    },
  };
}

/**
 * Batches of a dataset as tensors, in dataset order or shuffled with a seeded generator (a new
 * permutation each epoch, as torch's RandomSampler). Iterate it once per epoch; each batch belongs
 * to the caller, who disposes it (`fit` and `evaluate` do).
 */
export class DataLoader implements Iterable<Batch> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly sampleShape: readonly number[];
  private readonly generator: Generator;

  constructor(dataset: Dataset | readonly Sample[], options: DataLoaderOptions = {}) {
    this.dataset = Array.isArray(dataset) ? arrayDataset(dataset as readonly Sample[]) : (dataset as Dataset);
    this.batchSize = options.batchSize ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1)
      throw new Error(`DataLoader: batchSize must be a positive integer, got ${this.batchSize}`);
    if (!Number.isInteger(this.dataset.length) || this.dataset.length < 0)
      throw new Error(`DataLoader: dataset.length must be a non-negative integer, got ${this.dataset.length}`);
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.generator = options.generator ?? new Generator(options.seed ?? 0);
    const first = this.dataset.length > 0 ? this.dataset.get(0) : undefined;
    this.sampleShape = [...(options.sampleShape ?? this.dataset.sampleShape ?? [first?.x.length ?? 0])];
  }

  /** The number of samples. */
  get numSamples(): number {
    return this.dataset.length;
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Samples per epoch (the dropped tail excluded). */
  get samplesPerEpoch(): number {
    return this.dropLast ? this.length * this.batchSize : this.dataset.length;
  }

  /** The order of one epoch: 0..N-1, or a Fisher–Yates permutation from the generator. */
  private order(): number[] {
    const idx = Array.from({ length: this.dataset.length }, (_, i) => i);
    if (this.shuffle) {
      for (let i = idx.length - 1; i > 0; i--) {
        const j = this.generator.int(i + 1);
        [idx[i], idx[j]] = [idx[j]!, idx[i]!];
      }
    }
    return idx;
  }

  /** One epoch of sample indices, batch by batch (the permutation is drawn when iteration starts); no sample is read. */
  *indexBatches(): IterableIterator<number[]> {
    const order = this.order();
    for (let b = 0; b < this.length; b++) yield order.slice(b * this.batchSize, (b + 1) * this.batchSize);
  }

  /** One epoch of batches; the permutation is drawn when iteration starts. */
  *[Symbol.iterator](): Iterator<Batch> {
    for (const indices of this.indexBatches()) yield collate(this.dataset, indices, this.sampleShape);
  }
}

/** The batch of `dataset`'s samples at `indices`: x [indices.length, ...sampleShape] float32, y int32. */
export function collate(dataset: Dataset, indices: readonly number[], sampleShape: readonly number[]): Batch {
  const per = sampleShape.reduce((a, b) => a * b, 1);
  const xs = new Float32Array(indices.length * per);
  const ys = new Int32Array(indices.length);
  indices.forEach((i, k) => {
    const s = dataset.get(i);
    if (s.x.length !== per) {
      throw new Error(`DataLoader: sample ${i} has ${s.x.length} values, expected ${per} for shape [${sampleShape.join(', ')}]`);
    }
    if (!Number.isInteger(s.y)) throw new Error(`DataLoader: sample ${i} has label ${s.y}, expected an integer class index`);
    xs.set(s.x, k * per);
    ys[k] = s.y;
  });
  const x = tensor(xs, [indices.length, ...sampleShape], 'float32');
  const y = tensor(ys, [indices.length], 'int32');
  return {
    x,
    y,
    indices: [...indices],
    dispose: () => {
      x.dispose();
      y.dispose();
    },
  };
}

function arrayDataset(samples: readonly Sample[]): Dataset {
  return { length: samples.length, get: (i) => samples[i]! };
}
