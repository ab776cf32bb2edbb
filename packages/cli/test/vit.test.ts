import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { bundledModels, createModel, defaultCamLayer, loadWeights, SMALLVIT_STEM, smallvit, VisionTransformer } from '@gradlens/nn';
import { Module } from '@gradlens/nn';
import { writeSafetensors } from '@gradlens/io';
import { assign, Generator, randn, softmax, tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { MethodContext } from '../src/methods';
import { DEFAULT_BUDGET, METHODS, methodByName } from '../src/methods';
import { loadArch, loadBundled } from '../src/model';
import type { LoadedModel } from '../src/model';
import { filterLayer } from '../src/commands/demo';
import { runnableMethods } from '../src/commands/evaluate';
import { captureStreams, runCli, runCliOk, useWeightsDir } from './fixtures';

/**
 * The command line and vision transformers: `layers --arch vit_b_32` lists torchvision's module paths
 * and the default CAM layer; the attention methods and the CAM family run as the CLI runs them on the
 * nn package's reduced torchvision ViT, and refuse a CNN before any work. (A full-size explain run is
 * left out of the suite: writing a random 88M-parameter state dict alone takes minutes on a shared
 * 2-core machine; `--arch vit_b_16 --weights` goes through the same loader as every architecture.)
 */
/** A ReLU CNN whose graph ends in a softmax, as classifiers exported to ONNX often do. */
class SoftmaxHead extends Module {
  constructor(readonly inner: Module) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return softmax(this.inner.call(x), -1);
  }
}

const run = runCli;

test('layers --arch vit_b_32: encoder paths, token shapes, the default CAM layer', async () => {
  const r = await run('layers', '--arch', 'vit_b_32');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/default CAM layer: encoder\.layers\.encoder_layer_11\.ln_1/);
  expect(r.out).toMatch(/encoder\.layers\.encoder_layer_11\.ln_1\s+LayerNorm\s+\[1, 50, 768\]/);
  expect(r.out).toMatch(/encoder\.layers\.encoder_layer_11\.self_attention\s+MultiheadAttention\s+\[1, 50, 768\]/);
}, 120_000);

describe('the attention methods and Grad-CAM as the CLI runs them', () => {
  const model = new VisionTransformer(
    { imageSize: 32, patchSize: 8, numLayers: 3, numHeads: 4, hiddenDim: 32, mlpDim: 64 },
    { numClasses: 10, init: false },
  );
  loadWeights(model, path.join(__dirname, '..', '..', 'nn', 'test', 'fixtures', 'vit_small.pth'));
  model.eval();
  const input = tensor(
    new Float32Array(3 * 32 * 32).map((_, i) => Math.sin(i * 0.37)),
    [1, 3, 32, 32],
  );
  const ctx: MethodContext = {
    model,
    input,
    target: 3,
    layer: 'encoder.layers.encoder_layer_2.ln_1',
    reference: false,
    budget: DEFAULT_BUDGET,
    onWarning: () => undefined,
  };

  test.each(['rollout', 'generic-attention', 'transformer-attribution', 'gradcam'])(
    '%s gives a 4×4 map and its 32×32 upsampling',
    (name) => {
      const spec = methodByName(name);
      expect(spec.applies?.(ctx) ?? null).toBeNull();
      const maps = spec.run(ctx);
      expect(maps.kind).toBe('cam');
      expect(maps.raw.shape).toEqual([4, 4]);
      expect(maps.upsampled?.shape).toEqual([32, 32]);
      expect(Array.from(maps.raw.data).every(Number.isFinite)).toBe(true);
    },
  );

  test.each(['layer-grad-x-act', 'layer-ig', 'layer-conductance'])(
    '%s lays the token layer on its 4×4 grid (class token dropped)',
    (name) => {
      const maps = methodByName(name).run({ ...ctx, budget: { ...DEFAULT_BUDGET, steps: 4 } });
      expect(maps.kind).toBe('cam');
      expect(maps.raw.shape).toEqual([4, 4]);
      expect(maps.upsampled?.shape).toEqual([32, 32]);
      expect(Array.from(maps.raw.data).every(Number.isFinite)).toBe(true);
      expect(Array.from(maps.raw.data).some((v) => v !== 0)).toBe(true);
    },
  );

  test('an attention method does not apply to a CNN, and says why', () => {
    const cnn = createModel('resnet18', { widthDivisor: 16, numClasses: 10, init: false }).eval();
    const why = methodByName('rollout').applies?.({ ...ctx, model: cnn });
    expect(why).toMatch(/it reads attention probabilities; it needs a vision transformer/);
  });

  test('LRP with the transformer rules reports conservation', () => {
    const maps = methodByName('lrp').run({ ...ctx, budget: { ...DEFAULT_BUDGET, lrpComposite: 'conservative' } });
    expect(maps.raw.shape).toEqual([3, 32, 32]);
    expect(maps.notes.join(' ')).toMatch(/relevance conservation/);
  });
});

