"""Writes packages/onnx/test/fixtures/wild/*: small models exported by torch.onnx the ways users export them, beyond
the default settings of scripts/make-onnx-fixtures.py, with random weights (seed 0) and PyTorch's goldens.

- cnn_opset{9,11,13,15,17}: one small CNN (Conv, BatchNorm, ReLU, MaxPool, AdaptiveAvgPool, Flatten, Linear);
- cnn_functions (export_modules_as_functions=True: each module a model-local function), cnn_nofold
  (do_constant_folding=False), cnn_initin (keep_initializers_as_inputs=True), cnn_eval
  (training=EVAL), cnn_preserve_train (training=PRESERVE on a module in train mode: training-mode BatchNorm),
  cnn_dynbatch (dynamic batch), cnn_dynhw (dynamic batch, height and width; run at [3, 3, 10, 13]);
- cnn_external (save_as_external_data, all tensors in cnn_external.onnx.data), cnn_fp16 (cnn_opset13 with weights,
  input and output float16, as onnxconverter-common's float16 conversion writes it: torch 1.13 cannot run half
  convolutions on the CPU to trace a model.half());
- contrib: onnxruntime's contrib ops (see below); cnn_f64 (model.double()); tokens (an INT64 input of token ids);
- two_in (two inputs), two_out (two outputs), named_in (the input named like a module), nhwc (a Transpose first),
  mlp (rank-2 input), seq1d (rank-3 input, a 1-D CNN);
- interp_opset{9,11,13,17}: F.interpolate bilinear both align_corners (opset 9: align_corners=False only, and the
  goldens are ONNX's Upsample, which torch.onnx warns differs from PyTorch), nearest by scale_factor and by size;
- fops_opset{13,17}: view(x.size(0), -1) vs flatten, mean((2, 3)), cat, channel shuffle, F.pad, Hardswish, SiLU, GELU
  both approximations, LayerNorm over channels-last, einsum.

Each <name>.json holds the input shapes, the input values, the outputs, and the gradient of Σ(output · r) (r fixed
random, also stored) with respect to every input, computed by autograd on the original module; cnn cases also hold
Grad-CAM at 'block2' (the ReLU after the second convolution) for the top class.

Run with Debian's python3-torch / python3-onnx:
    /usr/bin/python3 scripts/make-onnx-wild-fixtures.py
"""
import copy
import json
import os

import numpy as np
import onnx
from onnx import numpy_helper, TensorProto

import torch
from torch import nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'packages', 'onnx', 'test', 'fixtures', 'wild')
os.makedirs(OUT, exist_ok=True)


class Block(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class Cnn(nn.Module):
    def __init__(self, view=False):
        super().__init__()
        self.block1 = Block(3, 6)
        self.pool = nn.Sequential(nn.MaxPool2d(2), nn.BatchNorm2d(6))  # a BatchNorm torch.onnx cannot fold into a Conv
        self.block2 = Block(6, 8)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(8, 5)
        self.view = view

    def forward(self, x):
        x = self.avgpool(self.block2(self.pool(self.block1(x))))
        return self.fc(x.view(x.size(0), -1) if self.view else self.flatten(x))


def randomize_bn(m):
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            with torch.no_grad():
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 1.5)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.3, 0.3)
    return m


class TwoIn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.meta = nn.Linear(6, 4)
        self.fc = nn.Linear(4, 3)

    def forward(self, image, extra):
        return self.fc(self.conv(image).mean((2, 3)) * torch.sigmoid(self.meta(extra)))


class TwoOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        feats = F.relu(self.conv(x))
        return self.fc(feats.mean((2, 3))), feats


