import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { Generator } from '@gradlens/tensor';
import {
  channelStats,
  ClutteredFashionMnist,
  composeCluttered,
  decodeIdx,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DEFAULT_DIR,
  loadFashionMnist,
  readIdx,
  toRgb8,
  type FashionMnist,
} from '../src/datasets';
import { DataLoader } from '../src/train';

/** Six 28×28 synthetic items: filled rectangles of different sizes and intensities, labels 0..5. */
function synthetic(count = 6): FashionMnist {
  const images = new Uint8Array(count * 28 * 28);
  for (let i = 0; i < count; i++) {
    const x0 = 2 + i,
      y0 = 3 + (i % 3),
      x1 = 26 - (i % 4),
      y1 = 25 - i;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) images[i * 784 + y * 28 + x] = 80 + 30 * i;
  }
  return { split: 'test', count, height: 28, width: 28, images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10) };
}

/** The same data with item `i` blanked: composing it with the same randomness draws everything but the item. */
function withoutItem(src: FashionMnist, i: number): FashionMnist {
  const images = src.images.slice();
  images.fill(0, i * 784, (i + 1) * 784);
  return { ...src, images };
}

const haveData = fs.existsSync(path.join(FASHION_MNIST_DEFAULT_DIR, 't10k-images-idx3-ubyte.gz'));
const withData = haveData ? describe : describe.skip;

function idxBytes(type: number, shape: number[], body: Uint8Array): Uint8Array {
  const head = Buffer.alloc(4 + 4 * shape.length);
  head[2] = type;
  head[3] = shape.length;
  shape.forEach((d, k) => head.writeUInt32BE(d, 4 + 4 * k));
  return Buffer.concat([head, body]);
}

describe('idx files', () => {
  test('decodes uint8 and big-endian int32, gzipped or plain', () => {
    const u8 = idxBytes(0x08, [2, 3], Uint8Array.from([1, 2, 3, 4, 5, 255]));
    for (const bytes of [u8, zlib.gzipSync(u8)]) {
      const a = decodeIdx(bytes);
      expect(a.shape).toEqual([2, 3]);
      expect(a.data).toBeInstanceOf(Uint8Array);
      expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 255]);
    }
    const body = Buffer.alloc(8);
    body.writeInt32BE(-2, 0);
    body.writeInt32BE(70000, 4);
    const i32 = decodeIdx(idxBytes(0x0c, [2], body));
    expect(Array.from(i32.data)).toEqual([-2, 70000]);
  });

  test('refuses bad magic and truncated data with the file named', () => {
    expect(() => decodeIdx(Uint8Array.from([1, 2, 3, 4]), 'x.idx')).toThrow(/x\.idx: not an idx file/);
    expect(() => decodeIdx(idxBytes(0x08, [10], new Uint8Array(3)), 'y.idx')).toThrow(/y\.idx: truncated idx data/);
  });

  test('readIdx reads a file', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gl-idx-')), 'a-idx1-ubyte.gz');
    fs.writeFileSync(file, zlib.gzipSync(idxBytes(0x08, [4], Uint8Array.from([9, 8, 7, 6]))));
    expect(Array.from(readIdx(file).data)).toEqual([9, 8, 7, 6]);
  });
});

describe('missing dataset', () => {
  test('says which package to install', () => {
    const dir = path.join(os.tmpdir(), 'gradlens-no-such-dir');
    expect(() => loadFashionMnist('train', { dir })).toThrow(/apt-get install dataset-fashion-mnist/);
    expect(() => new ClutteredFashionMnist({ split: 'test', dir })).toThrow(
      /gradlens-no-such-dir.*not found.*apt-get install dataset-fashion-mnist/,
    );
  });
});

