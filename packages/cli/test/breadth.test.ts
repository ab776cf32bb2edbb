import * as path from 'path';
import { readImage, readNpy, toFloat32 } from '@gradlens/io';
import { imageToInput, loadBundledModel } from '@gradlens/nn';
import { deepLift, featureAblation, noiseTunnel, slic, vanillaGradient } from '@gradlens/explain';
import { SUPERPIXELS } from '../src/methods-breadth';
import { FIXTURE_NORM, runCliOk, useWeightsDir } from './fixtures';

const weights = useWeightsDir(1);
let dir: string;
beforeAll(() => {
  dir = weights();
});

/** Runs `explain --method <methods>` on sample 0 with gapnet (target 3, 4 samples, raw maps into `out`); returns its stdout, the model and the input. */
async function explainSample(methods: string, out: string) {
  const image = path.join(dir, 'samples', 'sample-0.png');
  const r = await runCliOk(
    'explain',
    '--method',
    methods,
    '--model',
    'gapnet',
    '--image',
    image,
    '--out',
    out,
    '--raw',
    '--target',
    '3',
    '--samples',
    '4',
  );
  const { model } = loadBundledModel('gapnet');
  const x = imageToInput(readImage(image), { size: 64, mean: FIXTURE_NORM.mean, std: FIXTURE_NORM.std });
  return { stdout: r.out, model, x };
}

test("explain runs DeepLIFT and VarGrad, reports summation-to-delta, and saves the library's maps", async () => {
  const out = path.join(dir, 'out');
  const { stdout, model, x } = await explainSample('deeplift,vargrad', out);
  expect(stdout).toMatch(/^deeplift .*summation-to-delta gap/m);
  const quiet = { target: 3, onWarning: (): void => undefined };
  const close = (file: string, want: ArrayLike<number>) => {
    const got = toFloat32(readNpy(path.join(out, file)));
    expect(got.length).toBe(want.length);
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < want.length; i++) {
      worst = Math.max(worst, Math.abs(got[i]! - Number(want[i])));
      scale = Math.max(scale, Math.abs(Number(want[i])));
    }
    expect(worst).toBeLessThanOrEqual(1e-6 * Math.max(1, scale));
  };
  close('deeplift.npy', deepLift(model, x, quiet).attribution.dataSync());
  const nt = noiseTunnel((m, xs, t) => vanillaGradient(m, xs, { target: t, onWarning: () => undefined }).attribution, model, x, {
    ...quiet,
    type: 'vargrad',
    samples: 4,
    seed: 0,
    batchSize: 16,
  });
  close('vargrad.npy', nt.attribution.dataSync());
});

test("explain runs the perturbation family over SLIC superpixels and saves the library's maps", async () => {
  const out = path.join(dir, 'out-p');
  const { model, x } = await explainSample('ablation,shapley,lime,kernelshap', out);
  const want = featureAblation(model, x, {
    target: 3,
    featureMask: slic(x, { segments: SUPERPIXELS }),
    onWarning: () => undefined,
  }).attribution.dataSync();
  const got = toFloat32(readNpy(path.join(out, 'ablation.npy')));
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(Math.abs(v - Number(want[i]))).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(Number(want[i])))));
  for (const m of ['shapley', 'lime', 'kernelshap']) expect(readNpy(path.join(out, `${m}.npy`)).shape).toEqual([3, 64, 64]);
});