class Nhwc(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        x = F.relu(self.conv(x.permute(0, 3, 1, 2)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(10, 16), nn.GELU(), nn.LayerNorm(16), nn.Linear(16, 4))

    def forward(self, x):
        return self.net(x)


class Seq1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(4, 6, 3, padding=1)
        self.bn = nn.BatchNorm1d(6)
        self.conv2 = nn.Conv1d(6, 6, 3, stride=2)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        x = F.relu(self.bn(self.conv1(x)))
        x = F.max_pool1d(F.relu(self.conv2(x)), 2)
        return self.fc(x.mean(2))


def upsample9_linear(y, size):
    """ONNX Upsample-9's linear mode, which torch.onnx writes for F.interpolate(mode='bilinear') at opset 9 (and
    warns it differs from PyTorch): the source of output index i is i / scale (clamped to the last input index),
    scale being the float32 out / in the file stores."""
    for axis, out in zip((2, 3), size):
        n = y.shape[axis]
        src = (torch.arange(out, dtype=torch.float64) / float(np.float32(out / n))).clamp(max=n - 1)
        i0 = src.floor().long()
        i1 = (i0 + 1).clamp(max=n - 1)
        w = (src - i0).to(y.dtype).reshape([-1 if d == axis else 1 for d in range(4)])
        y = y.index_select(axis, i0) * (1 - w) + y.index_select(axis, i1) * w
    return y


class Interp(nn.Module):
    def __init__(self, corners=True, onnx9=False):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3, padding=1)
        self.corners = corners  # opset 9's Upsample has no align_corners=True
        self.onnx9 = onnx9  # the goldens of an opset-9 export: its bilinear resizes as ONNX defines them

    def bilinear(self, y, size, corners):
        if self.onnx9:
            return upsample9_linear(y, size)
        return F.interpolate(y, size=size, mode='bilinear', align_corners=corners)

    def forward(self, x):
        y = self.conv(x)
        h, w = y.shape[2:]
        if self.onnx9:
            a = self.bilinear(y, (2 * h, 2 * w), False)
        else:
            a = F.interpolate(y, scale_factor=2, mode='bilinear', align_corners=False)
        b = self.bilinear(y, (7, 9), self.corners)
        c = F.interpolate(y, scale_factor=2, mode='nearest')
        d = F.interpolate(y, size=(7, 9), mode='nearest')
        e = self.bilinear(y, (9, 6), False)
        f = F.interpolate(y, scale_factor=1.8, mode='nearest')  # 5 × 1.8 is 9, 5 × float32(1.8) just under
        return torch.cat([a.flatten(1), b.flatten(1), c.flatten(1), d.flatten(1), e.flatten(1), f.flatten(1)], 1)


class Fops(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.ln = nn.LayerNorm(8)
        self.conv2 = nn.Conv2d(8, 8, 1, groups=2)
        self.mix = nn.Parameter(torch.randn(8, 4))
        self.fc = nn.Linear(8 * 4 + 4 + 8, 5)

    def forward(self, x):
        y = F.hardswish(self.conv(x))
        y = self.ln(y.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # LayerNorm over channels-last
        n, c, h, w = y.size()
        y = y.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)  # channel shuffle
        y = F.silu(self.conv2(y))
        y = torch.cat([F.gelu(y), F.gelu(y, approximate='tanh')], 1)[:, ::2]
        y = F.pad(y, (1, 0, 2, 1))
        y = F.max_pool2d(y, 2)
        pooled = y.mean((2, 3))  # [N, 8]
        e = torch.einsum('nchw,cd->nd', y, self.mix)  # [N, 4]
        flat = F.avg_pool2d(y, 2)
        flat = flat.view(flat.size(0), -1)  # Shape, Gather, Unsqueeze, Concat, Reshape
        return self.fc(torch.cat([flat, e, pooled], 1))


def grad_cam(a, g):
    w = g.mean(dim=(2, 3))
    return F.relu((w[:, :, None, None] * a).sum(1))


def short(t):
    """A tensor's values, flattened, to float32's 9 significant digits (the JSON stays small)."""
    return [float(f'{v:.9g}') for v in t.detach().flatten().tolist()]


def goldens(m, xs, cam_layer=None):
    """Outputs of m on xs, the fixed random weights r of each output, and d Σ(output · r) / d x for each input."""
    xs = [x.clone().requires_grad_(True) for x in xs]
    store = {}
    if cam_layer:
        def hook(_m, _i, o):
            o.retain_grad()
            store['a'] = o
        h = m.get_submodule(cam_layer).register_forward_hook(hook)
    outs = m(*xs)
    if cam_layer:
        h.remove()
    outs = outs if isinstance(outs, tuple) else (outs,)
    rs = [torch.randn(o.shape) for o in outs]
    sum(((o * r).sum() for o, r in zip(outs, rs))).backward(retain_graph=True)
    rec = {
        'inputs': [{'shape': list(x.shape), 'data': short(x)} for x in xs],
        'outputs': [{'shape': list(o.shape), 'data': short(o)} for o in outs],
        'r': [short(r) for r in rs],
        'gradients': [short(x.grad) for x in xs],
    }
    if cam_layer:
        cls = int(outs[0][0].argmax())
        a = store['a']
        a.grad = None
        for x in xs:
            x.grad = None
        outs[0][0, cls].backward()
        rec['cam'] = {'layer': cam_layer, 'class': cls, 'shape': [1, *a.shape[2:]],
                      'data': short(grad_cam(a.detach(), a.grad.detach())[0])}
    return rec


def export(name, m, xs, opset=13, **kw):
    path = os.path.join(OUT, f'{name}.onnx')
    torch.onnx.export(m, tuple(xs), path, opset_version=opset, **kw)
    return path


def write(name, rec, path=None):
    if path is not None:
        rec['ops'] = sorted({n.op_type for n in onnx.load(path, load_external_data=False).graph.node})
    with open(os.path.join(OUT, f'{name}.json'), 'w') as f:
        json.dump(rec, f, separators=(',', ':'))


torch.manual_seed(0)
cnn = randomize_bn(Cnn()).eval()
x = torch.randn(1, 3, 10, 10)
for opset in (9, 11, 13, 15, 17):
    p = export(f'cnn_opset{opset}', cnn, [x], opset=opset, input_names=['input'], output_names=['logits'])
    write(f'cnn_opset{opset}', goldens(cnn, [x], 'block2'), p)

p = export('cnn_nofold', cnn, [x], do_constant_folding=False)
write('cnn_nofold', goldens(cnn, [x]), p)
p = export('cnn_initin', cnn, [x], keep_initializers_as_inputs=True)
write('cnn_initin', goldens(cnn, [x]), p)
p = export('cnn_eval', cnn, [x], training=torch.onnx.TrainingMode.EVAL)
write('cnn_eval', goldens(cnn, [x]), p)
train_cnn = randomize_bn(Cnn()).train()
p = export('cnn_preserve_train', train_cnn, [x], training=torch.onnx.TrainingMode.PRESERVE)
write('cnn_preserve_train', {}, p)

xb = torch.randn(3, 3, 10, 10)
p = export('cnn_dynbatch', cnn, [x], input_names=['input'], dynamic_axes={'input': {0: 'batch'}})
write('cnn_dynbatch', goldens(cnn, [xb]), p)
xhw = torch.randn(3, 3, 10, 13)
view_cnn = randomize_bn(Cnn(view=True)).eval()
p = export('cnn_dynhw', view_cnn, [x], input_names=['input'], dynamic_axes={'input': {0: 'batch', 2: 'h', 3: 'w'}})
write('cnn_dynhw', goldens(view_cnn, [xhw]), p)

# External data: every tensor in one file beside the model.
p = export('cnn_external', cnn, [x])
ext = onnx.load(p)
os.remove(p)
if os.path.exists(p + '.data'):
    os.remove(p + '.data')  # onnx appends to an existing data file
onnx.save_model(ext, p, save_as_external_data=True, all_tensors_to_one_file=True, location='cnn_external.onnx.data',
                size_threshold=0)
write('cnn_external', goldens(cnn, [x]), p)

# float16: every float initializer, Constant and graph input/output as float16 (what onnxconverter-common's
# convert_float_to_float16 writes with keep_io_types=False); the goldens are the float32 module's on the
# float16-rounded weights and input.
fp = onnx.load(os.path.join(OUT, 'cnn_opset13.onnx'))
for t in fp.graph.initializer:
    if t.data_type == TensorProto.FLOAT:
        t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))
