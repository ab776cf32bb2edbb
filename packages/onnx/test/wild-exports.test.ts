import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { add, grad, mul, sum, Tensor, tidy } from '@gradlens/tensor';
import { gradCam } from '@gradlens/explain';
import { Const, loadOnnx } from '@gradlens/onnx';
import type { OnnxModel, Value } from '@gradlens/onnx';
import { relError } from './op-harness';

// Small models exported by torch.onnx the ways users export them (scripts/make-onnx-wild-fixtures.py, seed 0):
// opsets 9–17, modules as functions, constant folding off, initializers as inputs, training=EVAL and PRESERVE, dynamic batch and
// height/width, external data, float16 weights, two inputs or outputs, an NHWC input, rank-2 and rank-3 inputs,
// F.interpolate in its modes, the functional ops of torchvision's less common exports, and onnxruntime's contrib
// ops. Each one's outputs and the gradient of Σ(output · r) with respect to every input match PyTorch's autograd
// on the original module.
const WILD = path.join(__dirname, 'fixtures', 'wild');

interface Golden {
  inputs: { shape: number[]; data: number[] }[];
  outputs: { shape: number[]; data: number[] }[];
  r: number[][];
  gradients: number[][];
  ops: string[];
  cam?: { layer: string; class: number; shape: number[]; data: number[] };
}

const golden = (name: string): Golden => JSON.parse(fs.readFileSync(path.join(WILD, `${name}.json`), 'utf8')) as Golden;
const tensorOf = (data: number[], shape: number[]) => new Tensor(Float32Array.from(data), shape, 'float32');
const asT = (v: Value): Tensor => (v instanceof Const ? new Tensor(Float32Array.from(v.data), v.shape, 'float32') : v);

/** Every graph output of `model` on `inputs` (by the graph's input order), as tensors. */
function outputsOf(model: OnnxModel, inputs: Tensor[]): Tensor[] {
  if (model.inputNames.length === 1 && model.outputNames.length === 1) return [model.call(inputs[0]!)];
  return model.runGraph(new Map(model.inputNames.map((n, i) => [n, inputs[i]!]))).map(asT);
}

/** Checks outputs (≤ 1e-4 relative) and input gradients (≤ 1e-3) against the golden. */
function matchesPyTorch(model: OnnxModel, g: Golden): void {
  tidy(() => {
    const xs = g.inputs.map((i) => tensorOf(i.data, i.shape));
    const ys = outputsOf(model, xs);
    expect(ys).toHaveLength(g.outputs.length);
    ys.forEach((y, k) => {
      expect(y.shape).toEqual(g.outputs[k]!.shape);
      expect(relError(y.values(), g.outputs[k]!.data)).toBeLessThan(1e-4);
    });
    const objective = (...ins: Tensor[]) =>
      outputsOf(model, ins)
        .map((y, k) => sum(mul(y, tensorOf(g.r[k]!, g.outputs[k]!.shape))))
        .reduce((a, b) => add(a, b));
    const grads = grad(objective, xs);
    grads.forEach((gx, k) => {
      expect(gx!.shape).toEqual(g.inputs[k]!.shape);
      expect(relError(gx!.values(), g.gradients[k]!)).toBeLessThan(1e-3);
    });
  });
}

