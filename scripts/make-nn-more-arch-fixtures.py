#!/usr/bin/python3
"""Writes packages/nn/test/fixtures/archs-more: RegNet (X and Y), ShuffleNetV2, MNASNet (also in torchvision's
version 1 layout), GoogLeNet and Inception v3, each at reduced size with random weights, built from torchvision's
own classes and their configuration arguments (GoogLeNet and Inception v3, which have none for width, through their `blocks`
hooks with every channel count divided), so that structure and parameter names are torchvision's. For
each: the .pth state dict, and in expected.npz the input (one per shape), the logit weights, the logits, the default CAM
layer's activation and the input gradient of a weighted sum of the logits. Also adds the full-size
state-dict names and shapes of every new model name to ../torchvision-state-dicts.json (the list
packages/nn/test/models-names.test.ts checks).

Run with Debian's python3 (torch 1.13, torchvision 0.14):  /usr/bin/python3 scripts/make-nn-more-arch-fixtures.py
"""
import importlib
import json
import os
import warnings
from functools import partial

import numpy as np
import torch
import torch.nn as nn
from state_dict_lists import add_full_size
from torchvision.models import inception, mnasnet, regnet, shufflenetv2

googlenet = importlib.import_module('torchvision.models.googlenet')  # the package's 'googlenet' is the builder

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, '..', 'packages', 'nn', 'test', 'fixtures')
OUT = os.path.join(FIX, 'archs-more')
NUM_CLASSES = 10
SMALL = (2, 3, 48, 40)  # non-square, so a swapped H and W shows
GOOGLENET = (2, 3, 80, 48)  # five stride-2 steps with ceil-mode pools: a 3×2 map at inception5b
INCEPTION = (1, 3, 115, 83)  # Inception v3 needs at least 75×75; a 2×1 map at Mixed_7c (one image: size)

warnings.filterwarnings('ignore', category=FutureWarning)


