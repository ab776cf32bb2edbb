"""Writes packages/onnx/test/fixtures/ops_zoo.*: a small network whose torch.onnx export (opset 17) uses the ops
beyond torchvision's classifiers — PReLU, ELU, SELU, CELU, Softplus, Mish, Hardshrink, Softsign, GroupNorm,
LocalResponseNorm, reflection and replication padding, PixelShuffle / PixelUnshuffle (DepthToSpace /
SpaceToDepth), flip (a negative Slice step), F.normalize (ReduceL2), logsumexp, cumsum, einsum, tile (repeat),
1-D convolution and pooling, average pooling without counting the padding, ConvTranspose, bicubic resizing and a spatial transformer's GridSample —
with random weights (seed 0), and PyTorch's goldens for one random input: ops_zoo.onnx, ops_zoo.json (shapes and
the op types the graph uses) and float32 .npy files of the input, the output and the gradient of
(output · r).sum() with respect to the input for a fixed random r (ops_zoo.weights.npy).

Also if_branches.onnx, built with onnx.helper: y = If(ReduceSum(x) > 0, then: x · 2 + w, else: −x), each branch
reading x and the initializer w from the enclosing graph (torch.onnx writes such If nodes, e.g. in LRN).

And loop_carried.onnx: y, scan = Loop(M = 3, x): each iteration x ← x · w + i (w an enclosing initializer, i the
iteration number), the scan output stacking every iteration's x; loop_runaway.onnx: a Loop with no trip count whose
condition never turns false; scan_sum.onnx: Scan over the rows of x [3, 2] in reverse, the state s ← s + row · w,
each step's s stacked; z = s₃ · Σ scan.

And crnn.*: a CRNN-style text recogniser (convolutions, the height pooled away, a bidirectional LSTM and a GRU
over the columns, a per-step classifier), with the same goldens as ops_zoo.

And grid_sample.json: F.grid_sample's outputs in float64 for one input and grid (points inside and outside the
image) in every mode, padding mode and align_corners setting.

Run with Debian's python3-torch / python3-onnx:
    /usr/bin/python3 scripts/make-onnx-ops-fixture.py
"""
import json
import os

import numpy as np
import onnx

import torch
from torch import nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'packages', 'onnx', 'test', 'fixtures')
NAME = 'ops_zoo'


class Zoo(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=0)
        self.prelu = nn.PReLU(8)
        self.norm = nn.GroupNorm(4, 8)
        self.lrn = nn.LocalResponseNorm(3, alpha=0.1, beta=0.75, k=1.5)
        self.shuffle = nn.PixelShuffle(2)
        self.unshuffle = nn.PixelUnshuffle(2)
        self.up = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        self.theta = nn.Parameter(torch.tensor([[0.9, 0.2, 0.1], [-0.15, 1.1, -0.05]]))
        # The base grid of the 14 × 13 map the warp sees (torch 1.13 cannot export affine_grid itself).
        with torch.no_grad():
            self.register_buffer('base', F.affine_grid(torch.eye(2, 3).unsqueeze(0), [1, 8, 14, 13], align_corners=False))
        self.conv1d = nn.Conv1d(4, 6, 3, stride=2, padding=1)
        self.mix = nn.Parameter(torch.randn(6, 5))
        self.head = nn.Linear(5 * 2, 7)

    def forward(self, x):
        y = F.pad(x, (1, 2, 2, 1), mode='reflect')
        y = self.prelu(self.stem(y))
        y = F.elu(self.norm(y), alpha=0.8)
        y = self.lrn(y)
        y = F.pad(y, (1, 0, 0, 1), mode='replicate')
        y = self.unshuffle(self.shuffle(y))  # 8 → 2 → 8 channels
        y = F.selu(y) + F.celu(y, alpha=1.3) + F.softplus(y) + F.mish(y) + F.softsign(y) + F.hardshrink(y, 0.3)
        y = torch.flip(y, dims=[3])
        # A spatial transformer's warp: GridSample with reflection padding, differentiable in input and grid.
        grid = torch.matmul(torch.cat([self.base, torch.ones_like(self.base[..., :1])], dim=-1), self.theta.t())
        y = F.grid_sample(y, grid, mode='bilinear', padding_mode='reflection', align_corners=False)
        y = F.avg_pool2d(y, 3, stride=2, padding=1, count_include_pad=False)
        y = self.up(y)
        y = F.interpolate(y, scale_factor=0.5, mode='bicubic', align_corners=False)
        y = F.normalize(y, dim=1)
        y = y.flatten(2)  # [N, 4, L]
        y = torch.cumsum(y, dim=2) / y.shape[2]
        y = self.conv1d(y)  # [N, 6, L']
        y = F.max_pool1d(y, 2, ceil_mode=True)
        y = torch.einsum('ncl,cd->ndl', y, self.mix)  # [N, 5, L'']
        y = torch.logsumexp(y, dim=2, keepdim=True).repeat(1, 1, 2)  # Tile
        return self.head(y.flatten(1))


