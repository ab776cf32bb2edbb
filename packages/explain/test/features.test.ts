import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Adam, Conv2d, Module, ReLU, VisionTransformer } from '@gradlens/nn';
import type { Tensor } from '@gradlens/tensor';
import { crossEntropy, Generator, noGrad, numTensors, record, tensor, tidy } from '@gradlens/tensor';
import { Tiny } from './models';
import { decodePng } from '@gradlens/io';
import {
  deepDream,
  generateClassSample,
  generateRegularizedClassSample,
  invertRepresentation,
  visualizationToPicture,
  visualizeFilter,
} from '../src/features';

const MEAN = [0.5, 0.5, 0.5];
const STD = [0.25, 0.25, 0.25];

function randomInput(seed: number, size = 16): Tensor {
  const g = new Generator(seed);
  const v = new Float32Array(3 * size * size);
  for (let i = 0; i < v.length; i++) v[i] = (g.uniform() - 0.5) / 0.25;
  return tensor(v, [3, size, size]);
}

const S = 12;

/** A batch of S×S images: a 4×4 square coloured red, green or blue (the class) on grey noise. */
function colourBatch(g: Generator, n: number): { x: Tensor; y: number[] } {
  const x = new Float32Array(n * 3 * S * S);
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = g.int(3);
    y.push(c);
    const px = g.int(S - 4);
    const py = g.int(S - 4);
    for (let k = 0; k < 3; k++) {
      for (let r = 0; r < S; r++) {
        for (let q = 0; q < S; q++) {
          const inside = r >= py && r < py + 4 && q >= px && q < px + 4;
          const v = inside ? (k === c ? 0.9 : 0.1) : 0.4 + 0.2 * g.uniform();
          x[((i * 3 + k) * S + r) * S + q] = (v - 0.5) / 0.25;
        }
      }
    }
  }
  return { x: tensor(x, [n, 3, S, S]), y };
}

/** Tiny trained (≈ 3 s) to tell the square's colour: class 0 red, 1 green, 2 blue. */
function trainedColourModel(): Tiny {
  const model = new Tiny(2);
  const opt = new Adam(model.parameters(), { lr: 0.01 });
  const g = new Generator(7);
  for (let it = 0; it < 70; it++) {
    const { x, y } = colourBatch(g, 16);
    const { output, tape } = record(() => crossEntropy(model.call(x), y));
    const grads = tape.grad(output, model.parameters());
    opt.step(grads);
    tape.dispose();
    output.dispose();
    for (const t of grads) t.dispose();
    x.dispose();
  }
  return model.eval();
}

/** Mean of each channel (0…255) of the picture of a normalised image. */
function channelMeans(image: Tensor): number[] {
  const pic = visualizationToPicture(image, { mean: MEAN, std: STD });
  const n = pic.width * pic.height;
  const m = [0, 0, 0];
  for (let p = 0; p < n; p++) for (let k = 0; k < 3; k++) m[k] = m[k]! + pic.data[p * 3 + k]! / n;
  return m;
}

