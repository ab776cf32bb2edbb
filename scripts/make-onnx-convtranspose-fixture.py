"""Writes packages/onnx/test/fixtures/conv_transpose.*: a tiny decoder of nn.ConvTranspose2d layers
(stride 2 with output_padding 1; groups 2 with dilation 2; an uneven kernel and stride with groups and
no bias) exported by torch.onnx with random weights (seed 0), and PyTorch's goldens for one random
input: conv_transpose.onnx, conv_transpose.json (the input and output shapes) and float32 .npy files of
the input, the output and the gradient of output.sum() with respect to the input.

Run with Debian's python3-torch / python3-onnx:
    /usr/bin/python3 scripts/make-onnx-convtranspose-fixture.py
"""
import json
import os

import numpy as np

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(__file__), '..', 'packages', 'onnx', 'test', 'fixtures')
NAME = 'conv_transpose'


def decoder():
    return nn.Sequential(
        nn.ConvTranspose2d(4, 6, kernel_size=3, stride=2, padding=1, output_padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(6, 4, kernel_size=3, padding=2, dilation=2, groups=2),
        nn.Tanh(),
        nn.ConvTranspose2d(4, 2, kernel_size=(2, 3), stride=(2, 1), padding=(0, 1), groups=2, bias=False),
    )


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    model = decoder().eval()
    x = torch.randn(1, 4, 5, 6, generator=gen)
    path = os.path.join(OUT, f'{NAME}.onnx')
    torch.onnx.export(model, x, path, opset_version=17, input_names=['input'], output_names=['output'], do_constant_folding=True)
    xg = x.clone().requires_grad_(True)
    y = model(xg)
    (g_x,) = torch.autograd.grad(y.sum(), [xg])
    golden = {'shape': list(x.shape), 'outputShape': list(y.shape)}
    np.save(os.path.join(OUT, f'{NAME}.input.npy'), x.numpy().astype(np.float32))
    np.save(os.path.join(OUT, f'{NAME}.output.npy'), y.detach().numpy().astype(np.float32))
    np.save(os.path.join(OUT, f'{NAME}.gradient.npy'), g_x.numpy().astype(np.float32))
    with open(os.path.join(OUT, f'{NAME}.json'), 'w') as f:
        json.dump(golden, f)
    print(NAME, os.path.getsize(path), 'bytes, output', list(y.shape))


if __name__ == '__main__':
    main()