def if_branches():
    from onnx import TensorProto, helper
    f = TensorProto.FLOAT
    then = helper.make_graph(
        [helper.make_node('Mul', ['x', 'two'], ['doubled']), helper.make_node('Add', ['doubled', 'w'], ['then_y'])],
        'then', [], [helper.make_tensor_value_info('then_y', f, [2, 3])],
        [helper.make_tensor('two', f, [], [2.0])])
    otherwise = helper.make_graph([helper.make_node('Neg', ['x'], ['else_y'])], 'else', [],
                                  [helper.make_tensor_value_info('else_y', f, [2, 3])])
    graph = helper.make_graph(
        [helper.make_node('ReduceSum', ['x'], ['total'], keepdims=0),
         helper.make_node('Greater', ['total', 'zero'], ['positive']),
         helper.make_node('If', ['positive'], ['y'], then_branch=then, else_branch=otherwise)],
        'if_branches', [helper.make_tensor_value_info('x', f, [2, 3])], [helper.make_tensor_value_info('y', f, [2, 3])],
        [helper.make_tensor('zero', f, [], [0.0]), helper.make_tensor('w', f, [3], [0.5, -1.0, 2.0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, 'if_branches.onnx'))


class Crnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d((2, 1)), nn.Conv2d(6, 8, 3, padding=1), nn.ReLU())
        self.lstm = nn.LSTM(8, 5, bidirectional=True)
        self.gru = nn.GRU(10, 4)
        self.classify = nn.Linear(4, 6)

    def forward(self, x):
        f = self.conv(x).mean(dim=2)  # [N, C, W]
        seq = f.permute(2, 0, 1)  # [W, N, C]
        y, _ = self.lstm(seq)
        y, _ = self.gru(y)
        return self.classify(y)  # [W, N, classes]


def export_with_goldens(name, model, x, gen):
    path = os.path.join(OUT, f'{name}.onnx')
    torch.onnx.export(model, x, path, opset_version=17, input_names=['input'], output_names=['output'], do_constant_folding=True)
    xg = x.clone().requires_grad_(True)
    y = model(xg)
    r = torch.randn(y.shape, generator=gen)
    (g_x,) = torch.autograd.grad((y * r).sum(), [xg])
    ops = sorted({n.op_type for n in onnx.load(path).graph.node})
    golden = {'shape': list(x.shape), 'outputShape': list(y.shape), 'ops': ops}
    for what, v in (('input', x), ('output', y.detach()), ('weights', r), ('gradient', g_x)):
        np.save(os.path.join(OUT, f'{name}.{what}.npy'), v.numpy().astype(np.float32))
    with open(os.path.join(OUT, f'{name}.json'), 'w') as f:
        json.dump(golden, f)
    print(name, os.path.getsize(path), 'bytes, output', list(y.shape), 'ops', ' '.join(ops))


def loop_fixtures():
    from onnx import TensorProto, helper
    f = TensorProto.FLOAT
    body = helper.make_graph(
        [helper.make_node('Cast', ['i'], ['i_float'], to=f),
         helper.make_node('Mul', ['x_in', 'w'], ['scaled']),
         helper.make_node('Add', ['scaled', 'i_float'], ['x_out']),
         helper.make_node('Identity', ['cond_in'], ['cond_out']),
         helper.make_node('Identity', ['x_out'], ['scan_out'])],
        'body',
        [helper.make_tensor_value_info('i', TensorProto.INT64, []), helper.make_tensor_value_info('cond_in', TensorProto.BOOL, []),
         helper.make_tensor_value_info('x_in', f, [2])],
        [helper.make_tensor_value_info('cond_out', TensorProto.BOOL, []), helper.make_tensor_value_info('x_out', f, [2]),
         helper.make_tensor_value_info('scan_out', f, [2])])
    graph = helper.make_graph(
        [helper.make_node('Loop', ['m', 'cond', 'x'], ['y', 'scan'], body=body),
         helper.make_node('ReduceSum', ['scan'], ['scan_sum'], keepdims=0),
         helper.make_node('Mul', ['y', 'scan_sum'], ['z'])],
        'loop_carried', [helper.make_tensor_value_info('x', f, [2])], [helper.make_tensor_value_info('z', f, [2])],
        [helper.make_tensor('m', TensorProto.INT64, [], [3]), helper.make_tensor('cond', TensorProto.BOOL, [], [True]),
         helper.make_tensor('w', f, [2], [1.5, -0.5])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, 'loop_carried.onnx'))
    runaway = helper.make_graph(
        [helper.make_node('Loop', ['', 'cond', 'x'], ['y'], body=helper.make_graph(
            [helper.make_node('Identity', ['cond_in'], ['cond_out']), helper.make_node('Identity', ['x_in'], ['x_out'])], 'body',
            [helper.make_tensor_value_info('i', TensorProto.INT64, []), helper.make_tensor_value_info('cond_in', TensorProto.BOOL, []),
             helper.make_tensor_value_info('x_in', f, [2])],
            [helper.make_tensor_value_info('cond_out', TensorProto.BOOL, []), helper.make_tensor_value_info('x_out', f, [2])]))],
        'loop_runaway', [helper.make_tensor_value_info('x', f, [2])], [helper.make_tensor_value_info('y', f, [2])],
        [helper.make_tensor('cond', TensorProto.BOOL, [], [True])])
    model = helper.make_model(runaway, opset_imports=[helper.make_opsetid('', 13)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, 'loop_runaway.onnx'))
    scan_body = helper.make_graph(
        [helper.make_node('Mul', ['row', 'w'], ['weighted']), helper.make_node('Add', ['s_in', 'weighted'], ['s_out']),
         helper.make_node('Identity', ['s_out'], ['step'])],
        'body', [helper.make_tensor_value_info('s_in', f, [2]), helper.make_tensor_value_info('row', f, [2])],
        [helper.make_tensor_value_info('s_out', f, [2]), helper.make_tensor_value_info('step', f, [2])])
    scan = helper.make_graph(
        [helper.make_node('Scan', ['s0', 'x'], ['s', 'steps'], body=scan_body, num_scan_inputs=1, scan_input_directions=[1]),
         helper.make_node('ReduceSum', ['steps'], ['steps_sum'], keepdims=0),
         helper.make_node('Mul', ['s', 'steps_sum'], ['z'])],
        'scan_sum', [helper.make_tensor_value_info('x', f, [3, 2])], [helper.make_tensor_value_info('z', f, [2])],
        [helper.make_tensor('s0', f, [2], [0.5, -1.0]), helper.make_tensor('w', f, [2], [2.0, 0.5])])
    model = helper.make_model(scan, opset_imports=[helper.make_opsetid('', 13)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, 'scan_sum.onnx'))


def grid_sample_goldens():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(1, 2, 5, 6, generator=gen, dtype=torch.float64)
    grid = torch.rand(1, 4, 3, 2, generator=gen, dtype=torch.float64) * 2.6 - 1.3
    golden = {'x': x.flatten().tolist(), 'xShape': list(x.shape), 'grid': grid.flatten().tolist(), 'gridShape': list(grid.shape)}
    for mode in ('bilinear', 'nearest', 'bicubic'):
        for padding in ('zeros', 'border', 'reflection'):
            for align in (0, 1):
                y = F.grid_sample(x, grid, mode=mode, padding_mode=padding, align_corners=bool(align))
                golden[f'{mode} {padding} {align}'] = y.flatten().tolist()
    with open(os.path.join(OUT, 'grid_sample.json'), 'w') as f:
        json.dump(golden, f)


def main():
    os.makedirs(OUT, exist_ok=True)
    if_branches()
    loop_fixtures()
    grid_sample_goldens()
    for name, make, shape in (('crnn', Crnn, (1, 1, 8, 12)), (NAME, Zoo, (1, 3, 12, 11))):
        torch.manual_seed(0)
        gen = torch.Generator().manual_seed(0)
        model = make().eval()
        export_with_goldens(name, model, torch.randn(*shape, generator=gen), gen)


if __name__ == '__main__':
    main()
