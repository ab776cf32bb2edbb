"""Writes two small ONNX graphs to packages/onnx/test/fixtures/ for the CLI and layer-name tests.

- tiny_classes.onnx: a small CNN exported by torch.onnx (seed 0) with dynamic batch, height and width,
  and class names in metadata_props ('class_names', a JSON array), for `gradlens explain/layers/evaluate
  --model <file.onnx>`.
- wrapped_net.onnx: TinyNet inside a wrapper module (as `nn.Module` wrappers export): its only top-level module
  gives logits, so it has no default CAM layer; gradient methods run, CAM methods need --layer.
- tf2onnx_names.onnx: a Keras-like CNN built with onnx.helper, its nodes named as tf2onnx names a Keras
  model's ops (`StatefulPartitionedCall/model/conv2d_1/BiasAdd`, inserted `…__12` transposes), with
  PyTorch's logits for one input in tf2onnx_names.json. There is no TensorFlow here; the names follow
  tf2onnx's output for tf.keras models (the Keras model name 'model', layer names conv2d, conv2d_1, …).
- tiny_gray.onnx: TinyNet on one channel (an MNIST-style grayscale model; dynamic batch, height and width), with
  tiny_gray.json: an RGB picture, PyTorch's logits on its ITU-R 601-2 luma (PIL's convert('L') weights) and the
  gradient of Σ logits · r with respect to the RGB picture (`loadOnnx(file, { pictureInput: true })`).
- four_channels.onnx: an Identity on a [1, 4, 8, 8] input (not a picture of 1 or 3 channels: refused).
- tiny_classes_hooked.json: tiny_classes' logits on one input with each channel of features.2's output zeroed by a
  forward hook (as Ablation-CAM and Captum's layer methods replace a layer's output).

Run with Debian's python3-torch / python3-onnx:
    /usr/bin/python3 scripts/make-onnx-cli-fixtures.py
"""
import json
import os

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper, TensorProto

OUT = os.path.join(os.path.dirname(__file__), '..', 'packages', 'onnx', 'test', 'fixtures')


class TinyNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(4, 6, 3, stride=2, padding=1), torch.nn.ReLU())
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(6, 3)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def tiny_classes():
    torch.manual_seed(0)
    model = TinyNet().eval()
    path = os.path.join(OUT, 'tiny_classes.onnx')
    x = torch.randn(1, 3, 32, 32)
    torch.onnx.export(model, x, path, opset_version=13, input_names=['image'], output_names=['logits'],
                      dynamic_axes={'image': {0: 'batch', 2: 'height', 3: 'width'}, 'logits': {0: 'batch'}})
    m = onnx.load(path)
    helper.set_model_props(m, {'class_names': json.dumps(['cat', 'dog', 'bird'])})
    onnx.save(m, path)
    print('tiny_classes.onnx', os.path.getsize(path), 'bytes')