for n in fp.graph.node:
    for a in n.attribute:
        if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.FLOAT:
            a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float16), a.t.name))
for v in list(fp.graph.input) + list(fp.graph.output) + list(fp.graph.value_info):
    if v.type.tensor_type.elem_type == TensorProto.FLOAT:
        v.type.tensor_type.elem_type = TensorProto.FLOAT16
onnx.checker.check_model(fp)
onnx.save(fp, os.path.join(OUT, 'cnn_fp16.onnx'))
# Its goldens are cnn_opset13's, to within float16's rounding of the weights.
write('cnn_fp16', {}, os.path.join(OUT, 'cnn_fp16.onnx'))

torch.manual_seed(1)
two = TwoIn().eval()
xi, xe = torch.randn(1, 3, 8, 8), torch.randn(1, 6)
p = export('two_in', two, [xi, xe], input_names=['image', 'extra'])
write('two_in', goldens(two, [xi, xe]), p)
tout = TwoOut().eval()
p = export('two_out', tout, [xi], input_names=['x'], output_names=['logits', 'features'])
write('two_out', goldens(tout, [xi]), p)
p = export('named_in', tout, [xi], input_names=['conv'], output_names=['fc'])
write('named_in', goldens(tout, [xi]), p)
nhwc = Nhwc().eval()
xn = torch.randn(1, 9, 7, 3)
p = export('nhwc', nhwc, [xn], input_names=['image'])
write('nhwc', goldens(nhwc, [xn]), p)
mlp = Mlp().eval()
xm = torch.randn(2, 10)
p = export('mlp', mlp, [xm], opset=17)
write('mlp', goldens(mlp, [xm]), p)
seq = randomize_bn(Seq1d()).eval()
with torch.no_grad():
    seq.bn.running_mean.uniform_(-0.5, 0.5)
    seq.bn.running_var.uniform_(0.5, 1.5)
