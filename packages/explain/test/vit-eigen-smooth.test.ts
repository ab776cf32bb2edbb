import * as path from 'path';
import { loadWeights, VisionTransformer } from '@gradlens/nn';
import { mul, numTensors, record, sum, tensor, type Tensor } from '@gradlens/tensor';
import { eigenSmoothCam, gradCam } from '../src';

/**
 * eigen_smooth on a ViT goes through the token reshape like the other CAM methods: its map equals the
 * first-principal-component projection computed here by hand from the layer's tokens and their gradient,
 * with the class token dropped and the patch tokens laid on the 4×4 grid (reduced torchvision ViT of the
 * nn package's vit_small.pth; power iteration on the channel covariance, where the method takes the
 * position Gram matrix's path for K > hw).
 */
const LAYER = 'encoder.layers.encoder_layer_2.ln_1';
const quiet = { onWarning: () => undefined };

function smallVit(): VisionTransformer {
  const m = new VisionTransformer(
    { imageSize: 32, patchSize: 8, numLayers: 3, numHeads: 4, hiddenDim: 32, mlpDim: 64 },
    { numClasses: 10, init: false },
  );
  loadWeights(m, path.join(__dirname, '..', '..', 'nn', 'test', 'fixtures', 'vit_small.pth'));
  return m.eval();
}

/** Tokens [N, 1 + hw, K] → per item the K×hw matrix of the patch tokens, channel-major (the reshape by hand). */
function onGrid(t: Tensor): Float64Array[] {
  const [n, tokens, k] = t.shape as [number, number, number];
  const v = t.dataSync();
  const hw = tokens - 1;
  return Array.from({ length: n }, (_, i) => {
    const out = new Float64Array(k * hw);
    for (let c = 0; c < k; c++) for (let j = 0; j < hw; j++) out[c * hw + j] = Number(v[(i * tokens + 1 + j) * k + c]);
    return out;
  });
}

/** The projection of the centred K×hw matrix on its channel covariance's top eigenvector (loadings summing ≥ 0). */
function projection(w: Float64Array, k: number, hw: number): { map: number[]; direction: number[] } {
  const m = Array.from({ length: k }, (_, c) => {
    const row = Array.from(w.subarray(c * hw, (c + 1) * hw));
    const mean = row.reduce((a, b) => a + b, 0) / hw;
    return row.map((q) => q - mean);
  });
  const cov = m.map((p) => m.map((q) => p.reduce((s, pj, j) => s + pj * q[j]!, 0)));
  let v = Array.from({ length: k }, (_, c) => 1 + c / k);
  for (let it = 0; it < 2000; it++) {
    const next = cov.map((row) => row.reduce((s, r, c) => s + r * v[c]!, 0));
    const norm = Math.hypot(...next);
    v = next.map((q) => q / norm);
  }
  if (v.reduce((a, b) => a + b, 0) < 0) v = v.map((q) => -q);
  return { map: Array.from({ length: hw }, (_, j) => m.reduce((s, row, c) => s + row[j]! * v[c]!, 0)), direction: v };
}

test('eigenSmoothCam on a ViT token layer equals the principal projection of the reshaped g ⊙ A and wₖAₖ', () => {
  const model = smallVit();
  const x = tensor(
    Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37) * 0.8),
    [2, 3, 32, 32],
  );
  const target = [3, 7];
  const before = numTensors();
  const onehot = tensor(
    Float32Array.from({ length: 20 }, (_, i) => (i % 10 === target[Math.floor(i / 10)]! ? 1 : 0)),
    [2, 10],
  );
  const { output, tape } = record(() => sum(mul(model.call(x), onehot)));
  const a = tape.activation(LAYER);
  const [g] = tape.grad(output, [a]);
  const k = a.shape[2]!;
  const hw = a.shape[1]! - 1;
  const av = onGrid(a);
  const gv = onGrid(g!);
  const weights = gradCam(model, x, { target, layer: LAYER, ...quiet });
  const alpha = weights.weights!.dataSync();

  for (const how of [{ kind: 'product' } as const, { kind: 'channel', camFn: gradCam } as const]) {
    const r = eigenSmoothCam(model, x, how, { target, layer: LAYER, relu: false, ...quiet });
    expect([...r.map.shape]).toEqual([2, 4, 4]);
    expect([...r.upsampled.shape]).toEqual([2, 32, 32]);
    const got = r.map.dataSync();
    const dir = r.weights!.dataSync();
    for (let i = 0; i < 2; i++) {
      const wa = av[i]!.map((q, idx) => (how.kind === 'product' ? gv[i]![idx]! * q : Number(alpha[i * k + Math.floor(idx / hw)]) * q));
      const want = projection(wa, k, hw);
      const scale = Math.max(...want.map.map(Math.abs));
      for (let j = 0; j < hw; j++) expect(Math.abs(Number(got[i * hw + j]) - want.map[j]!) / scale).toBeLessThan(1e-4);
      for (let c = 0; c < k; c++) expect(Math.abs(Number(dir[i * k + c]) - want.direction[c]!)).toBeLessThan(1e-4);
    }
    for (const t of [r.map, r.upsampled, r.weights!]) t.dispose();
  }
  for (const t of [weights.map, weights.upsampled, weights.weights!, g!, output, onehot]) t.dispose();
  tape.dispose();
  expect(numTensors()).toBe(before);
  x.dispose();
});