describe('feature visualisation', () => {
  const model = new Tiny().eval();

  test('filter visualisation raises the filter activation, the same seed gives the same image', () => {
    const before = numTensors();
    const opts = { layer: 'features.4', filter: 2, size: 16, steps: 25, lr: 0.1, mean: MEAN, std: STD, seed: 3 };
    const a = visualizeFilter(model, opts);
    const b = visualizeFilter(model, opts);
    const c = visualizeFilter(model, { ...opts, seed: 4 });
    expect(a.losses).toHaveLength(25);
    expect(a.finalObjective).toBeGreaterThan(a.objective[0]! + 0.5 * Math.abs(a.objective[0]!) + 0.05);
    // Monotone-ish: the objective rises over most steps.
    let ups = 0;
    for (let i = 1; i < a.objective.length; i++) if (a.objective[i]! >= a.objective[i - 1]!) ups++;
    expect(ups).toBeGreaterThan(0.8 * (a.objective.length - 1));
    expect(a.image.shape).toEqual([3, 16, 16]);
    expect(Array.from(a.image.dataSync())).toEqual(Array.from(b.image.dataSync()));
    expect(Array.from(a.image.dataSync())).not.toEqual(Array.from(c.image.dataSync()));
    for (const r of [a, b, c]) r.image.dispose();
    expect(numTensors()).toBe(before);
  });

  test('deep dream amplifies the layer norm of a real image; a filter variant too', () => {
    const before = numTensors();
    const x = randomInput(5);
    const r = deepDream(model, x, { layer: 'features.1', steps: 20, lr: 0.05, mean: MEAN, std: STD });
    expect(r.finalObjective).toBeGreaterThan(r.objective[0]! * 1.2);
    const f = deepDream(model, x, { layer: 'features.4', filter: 1, steps: 20, lr: 0.05, mean: MEAN, std: STD });
    expect(f.finalObjective).toBeGreaterThan(f.objective[0]! + 0.05);
    r.image.dispose();
    f.image.dispose();
    x.dispose();
    expect(numTensors()).toBe(before);
  });

  test('deep dream on a fixed-size model (a ViT): octaves fed at full size with fixedInputSize, a clear error without', () => {
    const vit = new VisionTransformer(
      { imageSize: 32, patchSize: 8, numLayers: 1, numHeads: 2, hiddenDim: 16, mlpDim: 32 },
      { numClasses: 4, generator: new Generator(2) },
    ).eval();
    const before = numTensors();
    const x = tensor(
      Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37)),
      [3, 32, 32],
    );
    // the block's output, the residual stream (a layer norm's output has a fixed mean square: nothing to amplify)
    const layer = 'encoder.layers.encoder_layer_0';
    expect(() => deepDream(vit, x, { layer, steps: 2, octaves: 2, mean: MEAN, std: STD })).toThrow(
      /VisionTransformer: input must be \[N, 3, 32, 32\], got \[1, 3, 23, 23\]/,
    );
    const r = deepDream(vit, x, { layer, steps: 10, octaves: 3, fixedInputSize: true, mean: MEAN, std: STD });
    expect(r.image.shape).toEqual([3, 32, 32]);
    expect(r.objective).toHaveLength(30); // every step of the three octaves ran
    expect(r.finalObjective).toBeGreaterThan(2 * r.objective[0]!); // the ascent through the coarse octaves reached the full-size picture
    r.image.dispose();
    x.dispose();
    expect(numTensors()).toBe(before);
  });

  test('class-model generation increases the class logit (plain, with L2) on a random model', () => {
    const before = numTensors();
    const plain = generateClassSample(model, 1, { size: 16, steps: 30, lr: 20, mean: MEAN, std: STD, seed: 1 });
    expect(plain.finalObjective).toBeGreaterThan(plain.objective[0]! + 0.02);
    const l2 = generateClassSample(model, 1, { size: 16, steps: 30, optimizer: 'adam', lr: 0.1, l2: 0.1, mean: MEAN, std: STD, seed: 1 });
    expect(l2.finalObjective).toBeGreaterThan(l2.objective[0]! + 0.1);
    plain.image.dispose();
    l2.image.dispose();
    expect(numTensors()).toBe(before);
  });

  test('on a trained model, class samples (plain and regularised) show the class colour and raise the logit', () => {
    const trained = trainedColourModel();
    const before = numTensors();
    for (const c of [0, 1, 2]) {
      const plain = generateClassSample(trained, c, { size: S, steps: 40, mean: MEAN, std: STD, seed: c });
      const reg = generateRegularizedClassSample(trained, c, {
        size: S,
        steps: 40,
        mean: MEAN,
        std: STD,
        seed: c,
        normClipPercentile: 20,
        contributionClipPercentile: 20,
        decay: 0.01,
      });
      for (const r of [plain, reg]) {
        expect(r.finalObjective).toBeGreaterThan(r.objective[0]! + 10);
        const m = channelMeans(r.image);
        for (const k of [0, 1, 2]) if (k !== c) expect(m[c]!).toBeGreaterThan(m[k]! + 60);
      }
      // Not degenerate: the regularised picture is not one flat colour.
      const pic = visualizationToPicture(reg.image, { mean: MEAN, std: STD });
      const own = Array.from({ length: S * S }, (_, p) => pic.data[p * 3 + c]!);
      const mu = own.reduce((a, b) => a + b, 0) / own.length;
      expect(Math.sqrt(own.reduce((a, b) => a + (b - mu) ** 2, 0) / own.length)).toBeGreaterThan(10);
      plain.image.dispose();
      reg.image.dispose();
    }
    expect(numTensors()).toBe(before);
  });

  test('inversion reduces the feature-space loss', () => {
    const before = numTensors();
    const x = randomInput(9);
    const r = invertRepresentation(model, x, { layer: 'features.4', steps: 60, mean: MEAN, std: STD });
    expect(r.finalObjective).toBeLessThan(0.5 * r.objective[0]!);
    r.image.dispose();
    x.dispose();
    expect(numTensors()).toBe(before);
  });

  test('frames: onFrame every k steps and valid PNGs in framesDir', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-frames-'));
    const seen: number[] = [];
    const progress: number[] = [];
    const r = visualizeFilter(model, {
      layer: 'features.1',
      filter: 0,
      size: 12,
      steps: 7,
      frameEvery: 3,
      framesDir: dir,
      mean: MEAN,
      std: STD,
      onFrame: (step, image) => {
        expect(image.shape).toEqual([3, 12, 12]);
        seen.push(step);
      },
      onProgress: (step, loss) => {
        expect(Number.isFinite(loss)).toBe(true);
        progress.push(step);
      },
    });
    expect(seen).toEqual([0, 3, 6, 7]);
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(r.frames.map((f) => path.basename(f))).toEqual([
      'visualizeFilter-0000.png',
      'visualizeFilter-0003.png',
      'visualizeFilter-0006.png',
      'visualizeFilter-0007.png',
    ]);
    for (const f of r.frames) {
      const png = decodePng(fs.readFileSync(f));
      expect([png.width, png.height, png.channels]).toEqual([12, 12, 3]);
    }
    const pic = visualizationToPicture(r.image, { mean: MEAN, std: STD });
    expect(pic.data).toEqual(decodePng(fs.readFileSync(r.frames[3]!)).data);
    r.image.dispose();
    fs.rmSync(dir, { recursive: true });
  });

  test('a module called twice (as ResNet reuses its ReLU) is read at its last call', () => {
    class Reuse extends Module {
      readonly conv1 = this.registerModule('conv1', new Conv2d(3, 4, 3, { padding: 1, generator: new Generator(1) }));
      readonly conv2 = this.registerModule('conv2', new Conv2d(4, 7, 3, { padding: 1, generator: new Generator(2) }));
      readonly relu = this.registerModule('relu', new ReLU());
      forward(x: Tensor): Tensor {
        return this.relu.call(this.conv2.call(this.relu.call(this.conv1.call(x))));
      }
    }
    // Filter 6 exists only at the second call (7 channels; the first has 4).
    const r = visualizeFilter(new Reuse(), { layer: 'relu', filter: 6, size: 8, steps: 5, mean: MEAN, std: STD });
    expect(r.losses).toHaveLength(5);
    r.image.dispose();
    expect(() => visualizeFilter(new Reuse(), { layer: 'relu', filter: 7, size: 8, steps: 1 })).toThrow(/has 7 channels/);
  });

  test('errors name the method and what is valid', () => {
    expect(() => visualizeFilter(model, { layer: 'features.9', filter: 0, size: 8, steps: 1 })).toThrow(
      /visualizeFilter: no module named 'features.9'; valid module paths/,
    );
    expect(() => visualizeFilter(model, { layer: 'features.4', filter: 8, size: 8, steps: 1 })).toThrow(
      /filter 8 is out of range: layer 'features.4' has 8 channels/,
    );
    expect(() => generateClassSample(model, 3, { size: 8, steps: 1 })).toThrow(/target class 3 is out of range/);
    expect(() => deepDream(model, tensor([1, 2, 3]), { layer: 'features.1' })).toThrow(/expected an image \[3, H, W\]/);
    const x = randomInput(1, 8);
    const bad = 'fft' as unknown as 'fourier';
    expect(() => invertRepresentation(model, x, { layer: 'features.1', steps: 1, parametrization: bad })).toThrow(
      /invertRepresentation: parametrization must be 'pixel' or 'fourier', got "fft"/,
    );
    expect(() =>
      visualizeFilter(model, { layer: 'features.1', filter: 0, size: 8, steps: 1, parametrization: 'fourier', spectrumDecay: -1 }),
    ).toThrow(/spectrumDecay must be in \[0, 4\], got -1/);
    expect(() => deepDream(model, x, { layer: 'features.1', octaves: 0 })).toThrow(/deepDream: octaves must be a positive integer, got 0/);
    expect(() => deepDream(model, x, { layer: 'features.1', octaveScale: 1 })).toThrow(
      /deepDream: octaveScale must be a number above 1, got 1/,
    );
    x.dispose();
  });

  test('the fourier parametrisation: deterministic per seed, no tensor left behind, hooks that change pixels are kept', () => {
    const before = numTensors();
    const opts = {
      layer: 'features.4',
      filter: 2,
      size: 12,
      steps: 10,
      lr: 0.2,
      mean: MEAN,
      std: STD,
      seed: 3,
      parametrization: 'fourier' as const,
    };
    const a = visualizeFilter(model, opts);
    const b = visualizeFilter(model, opts);
    expect(Array.from(a.image.dataSync())).toEqual(Array.from(b.image.dataSync()));
    expect(a.finalObjective).toBeGreaterThan(a.objective[0]! + 0.05);
    // The regularised class sample blurs the pixels in a hook: with 'fourier' the parameters follow
    // the blurred pixels, so blurring every step leaves a smoother picture than never blurring.
    const roughness = (t: Tensor): number => {
      const v = t.dataSync();
      let s = 0;
      for (let i = 1; i < v.length; i++) if (i % 12 !== 0) s += (v[i]! - v[i - 1]!) ** 2;
      return s;
    };
    const common = { size: 12, steps: 6, mean: MEAN, std: STD, parametrization: 'fourier' as const, spectrumDecay: 0 };
    const blurred = generateRegularizedClassSample(model, 1, { ...common, blurEvery: 1, blurSigma: 1.5 });
    const sharp = generateRegularizedClassSample(model, 1, { ...common, blurEvery: 0 });
    expect(roughness(blurred.image)).toBeLessThan(0.5 * roughness(sharp.image));
    for (const r of [a, b, blurred, sharp]) r.image.dispose();
    expect(numTensors()).toBe(before);
  });

  test('inside tidy nothing is left behind; inside noGrad a clear error, and nothing left either', () => {
    const before = numTensors();
    tidy(() => {
      const r = visualizeFilter(model, { layer: 'features.0', filter: 0, size: 8, steps: 3 });
      expect(r.finalObjective).toBeGreaterThan(r.objective[0]!);
    });
    expect(numTensors()).toBe(before);
    expect(() => noGrad(() => visualizeFilter(model, { layer: 'features.0', filter: 0, size: 8, steps: 3 }))).toThrow(
      /cannot run inside noGrad/,
    );
    expect(numTensors()).toBe(before);
  });
});