/** A ViT of the bundled architecture with random weights (its head filled: torchvision starts it at zero), as the CLI loads a model. */
function randomVit(): LoadedModel {
  const model = smallvit({ generator: new Generator(11) });
  const head = model.namedParameters().find(([k]) => k === 'heads.head.weight')![1];
  assign(head, randn(head.shape, { generator: new Generator(12) }));
  model.eval();
  const layer = defaultCamLayer(model, [1, 3, 64, 64]);
  return {
    model,
    name: 'vit',
    bundled: false,
    card: null,
    size: 64,
    mean: [0.45, 0.45, 0.45],
    std: [0.25, 0.25, 0.25],
    classes: null,
    defaultLayer: layer,
    weights: 'random',
  };
}

describe('a ViT of the bundled architecture in evaluate and the demo (random weights)', () => {
  const weightsDir = useWeightsDir(2);

  test('evaluate lists the methods that do not apply, with the reason, in evaluation.md and .json', async () => {
    const out = path.join(weightsDir(), 'eval');
    const r = await runCliOk(
      'evaluate',
      '--model',
      'gapnet',
      '--n',
      '2',
      '--methods',
      'gradcam,cam,rollout,transformer-lrp',
      '--metrics',
      'localization,pointing',
      '--out',
      out,
    );
    const md = fs.readFileSync(path.join(out, 'evaluation.md'), 'utf8');
    for (const m of ['gradcam', 'cam']) expect(md).toMatch(new RegExp(`^\\| ${m} \\| -?\\d`, 'm'));
    expect(md).toMatch(/Not applicable to gapnet, so not scored:/);
    expect(md).toMatch(/- \*\*rollout\*\*: it reads attention probabilities; it needs a vision transformer/);
    expect(md).toMatch(/- \*\*transformer-lrp\*\*: it reads attention probabilities/);
    const json = JSON.parse(fs.readFileSync(path.join(out, 'evaluation.json'), 'utf8')) as {
      methods: string[];
      notApplicable: { method: string; reason: string }[];
    };
    expect(json.methods).toEqual(['gradcam', 'cam']);
    expect(json.notApplicable.map((n) => n.method)).toEqual(['rollout', 'transformer-lrp']);
    expect(r.err).toMatch(/note: rollout does not run on gapnet: it reads attention probabilities/);
  }, 300_000);

  test('evaluate --model vit scores the transformer methods and lists the ones that do not apply, with the reason', async () => {
    const out = path.join(weightsDir(), 'eval');
    const methods = 'gradcam,rollout,generic-attention,transformer-attribution,transformer-lrp,cam,guided';
    await runCliOk('evaluate', '--model', 'vit', '--n', '2', '--methods', methods, '--metrics', 'localization,pointing', '--out', out);
    const md = fs.readFileSync(path.join(out, 'evaluation.md'), 'utf8');
    for (const m of ['gradcam', 'rollout', 'generic-attention', 'transformer-attribution', 'transformer-lrp'])
      expect(md).toMatch(new RegExp(`^\\| ${m} \\| -?\\d`, 'm'));
    expect(md).toMatch(/Not applicable to vit, so not scored:/);
    expect(md).toMatch(/- \*\*cam\*\*: CAM needs global average pooling/);
    expect(md).toMatch(
      /- \*\*guided\*\*: guided backprop's backward rules are defined for ReLU networks; this model's gelu, layerNorm ops/,
    );
    const json = JSON.parse(fs.readFileSync(path.join(out, 'evaluation.json'), 'utf8')) as {
      layer: string;
      methods: string[];
      notApplicable: { method: string; reason: string }[];
    };
    expect(json.layer).toBe(bundledModels.vit.targetLayer);
    expect(json.methods).toEqual(['gradcam', 'rollout', 'generic-attention', 'transformer-attribution', 'transformer-lrp']);
    expect(json.notApplicable.map((n) => n.method)).toEqual(['cam', 'guided']);
  }, 300_000);

  test('every method is either runnable on the ViT or not applicable with a reason; none dropped silently', () => {
    const loaded = randomVit();
    const probe = tensor(
      Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.sin(i * 0.11)),
      [1, 3, 64, 64],
    );
    const s = captureStreams();
    const quick = { ...DEFAULT_BUDGET, samples: 2, steps: 2 };
    const { runnable, notApplicable } = runnableMethods([...METHODS], loaded, probe, loaded.defaultLayer!, quick, s, false);
    expect(notApplicable.map((n) => n.method).sort()).toEqual(['cam', 'deconvnet', 'guided', 'guided-gradcam', 'guided-smoothgrad']);
    expect(runnable.length + notApplicable.length).toBe(METHODS.length);
    for (const m of [
      'rollout',
      'generic-attention',
      'transformer-attribution',
      'transformer-lrp',
      'gradcam',
      'scorecam',
      'ig',
      'occlusion',
    ])
      expect(runnable.map((r) => r.name)).toContain(m);
    for (const n of notApplicable) expect(s.err()).toContain(`note: ${n.method} does not run on vit: ${n.reason}; left out`);
    probe.dispose();
  }, 300_000);

  test('the demo visualises filters of the conv stem (the CAM layer holds tokens), the CAM layer itself on a CNN', () => {
    const vit = randomVit();
    expect(filterLayer(vit.model, vit.defaultLayer!, 64)).toBe(`conv_proj.conv_bn_relu_${SMALLVIT_STEM.length - 1}.1`);
    const cnn = loadBundled('gapnet');
    expect(filterLayer(cnn.model, cnn.defaultLayer!, 64)).toBe('features.13');
  });

  test('transformer-lrp applies to a ViT and reports conservation; the ReLU-rule methods apply to a CNN only', () => {
    const vit = randomVit();
    const cnn = loadBundled('gapnet');
    const x = tensor(
      Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.cos(i * 0.07)),
      [1, 3, 64, 64],
    );
    const ctx = (model: Module): MethodContext => ({
      model,
      input: x,
      target: 1,
      layer: '',
      reference: false,
      budget: DEFAULT_BUDGET,
      onWarning: () => undefined,
    });
    const tlrp = methodByName('transformer-lrp');
    expect(tlrp.applies?.(ctx(vit.model))).toBeNull();
    expect(tlrp.applies?.(ctx(cnn.model))).toMatch(/it reads attention probabilities/);
    const maps = tlrp.run(ctx(vit.model));
    expect(maps.raw.shape).toEqual([3, 64, 64]);
    expect(maps.notes.join(' ')).toMatch(/relevance conservation -?\d/);
    const cnnWithSoftmax = new SoftmaxHead(cnn.model);
    for (const name of ['guided', 'deconvnet', 'guided-gradcam', 'guided-smoothgrad']) {
      const spec = methodByName(name);
      expect(spec.applies?.(ctx(cnn.model))).toBeNull();
      expect(spec.applies?.(ctx(cnnWithSoftmax))).toBeNull();
      expect(spec.applies?.(ctx(vit.model))).toMatch(/backward rules are defined for ReLU networks; this model's gelu, layerNorm ops/);
    }
    x.dispose();
  });
});