const SINGLE: [string, string[]][] = [
  ['cnn_opset9', ['BatchNormalization', 'GlobalAveragePool', 'MaxPool', 'Flatten', 'Gemm']],
  ['cnn_opset11', ['BatchNormalization']],
  ['cnn_opset13', ['BatchNormalization']],
  ['cnn_opset15', ['BatchNormalization']],
  ['cnn_opset17', ['BatchNormalization']],
  ['cnn_functions', ['Cnn']],
  ['cnn_f64', ['BatchNormalization']],
  ['cnn_nofold', ['BatchNormalization']],
  ['cnn_initin', ['BatchNormalization']],
  ['cnn_eval', ['BatchNormalization']],
  ['cnn_dynbatch', ['BatchNormalization']],
  ['cnn_dynhw', ['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Reshape']],
  ['interp_opset9', ['Upsample']],
  ['interp_opset11', ['Resize']],
  ['interp_opset13', ['Resize']],
  ['interp_opset17', ['Resize']],
  ['fops_opset13', ['Einsum', 'HardSigmoid', 'Erf', 'Tanh', 'Pad', 'Shape', 'Reshape']],
  ['fops_opset17', ['LayerNormalization', 'Einsum']],
  ['mlp', ['LayerNormalization', 'Gemm']],
  ['seq1d', ['Conv', 'MaxPool']],
  ['nhwc', ['Transpose']],
  ['contrib', ['FusedConv', 'BiasGelu', 'FastGelu', 'QuickGelu', 'SkipLayerNormalization', 'FusedMatMul', 'SimplifiedLayerNormalization']],
];

describe.each(SINGLE)('%s gives PyTorch’s output and input gradient', (name, ops) => {
  const g = golden(name);
  it('uses the ops it is meant to exercise', () => {
    for (const op of ops) expect(g.ops).toContain(op);
  });
  it('matches (output ≤ 1e-4, gradient ≤ 1e-3 relative)', () => {
    matchesPyTorch(loadOnnx(path.join(WILD, `${name}.onnx`), { inputShape: g.inputs[0]!.shape }), g);
  });
});

describe('models with several inputs or outputs run through runGraph (graphOnly)', () => {
  it.each(['two_in', 'two_out', 'named_in'])('%s', (name) => {
    const file = path.join(WILD, `${name}.onnx`);
    expect(() => loadOnnx(file)).toThrow(/the graph has 2 (inputs \(image, extra\)|outputs)/);
    matchesPyTorch(loadOnnx(file, { graphOnly: true }), golden(name));
  });
});

describe('Grad-CAM on a named layer of an imported model', () => {
  it.each([9, 11, 13, 15, 17])('opset %i: at block2, as PyTorch hooks compute it (≤ 1e-3)', (opset) => {
    const g = golden(`cnn_opset${opset}`);
    const model = loadOnnx(path.join(WILD, `cnn_opset${opset}.onnx`));
    expect(model.defaultCamLayer()).toBe('block2');
    tidy(() => {
      const x = tensorOf(g.inputs[0]!.data, g.inputs[0]!.shape);
      const r = gradCam(model, x, { target: g.cam!.class, layer: g.cam!.layer });
      expect(r.map.shape).toEqual(g.cam!.shape);
      expect(relError(r.map.values(), g.cam!.data)).toBeLessThan(1e-3);
    });
  });
});

describe('export_modules_as_functions: model-local functions inlined', () => {
  it('names each call’s scope from its node (Block_2 is block2), and Grad-CAM there is PyTorch’s (≤ 1e-3)', () => {
    const g = golden('cnn_functions');
    const model = loadOnnx(path.join(WILD, 'cnn_functions.onnx'));
    expect(model.defaultCamLayer()).toBe('Block_2');
    const paths = model.namedModules().map(([p]) => p);
    expect(paths).toEqual(expect.arrayContaining(['Block_0', 'Sequential_1', 'Block_2', 'Linear_5']));
    expect(paths.some((p) => /^Block_2\.Conv2d_\d+$/.test(p))).toBe(true);
    tidy(() => {
      const x = tensorOf(g.inputs[0]!.data, g.inputs[0]!.shape);
      const r = gradCam(model, x, { target: g.cam!.class, layer: 'Block_2' });
      expect(relError(r.map.values(), g.cam!.data)).toBeLessThan(1e-3);
    });
  });
});

