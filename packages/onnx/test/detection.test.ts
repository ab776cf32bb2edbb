import * as fs from 'fs';
import * as path from 'path';
import { cat, mean, mul, record, relu, slice, sum, Tensor, tidy } from '@gradlens/tensor';
import { disposeResult, gradCam } from '@gradlens/explain';
import { readNpy } from '@gradlens/io';
import { loadOnnx } from '@gradlens/onnx';
import { relError, runOp } from './op-harness';

// torchvision's detection models at toy size exported by torch.onnx (scripts/make-onnx-detection-fixtures.py, seed 0):
// the transform, the RPN (anchors, TopK, NonMaxSuppression), RoiAlign box (and mask) pooling, the heads and the
// postprocessing replay on gradlens ops, give PyTorch's detections, and differentiate: the gradient of Σ scores with
// respect to the picture equals autograd's on the torchvision module. RoiAlign's max mode (which torchvision lacks) is
// checked against NumPy written from onnxruntime's kernel.
const FIXTURES = path.join(__dirname, 'fixtures', 'detection');
const npy = (name: string): Float32Array => readNpy(path.join(FIXTURES, `${name}.npy`)).data as Float32Array;

interface Golden {
  outputs: Record<string, number[]>;
  shapes: Record<string, number[]>;
  gradcam: number[];
  gradcamShape: number[];
}

describe.each(['faster_rcnn_opset11', 'faster_rcnn_opset16', 'mask_rcnn_opset11'])('%s exported by torch.onnx', (name) => {
  const golden = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as Golden;
  const model = loadOnnx(path.join(FIXTURES, `${name}.onnx`), { graphOnly: true });
  const picture = () => new Tensor(Float32Array.from(npy('input')), [3, 64, 64], 'float32');
  const feeds = (x: Tensor) => new Map([[model.inputNames[0]!, x]]);

  it('gives PyTorch’s boxes, labels and scores (masks too)', () => {
    tidy(() => {
      const outputs = model.runGraph(feeds(picture())) as Tensor[];
      const names = Object.keys(golden.shapes);
      expect(outputs.length).toBe(names.length);
      names.forEach((k, i) => {
        const got = outputs[i]!;
        expect(got.shape).toEqual(golden.shapes[k]);
        const want = k === 'masks' ? npy(`${name}.masks`) : golden.outputs[k]!;
        // Pasting a mask resamples it at its box's coordinates, which float32 rounding moves by ~1e-5 (the boxes
        // agree to 4e-7 relative): a mask value moves by up to 3e-4 (measured).
        if (k === 'labels') expect(Array.from(got.values())).toEqual(want);
        else expect(relError(got.values(), want)).toBeLessThan(k === 'masks' ? 1e-3 : 1e-4);
      });
    });
  });

  it('gives autograd’s gradient of Σ scores with respect to the picture (≤ 1e-3 relative)', () => {
    tidy(() => {
      const x = picture();
      const scoresAt = Object.keys(golden.shapes).indexOf('scores');
      const { output, tape } = record(() => sum((model.runGraph(feeds(x)) as Tensor[])[scoresAt]!));
      const [g] = tape.grad(output, [x]);
      expect(relError(g!.values(), npy(`${name}.gradient`))).toBeLessThan(1e-3);
      tape.dispose();
    });
  });

  it('gives PyTorch’s Grad-CAM of the first detection at the torch module path backbone (≤ 1e-3 relative)', () => {
    tidy(() => {
      const scoresAt = Object.keys(golden.shapes).indexOf('scores');
      const { output, tape } = record(() => sum(slice((model.runGraph(feeds(picture())) as Tensor[])[scoresAt]!, 0, 0, 1)));
      const a = tape.activation('backbone');
      const [g] = tape.grad(output, [a]);
      const cam = relu(sum(mul(mean(g!, { dim: [2, 3], keepdim: true }), a), { dim: 1 }));
      expect(cam.shape).toEqual([1, ...golden.gradcamShape]);
      expect(relError(cam.values(), golden.gradcam)).toBeLessThan(1e-3);
      tape.dispose();
    });
  });
});

