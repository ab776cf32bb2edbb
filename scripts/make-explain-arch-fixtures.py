#!/usr/bin/python3
"""Golden maps of the explain methods on the nn package's torchvision architectures (GitHub issue 6).

Run with Debian's python3 (torch 1.13, torchvision 0.14):  /usr/bin/python3 scripts/make-explain-arch-fixtures.py

The models are the width-reduced torchvision architectures of scripts/make-nn-fixtures.py, built by
its own builders and loaded from its random-weight state dicts (packages/nn/test/fixtures/*.pth,
BatchNorm statistics randomised there, eval mode). There is no plain vgg16 among those, so vgg16
(widthDivisor 64, biases moved away from 0) is saved here as arch/vgg16.pth.

Each method is written from its paper, on one 1×3×64×64 input and the model's top-1 class:
vanilla gradient, guided backprop (every nn.ReLU / nn.ReLU6 module swapped for a module whose backward
rule is switched globally: no hooks), Grad-CAM (map and bilinear upsampling), guided Grad-CAM,
Grad-CAM++, Layer-CAM, integrated gradients (zero baseline, right Riemann sum) and LRP-ε
(Montavon et al. 2019) as an explicit layer-by-layer walk over the modules:
  conv / linear  R_in = x ⊙ Wᵀ(R / (z + ε·sign z)), ε = 0.25 (gradlens's 'epsilon' preset)
  BatchNorm      y = x·scale + shift (eval): the product keeps its relevance, the sum splits in
                 proportion, so R_in = x·scale ⊙ R / (y + ε₀·sign y), ε₀ = 1e-9
  residual add   each operand takes its share: R_a = a ⊙ R / (a + b + ε₀·sign)
  max pool       winner takes all; average pools proportional (ε₀); concat splits by channels;
  ReLU, ReLU6, Dropout, flatten pass relevance through.
Everything runs in float32 as the TypeScript side, except LRP (float64: see main).
Writes packages/explain/test/fixtures/arch/{vgg16.pth, squeezenet1_1.pth, expected.npz,
models.json}; the other
weights are read from packages/nn/test/fixtures.
"""
import copy
import importlib.util
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models import mobilenetv2, resnet, squeezenet

from fixture_common import MODE, grad_cam, grad_cam_pp, input_grad, layer_and_grad, one_hot, upsample

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..')
OUT = os.path.join(ROOT, 'packages', 'explain', 'test', 'fixtures', 'arch')
NN_FIX = os.path.join(ROOT, 'packages', 'nn', 'test', 'fixtures')