describe('cluttered generator (synthetic items)', () => {
  const data = synthetic();

  test('same seed and index give the same picture; seed, index and epoch change it', () => {
    const a = new ClutteredFashionMnist({ data, seed: 7 });
    const b = new ClutteredFashionMnist({ data, seed: 7 });
    const s = a.generate(3);
    expect(s.image).toEqual(b.generate(3).image);
    expect(s.box).toEqual(b.generate(3).box);
    expect(s.image).not.toEqual(new ClutteredFashionMnist({ data, seed: 8 }).generate(3).image);
    expect(s.image).not.toEqual(a.generate(4).image);
    b.setEpoch(1);
    expect(s.image).not.toEqual(b.generate(3).image);
    expect(s.image).toEqual(a.generate(3).image); // random access: generating others in between changes nothing
  });

  test('CHW float image in [0, 1], label and source from the split', () => {
    const ds = new ClutteredFashionMnist({ data, length: 12 });
    for (let i = 0; i < ds.length; i++) {
      const s = ds.generate(i);
      expect(s.image.length).toBe(3 * 64 * 64);
      expect(Math.min(...s.image)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...s.image)).toBeLessThanOrEqual(1);
      expect(s.source).toBe(i % data.count);
      expect(s.label).toBe(data.labels[s.source]);
    }
  });

  test('the box is tight around the mask and holds every pixel the item changed', () => {
    const ds = new ClutteredFashionMnist({ data, length: 30, seed: 3 });
    for (let i = 0; i < ds.length; i++) {
      const s = ds.generate(i);
      const [x0, y0, x1, y1] = s.box;
      expect(x1 - x0).toBeGreaterThan(10);
      let minX = 64,
        minY = 64,
        maxX = -1,
        maxY = -1;
      s.mask.forEach((m, k) => {
        if (!m) return;
        const x = k % 64,
          y = Math.floor(k / 64);
        minX = Math.min(minX, x);
        minY = Math.min(minY, y);
        maxX = Math.max(maxX, x);
        maxY = Math.max(maxY, y);
      });
      expect([minX, minY, maxX + 1, maxY + 1]).toEqual(s.box);
      // Same randomness, item blanked: every pixel that differs belongs to the item, inside the box.
      const blank = new ClutteredFashionMnist({ data: withoutItem(data, s.source), length: 30, seed: 3 }).generate(i);
      let changed = 0,
        outside = 0;
      for (let c = 0; c < 3; c++) {
        for (let k = 0; k < 64 * 64; k++) {
          if (s.image[c * 4096 + k] === blank.image[c * 4096 + k]) continue;
          changed++;
          const x = k % 64,
            y = Math.floor(k / 64);
          if (!(x >= x0 && x < x1 && y >= y0 && y < y1)) outside++;
        }
      }
      expect(changed).toBeGreaterThan(100);
      expect(outside).toBe(0);
    }
  });

  test('the item is drawn at the configured scale', () => {
    const ds = new ClutteredFashionMnist({ data, config: { itemSize: [56, 56] }, length: 6 });
    for (let i = 0; i < 6; i++) {
      const s = ds.generate(i);
      const w = 26 - (i % 4) - (2 + i),
        h = 25 - i - (3 + (i % 3));
      expect(Math.abs(s.box[2] - s.box[0] - 2 * w)).toBeLessThanOrEqual(2);
      expect(Math.abs(s.box[3] - s.box[1] - 2 * h)).toBeLessThanOrEqual(2);
    }
  });

  test('colorfulness 0 without clutter or texture: gray items on black, as the original dataset', () => {
    const ds = new ClutteredFashionMnist({
      data,
      length: 6,
      config: { colorfulness: 0, fragments: [0, 0], noise: 0, backgroundContrast: 0 },
    });
    for (let i = 0; i < 6; i++) {
      const s = ds.generate(i);
      let bad = 0;
      for (let k = 0; k < 4096; k++) {
        const [r, g, b] = [s.image[k]!, s.image[4096 + k]!, s.image[8192 + k]!];
        if (Math.abs(r - g) > 1e-6 || Math.abs(g - b) > 1e-6) bad++;
        if (!s.mask[k] && r !== 0) bad++;
        if (s.mask[k] && !(r > 0)) bad++;
      }
      expect(bad).toBe(0);
    }
  });

  test('get() normalises with the given stats and feeds the DataLoader', () => {
    const raw = new ClutteredFashionMnist({ data, length: 8 });
    const stats = channelStats(raw, 8);
    expect(stats.mean.every((m) => m > 0 && m < 1)).toBe(true);
    const norm = new ClutteredFashionMnist({ data, length: 8, normalize: stats });
    const a = raw.generate(5).image,
      b = norm.get(5).x;
    for (const k of [0, 4096 + 100, 8191 + 2000]) {
      const c = Math.floor(k / 4096);
      expect(b[k]).toBeCloseTo((a[k]! - stats.mean[c]!) / stats.std[c]!, 5);
    }
    const loader = new DataLoader(norm, { batchSize: 4 });
    const batches = [...loader];
    expect(batches.map((t) => t.x.shape)).toEqual([
      [4, 3, 64, 64],
      [4, 3, 64, 64],
    ]);
    expect(Array.from(batches[1]!.y.values())).toEqual([4, 5, 0, 1]);
    batches.forEach((t) => t.dispose());
  });

  test('composeCluttered and toRgb8 work standalone', () => {
    const s = composeCluttered(data, 2, new Generator(1));
    const rgb = toRgb8(s.image, 64);
    expect(rgb.data.length).toBe(64 * 64 * 3);
    expect(rgb.data[0]).toBe(Math.round(s.image[0]! * 255));
    expect(rgb.data[2]).toBe(Math.round(s.image[2 * 4096]! * 255));
    expect(() => composeCluttered(data, 99, new Generator(1))).toThrow(/source 99/);
  });

  test('refuses bad options', () => {
    expect(() => new ClutteredFashionMnist({ data, normalize: { mean: [0, 0], std: [1, 1] } })).toThrow(/3 means/);
    expect(() => new ClutteredFashionMnist({ data }).generate(6)).toThrow(/outside 0\.\.5/);
    expect(() => new ClutteredFashionMnist({ data }).setEpoch(-1)).toThrow(/non-negative/);
  });
});