def w(c, d):
    return max(1, c // d)


def regnet_small(y):
    # A short, narrow design: w_0 16, slope 12, step 2.2 over 5 blocks → stages of several widths and depths.
    params = regnet.BlockParams.from_init_params(depth=5, w_0=16, w_a=12.0, w_m=2.2, group_width=8,
                                                 se_ratio=0.25 if y else None)
    return regnet.RegNet(params, num_classes=NUM_CLASSES, stem_width=8)


def scaled_conv(cls, d):
    """torchvision's BasicConv2d with both channel counts divided by d (the image's 3 kept)."""
    return lambda i, o, **kw: cls(i if i == 3 else w(i, d), w(o, d), **kw)


def googlenet_small(d, transform_input):
    # Every conv of the stem, the blocks and the aux heads goes through the blocks' conv_block; the Linears
    # are fixed-size in torchvision, so they are replaced (in place: the state-dict order stays).
    conv = scaled_conv(googlenet.BasicConv2d, d)
    model = googlenet.GoogLeNet(num_classes=NUM_CLASSES, transform_input=transform_input, init_weights=True,
                                blocks=[conv, partial(googlenet.Inception, conv_block=conv),
                                        partial(googlenet.InceptionAux, conv_block=conv)])
    for aux in (model.aux1, model.aux2):
        aux.fc1 = nn.Linear(w(128, d) * 16, w(1024, d))
        aux.fc2 = nn.Linear(w(1024, d), NUM_CLASSES)
    model.fc = nn.Linear(w(1024, d), NUM_CLASSES)
    return model


def inception_small(d, transform_input):
    conv = scaled_conv(inception.BasicConv2d, d)
    blocks = [conv] + [partial(c, conv_block=conv) for c in (inception.InceptionA, inception.InceptionB,
                                                               inception.InceptionC, inception.InceptionD,
                                                               inception.InceptionE, inception.InceptionAux)]
    model = inception.Inception3(num_classes=NUM_CLASSES, transform_input=transform_input, init_weights=True,
                                 inception_blocks=blocks)
    model.AuxLogits.fc = nn.Linear(w(768, d), NUM_CLASSES)
    model.fc = nn.Linear(w(2048, d), NUM_CLASSES)
    return model


def mnasnet_v1(alpha):
    """MNASNet in torchvision's version 1 layout (a fixed 32 → 16 stem), as its published mnasnet0_5 weights are
    saved: the model patched by torchvision's own _load_from_state_dict on a state dict marked version 1."""
    model = mnasnet.MNASNet(alpha, num_classes=NUM_CLASSES)
    state = model.state_dict()
    state._metadata['']['version'] = 1
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        try:
            model.load_state_dict(state)
        except RuntimeError:
            pass  # the version 2 stem's tensors do not fit the version 1 stem it was just given
    assert model._version == 1 and model.layers[0].out_channels == 32
    return model


# name → (builder, CAM layer read by the test, input shape); models-more-archs.test.ts builds the same.
MODELS = {
    'regnet_y': (lambda: regnet_small(True), 'trunk_output', SMALL),
    'regnet_x': (lambda: regnet_small(False), 'trunk_output', SMALL),
    'shufflenet_v2': (lambda: shufflenetv2.ShuffleNetV2([2, 3, 2], [8, 16, 32, 48, 64], num_classes=NUM_CLASSES),
                      'conv5', SMALL),
    'mnasnet': (lambda: mnasnet.MNASNet(0.1, num_classes=NUM_CLASSES), 'layers', SMALL),
    'googlenet': (lambda: googlenet_small(16, True), 'inception5b', GOOGLENET),
    'inception_v3': (lambda: inception_small(32, False), 'Mixed_7c', INCEPTION),
    'mnasnet_v1': (lambda: mnasnet_v1(0.1), 'layers', SMALL),
}

NEW_FULL_SIZE = [f'regnet_y_{s}' for s in ('400mf', '800mf', '1_6gf', '3_2gf', '8gf', '16gf', '32gf', '128gf')] + \
    [f'regnet_x_{s}' for s in ('400mf', '800mf', '1_6gf', '3_2gf', '8gf', '16gf', '32gf')] + \
    [f'shufflenet_v2_x{s}' for s in ('0_5', '1_0', '1_5', '2_0')] + \
    ['mnasnet0_5', 'mnasnet0_75', 'mnasnet1_0', 'mnasnet1_3', 'googlenet', 'inception_v3']


def randomize(model, g):
    """BatchNorm defaults (1/0/0/1) would hide mistakes in those terms; GoogLeNet's and Inception's tiny
    init (std 0.01 / 0.1) would leave the BN outputs near constants, so every conv gets He-scaled weights."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.2)
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                m.num_batches_tracked.fill_(7)
            elif isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2 / fan_in) ** 0.5)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(8765)
    expected = {}
    manifest = {'numClasses': NUM_CLASSES, 'models': {}}
    for name, (build, layer, shape) in MODELS.items():
        model = build()
        randomize(model, g)
        model.eval()
        torch.save(model.state_dict(), os.path.join(OUT, f'{name}.pth'))
        # One input of each shape, shared by the models that take it (it is the largest part of the file).
        key = 'input.' + 'x'.join(map(str, shape))
        if key not in expected:
            expected[key] = (torch.rand(shape, generator=g) * 2 - 1).numpy()
        x = torch.from_numpy(expected[key])
        weights = torch.randn(shape[0], NUM_CLASSES, generator=g)
        acts = {}
        model.get_submodule(layer).register_forward_hook(lambda m, i, o: acts.__setitem__('a', o.detach().clone()))
        xi = x.clone().requires_grad_(True)
        logits = model(xi)
        (logits * weights).sum().backward()
        for k, v in (('logit_weights', weights), ('logits', logits.detach()), ('activation', acts['a']),
                     ('grad', xi.grad)):
            expected[f'{name}.{k}'] = v.numpy()
        manifest['models'][name] = {'layer': layer, 'input': key, 'params': sum(p.numel() for p in model.parameters()),
                                    'transformInput': bool(getattr(model, 'transform_input', False))}
        print(f'{name}: {manifest["models"][name]["params"]} params, logits {tuple(logits.shape)}, '
              f'{layer} {tuple(acts["a"].shape)}')
    np.savez(os.path.join(OUT, 'expected.npz'), **{k: np.ascontiguousarray(v) for k, v in expected.items()})
    with open(os.path.join(OUT, 'models.json'), 'w') as f:
        json.dump(manifest, f, indent=1)

    # Full-size names and shapes, added to the list every model this package builds is checked against.
    add_full_size(NEW_FULL_SIZE)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f'fixtures: {total / 1e6:.2f} MB in {OUT}')


if __name__ == '__main__':
    main()