describe('a detection graph as a model whose output is its scores ({ output: "scores", unbatched: true })', () => {
  const golden = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'faster_rcnn_opset11.json'), 'utf8')) as Golden;
  const model = loadOnnx(path.join(FIXTURES, 'faster_rcnn_opset11.onnx'), { output: 'scores', unbatched: true });
  const batch = () => new Tensor(Float32Array.from(npy('input')), [1, 3, 64, 64], 'float32');

  it('takes a batch of one, gives the scores [1, K] and keeps the boxes and labels of the call', () => {
    expect(model.inputShape).toEqual([1, 3, 64, 64]);
    tidy(() => {
      const y = model.call(batch());
      expect(y.shape).toEqual([1, golden.shapes.scores![0]]);
      expect(relError(y.values(), golden.outputs.scores!)).toBeLessThan(1e-4);
    });
    expect(model.lastOutputs.get('boxes')?.shape).toEqual(golden.shapes.boxes);
    expect(relError(model.lastOutputs.get('boxes')!.values, golden.outputs.boxes!)).toBeLessThan(1e-4);
    expect(model.lastOutputs.get('labels')?.values).toEqual(golden.outputs.labels);
  });

  it('runs a batch item by item, the scores padded with zeros to the longest', () => {
    tidy(() => {
      const one = model.call(batch());
      const blank = new Tensor(new Float32Array(3 * 64 * 64), [1, 3, 64, 64], 'float32');
      const both = model.call(cat([batch(), blank], 0));
      const k = Math.max(one.shape[1]!, model.call(blank).shape[1]!);
      expect(both.shape).toEqual([2, k]);
      const v = both.values();
      expect(relError(Array.from(v.subarray(0, one.shape[1]!)), one.values())).toBe(0);
      expect(Array.from(v.subarray(one.shape[1]!, k))).toEqual(new Array<number>(k - one.shape[1]!).fill(0));
    });
  });

  it('explains a detection with the ordinary methods: Grad-CAM of detection 0 at backbone is PyTorch’s', () => {
    const r = gradCam(model, batch(), { layer: 'backbone', target: 0 });
    expect(r.map.shape).toEqual([1, ...golden.gradcamShape]);
    expect(relError(r.map.values(), golden.gradcam)).toBeLessThan(1e-3);
    disposeResult(r);
  });

  it('refuses an unknown output, a several-output graph without one, and an input without its batch dim, in one line', () => {
    const file = path.join(FIXTURES, 'faster_rcnn_opset11.onnx');
    expect(() => loadOnnx(file, { output: 'logits' })).toThrow(/has no output "logits"; its outputs: boxes, labels, scores/);
    expect(() => loadOnnx(file)).toThrow(
      /the graph has 3 outputs \(boxes, labels, scores\); a gradlens model gives one: choose it with \{ output: name \}/,
    );
    expect(() => model.call(new Tensor(new Float32Array(3 * 64 * 64), [3, 64, 64], 'float32'))).toThrow(
      /takes one item \[3, 64, 64\] \(unbatched\): give a batch \[N, 3, 64, 64\], got \[3, 64, 64\]/,
    );
  });
});

interface MaxCase {
  ratio: number;
  half_pixel: boolean;
  oh: number;
  ow: number;
  out: number[];
}

describe('RoiAlign', () => {
  const spec = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'roi_align_max.json'), 'utf8')) as {
    x: number[];
    shape: number[];
    rois: number[];
    batch: number[];
    scale: number;
    cases: MaxCase[];
  };
  const x = () => new Tensor(Float64Array.from(spec.x), spec.shape, 'float64');
  const rois = () => new Tensor(Float64Array.from(spec.rois), [spec.batch.length, 4], 'float64');
  const batch = () => new Tensor(Int32Array.from(spec.batch), [spec.batch.length], 'int32');

  it.each(spec.cases.map((c) => [c.ratio, c.half_pixel, c] as const))(
    'max mode, sampling_ratio %i, half_pixel %s, equals onnxruntime’s kernel written in NumPy',
    (_ratio, _half, c) => {
      const attrs = {
        mode: { s: 'max' },
        output_height: { i: c.oh },
        output_width: { i: c.ow },
        sampling_ratio: { i: c.ratio },
        spatial_scale: { f: spec.scale },
        coordinate_transformation_mode: { s: c.half_pixel ? 'half_pixel' : 'output_half_pixel' },
      };
      tidy(() => {
        const [y] = runOp('RoiAlign', [x(), rois(), batch()], attrs, 16) as Tensor[];
        expect(y!.shape).toEqual([spec.batch.length, spec.shape[1], c.oh, c.ow]);
        expect(relError(y!.values(), c.out)).toBeLessThan(1e-12);
      });
    },
  );

  it.each([
    ['a batch index past the batch', [0, 2], /roiAlign: batch index 2 \(roi 1\) is outside X's batch of 2/],
    ['rois and batch indices of different counts', [0], /roiAlign: rois hold 8 numbers for 1 batch indices/],
  ])('refuses %s in one line', (_what, indices, message) => {
    const r = new Tensor(Float64Array.from([0, 0, 4, 4, 1, 1, 5, 5]), [2, 4], 'float64');
    const b = new Tensor(Int32Array.from(indices), [indices.length], 'int32');
    expect(() => runOp('RoiAlign', [x(), r, b], { output_height: { i: 2 }, output_width: { i: 2 } }, 16)).toThrow(message);
  });

  it('refuses a huge output, a roi that would take millions of samples, and a non-finite roi, before allocating', () => {
    const b = new Tensor(Int32Array.from([0]), [1], 'int32');
    const roi = (v: number[]) => new Tensor(Float64Array.from(v), [1, 4], 'float64');
    expect(() =>
      runOp('RoiAlign', [x(), roi([0, 0, 4, 4]), b], { output_height: { i: 2 ** 20 }, output_width: { i: 2 ** 20 } }, 16),
    ).toThrow(/roiAlign: the output would be \[1, 3, 1048576, 1048576\]/);
    expect(() => runOp('RoiAlign', [x(), roi([0, 0, 1e9, 1e9]), b], { output_height: { i: 7 }, output_width: { i: 7 } }, 16)).toThrow(
      /roiAlign: it would take \d+ bilinear samples/,
    );
    expect(() => runOp('RoiAlign', [x(), roi([0, 0, Infinity, 4]), b], {}, 16)).toThrow(
      /roiAlign: roi 0 has a coordinate Infinity: rois must be finite/,
    );
  });

  it('refuses an unknown mode or coordinate transformation', () => {
    const r = new Tensor(Float64Array.from([0, 0, 4, 4]), [1, 4], 'float64');
    const b = new Tensor(Int32Array.from([0]), [1], 'int32');
    expect(() => runOp('RoiAlign', [x(), r, b], { mode: { s: 'median' } }, 16)).toThrow(/RoiAlign mode 'median' is not avg or max/);
    expect(() => runOp('RoiAlign', [x(), r, b], { coordinate_transformation_mode: { s: 'asymmetric' } }, 16)).toThrow(
      /coordinate_transformation_mode 'asymmetric'/,
    );
  });
});