withData('cluttered Fashion-MNIST (Debian dataset-fashion-mnist)', () => {
  test('splits have the published sizes and labels match the source', () => {
    const test = loadFashionMnist('test');
    expect([test.count, test.height, test.width]).toEqual([10000, 28, 28]);
    const ds = new ClutteredFashionMnist({ split: 'test', seed: 0 });
    expect(ds.length).toBe(10000);
    expect(ds.classes).toEqual(FASHION_MNIST_CLASSES);
    for (const i of [0, 1, 2, 777, 9999]) {
      const s = ds.generate(i);
      expect(s.source).toBe(i);
      expect(s.label).toBe(test.labels[i]);
    }
    // The first test labels of Fashion-MNIST: ankle boot, pullover, trouser, trouser, shirt.
    expect([0, 1, 2, 3, 4].map((i) => ds.generate(i).label)).toEqual([9, 2, 1, 1, 6]);
    expect(new ClutteredFashionMnist({ split: 'train' }).length).toBe(60000);
  });

  test('boxes hold every pixel the real item changed', () => {
    const src = loadFashionMnist('test');
    const ds = new ClutteredFashionMnist({ split: 'test', seed: 5, length: 10 });
    for (let i = 0; i < 10; i++) {
      const s = ds.generate(i);
      const blank = new ClutteredFashionMnist({ data: withoutItem(src, i), split: 'test', seed: 5, length: 10 }).generate(i);
      const [x0, y0, x1, y1] = s.box;
      let changed = 0,
        outside = 0;
      for (let k = 0; k < 3 * 4096; k++) {
        if (s.image[k] === blank.image[k]) continue;
        changed++;
        const p = k % 4096,
          x = p % 64,
          y = Math.floor(p / 64);
        if (!(x >= x0 && x < x1 && y >= y0 && y < y1)) outside++;
      }
      expect(changed).toBeGreaterThan(100);
      expect(outside).toBe(0);
    }
  });
});
