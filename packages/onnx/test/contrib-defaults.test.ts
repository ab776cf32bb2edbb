import { Tensor, tidy } from '@gradlens/tensor';
import { contribOps } from '@gradlens/onnx';
import { attrsOf } from './op-harness';

// onnxruntime's SkipLayerNormalization defaults ε to 1e-12 (kDefaultSkipLayerNormEpsilon), not LayerNormalization's
// 1e-5: on a row of small variance the two differ by far more than rounding.
describe('SkipLayerNormalization without an epsilon attribute', () => {
  it('normalises input + skip with ε = 1e-12', () => {
    tidy(() => {
      const x = new Tensor(Float32Array.of(0, 0.001, 0.002, 0.003), [1, 4], 'float32');
      const skip = new Tensor(Float32Array.of(0.0005, 0, 0, 0), [1, 4], 'float32');
      const gamma = new Tensor(Float32Array.of(1, 1, 1, 1), [4], 'float32');
      const [y] = contribOps.SkipLayerNormalization!.run({ values: [x, skip, gamma], attrs: attrsOf(), opset: 17, outputs: 1 });
      const s = [0.0005, 0.001, 0.002, 0.003];
      const mean = s.reduce((a, b) => a + b) / 4;
      const variance = s.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
      const expected = s.map((v) => (v - mean) / Math.sqrt(variance + 1e-12));
      const got = Array.from((y as Tensor).values());
      got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 3));
    });
  });
});
