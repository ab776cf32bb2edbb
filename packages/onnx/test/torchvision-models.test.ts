import * as fs from 'fs';
import * as path from 'path';
import { permute, Tensor, tidy } from '@gradlens/tensor';
import { gradCam, tokenReshape, vanillaGradient } from '@gradlens/explain';
import { readNpy } from '@gradlens/io';
import { layers } from '@gradlens/nn';
import { loadOnnx } from '@gradlens/onnx';
import { relError } from './op-harness';

// Small torchvision models exported by torch.onnx (scripts/make-onnx-fixtures.py, seed 0), replayed by
// the importer and compared with PyTorch: logits, the vanilla gradient, Grad-CAM at a named layer
// (for the ViT, at a token layer laid out on its patch grid; for Swin, its channels-last stages permuted).
const FIXTURES = path.join(__dirname, 'fixtures');

interface Golden {
  shape: number[];
  logits: number[];
  class: number;
  layer: string;
  gradcam: number[];
  gradcamShape: number[];
  /** From <name>.input.npy and <name>.gradient.npy (float32). */
  input: Float32Array;
  gradient: Float32Array;
}

function readGolden(name: string): Golden {
  const meta = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as Omit<Golden, 'input' | 'gradient'>;
  const npy = (what: string): Float32Array => readNpy(path.join(FIXTURES, `${name}.${what}.npy`)).data as Float32Array;
  return { ...meta, input: npy('input'), gradient: npy('gradient') };
}

describe.each(['resnet50', 'mobilenet_v3_large', 'densenet121', 'convnext_tiny', 'vit_b_16', 'efficientnet_b0', 'swin_t'])(
  '%s exported by torch.onnx',
  (name) => {
    const golden = readGolden(name);
    const model = loadOnnx(path.join(FIXTURES, `${name}.onnx`));
    const x = () => new Tensor(Float32Array.from(golden.input), golden.shape, 'float32');
    // the ViT's layer gives tokens [1, 1 + h·w, C]: the class token dropped, the patches on their grid;
    // Swin's stages are channels-last [1, h, w, C]
    const side = golden.shape[2]! / 8;
    const reshape =
      name === 'vit_b_16' ? tokenReshape([side, side]) : name === 'swin_t' ? (a: Tensor) => permute(a, [0, 3, 1, 2]) : undefined;

    it('gives PyTorch’s logits (≤ 1e-4 relative)', () => {
      tidy(() => expect(relError(model.call(x()).values(), golden.logits)).toBeLessThan(1e-4));
    });

    it('gives PyTorch’s vanilla gradient (≤ 1e-3 relative)', () => {
      tidy(() => {
        const r = vanillaGradient(model, x(), { target: golden.class });
        expect(relError(r.attribution.values(), golden.gradient)).toBeLessThan(1e-3);
      });
    });

    it(`gives PyTorch’s Grad-CAM at '${golden.layer}' (≤ 1e-3 relative)`, () => {
      tidy(() => {
        const r = gradCam(model, x(), { target: golden.class, layer: golden.layer, reshape });
        expect(r.map.shape).toEqual(golden.gradcamShape);
        expect(relError(r.map.values(), golden.gradcam)).toBeLessThan(1e-3);
      });
    });

    it('lists the torch module paths as layers', () => {
      const paths = layers(model, golden.shape).map((l) => l.path);
      expect(paths).toContain(golden.layer);
    });
  },
);

describe('module paths and the default CAM layer', () => {
  it('turns torch export node names into module paths', () => {
    const { modulePath } = jest.requireActual('@gradlens/onnx') as typeof import('@gradlens/onnx');
    expect(modulePath('/layer4/layer4.1/relu_1/Relu', 'x')).toBe('layer4.1.relu_1');
    expect(modulePath('/features/features.0/features.0.0/Conv', 'x')).toBe('features.0.0');
    expect(modulePath('/encoder/layers/encoder_layer_0/ln_1/LayerNormalization', 'x')).toBe('encoder.layers.encoder_layer_0.ln_1');
    expect(modulePath('/Flatten', 'x')).toBe('');
    expect(modulePath('Conv_12', 'x')).toBe('Conv_12');
    expect(modulePath('', 'out.3')).toBe('out.3');
  });

  it('reads the last 4-D activation before the head, and Grad-CAM uses it when no layer is named', () => {
    const model = loadOnnx(path.join(FIXTURES, 'resnet50.onnx'));
    expect(model.defaultCamLayer()).toBe('layer4');
    const golden = readGolden('resnet50');
    tidy(() => {
      const r = gradCam(model, new Tensor(Float32Array.from(golden.input), golden.shape, 'float32'), { target: golden.class });
      expect(relError(r.map.values(), golden.gradcam)).toBeLessThan(1e-3);
    });
    expect(loadOnnx(path.join(FIXTURES, 'convnext_tiny.onnx')).defaultCamLayer()).toBe('features');
  });
});