describe('--arch vit_*: the model is built at the side its weights were trained at', () => {
  // torchvision's SWAG weights hold position embeddings for 384 (vit_b_16), 512 (vit_l_16) or 518 (vit_h_14) pixels;
  // here a file with only vit_b_32's position table at 384 (1 + 12² tokens) and a 10-class head, loaded --no-strict.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-vit-side-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const weightsWith = (tokens: number): string => {
    const file = path.join(dir, `vit_b_32-${tokens}.safetensors`);
    writeSafetensors(file, {
      'encoder.pos_embedding': { dtype: 'float32', shape: [1, tokens, 768], data: new Float32Array(tokens * 768).fill(0.01) },
      'heads.head.weight': { dtype: 'float32', shape: [10, 768], data: new Float32Array(10 * 768).fill(0.02) },
    });
    return file;
  };

  test('position embeddings for 384×384: built and fed at 384', () => {
    const loaded = loadArch('vit_b_32', weightsWith(145), { strict: false });
    expect(loaded.size).toBe(384);
    expect((loaded.model as VisionTransformer).config.imageSize).toBe(384);
    expect(loaded.model.stateDict()['heads.head.weight']!.shape).toEqual([10, 768]);
  }, 60_000);

  test('a --size the weights do not fit, or a table that is no square grid: one-line errors', () => {
    expect(() => loadArch('vit_b_32', weightsWith(145), { strict: false, size: 224 })).toThrow(
      /^--size 224 does not fit vit_b_32 with .*: its position embeddings are for 384×384 pictures/,
    );
    // a ViT takes one square size: --size HxW is refused the same way
    expect(() => loadArch('vit_b_32', weightsWith(145), { strict: false, size: [384, 448] })).toThrow(
      /^--size 384x448 does not fit vit_b_32 with .*: its position embeddings are for 384×384 pictures/,
    );
    expect(() => loadArch('vit_b_32', weightsWith(60), { strict: false })).toThrow(
      /^weights .* do not fit vit_b_32: encoder\.pos_embedding has shape \[1, 60, 768\]/,
    );
  }, 60_000);
});
