import * as fs from 'fs';
import * as path from 'path';
import { record, Tensor, tidy } from '@gradlens/tensor';
import { gradCam } from '@gradlens/explain';
import { layers } from '@gradlens/nn';
import { classNamesFromMetadata, loadOnnx, modulePaths } from '@gradlens/onnx';

const FIXTURES = path.join(__dirname, 'fixtures');

/** modulePaths over bare node names. */
function paths(names: string[]): string[] {
  return modulePaths(names.map((name) => ({ name, firstOutput: '' })));
}

describe('tf2onnx’s Keras names give Keras layer names', () => {
  it('drops the call wrappers and the Keras model’s name; op names and inserted ops are handled', () => {
    expect(
      paths([
        'StatefulPartitionedCall/model/conv2d/BiasAdd',
        'StatefulPartitionedCall/model/conv2d/Relu',
        'StatefulPartitionedCall/model/conv2d_1/BiasAdd__6',
        'model/dense/MatMul',
        'StatefulPartitionedCall/model/Relu',
        'Transpose__21',
        'StatefulPartitionedCall/model/resnet50/conv1_conv/Conv2D',
      ]),
    ).toEqual(['conv2d', 'conv2d', 'conv2d_1', 'dense', '', 'Transpose__21', 'resnet50.conv1_conv']);
    // a first segment that is a layer (not shared by every op) stays
    expect(paths(['conv2d/BiasAdd', 'dense/MatMul'])).toEqual(['conv2d', 'dense']);
    // torch names are left as torch's (a leading '/'), whatever else is in the graph
    expect(paths(['/layer4/layer4.1/relu_1/Relu', 'model/x/Relu'])).toEqual(['layer4.1.relu_1', 'model.x']);
    // a node without a name takes its first output's (tf2onnx writes ':0' tensor names)
    expect(
      modulePaths([
        { name: '', firstOutput: 'StatefulPartitionedCall/model/conv2d/Relu:0' },
        { name: 'model/dense/MatMul', firstOutput: 'y' },
      ]),
    ).toEqual(['conv2d', 'dense']);
  });

  it('runs a graph named as tf2onnx names a Keras model: layers, logits, the default CAM layer, Grad-CAM and tape.activation by Keras name', () => {
    const golden = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'tf2onnx_names.json'), 'utf8')) as {
      input: number[];
      shape: number[];
      logits: number[];
    };
    const model = loadOnnx(path.join(FIXTURES, 'tf2onnx_names.onnx'));
    const rows = layers(model, golden.shape)
      .filter((r) => r.depth === 0)
      .map((r) => r.path);
    expect(rows).toEqual(['conv2d', 'conv2d_1', 'global_average_pooling2d', 'dense']);
    expect(model.defaultCamLayer()).toBe('conv2d_1');
    tidy(() => {
      const x = new Tensor(Float32Array.from(golden.input), golden.shape, 'float32');
      const y = model.call(x).values();
      golden.logits.forEach((v, i) => expect(y[i]).toBeCloseTo(v, 5));
      const { tape } = record(() => model.call(x));
      // conv2d_1's output: the ReLU after its convolution, [1, 6, 8, 8]
      const a = tape.activation('conv2d_1');
      expect(a.shape).toEqual([1, 6, 8, 8]);
      expect(Math.min(...a.values())).toBeGreaterThanOrEqual(0);
      const cam = gradCam(model, x, { target: 0 });
      expect(cam.map.shape).toEqual([1, 8, 8]);
    });
  });
});

describe('class names from metadata_props', () => {
  it('reads a JSON array, a JSON or Python index map, lines and commas, under the documented keys', () => {
    expect(classNamesFromMetadata({ class_names: '["cat","dog"]' })).toEqual({ key: 'class_names', names: ['cat', 'dog'] });
    expect(classNamesFromMetadata({ id2label: '{"1": "dog", "0": "cat"}' })?.names).toEqual(['cat', 'dog']);
    expect(classNamesFromMetadata({ names: "{0: 'person', 1: \"it's\"}" })?.names).toEqual(['person', "it's"]);
    expect(classNamesFromMetadata({ labels: 'a\nb\n' })?.names).toEqual(['a', 'b']);
    expect(classNamesFromMetadata({ classes: 'a, b,c' })?.names).toEqual(['a', 'b', 'c']);
    expect(classNamesFromMetadata({ author: 'x' })).toBeNull();
    expect(() => classNamesFromMetadata({ names: '{0: "a", 2: "c"}' })).toThrow(/metadata 'names' has no name for class 1/);
    expect(() => classNamesFromMetadata({ classes: '[1, 2]' })).toThrow(/not strings/);
  });

  it('reads them from a model’s metadata', () => {
    expect(loadOnnx(path.join(FIXTURES, 'tiny_classes.onnx'), { inputShape: [1, 3, 16, 16] }).classNames()).toEqual(['cat', 'dog', 'bird']);
  });
});
