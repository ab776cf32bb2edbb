import * as path from 'path';
import { readImage, readNpy, toFloat32 } from '@gradlens/io';
import { imageToInput, loadBundledModel } from '@gradlens/nn';
import { layerConductance, layerGradientXActivation, layerIntegratedGradients } from '@gradlens/explain';
import type { LayerAttributionResult } from '@gradlens/explain';
import { FIXTURE_NORM, runCli, runCliOk, useWeightsDir } from './fixtures';

const weights = useWeightsDir(1);
let dir: string;
beforeAll(() => {
  dir = weights();
});

/** Σ over channels of a [1, K, h, w] attribution: the map the CLI saves. */
function channelSum(r: LayerAttributionResult): Float64Array {
  const [, k, h, w] = r.attribution.shape as [number, number, number, number];
  const v = r.attribution.dataSync();
  const out = new Float64Array(h * w);
  for (let c = 0; c < k; c++) for (let j = 0; j < h * w; j++) out[j] = out[j]! + Number(v[c * h * w + j]);
  return out;
}

test("explain runs the layer methods: the library's attribution summed over channels, upsampled, with the completeness delta", async () => {
  const image = path.join(dir, 'samples', 'sample-0.png');
  const out = path.join(dir, 'out-layer');
  const layer = 'features.8';
  const r = await runCliOk(
    'explain',
    '--method',
    'layer-grad-x-act,layer-ig,layer-conductance',
    '--model',
    'gapnet',
    '--image',
    image,
    '--out',
    out,
    '--raw',
    '--target',
    '3',
    '--steps',
    '6',
    '--layer',
    layer,
  );
  expect(r.out).toMatch(/^layer-ig .*completeness delta/m);
  expect(r.out).toMatch(/^layer-conductance .*completeness delta/m);
  const { model } = loadBundledModel('gapnet');
  const x = imageToInput(readImage(image), { size: 64, mean: FIXTURE_NORM.mean, std: FIXTURE_NORM.std });
  const o = { layer, target: 3, onWarning: (): void => undefined };
  const want: Record<string, Float64Array> = {
    'layer-grad-x-act': channelSum(layerGradientXActivation(model, x, o)),
    'layer-ig': channelSum(layerIntegratedGradients(model, x, { ...o, steps: 6 })),
    'layer-conductance': channelSum(layerConductance(model, x, { ...o, steps: 6 })),
  };
  for (const [name, w] of Object.entries(want)) {
    const raw = readNpy(path.join(out, `${name}.npy`));
    const got = toFloat32(raw);
    expect(got.length).toBe(w.length);
    const scale = Math.max(...Array.from(w, Math.abs));
    expect(scale).toBeGreaterThan(0);
    got.forEach((v, i) => expect(Math.abs(v - w[i]!)).toBeLessThanOrEqual(1e-5 * scale));
    expect(readNpy(path.join(out, `${name}_upsampled.npy`)).shape).toEqual([64, 64]);
  }
});

test('a layer method on a layer without a map is a one-line error', async () => {
  const image = path.join(dir, 'samples', 'sample-0.png');
  const r = await runCli(
    'explain',
    '--method',
    'layer-ig',
    '--model',
    'gapnet',
    '--image',
    image,
    '--out',
    path.join(dir, 'o2'),
    '--layer',
    'classifier.0',
    '--steps',
    '2',
  );
  expect(r.code).not.toBe(0);
  expect(r.err).toMatch(/layer-ig: layer 'classifier\.0' gives \[1, 10\]; a picture needs a map \[1, K, h, w\]/);
});
