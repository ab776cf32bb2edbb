#!/usr/bin/env python3
"""Writes the PyTorch golden values that packages/tensor/test/golden*.test.ts read.

Run with Debian's python3 (python3-torch 1.13):
    /usr/bin/python3 scripts/make-tensor-fixtures.py
CI never runs this; the JSON files under packages/tensor/test/fixtures/ are committed.

Each file holds {"torch": version, "cases": [case, ...]} where a case is
    {"name", "op"           gradlens function name (conv2d, maxPool2d, crossEntropy, ...)
     "attrs"                that function's options, in gradlens naming (camelCase)
     "inputs": [{"name", "dtype", "shape", "data", "grad"}]   float inputs are float32 values
     "out":    {"dtype", "shape", "data"}                     the forward output
     "R":      {...}        fixed random float32 tensor of the output's shape
     "grads":  {name: {...}} d sum(out * R) / d input, for every input with "grad": true
     "extras": {name: {...}}} other results (batch-norm running statistics after the step)
Inputs are drawn in float32; the reference is computed in float64 from those exact float32 values,
so the same fixture checks gradlens in float32 (its rounding error) and in float64 (its formulas).
Random float inputs have 4 significant digits (then rounded to float32) and are written as the shortest
text that reads back as the same float32; float64 results are written with 10 significant digits.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'packages', 'tensor', 'test', 'fixtures')
GEN = torch.Generator().manual_seed(20240601)
DTYPES = {torch.float32: 'float32', torch.float64: 'float64', torch.int64: 'int32', torch.int32: 'int32', torch.bool: 'bool'}


def short(t):
    """float32 values with 4 significant digits, so that the fixtures stay small."""
    mag = torch.floor(torch.log10(t.abs().clamp_min(1e-30)))
    q = 10.0 ** (3 - mag)
    return (torch.round(t * q) / q).float()


def randn(*shape, scale=1.0, offset=0.0):
    return short(torch.randn(tuple(shape), generator=GEN, dtype=torch.float64) * scale + offset)


def uniform(lo, hi, *shape):
    return short(torch.rand(tuple(shape), generator=GEN, dtype=torch.float64) * (hi - lo) + lo)


def randint(lo, hi, *shape):
    return torch.randint(lo, hi, shape, generator=GEN)


def away_from_zero(*shape, lo=0.3, hi=2.0):
    """Values with |v| in [lo, hi] and random signs (for abs, div, ...)."""
    sign = torch.where(torch.rand(tuple(shape), generator=GEN) < 0.5, -1.0, 1.0).double()
    return (uniform(lo, hi, *shape).double() * sign).float()


def enc(t, digits):
    t = t.detach()
    flat = t.reshape(-1).tolist()
    if t.dtype == torch.float32:
        data = [float(str(np.float32(v))) for v in flat]  # shortest text that reads back as the same float32
    elif t.is_floating_point():
        data = [float(f'{v:.{digits}g}') for v in flat]
    elif t.dtype == torch.bool:
        data = [1 if v else 0 for v in flat]
    else:
        data = [int(v) for v in flat]
    return {'dtype': DTYPES[t.dtype], 'shape': list(t.shape), 'data': data}


FAMILIES = {}


def case(family, name, op, inputs, attrs, fn):
    """inputs: list of (name, tensor) or (name, tensor, grad); float tensors must be float32."""
    specs, ref = [], []
    for item in inputs:
        iname, t = item[0], item[1]
        want_grad = item[2] if len(item) > 2 else t.is_floating_point()
        if t.is_floating_point():
            assert t.dtype == torch.float32, name
            r = t.double().clone().requires_grad_(want_grad)
        else:
            want_grad = False
            r = t.clone()
        specs.append({'name': iname, **enc(t, 9), 'grad': want_grad})
        ref.append(r)
    result = fn(*ref)
    extras = {}
    if isinstance(result, tuple):
        result, extras = result
    rec = {'name': name, 'op': op, 'attrs': attrs, 'inputs': specs, 'out': enc(result, 10)}
    wrt = [r for r, s in zip(ref, specs) if s['grad']]
    if result.is_floating_point() and wrt:
        R = randn(*result.shape)
        grads = torch.autograd.grad((result * R.double()).sum(), wrt, allow_unused=True)
        rec['R'] = enc(R, 9)
        names = [s['name'] for s in specs if s['grad']]
        rec['grads'] = {n: enc(g if g is not None else torch.zeros_like(w), 10) for n, g, w in zip(names, grads, wrt)}
    if extras:
        rec['extras'] = {k: enc(v, 10) for k, v in extras.items()}
    FAMILIES.setdefault(family, []).append(rec)


def conv_cases():
    def conv(name, xs, ws, bias, **attrs):
        inputs = [('x', randn(*xs)), ('weight', randn(*ws, scale=0.5))]
        if bias:
            inputs.append(('bias', randn(ws[0])))
        case('conv', name, 'conv2d', inputs, attrs,
             lambda x, w, b=None: F.conv2d(x, w, b, attrs.get('stride', 1), attrs.get('padding', 0),
                                           attrs.get('dilation', 1), attrs.get('groups', 1)))

    conv('basic 3x3 with bias', [2, 3, 5, 4], [4, 3, 3, 3], True)
    conv('stride 2 padding 1 no bias', [1, 3, 7, 6], [4, 3, 3, 3], False, stride=2, padding=1)
    conv('non-square kernel, per-axis stride/padding/dilation', [1, 2, 7, 8], [3, 2, 3, 2], True,
         stride=[2, 1], padding=[2, 0], dilation=[1, 2])
    conv('dilation 2 padding 2', [1, 2, 7, 8], [2, 2, 3, 3], False, padding=2, dilation=2)
    conv('groups 2 padding 1', [1, 4, 5, 5], [6, 2, 3, 3], True, padding=1, groups=2)
    conv('depthwise stride 2', [1, 4, 6, 6], [4, 1, 3, 3], True, stride=2, padding=1, groups=4)
    conv('depthwise multiplier 2 (odd size)', [1, 3, 5, 7], [6, 1, 3, 3], False, groups=3)
    conv('1x1 conv', [2, 5, 4, 3], [3, 5, 1, 1], True)
    conv('padding larger than the kernel half', [1, 2, 4, 5], [2, 2, 3, 3], True, padding=[3, 2])
    conv('non-square kernel 2x5 stride [1, 3]', [1, 3, 5, 9], [4, 3, 2, 5], True, stride=[1, 3], padding=[1, 2])
    conv('kernel covers the whole input', [2, 2, 4, 4], [3, 2, 4, 4], True)
    conv('odd sizes, stride 3, dilation [1, 2]', [1, 3, 11, 7], [2, 3, 5, 3], True, stride=3, padding=[2, 1], dilation=[1, 2])
    conv('groups 2, stride 2, dilation 2, padding 3', [1, 4, 8, 7], [4, 2, 3, 2], False,
         stride=2, padding=3, dilation=2, groups=2)
    conv('stride larger than the kernel', [1, 2, 9, 8], [2, 2, 2, 2], True, stride=[3, 4])


def pool_cases():
    def maxp(name, xs, **attrs):
        torch_attrs = dict(kernel_size=attrs['kernelSize'], stride=attrs.get('stride'), padding=attrs.get('padding', 0),
                           dilation=attrs.get('dilation', 1), ceil_mode=attrs.get('ceilMode', False))
        case('pool', name, 'maxPool2d', [('x', randn(*xs))], attrs, lambda x: F.max_pool2d(x, **torch_attrs))

    maxp('kernel 2', [2, 2, 6, 6], kernelSize=2)
    maxp('kernel 3 stride 2 padding 1', [1, 2, 7, 7], kernelSize=3, stride=2, padding=1)
    maxp('kernel 3 stride 2 ceil', [1, 2, 8, 8], kernelSize=3, stride=2, ceilMode=True)
    maxp('non-square, padding, ceil', [1, 2, 7, 9], kernelSize=[2, 3], stride=[2, 1], padding=[1, 1], ceilMode=True)
    maxp('dilation 2 padding 1', [1, 2, 8, 7], kernelSize=3, stride=1, padding=1, dilation=2)
    maxp('dilation [2, 1], ceil', [1, 2, 9, 8], kernelSize=[2, 3], stride=[1, 2], dilation=[2, 1], ceilMode=True)
    maxp('ceil drops a window that starts in the padding', [1, 1, 5, 5], kernelSize=2, stride=2, padding=1, ceilMode=True)
    maxp('3-D input [C, H, W]', [2, 5, 5], kernelSize=2)
    maxp('stride 1 overlapping windows', [1, 2, 5, 6], kernelSize=[3, 2], stride=1)

    def avgp(name, xs, **attrs):
        torch_attrs = dict(kernel_size=attrs['kernelSize'], stride=attrs.get('stride'), padding=attrs.get('padding', 0),
                           ceil_mode=attrs.get('ceilMode', False), count_include_pad=attrs.get('countIncludePad', True),
                           divisor_override=attrs.get('divisorOverride'))
        case('pool', name, 'avgPool2d', [('x', randn(*xs))], attrs, lambda x: F.avg_pool2d(x, **torch_attrs))

    avgp('kernel 2', [2, 2, 6, 6], kernelSize=2)
    avgp('kernel 3 stride 2 padding 1 count_include_pad', [1, 2, 7, 7], kernelSize=3, stride=2, padding=1, countIncludePad=True)
    avgp('kernel 3 stride 2 padding 1 exclude pad', [1, 2, 7, 7], kernelSize=3, stride=2, padding=1, countIncludePad=False)
    avgp('ceil, padding, count_include_pad', [1, 2, 8, 8], kernelSize=3, stride=2, padding=1, ceilMode=True, countIncludePad=True)
    avgp('ceil, non-square, exclude pad', [1, 2, 7, 6], kernelSize=[3, 2], stride=2, padding=1, ceilMode=True, countIncludePad=False)
    avgp('ceil without padding', [1, 2, 7, 5], kernelSize=2, stride=2, ceilMode=True)
    avgp('divisor_override 3', [1, 2, 5, 5], kernelSize=2, padding=1, divisorOverride=3)
    avgp('non-square stride', [1, 2, 5, 10], kernelSize=[2, 4], stride=[1, 3])
    avgp('3-D input [C, H, W]', [2, 6, 4], kernelSize=[3, 2])

    def adaptive(name, op, xs, out):
        fn = F.adaptive_avg_pool2d if op == 'adaptiveAvgPool2d' else F.adaptive_max_pool2d
        torch_out = out if isinstance(out, int) else tuple(out)
        case('pool', name, op, [('x', randn(*xs))], {'outputSize': out}, lambda x: fn(x, torch_out))

    adaptive('divisible', 'adaptiveAvgPool2d', [2, 2, 6, 4], [3, 2])
    adaptive('non-divisible', 'adaptiveAvgPool2d', [2, 2, 7, 5], [3, 2])
    adaptive('non-divisible 10x7 to 4x3', 'adaptiveAvgPool2d', [1, 2, 10, 7], [4, 3])
    adaptive('global', 'adaptiveAvgPool2d', [2, 2, 5, 6], 1)
    adaptive('None keeps a size', 'adaptiveAvgPool2d', [1, 2, 5, 7], [None, 3])
    adaptive('output larger than input', 'adaptiveAvgPool2d', [1, 2, 3, 3], [5, 4])
    adaptive('divisible', 'adaptiveMaxPool2d', [2, 2, 6, 4], [3, 2])
    adaptive('non-divisible', 'adaptiveMaxPool2d', [2, 2, 7, 5], [3, 2])
    adaptive('non-divisible 9x11 to 4x5', 'adaptiveMaxPool2d', [1, 2, 9, 11], [4, 5])
    adaptive('global', 'adaptiveMaxPool2d', [2, 2, 5, 6], 1)
    adaptive('output larger than input', 'adaptiveMaxPool2d', [1, 2, 3, 4], [5, 6])


def resize_cases():
    def interp(name, xs, **attrs):
        size = attrs.get('size')
        sf = attrs.get('scaleFactor')
        torch_attrs = dict(size=tuple(size) if isinstance(size, list) else size,
                           scale_factor=tuple(sf) if isinstance(sf, list) else sf,
                           mode=attrs['mode'])
        if attrs['mode'] == 'bilinear':
            torch_attrs['align_corners'] = attrs.get('alignCorners', False)
        case('resize', name, 'interpolate', [('x', randn(*xs))], attrs, lambda x: F.interpolate(x, **torch_attrs))

    interp('nearest size up', [1, 2, 4, 5], size=[9, 7], mode='nearest')
    interp('nearest scale 2', [2, 1, 3, 4], scaleFactor=2, mode='nearest')
    interp('nearest scale 1.7', [1, 2, 5, 4], scaleFactor=1.7, mode='nearest')
    interp('nearest scale 0.6 (down)', [1, 2, 7, 9], scaleFactor=0.6, mode='nearest')
    interp('nearest size down', [1, 2, 7, 9], size=[3, 4], mode='nearest')
    interp('nearest scale [1.5, 0.5]', [1, 2, 4, 8], scaleFactor=[1.5, 0.5], mode='nearest')
    interp('nearest scale 3 (integer)', [1, 1, 3, 2], scaleFactor=3, mode='nearest')
    for ac in (False, True):
        tag = 'align_corners' if ac else 'half-pixel'
        interp(f'bilinear {tag} size up', [1, 2, 4, 5], size=[9, 7], mode='bilinear', alignCorners=ac)
        interp(f'bilinear {tag} size down', [1, 2, 8, 9], size=[3, 5], mode='bilinear', alignCorners=ac)
        interp(f'bilinear {tag} scale 2', [2, 1, 3, 4], scaleFactor=2, mode='bilinear', alignCorners=ac)
        interp(f'bilinear {tag} scale 1.7', [1, 2, 5, 4], scaleFactor=1.7, mode='bilinear', alignCorners=ac)
        interp(f'bilinear {tag} scale 0.6', [1, 2, 7, 9], scaleFactor=0.6, mode='bilinear', alignCorners=ac)
        interp(f'bilinear {tag} scale [2.5, 1.3]', [1, 1, 3, 5], scaleFactor=[2.5, 1.3], mode='bilinear', alignCorners=ac)
    interp('bilinear to 1x1', [1, 2, 4, 5], size=[1, 1], mode='bilinear', alignCorners=True)


def norm_cases():
    def bn(name, xs, training, running, affine, momentum=0.1, eps=1e-5):
        c = xs[1]
        inputs = [('x', randn(*xs, scale=2.0, offset=0.5))]
        if running:
            inputs += [('runningMean', randn(c, scale=0.3), False), ('runningVar', uniform(0.5, 2.0, c), False)]
        if affine:
            inputs += [('weight', randn(c, scale=0.5, offset=1.0)), ('bias', randn(c, scale=0.5))]
        attrs = {'training': training, 'momentum': momentum, 'eps': eps}

        def fn(x, *rest):
            rest = list(rest)
            rm, rv = (rest.pop(0), rest.pop(0)) if running else (None, None)
            w, b = (rest[0], rest[1]) if affine else (None, None)
            y = F.batch_norm(x, rm, rv, w, b, training, momentum, eps)
            return (y, {'runningMean': rm, 'runningVar': rv}) if running and training else y
        case('norm', name, 'batchNorm', inputs, attrs, fn)

    bn('training, running stats, affine [N,C,H,W]', [3, 3, 4, 4], True, True, True)
    bn('training, momentum 0.3, eps 1e-3, 2-D, no affine', [6, 4], True, True, False, momentum=0.3, eps=1e-3)
    bn('training without running stats', [2, 3, 3, 3], True, False, True)
    bn('eval with running stats, affine', [2, 3, 4, 5], False, True, True)
    bn('eval 3-D [N,C,L]', [4, 3, 5], False, True, False)


def activation_cases():
    x = randn(3, 4, 5)
    for dim in (0, 1, 2, -1):
        case('activation', f'softmax dim {dim}', 'softmax', [('x', x)], {'dim': dim}, lambda t, d=dim: F.softmax(t, d))
        case('activation', f'logSoftmax dim {dim}', 'logSoftmax', [('x', x)], {'dim': dim}, lambda t, d=dim: F.log_softmax(t, d))
    # Logits near 100: exp overflows float32 unless the maximum is subtracted first.
    big = randn(2, 7, scale=3.0, offset=100.0)
    case('activation', 'softmax large logits', 'softmax', [('x', big)], {'dim': 1}, lambda t: F.softmax(t, 1))
    case('activation', 'logSoftmax large logits', 'logSoftmax', [('x', big)], {'dim': 1}, lambda t: F.log_softmax(t, 1))
    neg_big = randn(3, 5, scale=3.0, offset=-100.0)
    case('activation', 'softmax very negative logits', 'softmax', [('x', neg_big)], {'dim': 0}, lambda t: F.softmax(t, 0))
    case('activation', 'logSoftmax very negative logits', 'logSoftmax', [('x', neg_big)], {'dim': 0}, lambda t: F.log_softmax(t, 0))


def loss_cases():
    n, c = 6, 4
    logits = randn(n, c, scale=1.5)
    target = randint(0, c, n)
    target[1] = 1
    target[4] = 1
    weight = uniform(0.2, 2.0, c)
    for red in ('mean', 'sum', 'none'):
        case('loss', f'crossEntropy {red}', 'crossEntropy', [('input', logits), ('target', target)], {'reduction': red},
             lambda x, t, r=red: F.cross_entropy(x, t, reduction=r))
        case('loss', f'crossEntropy weight {red}', 'crossEntropy', [('input', logits), ('target', target), ('weight', weight, False)],
             {'reduction': red}, lambda x, t, w, r=red: F.cross_entropy(x, t, weight=w, reduction=r))
        case('loss', f'crossEntropy weight ignoreIndex=1 {red}', 'crossEntropy',
             [('input', logits), ('target', target), ('weight', weight, False)], {'reduction': red, 'ignoreIndex': 1},
             lambda x, t, w, r=red: F.cross_entropy(x, t, weight=w, reduction=r, ignore_index=1))
    t100 = target.clone()
    t100[2] = -100
    case('loss', 'crossEntropy default ignoreIndex -100', 'crossEntropy', [('input', logits), ('target', t100)], {},
         lambda x, t: F.cross_entropy(x, t))
    probs = F.softmax(randn(n, c, scale=2.0).double(), 1).float()
    for red in ('mean', 'sum', 'none'):
        case('loss', f'crossEntropy probability targets {red}', 'crossEntropy', [('input', logits), ('target', probs, False)],
             {'reduction': red}, lambda x, t, r=red: F.cross_entropy(x, t, reduction=r))
    case('loss', 'crossEntropy probability targets with weight', 'crossEntropy',
         [('input', logits), ('target', probs, False), ('weight', weight, False)], {'reduction': 'mean'},
         lambda x, t, w: F.cross_entropy(x, t, weight=w))
    case('loss', 'crossEntropy probability targets, grad wrt targets', 'crossEntropy', [('input', logits), ('target', probs)],
         {'reduction': 'sum'}, lambda x, t: F.cross_entropy(x, t, reduction='sum'))

    logp = F.log_softmax(randn(n, c).double(), 1).float()
    for red in ('mean', 'sum', 'none'):
        case('loss', f'nllLoss {red}', 'nllLoss', [('input', logp), ('target', target)], {'reduction': red},
             lambda x, t, r=red: F.nll_loss(x, t, reduction=r))
    case('loss', 'nllLoss weight ignoreIndex=1 mean', 'nllLoss', [('input', logp), ('target', target), ('weight', weight, False)],
         {'reduction': 'mean', 'ignoreIndex': 1}, lambda x, t, w: F.nll_loss(x, t, weight=w, ignore_index=1))
    case('loss', 'nllLoss weight sum', 'nllLoss', [('input', logp), ('target', target), ('weight', weight, False)],
         {'reduction': 'sum'}, lambda x, t, w: F.nll_loss(x, t, weight=w, reduction='sum'))

    a, b = randn(3, 5), randn(3, 5)
    for red in ('mean', 'sum', 'none'):
        case('loss', f'mseLoss {red}', 'mseLoss', [('input', a), ('target', b)], {'reduction': red},
             lambda x, t, r=red: F.mse_loss(x, t, reduction=r))
    a4, b4 = randn(2, 3, 2, 2), randn(2, 3, 2, 2)
    case('loss', 'mseLoss 4-D mean', 'mseLoss', [('input', a4), ('target', b4)], {}, lambda x, t: F.mse_loss(x, t))


def linalg_cases():
    case('linalg', 'linear [3,5] with bias', 'linear', [('x', randn(3, 5)), ('weight', randn(4, 5)), ('bias', randn(4))], {},
         lambda x, w, b: F.linear(x, w, b))
    case('linalg', 'linear [2,3,5] no bias', 'linear', [('x', randn(2, 3, 5)), ('weight', randn(4, 5))], {},
         lambda x, w: F.linear(x, w))
    case('linalg', 'linear 1-D input', 'linear', [('x', randn(5)), ('weight', randn(4, 5)), ('bias', randn(4))], {},
         lambda x, w, b: F.linear(x, w, b))
    shapes = [
        ([3, 4], [4, 5]), ([2, 3, 4], [4, 5]), ([3, 4], [2, 4, 5]), ([2, 3, 4], [2, 4, 5]),
        ([4], [4, 5]), ([3, 4], [4]), ([4], [4]), ([2, 3, 4], [4]), ([4], [2, 4, 3]),
        ([2, 1, 3, 4], [5, 4, 2]), ([1, 3, 4], [2, 4, 2]), ([2, 1, 2, 3], [1, 3, 3, 2]),
    ]
    for sa, sb in shapes:
        case('linalg', f'matmul {sa} @ {sb}', 'matmul', [('a', randn(*sa)), ('b', randn(*sb))], {}, torch.matmul)


def elementwise_cases():
    def binary(op, fn, sa, sb, a=None, b=None, name=None):
        a = randn(*sa) if a is None else a
        b = randn(*sb) if b is None else b
        case('elementwise', name or f'{op} {sa} {sb}', op, [('a', a), ('b', b)], {}, fn)

    binary('add', torch.add, [3, 4], [4])
    binary('add', torch.add, [2, 1, 4], [3, 1])
    binary('sub', torch.sub, [3, 1], [1, 4])
    binary('mul', torch.mul, [2, 3, 4], [3, 1])
    binary('mul', torch.mul, [], [2, 3], name='mul 0-d [] [2, 3]')
    binary('div', torch.div, [3, 4], [4], b=away_from_zero(4))
    binary('div', torch.div, [2, 1], [2, 3], b=away_from_zero(2, 3))
    binary('pow', torch.pow, [3, 4], [4], a=uniform(0.3, 2.0, 3, 4), b=uniform(-2.0, 3.0, 4))
    binary('maximum', torch.maximum, [3, 4], [1, 4])
    binary('minimum', torch.minimum, [2, 3, 1], [3, 4])
    ta = torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]])
    tb = torch.tensor([[1.0, 0.0, 3.0], [2.0, 0.5, -4.0]])
    binary('maximum', torch.maximum, None, None, a=ta, b=tb, name='maximum with ties')
    binary('minimum', torch.minimum, None, None, a=ta, b=tb, name='minimum with ties')

    def scalar(op, name, fn, x, attrs):
        case('elementwise', name, op, [('x', x)], attrs, fn)

    scalar('add', 'add tensor + 2.5', lambda x: x + 2.5, randn(2, 3), {'b': 2.5})
    scalar('sub', 'sub 2 - tensor', lambda x: 2 - x, randn(2, 3), {'a': 2})
    scalar('mul', 'mul tensor * -1.5', lambda x: x * -1.5, randn(2, 3), {'b': -1.5})
    scalar('div', 'div 1 / tensor', lambda x: 1 / x, away_from_zero(2, 3), {'a': 1})
    scalar('pow', 'pow tensor ** 2 (negative bases)', lambda x: x ** 2, randn(2, 3), {'b': 2})
    scalar('pow', 'pow tensor ** 3', lambda x: x ** 3, randn(2, 3), {'b': 3})
    scalar('pow', 'pow tensor ** 0.5', lambda x: x ** 0.5, uniform(0.2, 3.0, 2, 3), {'b': 0.5})
    scalar('pow', 'pow tensor ** -1.5', lambda x: x ** -1.5, uniform(0.2, 3.0, 2, 3), {'b': -1.5})
    scalar('pow', 'pow 2 ** tensor', lambda x: 2 ** x, randn(2, 3), {'a': 2})

    cond = torch.rand(3, 4, generator=GEN) < 0.5
    case('elementwise', 'where [3,4] [3,1] [4]', 'where', [('cond', cond), ('a', randn(3, 1)), ('b', randn(4))], {},
         lambda c, a, b: torch.where(c, a, b))
    case('elementwise', 'where [1,4] [3,4] [3,1]', 'where', [('cond', cond[:1]), ('a', randn(3, 4)), ('b', randn(3, 1))], {},
         lambda c, a, b: torch.where(c, a, b))

    xc = randn(4, 5)
    xc[0, 0], xc[1, 1], xc[2, 2] = -0.5, 0.5, 0.25  # exactly on the bounds: PyTorch passes the gradient there
    case('elementwise', 'clamp min and max (values on the bounds)', 'clamp', [('x', xc)], {'min': -0.5, 'max': 0.5},
         lambda x: torch.clamp(x, -0.5, 0.5))
    case('elementwise', 'clamp min only', 'clamp', [('x', xc)], {'min': 0.25}, lambda x: torch.clamp(x, min=0.25))
    case('elementwise', 'clamp max only', 'clamp', [('x', xc)], {'max': 0.25}, lambda x: torch.clamp(x, max=0.25))

    unary = [
        ('neg', torch.neg, randn(3, 4)), ('sigmoid', torch.sigmoid, randn(3, 4, scale=3.0)),
        ('tanh', torch.tanh, randn(3, 4, scale=2.0)), ('exp', torch.exp, randn(3, 4)),
        ('log', torch.log, uniform(0.1, 5.0, 3, 4)), ('sqrt', torch.sqrt, uniform(0.1, 5.0, 3, 4)),
        ('abs', torch.abs, away_from_zero(3, 4)), ('relu', torch.relu, away_from_zero(3, 4)),
    ]
    for op, fn, x in unary:
        case('elementwise', f'{op} [3, 4]', op, [('x', x)], {}, fn)


def reduce_cases():
    x = randn(3, 4, 5)

    def red(op, name, attrs, fn, inp=x):
        case('reduce', f'{op} {name}', op, [('x', inp)], attrs, fn)

    red('sum', 'all', {}, lambda t: t.sum())
    red('sum', 'dim 1', {'dim': 1}, lambda t: t.sum(1))
    red('sum', 'dims [0, 2] keepdim', {'dim': [0, 2], 'keepdim': True}, lambda t: t.sum((0, 2), keepdim=True))
    red('mean', 'all', {}, lambda t: t.mean())
    red('mean', 'dim -1 keepdim', {'dim': -1, 'keepdim': True}, lambda t: t.mean(-1, keepdim=True))
    red('mean', 'dims [0, 1]', {'dim': [0, 1]}, lambda t: t.mean((0, 1)))
    red('max', 'all', {}, lambda t: t.amax())
    red('max', 'dim 1', {'dim': 1}, lambda t: t.amax(1))
    red('max', 'dims [0, 2] keepdim', {'dim': [0, 2], 'keepdim': True}, lambda t: t.amax((0, 2), keepdim=True))
    red('min', 'all', {}, lambda t: t.amin())
    red('min', 'dim -1 keepdim', {'dim': -1, 'keepdim': True}, lambda t: t.amin(-1, keepdim=True))
    ties = torch.tensor([[1.0, 3.0, 3.0, -2.0], [2.0, 2.0, 0.0, 2.0], [-1.0, -1.0, -5.0, -5.0]])
    red('max', 'dim 1 with ties (gradient shared evenly, as amax)', {'dim': 1}, lambda t: t.amax(1), ties)
    red('min', 'dim 1 with ties (gradient shared evenly, as amin)', {'dim': 1}, lambda t: t.amin(1), ties)
    red('max', 'all with ties', {}, lambda t: t.amax(), ties)
    red('var', 'all', {}, lambda t: t.var())
    red('var', 'dim 1', {'dim': 1}, lambda t: t.var(1))
    red('var', 'dims [0, 2] keepdim correction 0', {'dim': [0, 2], 'keepdim': True, 'correction': 0},
        lambda t: t.var((0, 2), unbiased=False, keepdim=True))
    offset = randn(3, 4, 5, offset=10.0)
    red('var', 'dim -1, mean far from 0', {'dim': -1}, lambda t: t.var(-1), offset)
    red('std', 'all', {}, lambda t: t.std())
    red('std', 'dim 0 keepdim', {'dim': 0, 'keepdim': True}, lambda t: t.std(0, keepdim=True))
    red('std', 'dims [1, 2] correction 0', {'dim': [1, 2], 'correction': 0}, lambda t: t.std((1, 2), unbiased=False))
    red('argmax', 'all', {}, lambda t: t.argmax())
    red('argmax', 'dim 1', {'dim': 1}, lambda t: t.argmax(1))
    red('argmax', 'dim -1 keepdim', {'dim': -1, 'keepdim': True}, lambda t: t.argmax(-1, keepdim=True))
    red('argmin', 'all', {}, lambda t: t.argmin())
    red('argmin', 'dim 0 keepdim', {'dim': 0, 'keepdim': True}, lambda t: t.argmin(0, keepdim=True))
    red('argmax', 'dim 1 with ties (first index)', {'dim': 1}, lambda t: t.argmax(1), ties)
    red('argmin', 'dim 1 with ties (first index)', {'dim': 1}, lambda t: t.argmin(1), ties)


def shape_cases():
    x = randn(2, 3, 4)

    def sh(op, name, attrs, fn, inputs=None):
        case('shape', f'{op} {name}', op, inputs or [('x', x)], attrs, fn)

    sh('reshape', '[2,3,4] to [4, -1]', {'shape': [4, -1]}, lambda t: t.reshape(4, -1))
    sh('reshape', 'to [24]', {'shape': [24]}, lambda t: t.reshape(24))
    sh('permute', '[2, 0, 1]', {'dims': [2, 0, 1]}, lambda t: t.permute(2, 0, 1))
    sh('permute', 'negative dims [-1, 0, -2]', {'dims': [-1, 0, -2]}, lambda t: t.permute(-1, 0, -2))
    sh('transpose', '0 2', {'dim0': 0, 'dim1': 2}, lambda t: t.transpose(0, 2))
    x4 = randn(2, 3, 2, 4)
    sh('transpose', '4-D 1 -1', {'dim0': 1, 'dim1': -1}, lambda t: t.transpose(1, -1), [('x', x4)])
    y = randn(3, 7, 2)
    sh('slice', 'dim 1 1:5:2', {'dim': 1, 'start': 1, 'end': 5, 'step': 2}, lambda t: t[:, 1:5:2], [('x', y)])
    sh('slice', 'dim 1 -4::3', {'dim': 1, 'start': -4, 'step': 3}, lambda t: t[:, -4::3], [('x', y)])
    sh('slice', 'dim 0 1:100 (end past the size)', {'dim': 0, 'start': 1, 'end': 100}, lambda t: t[1:100], [('x', y)])
    sh('slice', 'dim -1 ::2', {'dim': -1, 'step': 2}, lambda t: t[..., ::2], [('x', x)])
    sh('narrow', 'dim 0 start 1 length 2', {'dim': 0, 'start': 1, 'length': 2}, lambda t: t.narrow(0, 1, 2), [('x', y)])
    sh('narrow', 'dim 1 start -3 length 3', {'dim': 1, 'start': -3, 'length': 3}, lambda t: t.narrow(1, -3, 3), [('x', y)])
    idx = torch.tensor([2, 0, 2, 1, 3])
    sh('indexSelect', 'dim 2 repeated indices', {'dim': 2}, lambda t, i: t.index_select(2, i), [('x', x), ('index', idx)])
    sh('indexSelect', 'dim 0', {'dim': 0}, lambda t, i: t.index_select(0, i), [('x', x), ('index', torch.tensor([1, 1, 0]))])
    a, b, c = randn(1, 3, 4), randn(2, 3, 4), randn(3, 3, 4)
    sh('cat', 'dim 0 three tensors', {'dim': 0}, lambda *t: torch.cat(t, 0), [('t0', a), ('t1', b), ('t2', c)])
    sh('cat', 'dim -1', {'dim': -1}, lambda *t: torch.cat(t, -1), [('t0', randn(2, 3, 1)), ('t1', randn(2, 3, 4))])
    sh('stack', 'dim 1', {'dim': 1}, lambda *t: torch.stack(t, 1), [('t0', randn(2, 3)), ('t1', randn(2, 3)), ('t2', randn(2, 3))])
    sh('stack', 'dim -1', {'dim': -1}, lambda *t: torch.stack(t, -1), [('t0', randn(2, 3)), ('t1', randn(2, 3))])
    sh('pad', '[1, 2] last dim', {'pads': [1, 2]}, lambda t: F.pad(t, [1, 2]))
    sh('pad', '[1, 0, 2, 1] value 0.5', {'pads': [1, 0, 2, 1], 'value': 0.5}, lambda t: F.pad(t, [1, 0, 2, 1], value=0.5))
    sh('pad', 'three dims [0, 1, 1, 0, 2, 0]', {'pads': [0, 1, 1, 0, 2, 0]}, lambda t: F.pad(t, [0, 1, 1, 0, 2, 0]))


def roi_cases():
    """torchvision's roi_align (RoIAlign avg mode): rois as attributes (numbers, no gradient), the map as the input."""
    from torchvision.ops import roi_align

    def roi(name, xs, rois, **attrs):
        boxes = [r[1:] for r in rois]
        batch = [r[0] for r in rois]
        a = {'rois': [v for b in boxes for v in b], 'batchIndices': batch, **attrs}

        def fn(x):
            t = torch.tensor(rois, dtype=x.dtype)
            return roi_align(x, t, output_size=tuple(attrs['outputSize']), spatial_scale=attrs['spatialScale'],
                             sampling_ratio=attrs['samplingRatio'], aligned=attrs['aligned'])
        case('roi', name, 'roiAlign', [('x', randn(*xs))], a, fn)

    # [batch item, x1, y1, x2, y2] in input pixels
    rois = [[0, 1, 0.4, 7.3, 6.1], [0, 4.2, 3, 13, 11.5], [1, -3, -2, 2.5, 3.3], [1, 0.5, 1.5, 11.9, 9.9],
            [0, 10.5, 8.2, 30, 25], [1, 2.2, 2.3, 2.4, 2.6]]
    roi('sampling 2, scale 1/2: inside, past the last row and column, partly off, tiny', [2, 3, 6, 7], rois,
        outputSize=[3, 2], spatialScale=0.5, samplingRatio=2, aligned=False)
    roi('aligned, adaptive grid', [2, 3, 6, 7], rois, outputSize=[2, 3], spatialScale=0.5, samplingRatio=0, aligned=True)
    roi('aligned, a roi of negative extent on a fixed grid', [1, 2, 6, 7], [[0, 9, 8, 3.2, 1.1], [0, 2, 2, 8, 9]],
        outputSize=[2, 2], spatialScale=0.5, samplingRatio=2, aligned=True)
    roi('7x7 bins, scale 1/4, sampling 3, rois larger than the map', [1, 2, 5, 6],
        [[0, -8, -6, 40, 30], [0, 3, 5, 17, 12]], outputSize=[7, 7], spatialScale=0.25, samplingRatio=3, aligned=False)


