import * as fs from 'fs';
import * as path from 'path';
import { grad, mul, permute, sum, Tensor, tidy } from '@gradlens/tensor';
import { layerIntegratedGradients } from '@gradlens/explain';
import { withOutputTransform } from '@gradlens/nn';
import { loadOnnx, pictureLayout } from '@gradlens/onnx';
import { relError } from './op-harness';

// `loadOnnx(file, { pictureInput: true })`: a grayscale or channels-last graph taking RGB pictures [N, 3, H, W].
// tiny_gray.onnx and four_channels.onnx: scripts/make-onnx-cli-fixtures.py; tf2onnx_names.onnx: a Keras-style
// NHWC graph (the same script).
const FIXTURES = path.join(__dirname, 'fixtures');

describe('pictureLayout', () => {
  it.each([
    [[1, 3, 224, 224], { channels: 3, channelsLast: false }],
    [['batch', 1, 'h', 'w'], { channels: 1, channelsLast: false }],
    [['unk__30', 16, 16, 3], { channels: 3, channelsLast: true }],
    [[1, 28, 28, 1], { channels: 1, channelsLast: true }],
    [['n', 'c', 'h', 'w'], { channels: 3, channelsLast: false }],
    [[1, 3, 3, 3], { channels: 3, channelsLast: false }],
  ])('%j is %j', (declared, layout) => {
    expect(pictureLayout(declared)).toEqual(layout);
  });

  it.each([[[1, 4, 8, 8]], [[1, 8, 8, 4]], [[1, 3, 8]], [[1, 2, 8, 'w']]])('%j is not a picture', (declared) => {
    expect(pictureLayout(declared)).toBeNull();
  });
});

describe('loadOnnx(file, { pictureInput: true })', () => {
  it("feeds a grayscale graph the pictures' luma: PyTorch's logits and RGB gradient", () => {
    const g = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'tiny_gray.json'), 'utf8')) as {
      shape: number[];
      rgb: number[];
      logits: number[];
      r: number[];
      gradient: number[];
    };
    const model = loadOnnx(path.join(FIXTURES, 'tiny_gray.onnx'), { pictureInput: true, inputShape: [2, 1, 12, 10] });
    expect(model.pictureLayout).toEqual({ channels: 1, channelsLast: false });
    expect(model.inputShape).toEqual([2, 3, 12, 10]);
    expect(model.graphInputShape).toEqual([2, 1, 12, 10]);
    tidy(() => {
      const rgb = new Tensor(Float32Array.from(g.rgb), g.shape, 'float32');
      const logits = model.call(rgb);
      expect(relError(logits.values(), g.logits)).toBeLessThan(1e-5);
      const r = new Tensor(Float32Array.from(g.r), logits.shape, 'float32');
      const [dx] = grad((x: Tensor) => sum(mul(model.call(x), r)), [rgb]);
      expect(relError(dx!.values(), g.gradient)).toBeLessThan(1e-5);
    });
  });

  it('feeds a channels-last graph the transposed picture, and its gradient comes back transposed', () => {
    const file = path.join(FIXTURES, 'tf2onnx_names.onnx');
    const plain = loadOnnx(file);
    const model = loadOnnx(file, { pictureInput: true });
    expect(model.pictureLayout).toEqual({ channels: 3, channelsLast: true });
    expect(model.inputShape).toEqual([1, 3, 16, 16]);
    const golden = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'tf2onnx_names.json'), 'utf8')) as { input: number[]; logits: number[] };
    tidy(() => {
      const nhwc = new Tensor(Float32Array.from(golden.input), [1, 16, 16, 3], 'float32');
      const picture = permute(nhwc, [0, 3, 1, 2]);
      expect(relError(model.call(picture).values(), golden.logits)).toBeLessThan(1e-5);
      const [viaPicture] = grad((x: Tensor) => sum(model.call(x)), [picture]);
      const [viaGraph] = grad((x: Tensor) => sum(plain.call(x)), [nhwc]);
      expect(Array.from(viaPicture!.values())).toEqual(Array.from(permute(viaGraph!, [0, 3, 1, 2]).values()));
    });
  });

  it('refuses, in one line naming the input, a graph input that is not a picture, and a call with another shape', () => {
    expect(() => loadOnnx(path.join(FIXTURES, 'four_channels.onnx'), { pictureInput: true })).toThrow(
      /four_channels\.onnx: pictureInput: the graph input 'x' \[1, 4, 8, 8\] is not a picture of 1 or 3 channels/,
    );
    const model = loadOnnx(path.join(FIXTURES, 'tiny_gray.onnx'), { pictureInput: true, inputShape: [1, 1, 8, 8] });
    expect(() => model.call(new Tensor(new Float32Array(64), [1, 1, 8, 8], 'float32'))).toThrow(
      /takes RGB pictures \[N, 3, H, W\].*got \[1, 1, 8, 8\]/,
    );
  });
});

describe("a layer's output replaced from outside (Captum's layer hooks) on an ONNX graph", () => {
  const model = loadOnnx(path.join(FIXTURES, 'tiny_classes.onnx'), { inputShape: [1, 3, 12, 12] });
  const input = () =>
    new Tensor(
      Float32Array.from({ length: 3 * 144 }, (_, i) => Math.sin(i * 0.37)),
      [1, 3, 12, 12],
      'float32',
    );

  it("reaches the nodes after the layer: PyTorch's logits with each channel of features.2 zeroed by a forward hook", () => {
    const g = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'tiny_classes_hooked.json'), 'utf8')) as {
      layer: string;
      logits: number[];
      zeroed: number[][];
    };
    tidy(() => {
      const x = input();
      expect(relError(model.call(x).values(), g.logits)).toBeLessThan(1e-5);
      g.zeroed.forEach((expected, k) => {
        const scale = new Tensor(
          Float32Array.from({ length: 6 }, (_, c) => (c === k ? 0 : 1)),
          [1, 6, 1, 1],
          'float32',
        );
        const y = withOutputTransform(
          model.getModule(g.layer),
          (a) => mul(a, scale),
          () => model.call(x),
        );
        expect(relError(y.values(), expected)).toBeLessThan(1e-5);
      });
    });
  });

  it('layer integrated gradients is complete at features.2', () => {
    tidy(() => {
      const x = input();
      const r = layerIntegratedGradients(model, x, { layer: 'features.2', target: 1, steps: 64 });
      expect(r.attribution.shape).toEqual([1, 6, 6, 6]);
      const gap = r.scores[0]! - r.baselineScores[0]!;
      expect(Math.abs(gap)).toBeGreaterThan(1e-3);
      expect(Math.abs(r.delta[0]!)).toBeLessThan(1e-3 * Math.abs(gap));
    });
  });
});