class Wrapped(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = TinyNet()

    def forward(self, x):
        return self.net(x)


def wrapped_net():
    torch.manual_seed(0)
    path = os.path.join(OUT, 'wrapped_net.onnx')
    torch.onnx.export(Wrapped().eval(), torch.randn(1, 3, 32, 32), path, opset_version=13, input_names=['image'], output_names=['logits'])
    print('wrapped_net.onnx', os.path.getsize(path), 'bytes')


def tf2onnx_names():
    gen = torch.Generator().manual_seed(1)
    w1 = torch.randn(4, 3, 3, 3, generator=gen) * 0.5
    b1 = torch.randn(4, generator=gen) * 0.1
    w2 = torch.randn(6, 4, 3, 3, generator=gen) * 0.5
    b2 = torch.randn(6, generator=gen) * 0.1
    wd = torch.randn(6, 5, generator=gen) * 0.5  # Keras Dense kernel: [in, out], applied by MatMul
    bd = torch.randn(5, generator=gen) * 0.1
    x = torch.randn(1, 3, 16, 16, generator=gen)
    # the same network in PyTorch for the golden logits
    h = torch.relu(torch.nn.functional.conv2d(x, w1, b1, padding=1))
    h = torch.relu(torch.nn.functional.conv2d(h, w2, b2, stride=2, padding=1))
    logits = h.mean(dim=(2, 3)) @ wd + bd

    P = 'StatefulPartitionedCall/model'
    inits = [numpy_helper.from_array(t.numpy().astype(np.float32), name) for t, name in [
        (w1, f'{P}/conv2d/Conv2D/ReadVariableOp:0'), (b1, f'{P}/conv2d/BiasAdd/ReadVariableOp:0'),
        (w2, f'{P}/conv2d_1/Conv2D/ReadVariableOp:0'), (b2, f'{P}/conv2d_1/BiasAdd/ReadVariableOp:0'),
        (wd, f'{P}/dense/MatMul/ReadVariableOp:0'), (bd, f'{P}/dense/BiasAdd/ReadVariableOp:0')]]
    inits.append(numpy_helper.from_array(np.array([1, 6], dtype=np.int64), 'const_fold_opt__20'))
    nodes = [
        # tf2onnx keeps the Keras input NHWC and inserts a transpose named after the first op it feeds
        helper.make_node('Transpose', ['input_1'], [f'{P}/conv2d/BiasAdd__6:0'], name=f'{P}/conv2d/BiasAdd__6', perm=[0, 3, 1, 2]),
        helper.make_node('Conv', [f'{P}/conv2d/BiasAdd__6:0', f'{P}/conv2d/Conv2D/ReadVariableOp:0', f'{P}/conv2d/BiasAdd/ReadVariableOp:0'],
                         [f'{P}/conv2d/BiasAdd:0'], name=f'{P}/conv2d/BiasAdd', pads=[1, 1, 1, 1], kernel_shape=[3, 3], strides=[1, 1]),
        helper.make_node('Relu', [f'{P}/conv2d/BiasAdd:0'], [f'{P}/conv2d/Relu:0'], name=f'{P}/conv2d/Relu'),
        helper.make_node('Conv', [f'{P}/conv2d/Relu:0', f'{P}/conv2d_1/Conv2D/ReadVariableOp:0', f'{P}/conv2d_1/BiasAdd/ReadVariableOp:0'],
                         [f'{P}/conv2d_1/BiasAdd:0'], name=f'{P}/conv2d_1/BiasAdd', pads=[1, 1, 1, 1], kernel_shape=[3, 3], strides=[2, 2]),
        helper.make_node('Relu', [f'{P}/conv2d_1/BiasAdd:0'], [f'{P}/conv2d_1/Relu:0'], name=f'{P}/conv2d_1/Relu'),
        helper.make_node('ReduceMean', [f'{P}/conv2d_1/Relu:0'], [f'{P}/global_average_pooling2d/Mean:0'], name=f'{P}/global_average_pooling2d/Mean', axes=[2, 3], keepdims=1),
        helper.make_node('Reshape', [f'{P}/global_average_pooling2d/Mean:0', 'const_fold_opt__20'], [f'{P}/global_average_pooling2d/Mean_Squeeze__21:0'], name=f'{P}/global_average_pooling2d/Mean_Squeeze__21'),
        helper.make_node('MatMul', [f'{P}/global_average_pooling2d/Mean_Squeeze__21:0', f'{P}/dense/MatMul/ReadVariableOp:0'], [f'{P}/dense/MatMul:0'], name=f'{P}/dense/MatMul'),
        helper.make_node('Add', [f'{P}/dense/MatMul:0', f'{P}/dense/BiasAdd/ReadVariableOp:0'], ['dense'], name=f'{P}/dense/BiasAdd'),
    ]
    graph = helper.make_graph(nodes, 'tf2onnx', [helper.make_tensor_value_info('input_1', TensorProto.FLOAT, ['unk__30', 16, 16, 3])],
                              [helper.make_tensor_value_info('dense', TensorProto.FLOAT, ['unk__31', 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)], producer_name='tf2onnx', producer_version='1.9.3')
    onnx.checker.check_model(model)
    path = os.path.join(OUT, 'tf2onnx_names.onnx')
    onnx.save(model, path)
    with open(os.path.join(OUT, 'tf2onnx_names.json'), 'w') as f:
        json.dump({'input': x.permute(0, 2, 3, 1).flatten().tolist(), 'shape': [1, 16, 16, 3], 'logits': logits.flatten().tolist()}, f)
    print('tf2onnx_names.onnx', os.path.getsize(path), 'bytes')


def picture_layouts():
    torch.manual_seed(2)
    model = TinyNet().eval()
    model.features[0] = torch.nn.Conv2d(1, 4, 3, padding=1)
    path = os.path.join(OUT, 'tiny_gray.onnx')
    torch.onnx.export(model, torch.randn(1, 1, 12, 12), path, opset_version=13, input_names=['digit'], output_names=['logits'],
                      dynamic_axes={'digit': {0: 'batch', 2: 'height', 3: 'width'}, 'logits': {0: 'batch'}})
    gen = torch.Generator().manual_seed(3)
    rgb = torch.rand(2, 3, 12, 10, generator=gen, dtype=torch.float64).requires_grad_()
    luma = (rgb * torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64).view(1, 3, 1, 1)).sum(1, keepdim=True)
    logits = model.double()(luma)
    r = torch.randn(logits.shape, generator=gen, dtype=torch.float64)
    (logits * r).sum().backward()
    with open(os.path.join(OUT, 'tiny_gray.json'), 'w') as f:
        json.dump({'shape': list(rgb.shape), 'rgb': rgb.detach().flatten().tolist(), 'logits': logits.detach().flatten().tolist(),
                   'r': r.flatten().tolist(), 'gradient': rgb.grad.flatten().tolist()}, f)
    print('tiny_gray.onnx', os.path.getsize(path), 'bytes')
    graph = helper.make_graph([helper.make_node('Identity', ['x'], ['y'])], 'four', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 4, 8, 8])],
                              [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 4, 8, 8])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)]), os.path.join(OUT, 'four_channels.onnx'))


def hooked_logits():
    torch.manual_seed(0)
    model = TinyNet().eval()  # the weights tiny_classes.onnx was exported with (same seed, same construction)
    x = torch.sin(torch.arange(3 * 144, dtype=torch.float32) * 0.37).view(1, 3, 12, 12)
    rows = []
    for k in range(6):
        def zero_k(_m, _i, y, k=k):
            y = y.clone()
            y[:, k] = 0
            return y
        h = model.features[2].register_forward_hook(zero_k)
        with torch.no_grad():
            rows.append(model(x).flatten().tolist())
        h.remove()
    with torch.no_grad():
        plain = model(x).flatten().tolist()
    with open(os.path.join(OUT, 'tiny_classes_hooked.json'), 'w') as f:
        json.dump({'layer': 'features.2', 'logits': plain, 'zeroed': rows}, f)


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    tiny_classes()
    wrapped_net()
    tf2onnx_names()
    picture_layouts()
    hooked_logits()