def math_cases():
    """The trigonometric and hyperbolic functions and their inverses (one unaryMath op), each on its domain."""
    def unary(op, x):
        case('math', f'{op} {list(x.shape)}', op, [('x', x)], {}, getattr(torch, op))

    for op in ('sin', 'cos', 'atan', 'sinh', 'cosh', 'asinh'):
        unary(op, randn(3, 4, scale=2.0))
    unary('tan', uniform(-1.4, 1.4, 3, 4))
    for op in ('asin', 'acos', 'atanh'):
        unary(op, uniform(-0.95, 0.95, 3, 4))
    unary('acosh', uniform(1.05, 6.0, 3, 4))


def net_cases():
    """A small CNN end to end, so that the ops are also checked composed (gradients through every layer)."""
    inputs = [
        ('x', randn(2, 3, 7, 6)), ('w1', randn(4, 3, 3, 3, scale=0.5)),
        ('g1', randn(4, scale=0.3, offset=1.0)), ('beta1', randn(4, scale=0.3)),
        ('runningMean', randn(4, scale=0.1), False), ('runningVar', uniform(0.5, 1.5, 4), False),
        ('w2', randn(6, 4, 3, 3, scale=0.4)), ('fc', randn(5, 6)), ('fcb', randn(5, scale=0.3)),
        ('target', torch.tensor([1, 3])),
    ]

    # No bias on a conv before batch norm: its gradient is exactly 0 and PyTorch returns rounding noise.
    def fn(x, w1, g1, beta1, rm, rv, w2, fc, fcb, target):
        h = F.relu(F.batch_norm(F.conv2d(x, w1, None, padding=1), rm, rv, g1, beta1, True, 0.1, 1e-5))
        h = F.max_pool2d(h, 2, ceil_mode=True)
        h = F.relu(F.conv2d(F.pad(h, [1, 1, 0, 1]), w2, None, stride=(1, 2)))
        h = F.interpolate(h, scale_factor=1.5, mode='bilinear', align_corners=False)
        h = F.adaptive_avg_pool2d(F.avg_pool2d(h, 2, padding=1), 1)
        logits = F.linear(h.flatten(1), fc, fcb)
        return F.cross_entropy(logits, target), {'runningMean': rm, 'runningVar': rv}
    case('net', 'conv-bn-relu-maxpool-pad-conv-relu-bilinear-avgpool-adaptive-linear-crossEntropy', 'smallCnn', inputs, {}, fn)


def main():
    torch.set_grad_enabled(True)
    conv_cases()
    pool_cases()
    resize_cases()
    norm_cases()
    activation_cases()
    loss_cases()
    linalg_cases()
    elementwise_cases()
    reduce_cases()
    shape_cases()
    net_cases()
    roi_cases()
    math_cases()
    os.makedirs(OUT, exist_ok=True)
    for family, cases in FAMILIES.items():
        path = os.path.join(OUT, f'{family}.json')
        with open(path, 'w') as f:
            json.dump({'torch': torch.__version__, 'generator': 'scripts/make-tensor-fixtures.py', 'cases': cases},
                      f, separators=(',', ':'))
            f.write('\n')
        print(f'{path}: {len(cases)} cases, {os.path.getsize(path)} bytes')


if __name__ == '__main__':
    main()
