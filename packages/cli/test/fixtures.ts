import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeImage } from '@gradlens/io';
import { bundledModels, saveCheckpoint } from '@gradlens/nn';
import type { BundledModelInfo } from '@gradlens/nn';
import { assign, Generator, manualSeed, randn } from '@gradlens/tensor';
import { main } from '../src/main';

/** Normalisation of the fixture cards (roughly the cluttered pictures' statistics). */
export const FIXTURE_NORM = { mean: [0.45, 0.45, 0.45] as [number, number, number], std: [0.25, 0.25, 0.25] as [number, number, number] };

/**
 * A weights folder like the repository's `weights/`: every bundled model with seeded random weights
 * and a card, and `samples/` with `count` 64×64 pictures (a bright square on a noisy background) and
 * their labels and boxes. Point GRADLENS_WEIGHTS at it.
 */
export function makeWeightsDir(count = 3): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-cli-'));
  manualSeed(7);
  for (const [name, info0] of Object.entries(bundledModels)) {
    const info = info0 as BundledModelInfo;
    const model = info.build({ generator: new Generator(11) });
    // torchvision starts a ViT's head at zero, which makes every map of an untrained ViT zero: fill it
    const head = model.namedParameters().find(([k]) => k === 'heads.head.weight')?.[1];
    if (head) assign(head, randn(head.shape, { generator: new Generator(12) }));
    saveCheckpoint(path.join(dir, info.weights), model);
    const card = {
      name,
      architecture: `${name} (random weights for tests)`,
      classes: [...info.classes],
      inputSize: [...info.inputSize],
      normalization: FIXTURE_NORM,
      testAccuracy: 0.1,
      targetLayer: info.targetLayer,
      dataset: { testSeed: 3 },
    };
    fs.writeFileSync(path.join(dir, info.card), JSON.stringify(card));
  }
  const samples = path.join(dir, 'samples');
  fs.mkdirSync(samples);
  const g = new Generator(5);
  const index: { file: string; label: number; box: number[] }[] = [];
  for (let i = 0; i < count; i++) {
    const s = 64;
    const data = new Uint8Array(s * s * 3);
    for (let k = 0; k < data.length; k++) data[k] = Math.floor(60 + 40 * g.uniform());
    const x0 = 8 + 6 * i,
      y0 = 10 + 4 * i,
      w = 24,
      h = 20;
    for (let y = y0; y < y0 + h; y++)
      for (let x = x0; x < x0 + w; x++) {
        data[(y * s + x) * 3] = 230;
        data[(y * s + x) * 3 + 1] = 180 - 40 * i;
        data[(y * s + x) * 3 + 2] = 40 + 60 * i;
      }
    const file = `sample-${i}.png`;
    writeImage(path.join(samples, file), { width: s, height: s, channels: 3, bitDepth: 8, data });
    index.push({ file, label: (i * 3) % 10, box: [x0, y0, x0 + w, y0 + h] });
  }
  fs.writeFileSync(path.join(samples, 'samples.json'), JSON.stringify(index));
  return dir;
}

/**
 * Points GRADLENS_WEIGHTS at a fresh `makeWeightsDir(count)` for the suite (beforeAll) and restores
 * it and removes the folder after (afterAll); returns the folder's path getter.
 */
export function useWeightsDir(count = 3): () => string {
  let dir = '';
  const saved = process.env.GRADLENS_WEIGHTS;
  beforeAll(() => {
    dir = makeWeightsDir(count);
    process.env.GRADLENS_WEIGHTS = dir;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.GRADLENS_WEIGHTS;
    else process.env.GRADLENS_WEIGHTS = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return () => dir;
}

/** Runs the command line in-process; returns its exit code and what it wrote to stdout and stderr. */
export async function runCli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const s = captureStreams();
  const code = await main(argv, s);
  return { code, out: s.out(), err: s.err() };
}

/** Runs the command line in-process and expects success: exit 0 and no `gradlens:` error line. */
export async function runCliOk(...argv: string[]): Promise<{ out: string; err: string }> {
  const r = await runCli(...argv);
  expect(r.err).not.toMatch(/gradlens:/);
  expect(r.code).toBe(0);
  return r;
}

/** Collects what a command writes. */
export function captureStreams(): {
  stdout: { write(s: string): boolean };
  stderr: { write(s: string): boolean };
  out: () => string;
  err: () => string;
} {
  let o = '';
  let e = '';
  return {
    stdout: {
      write: (s: string) => {
        o += s;
        return true;
      },
    },
    stderr: {
      write: (s: string) => {
        e += s;
        return true;
      },
    },
    out: () => o,
    err: () => e,
  };
}