describe('export settings', () => {
  it('dynamic batch and height/width run at a batch of 3 and a non-square input', () => {
    const m = loadOnnx(path.join(WILD, 'cnn_dynhw.onnx'), { inputShape: [3, 3, 10, 13] });
    expect(m.declaredInputShape).toEqual(['batch', 3, 'h', 'w']);
    expect(m.inputShape).toEqual([3, 3, 10, 13]);
  });

  it('training=PRESERVE of a module in train mode is refused in one line naming the BatchNormalization', () => {
    expect(() => loadOnnx(path.join(WILD, 'cnn_preserve_train.onnx'))).toThrow(
      /^loadOnnx .*cnn_preserve_train\.onnx: ONNX node '\/block1\/block1\.1\/BatchNormalization' \(BatchNormalization\) .*training mode is not supported \(export the model in eval mode\)$/,
    );
  });

  it('a float64 export (model.double()) casts a float32 input to float64 and computes in float64', () => {
    const m = loadOnnx(path.join(WILD, 'cnn_f64.onnx'));
    expect(m.inputDtype).toBe('float64');
    tidy(() => expect(m.call(tensorOf(golden('cnn_f64').inputs[0]!.data, [1, 3, 10, 10])).dtype).toBe('float64'));
  });

  it('an INT64 input (token ids) is refused in one line saying why and what to do instead', () => {
    expect(() => loadOnnx(path.join(WILD, 'tokens.onnx'))).toThrow(
      /^loadOnnx .*tokens\.onnx: the graph input 'ids' holds INT64 values, not floats: a gradlens model takes a float input to differentiate \(load with graphOnly and feed constants to runGraph, or export from the embedding on\)$/,
    );
  });

  it('token ids run through runGraph as constants (graphOnly), giving PyTorch’s output', () => {
    const g = JSON.parse(fs.readFileSync(path.join(WILD, 'tokens.json'), 'utf8')) as { ids: number[]; output: number[] };
    const m = loadOnnx(path.join(WILD, 'tokens.onnx'), { graphOnly: true });
    tidy(() => {
      const [y] = m.runGraph(new Map([['ids', new Const(g.ids, [1, g.ids.length], 'int')]]));
      expect(relError(asT(y!).values(), g.output)).toBeLessThan(1e-5);
    });
  });

  it('float16 weights and input are computed in float32: cnn_opset13’s PyTorch goldens to float16’s rounding', () => {
    const g = golden('cnn_opset13');
    const m = loadOnnx(path.join(WILD, 'cnn_fp16.onnx'));
    tidy(() => {
      const x = tensorOf(g.inputs[0]!.data, g.inputs[0]!.shape);
      const y = m.call(x);
      expect(y.dtype).toBe('float32');
      const err = relError(y.values(), g.outputs[0]!.data);
      expect(err).toBeLessThan(5e-3);
      expect(err).toBeGreaterThan(0); // the weights really are rounded
      const [gx] = grad((v) => sum(mul(m.call(v), tensorOf(g.r[0]!, g.outputs[0]!.shape))), [x]);
      expect(relError(gx!.values(), g.gradients[0]!)).toBeLessThan(5e-3);
    });
  });
});

describe('external data (save_as_external_data, all tensors in one file)', () => {
  const copy = (): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradlens-onnx-wild-'));
    for (const f of ['cnn_external.onnx', 'cnn_external.onnx.data']) fs.copyFileSync(path.join(WILD, f), path.join(dir, f));
    return dir;
  };

  it('loads from its path and matches PyTorch', () => {
    matchesPyTorch(loadOnnx(path.join(WILD, 'cnn_external.onnx')), golden('cnn_external'));
  });

  it('refuses in one line a missing or a truncated data file, naming the tensor and the file', () => {
    const dir = copy();
    const data = path.join(dir, 'cnn_external.onnx.data');
    fs.truncateSync(data, 1000);
    const one = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('loaded');
    };
    const short = one(() => loadOnnx(path.join(dir, 'cnn_external.onnx')));
    expect(short).toMatch(/tensor '[^']+': .*cnn_external\.onnx\.data holds 1000 bytes, the tensor needs bytes \d+\.\.\d+/);
    expect(short.split('\n')).toHaveLength(1);
    fs.rmSync(data);
    const missing = one(() => loadOnnx(path.join(dir, 'cnn_external.onnx')));
    expect(missing).toMatch(/tensor '[^']+': external data file .*cnn_external\.onnx\.data is missing/);
    expect(missing.split('\n')).toHaveLength(1);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