def load_script(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


nnfix = load_script('make_nn_fixtures', 'make-nn-fixtures.py')

IG_STEPS = 8
LRP_EPS = 0.25  # conv and linear layers of gradlens's 'epsilon' composite
EPS0 = 1e-9  # parameter-free ops (pools, sums, residual additions, batch norm's shift)


class RuleClamp(torch.autograd.Function):
    """ReLU (hi None) or ReLU6 (hi 6) whose backward follows MODE: torch's own mask, or guided."""

    @staticmethod
    def forward(ctx, x, hi):
        ctx.save_for_backward(x)
        ctx.hi = hi
        return x.clamp(min=0) if hi is None else x.clamp(0, hi)

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        mask = x > 0
        if ctx.hi is not None:
            mask = mask & (x < ctx.hi)  # hardtanh_backward: 0 at and beyond the bounds
        if MODE['rule'] == 'guided':
            dy = dy.clamp(min=0)
        return dy * mask.to(dy.dtype), None


class RuleAct(nn.Module):
    def __init__(self, hi=None):
        super().__init__()
        self.hi = hi

    def forward(self, x):
        return RuleClamp.apply(x, self.hi)


def swap_activations(model):
    """Every nn.ReLU / nn.ReLU6 module (these architectures have no functional ones) → RuleAct."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.ReLU6):
                setattr(parent, name, RuleAct(6.0))
            elif isinstance(child, nn.ReLU):
                setattr(parent, name, RuleAct())
    return model


def with_nn_weights(name, build):
    m = build()
    m.load_state_dict(torch.load(os.path.join(NN_FIX, f'{name}.pth')))
    return m


def make_vgg16():
    torch.manual_seed(16)
    m = nnfix.make_vgg('D', False, 64)
    with torch.no_grad():
        for p in m.parameters():
            if p.dim() == 1:
                p.uniform_(-0.2, 0.2)
    torch.save(m.state_dict(), os.path.join(OUT, 'vgg16.pth'))
    return m


def make_squeezenet1_1():
    """Own weights: when this fixture was made, the nn fixture's squeezenet1_1.pth had a dead Fire
    (features.6: every squeeze unit < 0 for any input), so every input map would have been 0. The nn
    fixture has since been remade alive (seeded He init); these weights are kept so the goldens stay."""
    torch.manual_seed(0)
    m = nnfix.make_squeezenet('1_1', 8)
    torch.save(m.state_dict(), os.path.join(OUT, 'squeezenet1_1.pth'))
    return m


# name → (model, TS options, weights path relative to the repository root, CAM layer)
def models():
    return {
        'vgg16': (make_vgg16(), {'widthDivisor': 64}, 'packages/explain/test/fixtures/arch/vgg16.pth', 'features.29'),
        'resnet18': (with_nn_weights('resnet18', lambda: nnfix.SlimResNet(resnet.BasicBlock, [2, 2, 2, 2], 16)),
                     {'widthDivisor': 16}, 'packages/nn/test/fixtures/resnet18.pth', 'layer4'),
        'alexnet': (with_nn_weights('alexnet', lambda: nnfix.make_alexnet(32)),
                    {'widthDivisor': 32}, 'packages/nn/test/fixtures/alexnet.pth', 'features.11'),
        'squeezenet1_1': (make_squeezenet1_1(), {'widthDivisor': 8}, 'packages/explain/test/fixtures/arch/squeezenet1_1.pth', 'features'),
        'mobilenet_v2': (with_nn_weights('mobilenet_v2', lambda: mobilenetv2.MobileNetV2(num_classes=10, width_mult=0.1, round_nearest=2)),
                         {'widthMult': 0.1, 'roundNearest': 2}, 'packages/nn/test/fixtures/mobilenet_v2.pth', 'features'),
    }


# ---------------------------------------------------------------- gradient methods

def integrated_gradients(model, x, classes, steps):
    """Zero baseline, right Riemann sum: x ⊙ Σₖ₌₁..ₘ ∇F(k/m · x) / m."""
    total = torch.zeros_like(x)
    for k in range(steps):
        total += input_grad(model, (k + 1) / steps * x, classes) / steps
    return x * total


# ---------------------------------------------------------------- LRP-ε, layer by layer

def stab(z, eps):
    return z + eps * torch.where(z >= 0, torch.ones_like(z), -torch.ones_like(z))


def transpose_of(fn, x, s):
    """Wᵀs for a linear map fn of x (autograd of Σ fn(x)·s)."""
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(x), x, s)
    return g


def eps_layer(x, R, fn_with_bias, fn_without_bias):
    """ε-rule with z including the bias; the transpose is the bias-free map's."""
    with torch.no_grad():
        z = fn_with_bias(x)
    s = R / stab(z, LRP_EPS)
    return x * transpose_of(fn_without_bias, x, s)


def proportional(fn, x, R):
    with torch.no_grad():
        z = fn(x)
    return x * transpose_of(fn, x, R / stab(z, EPS0))


def seq_forward(mods, x):
    acts = [x]
    with torch.no_grad():
        for m in mods:
            acts.append(m(acts[-1]))
    return acts


def rel_seq(mods, x, R):
    acts = seq_forward(mods, x)
    for i in range(len(mods) - 1, -1, -1):
        R = rel(mods[i], acts[i], R)
    return R


def rel(m, x, R):
    """Relevance of module m's input x, given the relevance R of its output."""
    if isinstance(m, nn.Sequential):
        return rel_seq(list(m), x, R)
    if isinstance(m, nn.Conv2d):
        conv = lambda b: (lambda t: F.conv2d(t, m.weight, b, m.stride, m.padding, m.dilation, m.groups))
        return eps_layer(x, R, conv(m.bias), conv(None))
    if isinstance(m, nn.Linear):
        return eps_layer(x, R, lambda t: F.linear(t, m.weight, m.bias), lambda t: F.linear(t, m.weight))
    if isinstance(m, (RuleAct, nn.Dropout, nn.Identity)):
        return R
    if isinstance(m, nn.Flatten):
        return R.reshape(x.shape)
    if isinstance(m, nn.BatchNorm2d):
        scale = m.weight / torch.sqrt(m.running_var + m.eps)
        shift = m.bias - m.running_mean * scale
        with torch.no_grad():
            xs = x * scale[None, :, None, None]
            y = xs + shift[None, :, None, None]
        return xs * R / stab(y, EPS0)
    if isinstance(m, nn.MaxPool2d):  # winner takes all: R routed to each window's arg max
        return transpose_of(m, x, R)
    if isinstance(m, (nn.AvgPool2d, nn.AdaptiveAvgPool2d)):
        return proportional(m, x, R)
    if isinstance(m, resnet.BasicBlock):
        main = [m.conv1, m.bn1, m.relu, m.conv2, m.bn2]
        with torch.no_grad():
            a = seq_forward(main, x)[-1]
            b = m.downsample(x) if m.downsample is not None else x
        s = R / stab(a + b, EPS0)  # R of the sum = R of relu(sum): the ReLU passes it through
        rb = b * s
        rx = rel_seq(main, x, a * s)
        return rx + (rel(m.downsample, x, rb) if m.downsample is not None else rb)
    if isinstance(m, squeezenet.Fire):
        with torch.no_grad():
            sq = m.squeeze_activation(m.squeeze(x))
        c1 = m.expand1x1.out_channels
        r_sq = rel_seq([m.expand1x1, m.expand1x1_activation], sq, R[:, :c1]) + rel_seq([m.expand3x3, m.expand3x3_activation], sq, R[:, c1:])
        return rel_seq([m.squeeze, m.squeeze_activation], x, r_sq)
    if isinstance(m, mobilenetv2.InvertedResidual):
        if not m.use_res_connect:
            return rel(m.conv, x, R)
        with torch.no_grad():
            y = m.conv(x)
        s = R / stab(x + y, EPS0)
        return x * s + rel(m.conv, x, y * s)
    raise TypeError(f'no LRP rule for {type(m).__name__}')


def top_level(name, model):
    """The model's forward pass as a module list."""
    if name == 'resnet18':
        return [model.conv1, model.bn1, model.relu, model.maxpool, model.layer1, model.layer2, model.layer3, model.layer4,
                model.avgpool, nn.Flatten(1), model.fc]
    if name == 'squeezenet1_1':
        return [model.features, model.classifier, nn.Flatten(1)]
    if name == 'mobilenet_v2':
        return [model.features, nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(1), model.classifier]
    return [model.features, model.avgpool, nn.Flatten(1), model.classifier]  # vgg16, alexnet


def lrp_epsilon(name, model, x, classes):
    mods = top_level(name, model)
    acts = seq_forward(mods, x)
    with torch.no_grad():
        assert torch.allclose(acts[-1], model(x), rtol=1e-5, atol=1e-6), f'{name}: the module list is not the forward pass'
    R = acts[-1] * one_hot(acts[-1], classes)
    for i in range(len(mods) - 1, -1, -1):
        R = rel(mods[i], acts[i], R)
    return R


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(606)
    x = torch.rand(1, 3, 64, 64, generator=g) * 2 - 1
    e = {'x': x}
    manifest = {}
    for name, (model, options, weights, layer) in models().items():
        model = swap_activations(model.eval())
        with torch.no_grad():
            logits = model(x)
        classes = logits.argmax(1).tolist()
        e[f'{name}.logits'] = logits
        manifest[name] = {'options': options, 'weights': weights, 'layer': layer}
        e[f'{name}.target'] = torch.tensor(classes, dtype=torch.int32)
        e[f'{name}.vanilla'] = input_grad(model, x, classes)
        e[f'{name}.guided'] = input_grad(model, x, classes, 'guided')
        a, gr, _ = layer_and_grad(model, layer, x, classes)
        e[f'{name}.gradcam'], _ = grad_cam(a, gr)
        e[f'{name}.gradcam_up'] = upsample(e[f'{name}.gradcam'], x.shape[2:])
        # Guided Grad-CAM = guided ⊙ gradcam_up: the test forms it from those two (not stored, to keep the fixture small).
        e[f'{name}.gradcampp'], _ = grad_cam_pp(a, gr)
        e[f'{name}.layercam'] = F.relu((F.relu(gr) * a).sum(1))
        e[f'{name}.ig'] = integrated_gradients(model, x, classes, IG_STEPS)
        # LRP in float64: ε·sign(z) over ~50 layers loses ~5e-5 (relative) in float32 on MobileNetV2,
        # so a float32 reference would measure torch's rounding rather than gradlens's.
        e[f'{name}.lrp'] = lrp_epsilon(name, copy.deepcopy(model).double(), x.double(), classes)
        for k in ('vanilla', 'guided', 'gradcam', 'ig', 'lrp'):
            assert e[f'{name}.{k}'].abs().max() > 0, f'{name}: {k} is 0 everywhere (a dead layer?)'
        stats = ' '.join(f'{k.split(".", 1)[1]}:{float(e[k].abs().max()):.2g}/{float((e[k] != 0).float().mean()):.2f}'
                         for k in e if k.startswith(name + '.') and k.split('.', 1)[1] not in ('target', 'logits'))
        print(f'{name} ({weights}, {options}, {layer} {tuple(a.shape)}) class {classes}: max/nonzero {stats}')
    with open(os.path.join(OUT, 'models.json'), 'w') as f:
        json.dump({'igSteps': IG_STEPS, 'models': manifest}, f, indent=1)
    np.savez(os.path.join(OUT, 'expected.npz'), **{k: (v.detach().numpy() if v.dtype == torch.int32 else v.detach().numpy().astype(np.float32)) for k, v in e.items()})
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f'wrote {OUT}: {total / 1e6:.2f} MB')


if __name__ == '__main__':
    main()
