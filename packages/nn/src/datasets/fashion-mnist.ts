import * as fs from 'fs';
import * as path from 'path';
import { readIdx } from './idx';
import { FASHION_MNIST_CLASSES } from './classes';

/** Where Debian's `dataset-fashion-mnist` package puts the idx files. */
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

/** One split of Fashion-MNIST: `count` grayscale 28×28 images (uint8, [count, 28, 28] row-major) and their labels. */
export interface FashionMnist {
  split: 'train' | 'test';
  count: number;
  height: number;
  width: number;
  images: Uint8Array;
  labels: Uint8Array;
}

export interface FashionMnistOptions {
  /** Folder of the idx files (default: $GRADLENS_FASHION_MNIST, else /usr/share/datasets/fashion-mnist). */
  dir?: string;
}

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

/** The folder the loader reads when given none. */
export function fashionMnistDir(options: FashionMnistOptions = {}): string {
  return options.dir ?? process.env.GRADLENS_FASHION_MNIST ?? FASHION_MNIST_DEFAULT_DIR;
}

function findFile(dir: string, base: string): string {
  for (const name of [`${base}.gz`, base]) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return file;
  }
  throw new Error(
    `Fashion-MNIST: ${path.join(dir, base)}.gz not found. Install the dataset with ` +
      '`apt-get install dataset-fashion-mnist` (Debian/Ubuntu; it puts the idx files in ' +
      `${FASHION_MNIST_DEFAULT_DIR}), or point GRADLENS_FASHION_MNIST (or the dir option) at a folder holding ` +
      `${[...FILES.train, ...FILES.test].map((f) => `${f}.gz`).join(', ')}.`,
  );
}

const cache = new Map<string, FashionMnist>();

/** Loads a split of Fashion-MNIST from its idx files (cached per folder and split); throws naming the package to install when they are missing. */
export function loadFashionMnist(split: 'train' | 'test', options: FashionMnistOptions = {}): FashionMnist {
  const dir = fashionMnistDir(options);
  const key = `${path.resolve(dir)}:${split}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const [imagesBase, labelsBase] = FILES[split];
  const imagesFile = findFile(dir, imagesBase);
  const labelsFile = findFile(dir, labelsBase);
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  const [count, height, width] = images.shape;
  if (
    images.shape.length !== 3 ||
    !(images.data instanceof Uint8Array) ||
    count === undefined ||
    height === undefined ||
    width === undefined
  ) {
    throw new Error(`${imagesFile}: expected uint8 images [N, H, W], got ${images.data.constructor.name} [${images.shape.join(', ')}]`);
  }
  if (labels.shape.length !== 1 || !(labels.data instanceof Uint8Array) || labels.shape[0] !== count) {
    throw new Error(`${labelsFile}: expected ${count} uint8 labels, got ${labels.data.constructor.name} [${labels.shape.join(', ')}]`);
  }
  for (let i = 0; i < count; i++) {
    if (labels.data[i]! >= FASHION_MNIST_CLASSES.length)
      throw new Error(`${labelsFile}: label ${labels.data[i]} at ${i} is not a class index 0..9`);
  }
  const out: FashionMnist = { split, count, height, width, images: images.data, labels: labels.data };
  cache.set(key, out);
  return out;
}