xs1 = torch.randn(1, 4, 20)
p = export('seq1d', seq, [xs1])
write('seq1d', goldens(seq, [xs1]), p)

torch.manual_seed(2)
interp = Interp().eval()
xi2 = torch.randn(1, 3, 4, 5)
for opset in (9, 11, 13, 17):
    m, ref = interp, interp
    if opset == 9:
        m, ref = Interp(corners=False).eval(), Interp(corners=False, onnx9=True).eval()
        m.load_state_dict(interp.state_dict())
        ref.load_state_dict(interp.state_dict())
    p = export(f'interp_opset{opset}', m, [xi2], opset=opset)
    write(f'interp_opset{opset}', goldens(ref, [xi2]), p)

torch.manual_seed(3)
fops = Fops().eval()
xf = torch.randn(1, 3, 8, 10)
for opset in (13, 17):
    p = export(f'fops_opset{opset}', fops, [xf], opset=opset)
    write(f'fops_opset{opset}', goldens(fops, [xf]), p)

# contrib.onnx: the ops onnxruntime's optimisations write into a model it saves (com.microsoft FusedConv, Gelu,
# BiasGelu, FastGelu, QuickGelu, SkipLayerNormalization, FusedMatMul; SimplifiedLayerNormalization and
# LayerNormalization in the default domain at opset 13), built with onnx.helper; the goldens are the same equations
# in torch.
from onnx import helper  # noqa: E402

torch.manual_seed(4)
P = {
    'w': torch.randn(4, 3, 3, 3) * 0.3, 'b': torch.randn(4) * 0.1, 'z': torch.randn(1, 4, 4, 4) * 0.5,
    'bias': torch.randn(4, 1, 1) * 0.2, 'fbias': torch.randn(4, 1, 1) * 0.2, 'skip': torch.randn(16, 4),
    'gamma': torch.rand(4) + 0.5, 'beta': torch.randn(4) * 0.1, 'sbias': torch.randn(4) * 0.1,
    'm': torch.randn(6, 4) * 0.5, 'rms': torch.rand(6) + 0.5, 'gamma2': torch.rand(6) + 0.5, 'beta2': torch.randn(6) * 0.1,
}


def contrib_torch(x):
    y = F.leaky_relu(F.conv2d(x, P['w'], P['b'], padding=1, stride=2) + P['z'], 0.1)
    y = F.gelu(y)
    y = F.gelu(y + P['bias'])
    y = F.gelu(y + P['fbias'], approximate='tanh')
    y = y * torch.sigmoid(1.5 * y)
    y = y.reshape(1, 4, 16).transpose(1, 2)  # [1, 16, 4]
    s = y + P['skip'] + P['sbias']
    y = F.layer_norm(s, (4,), P['gamma'], P['beta'], eps=1e-5)
    y = 0.5 * torch.matmul(y, P['m'].t())  # [1, 16, 6]
    y = y / torch.sqrt((y * y).mean(-1, keepdim=True) + 1e-6) * P['rms']
    return F.layer_norm(y, (6,), P['gamma2'], P['beta2'], eps=1e-5) + s.sum(-1, keepdim=True)


