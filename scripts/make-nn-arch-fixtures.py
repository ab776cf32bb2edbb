#!/usr/bin/python3
"""Writes packages/nn/test/fixtures/archs: the torchvision families added after the first models
(ResNeXt / Wide ResNet blocks, DenseNet, MobileNetV3, EfficientNet and EfficientNetV2, ConvNeXt), each at
reduced size with random weights, built from torchvision's own classes and configuration helpers so
that structure and parameter names are torchvision's. For each: the .pth state dict, and in
expected.npz the logits, the default CAM layer's activation and the input gradient of a weighted sum
of the logits. Also adds the full-size state-dict names and shapes of every new model name to
../torchvision-state-dicts.json (the list packages/nn/test/models-names.test.ts checks).

Run with Debian's python3 (torch 1.13, torchvision 0.14):  /usr/bin/python3 scripts/make-nn-arch-fixtures.py
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
from state_dict_lists import add_full_size
from torchvision.models import convnext, densenet, efficientnet, mobilenetv3, resnet

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, '..', 'packages', 'nn', 'test', 'fixtures')
OUT = os.path.join(FIX, 'archs')
NUM_CLASSES = 10
INPUT_SHAPE = (2, 3, 48, 40)  # non-square, so a swapped H and W shows


def w(c, d):
    return max(1, c // d)


class SlimResNet(resnet.ResNet):
    """torchvision's ResNet with the stem's 64 and each layer's planes divided by d."""

    def __init__(self, layers, d, groups, width_per_group):
        self._d = d
        super().__init__(resnet.Bottleneck, layers, num_classes=NUM_CLASSES, groups=groups, width_per_group=width_per_group)
        self.conv1 = nn.Conv2d(3, w(64, d), kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(w(64, d))
        self.fc = nn.Linear(w(512, d) * 4, NUM_CLASSES)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        if planes == 64:
            self.inplanes = w(64, self._d)
        return super()._make_layer(block, w(planes, self._d), blocks, stride, dilate)


def mobilenet_v3(arch, width_mult):
    setting, last = mobilenetv3._mobilenet_v3_conf(arch, width_mult=width_mult)
    return mobilenetv3.MobileNetV3(setting, last, num_classes=NUM_CLASSES)


def efficientnet_v1(width_mult, depth_mult):
    setting, last = efficientnet._efficientnet_conf('efficientnet_b0', width_mult=width_mult, depth_mult=depth_mult)
    return efficientnet.EfficientNet(setting, 0.2, num_classes=NUM_CLASSES, last_channel=last)


def efficientnet_v2_small():
    F, M = efficientnet.FusedMBConvConfig, efficientnet.MBConvConfig
    setting = [F(1, 3, 1, 8, 8, 2), F(4, 3, 2, 8, 16, 1), F(1, 3, 2, 16, 24, 1), M(4, 3, 2, 24, 32, 2), M(6, 3, 1, 32, 40, 1)]
    from functools import partial
    return efficientnet.EfficientNet(setting, 0.2, num_classes=NUM_CLASSES, last_channel=64,
                                     norm_layer=partial(nn.BatchNorm2d, eps=1e-3))


def convnext_small():
    C = convnext.CNBlockConfig
    return convnext.ConvNeXt([C(16, 32, 1), C(32, 48, 2), C(48, None, 1)], stochastic_depth_prob=0.1,
                             layer_scale=0.5, num_classes=NUM_CLASSES)


# name → (builder, CAM layer read by the test, what the TypeScript test builds; see models-archs.test.ts)
MODELS = {
    'resnext': (lambda: SlimResNet([1, 1, 2, 1], 8, 4, 16), 'layer4'),
    'wide_resnet': (lambda: SlimResNet([1, 1, 1, 1], 16, 1, 128), 'layer4'),
    'densenet': (lambda: densenet.DenseNet(growth_rate=8, block_config=(2, 3, 2), num_init_features=16, bn_size=2,
                                           num_classes=NUM_CLASSES), 'features'),
    'mobilenet_v3_small': (lambda: mobilenet_v3('mobilenet_v3_small', 0.25), 'features'),
    'efficientnet_b0': (lambda: efficientnet_v1(0.2, 0.3), 'features'),
    'efficientnet_v2': (efficientnet_v2_small, 'features'),
    'convnext': (convnext_small, 'features'),
}

NEW_FULL_SIZE = ['resnet101', 'resnet152', 'resnext50_32x4d', 'resnext101_32x8d', 'resnext101_64x4d',
                 'wide_resnet50_2', 'wide_resnet101_2', 'densenet121', 'densenet161', 'densenet169', 'densenet201',
                 'mobilenet_v3_large', 'mobilenet_v3_small', 'efficientnet_b0', 'efficientnet_b1', 'efficientnet_b2',
                 'efficientnet_b3', 'efficientnet_b4', 'efficientnet_b5', 'efficientnet_b6', 'efficientnet_b7',
                 'efficientnet_v2_s', 'efficientnet_v2_m', 'efficientnet_v2_l', 'convnext_tiny', 'convnext_small',
                 'convnext_base', 'convnext_large']


def randomize(model, g):
    """Defaults (BN 1/0/0/1, LayerNorm 1/0, SE and layer_scale as built) would hide mistakes in those terms."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.2)
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                m.num_batches_tracked.fill_(7)
            elif isinstance(m, nn.LayerNorm):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)
            elif isinstance(m, convnext.CNBlock):
                m.layer_scale.copy_(torch.rand(m.layer_scale.shape, generator=g) * 0.5 + 0.25)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(4321)
    x = torch.rand(INPUT_SHAPE, generator=g) * 2 - 1
    weights = torch.randn(INPUT_SHAPE[0], NUM_CLASSES, generator=g)
    expected = {'input': x.numpy(), 'logit_weights': weights.numpy()}
    manifest = {'numClasses': NUM_CLASSES, 'inputShape': list(INPUT_SHAPE), 'models': {}}
    for name, (build, layer) in MODELS.items():
        model = build()
        randomize(model, g)
        model.eval()
        torch.save(model.state_dict(), os.path.join(OUT, f'{name}.pth'))
        acts = {}
        model.get_submodule(layer).register_forward_hook(lambda m, i, o: acts.__setitem__('a', o.detach().clone()))
        xi = x.clone().requires_grad_(True)
        logits = model(xi)
        (logits * weights).sum().backward()
        expected[f'{name}.logits'] = logits.detach().numpy()
        expected[f'{name}.activation'] = acts['a'].numpy()
        expected[f'{name}.grad'] = xi.grad.numpy()
        manifest['models'][name] = {'layer': layer, 'params': sum(p.numel() for p in model.parameters())}
        print(f'{name}: {manifest["models"][name]["params"]} params, logits {tuple(logits.shape)}, '
              f'{layer} {tuple(acts["a"].shape)}')
        if name == 'densenet':
            # Keys as torchvision's published DenseNet weights (saved before 0.3) name them: norm.1, conv.2, …
            # Those files predate BatchNorm's num_batches_tracked, so they have none.
            old = {k.replace('.norm1.', '.norm.1.').replace('.norm2.', '.norm.2.').replace('.conv1.', '.conv.1.')
                   .replace('.conv2.', '.conv.2.') if 'denselayer' in k else k: v for k, v in model.state_dict().items()
                   if not k.endswith('num_batches_tracked')}
            assert any('.norm.1.' in k for k in old)
            torch.save(old, os.path.join(OUT, 'densenet_legacy_keys.pth'))
    np.savez(os.path.join(OUT, 'expected.npz'), **{k: np.ascontiguousarray(v) for k, v in expected.items()})
    with open(os.path.join(OUT, 'models.json'), 'w') as f:
        json.dump(manifest, f, indent=1)

    # Full-size names and shapes, added to the list every model this package builds is checked against.
    add_full_size(NEW_FULL_SIZE)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f'fixtures: {total / 1e6:.2f} MB in {OUT}')


if __name__ == '__main__':
    main()
