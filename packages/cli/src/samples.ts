import * as fs from 'fs';
import * as path from 'path';
import { preprocessImageNet, readImage, resizeImage } from '@gradlens/io';
import { bundledWeightsDir, ClutteredFashionMnist, fashionMnistDir } from '@gradlens/nn';
import { CliError } from './args';
import type { BoundingBox } from '@gradlens/explain';

/** A labelled picture with the object's box, as [0, 1] CHW floats at `size` × `size`. */
export interface LabelledPicture {
  name: string;
  /** [3, size, size] in [0, 1]. */
  pixels: Float32Array;
  size: number;
  label: number;
  box: BoundingBox;
}

function toBox(b: unknown, where: string): BoundingBox {
  if (Array.isArray(b) && b.length === 4 && b.every((v) => typeof v === 'number')) {
    const [x0, y0, x1, y1] = b as number[];
    return { x0: x0!, y0: y0!, x1: x1!, y1: y1! };
  }
  if (b !== null && typeof b === 'object') {
    const o = b as Record<string, unknown>;
    if (['x0', 'y0', 'x1', 'y1'].every((k) => typeof o[k] === 'number'))
      return { x0: o.x0 as number, y0: o.y0 as number, x1: o.x1 as number, y1: o.y1 as number };
  }
  throw new CliError(`${where}: the box must be [x0, y0, x1, y1] or {x0, y0, x1, y1}, got ${JSON.stringify(b)}`);
}

function factsOf(v: unknown, where: string, classes: readonly string[]): { file?: string; label: number; box: BoundingBox } {
  if (v === null || typeof v !== 'object') throw new CliError(`${where}: expected an object with label and box`);
  const o = v as Record<string, unknown>;
  let label = o.label ?? o.y ?? o.class;
  if (typeof label === 'string') label = classes.indexOf(label);
  if (typeof label !== 'number' || !Number.isInteger(label) || label < 0)
    throw new CliError(`${where}: no valid label (got ${JSON.stringify(o.label)})`);
  const file = typeof o.file === 'string' ? o.file : typeof o.image === 'string' ? o.image : undefined;
  return { file, label, box: toBox(o.box ?? o.bbox, where) };
}

/** The folder of the bundled sample pictures: `<weights>/samples`. */
export function samplesDir(): string {
  return path.join(bundledWeightsDir(), 'samples');
}

/**
 * Reads the bundled sample pictures: every PNG in `dir` with its label and box, from `<stem>.json`
 * beside it or from an index JSON in the folder (an array, or an object with `samples`, of
 * `{ file, label, box }`). Pictures are brought to `size` (boxes scaled with them).
 */
export function readSamples(dir: string, size: number, classes: readonly string[]): LabelledPicture[] {
  if (!fs.existsSync(dir)) throw new CliError(`no sample pictures: ${dir} does not exist (the bundled samples live in weights/samples)`);
  const entries = fs.readdirSync(dir).sort();
  const facts = new Map<string, { label: number; box: BoundingBox }>();
  for (const f of entries.filter((e) => e.endsWith('.json'))) {
    const file = path.join(dir, f);
    let v: unknown;
    try {
      v = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new CliError(`cannot read ${file}: ${(e as Error).message}`);
    }
    const list = Array.isArray(v)
      ? v
      : v !== null && typeof v === 'object' && Array.isArray((v as { samples?: unknown }).samples)
        ? (v as { samples: unknown[] }).samples
        : null;
    if (list) {
      list.forEach((s, i) => {
        const fx = factsOf(s, `${file} entry ${i}`, classes);
        if (fx.file) facts.set(path.basename(fx.file), fx);
      });
    } else if (v !== null && typeof v === 'object' && ('label' in v || 'class' in v)) {
      const fx = factsOf(v, file, classes);
      facts.set(path.basename(fx.file ?? f.replace(/\.json$/, '.png')), fx);
    }
  }
  const out: LabelledPicture[] = [];
  for (const f of entries.filter((e) => e.toLowerCase().endsWith('.png'))) {
    const fx = facts.get(f);
    if (!fx) continue;
    const img = readImage(path.join(dir, f));
    const same = img.width === size && img.height === size;
    const plain = preprocessImageNet(img, { size, resize: same ? false : 'stretch', normalize: false });
    const sx = size / img.width;
    const sy = size / img.height;
    out.push({
      name: f.replace(/\.png$/i, ''),
      pixels: plain.data,
      size,
      label: fx.label,
      box: {
        x0: Math.round(fx.box.x0 * sx),
        y0: Math.round(fx.box.y0 * sy),
        x1: Math.round(fx.box.x1 * sx),
        y1: Math.round(fx.box.y1 * sy),
      },
    });
  }
  if (out.length === 0) throw new CliError(`no labelled sample pictures in ${dir} (expected PNGs with a JSON of label and box)`);
  return out;
}

/** Whether the Fashion-MNIST files (Debian's dataset-fashion-mnist) are installed. */
export function datasetInstalled(): boolean {
  try {
    const dir = fashionMnistDir();
    return fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.startsWith('t10k'));
  } catch {
    return false;
  }
}

/** `n` held-out cluttered Fashion-MNIST pictures (test split, the card's test seed), at 64 × 64. */
export function heldOutPictures(n: number, seed: number): LabelledPicture[] {
  let ds: ClutteredFashionMnist;
  try {
    ds = new ClutteredFashionMnist({ split: 'test', seed, length: n });
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const out: LabelledPicture[] = [];
  for (let i = 0; i < n; i++) {
    const s = ds.generate(i);
    const [x0, y0, x1, y1] = s.box;
    out.push({ name: `test-${i}`, pixels: s.image, size: ds.config.size, label: s.label, box: { x0, y0, x1, y1 } });
  }
  return out;
}

/** The picture brought to `size` × `size` (bilinear), its box scaled with it. */
export function resizePicture(p: LabelledPicture, size: number): LabelledPicture {
  if (p.size === size) return p;
  const n = p.size * p.size;
  const data = new Uint8Array(3 * n);
  for (let k = 0; k < n; k++)
    for (let c = 0; c < 3; c++) data[3 * k + c] = Math.round(Math.min(1, Math.max(0, p.pixels[c * n + k]!)) * 255);
  const big = resizeImage({ width: p.size, height: p.size, channels: 3, bitDepth: 8, data }, size, size, 'bilinear');
  const m = size * size;
  const pixels = new Float32Array(3 * m);
  for (let k = 0; k < m; k++) for (let c = 0; c < 3; c++) pixels[c * m + k] = big.data[3 * k + c]! / 255;
  const s = size / p.size;
  const b = p.box;
  return {
    ...p,
    pixels,
    size,
    box: { x0: Math.round(b.x0 * s), y0: Math.round(b.y0 * s), x1: Math.round(b.x1 * s), y1: Math.round(b.y1 * s) },
  };
}