def init(name):
    return numpy_helper.from_array(P[name].numpy(), name)


ms = 'com.microsoft'
nodes = [
    helper.make_node('FusedConv', ['x', 'w', 'b', 'z'], ['c'], 'fused_conv', domain=ms, kernel_shape=[3, 3],
                     pads=[1, 1, 1, 1], strides=[2, 2], activation='LeakyRelu', activation_params=[0.1]),
    helper.make_node('Gelu', ['c'], ['g1'], 'gelu', domain=ms),
    helper.make_node('BiasGelu', ['g1', 'bias'], ['g2'], 'bias_gelu', domain=ms),
    helper.make_node('FastGelu', ['g2', 'fbias'], ['g3'], 'fast_gelu', domain=ms),
    helper.make_node('QuickGelu', ['g3'], ['g4'], 'quick_gelu', domain=ms, alpha=1.5),
    helper.make_node('Reshape', ['g4', 'shape'], ['r'], 'reshape'),
    helper.make_node('Transpose', ['r'], ['tr'], 'transpose', perm=[0, 2, 1]),
    helper.make_node('SkipLayerNormalization', ['tr', 'skip', 'gamma', 'beta', 'sbias'], ['ln', '', '', 'sum'],
                     'skip_ln', domain=ms, epsilon=1e-5),
    helper.make_node('FusedMatMul', ['ln', 'm'], ['mm'], 'fused_matmul', domain=ms, transB=1, alpha=0.5),
    helper.make_node('SimplifiedLayerNormalization', ['mm', 'rms'], ['rn'], 'rms_norm', axis=-1, epsilon=1e-6),
    helper.make_node('LayerNormalization', ['rn', 'gamma2', 'beta2'], ['ln2'], 'layer_norm', axis=-1, epsilon=1e-5),
    helper.make_node('ReduceSum', ['sum', 'last'], ['ssum'], 'sum_skip', keepdims=1),
    helper.make_node('Add', ['ln2', 'ssum'], ['y'], 'out'),
]
graph = helper.make_graph(
    nodes, 'contrib', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 3, 8, 8])],
    [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 16, 6])],
    [init(k) for k in P] + [numpy_helper.from_array(np.array([1, 4, 16], dtype=np.int64), 'shape'),
                            numpy_helper.from_array(np.array([-1], dtype=np.int64), 'last')])
cm = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13), helper.make_opsetid(ms, 1)])
cm.ir_version = 8
onnx.save(cm, os.path.join(OUT, 'contrib.onnx'))
xc = torch.randn(1, 3, 8, 8)
# In float64: torch 1.13's float32 backward of this chain gave values that changed from run to run.
P = {k: v.double() for k, v in P.items()}
rec = goldens(contrib_torch, [xc.double()])
rec['ops'] = sorted({n.op_type for n in nodes})
write('contrib', rec)

# Every module a model-local function (FunctionProto) the graph calls, nested as the modules are. torch orders the
# functions, and numbers their nodes, differently from run to run: the file changes, its goldens do not.
p = export('cnn_functions', cnn, [x], opset=15, export_modules_as_functions=True)
write('cnn_functions', goldens(cnn, [x], 'block2'), p)

# model.double(): a float64 graph, fed float32 by the test (the importer casts to the input's declared type).
cnn64 = copy.deepcopy(cnn).double()
p = export('cnn_f64', cnn64, [x.double()])
write('cnn_f64', goldens(cnn64, [x.double()]), p)


class Tokens(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 6)
        self.fc = nn.Linear(6, 3)

    def forward(self, ids):
        return self.fc(self.emb(ids).mean(1))


# token ids: an INT64 input, which has no gradient (refused with the way around it).
tokens, ids = Tokens().eval(), torch.tensor([[1, 5, 7, 19, 0]])
p = export('tokens', tokens, [ids], input_names=['ids'])
write('tokens', {'ids': ids.flatten().tolist(), 'output': short(tokens(ids))}, p)
