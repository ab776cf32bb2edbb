#!/usr/bin/python3
"""Writes packages/nn/test/fixtures/segmentation: torchvision 0.14's semantic segmentation models (FCN, DeepLabV3,
LR-ASPP), reduced in width with random weights, built from torchvision's own classes (ResNet with
replace_stride_with_dilation, _mobilenet_v3_conf(dilated=True), IntermediateLayerGetter, FCNHead, ASPP, LRASPP).

Run with Debian's python3 (torch 1.13, torchvision 0.14):  /usr/bin/python3 scripts/make-nn-segmentation-fixtures.py

The reduced models, as gradlens's builders make them with widthDivisor (and widthMult): ResNet backbones with every
width divided by 32 (stem 2, planes 2, 4, 8, 16; torchvision's block counts) and DeepLabHead's 256 too;
MobileNetV3-Large at width_mult 0.25 with the heads' own fixed widths (ASPP's 256, LR-ASPP's 128) divided by 16;
3 classes. No weights file is written: every state-dict entry, in sorted name order, is drawn from gradlens's
Generator(0) (xoshiro128**, re-implemented below; `seeded_state_dict`), which the test draws again in TypeScript
(segmentation-fixture.ts). Conv weights U(±√(3 / fan_in)), biases U(±0.2), BatchNorm weights and running variances
0.5 + U(0, 1), running means U(±0.2).

- <name>.npz: an input [2, 3, 41, 37] (Generator(1), U(±1)) and, from a float64 pass (stored as float32): the `out`
  logits, `aux` (models with aux_classifier), the activations of the default CAM layer and of classifier.0 (for
  LR-ASPP, its `cbr`), the segmentation target (pytorch-grad-cam's: the class most often predicted apart from
  background, its logits summed over the pixels predicted as it) as `mask` [2, H, W] and `class`, and that target's
  input gradient; and for item 0 alone, with its own target (`cam_class`, `cam_mask` [H, W]), Grad-CAM's
  Σₖ mean(∂target/∂Aₖ) Aₖ before its ReLU (which can leave nothing of a random model's map) at the default CAM
  layer (`gradcam_layer`) and at the second layer (`gradcam_second`), as pytorch-grad-cam computes it before
  upsampling.
- models.json: per model its builder options, layers, parameter count and the SHA-256 of its sorted state-dict names.
- ../torchvision-state-dicts.json: the full-size state-dict names and shapes of the six models, as torchvision's
  published weights hold them (aux_loss=True, but LR-ASPP has none).
"""
import hashlib
import json
import os

import numpy as np
import torch
import torch.nn as nn
from state_dict_lists import PATH as LISTS, write as write_lists
from torchvision.models import mobilenetv3, resnet
from torchvision.models import segmentation as seg
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.models.segmentation.deeplabv3 import ASPP, DeepLabV3
from torchvision.models.segmentation.fcn import FCN, FCNHead
from torchvision.models.segmentation.lraspp import LRASPP

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'packages', 'nn', 'test', 'fixtures', 'segmentation')
NUM_CLASSES = 3
INPUT_SHAPE = (2, 3, 41, 37)
M32 = 0xFFFFFFFF
RESNET_DIVISOR = 32
HEAD_DIVISOR = 16
WIDTH_MULT = 0.25


def w(c, d):
    return max(1, c // d)


class SlimResNet(resnet.ResNet):
    """torchvision's ResNet with the stem's 64 and each layer's planes divided by d, dilated as its segmentation models."""

    def __init__(self, layers, d):
        self._d = d
        super().__init__(resnet.Bottleneck, layers, num_classes=1, replace_stride_with_dilation=[False, True, True])
        self.conv1 = nn.Conv2d(3, w(64, d), kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(w(64, d))

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        if planes == 64:
            self.inplanes = w(64, self._d)
        return super()._make_layer(block, w(planes, self._d), blocks, stride, dilate)


def deeplab_head(in_channels, rates, d):
    """DeepLabHead's layers with the ASPP width (256) divided by d: the same Sequential names."""
    c = w(256, d)
    return nn.Sequential(ASPP(in_channels, rates, c), nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c),
                         nn.ReLU(), nn.Conv2d(c, NUM_CLASSES, 1))


def resnet_model(kind, depth, aux, rates=None):
    """_fcn_resnet / _deeplabv3_resnet on a reduced ResNet-50 or -101."""
    d = RESNET_DIVISOR
    backbone = SlimResNet([3, 4, 6, 3] if depth == 50 else [3, 4, 23, 3], d)
    return_layers = {'layer4': 'out'}
    if aux:
        return_layers['layer3'] = 'aux'
    backbone = IntermediateLayerGetter(backbone, return_layers=return_layers)
    aux_classifier = FCNHead(w(256, d) * 4, NUM_CLASSES) if aux else None
    if kind == 'fcn':
        return FCN(backbone, FCNHead(w(512, d) * 4, NUM_CLASSES), aux_classifier)
    return DeepLabV3(backbone, deeplab_head(w(512, d) * 4, rates, d), aux_classifier)


def mobilenet_features():
    setting, last = mobilenetv3._mobilenet_v3_conf('mobilenet_v3_large', width_mult=WIDTH_MULT, dilated=True)
    features = mobilenetv3.MobileNetV3(setting, last, num_classes=1).features
    stages = [0] + [i for i, b in enumerate(features) if getattr(b, '_is_cn', False)] + [len(features) - 1]
    return features, stages[-4], stages[-1]


def deeplab_mobilenet(aux, rates):
    """_deeplabv3_mobilenetv3 with the reduced DeepLabHead."""
    features, os8, os16 = mobilenet_features()
    return_layers = {str(os16): 'out'}
    if aux:
        return_layers[str(os8)] = 'aux'
    aux_classifier = FCNHead(features[os8].out_channels, NUM_CLASSES) if aux else None
    head = deeplab_head(features[os16].out_channels, rates, HEAD_DIVISOR)
    return DeepLabV3(IntermediateLayerGetter(features, return_layers=return_layers), head, aux_classifier)


def lraspp_mobilenet():
    """_lraspp_mobilenetv3 with inter_channels 128 reduced."""
    features, os8, os16 = mobilenet_features()
    low, high = features[os8].out_channels, features[os16].out_channels
    backbone = IntermediateLayerGetter(features, return_layers={str(os8): 'low', str(os16): 'high'})
    return LRASPP(backbone, low, high, NUM_CLASSES, inter_channels=w(128, HEAD_DIVISOR))


# name → (builder, the TypeScript builder's options beyond widthDivisor/widthMult/numClasses, CAM layer)
MODELS = {
    'fcn_resnet50': (lambda: resnet_model('fcn', 50, True), {'auxLoss': True}, 'backbone.layer4'),
    'fcn_resnet101': (lambda: resnet_model('fcn', 101, False), {}, 'backbone.layer4'),
    # small rates, so that the atrous branches reach beyond the centre tap of the 8×7 map
    'deeplabv3_resnet50': (lambda: resnet_model('deeplab', 50, True, [1, 2, 3]), {'auxLoss': True, 'atrousRates': [1, 2, 3]},
                           'backbone.layer4'),
    'deeplabv3_resnet101': (lambda: resnet_model('deeplab', 101, False, [12, 24, 36]), {}, 'backbone.layer4'),
    'deeplabv3_mobilenet_v3_large': (lambda: deeplab_mobilenet(True, [1, 2, 3]), {'auxLoss': True, 'atrousRates': [1, 2, 3]},
                                     'backbone.16'),
    'lraspp_mobilenet_v3_large': (lraspp_mobilenet, {}, 'backbone.16'),
}


class Xoshiro:
    """gradlens's Generator (packages/tensor/src/random.ts): splitmix32 seeding, xoshiro128**, 53-bit uniform()."""

    def __init__(self, seed):
        x = seed & M32
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B9) & M32
            z = x
            z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M32
            z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M32
            self.s.append(z ^ (z >> 16))

    def next_uint32(self):
        s = self.s
        rotl = lambda v, k: ((v << k) | (v >> (32 - k))) & M32
        result = (rotl((s[1] * 5) & M32, 7) * 9) & M32
        t = (s[1] << 9) & M32
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 11)
        return result

    def uniform(self):
        hi = self.next_uint32() >> 5
        lo = self.next_uint32() >> 6
        return (hi * 67108864 + lo) / 9007199254740992

    def uniforms(self, n):
        return np.array([self.uniform() for _ in range(n)], dtype=np.float64)


def seeded_values(name, shape, g):
    """One state-dict entry's values (float64, before the float32 cast), as segmentation-fixture.ts draws them."""
    n = int(np.prod(shape)) if len(shape) else 1
    u = g.uniforms(n)
    if name.endswith('running_var') or (len(shape) == 1 and name.endswith('weight')):
        v = 0.5 + u
    elif name.endswith('running_mean') or name.endswith('bias'):
        v = 0.2 * (2 * u - 1)
    else:
        fan_in = n // shape[0]
        v = (2 * u - 1) * np.sqrt(3 / fan_in)
    return v.reshape(shape)


def seeded_state_dict(model, seed=0):
    """Fills every entry but num_batches_tracked, in sorted name order, from Xoshiro(seed)."""
    g = Xoshiro(seed)
    sd = model.state_dict()
    with torch.no_grad():
        for name in sorted(sd):
            if name.endswith('num_batches_tracked'):
                continue
            sd[name].copy_(torch.from_numpy(seeded_values(name, list(sd[name].shape), g).astype(np.float32)))
    return hashlib.sha256('\n'.join(sorted(sd)).encode()).hexdigest()


def segmentation_target(logits):
    """pytorch-grad-cam's tutorial target: the most frequent predicted class other than 0 (else 0), its pixels."""
    pred = logits.argmax(1)
    counts = torch.bincount(pred.flatten(), minlength=logits.shape[1])
    cls = int(counts[1:].argmax()) + 1 if counts[1:].sum() > 0 else 0
    return cls, (pred == cls).to(logits.dtype)


def grad_cams(model64, x1, paths):
    """Item 0's target and Grad-CAM's weighted sum (before ReLU and upsampling) at each path, from one backward pass."""
    acts = {}
    hooks = []
    for path in paths:
        def hook(_m, _i, o, p=path):
            o.retain_grad()
            acts[p] = o
        hooks.append(model64.get_submodule(path).register_forward_hook(hook))
    out = model64(x1.double())['out']
    for h in hooks:
        h.remove()
    cls, mask = segmentation_target(out.detach())
    (out[:, cls] * mask).sum().backward()
    cams = [(acts[p].grad.mean(dim=(2, 3), keepdim=True) * acts[p]).sum(1)[0].detach() for p in paths]
    return cls, mask[0], cams


def full_size_lists():
    with open(LISTS) as f:
        lists = json.load(f)
    for name in MODELS:
        kwargs = {} if name.startswith('lraspp') else {'aux_loss': True}
        with torch.no_grad():
            model = getattr(seg, name)(weights=None, weights_backbone=None, **kwargs)
        lists[name] = [[k, list(v.shape)] for k, v in model.state_dict().items()]
    write_lists(lists)


def main():
    os.makedirs(OUT, exist_ok=True)
    gx = Xoshiro(1)
    x = torch.from_numpy((2 * gx.uniforms(int(np.prod(INPUT_SHAPE))) - 1).astype(np.float32).reshape(INPUT_SHAPE))
    manifest = {'numClasses': NUM_CLASSES, 'widthDivisor': RESNET_DIVISOR, 'headDivisor': HEAD_DIVISOR,
                'widthMult': WIDTH_MULT, 'inputShape': list(INPUT_SHAPE), 'models': {}}
    for name, (build, options, layer) in MODELS.items():
        expected = {'input': x.numpy()}
        model = build()
        names_hash = seeded_state_dict(model)
        model.eval()
        m64 = model.double()
        acts = {}
        second = 'classifier.cbr' if name.startswith('lraspp') else 'classifier.0'
        for path in {layer, second}:
            m64.get_submodule(path).register_forward_hook(lambda m, i, o, p=path: acts.__setitem__(p, o.detach()))
        xd = x.double().requires_grad_(True)
        result = m64(xd)
        out = result['out']
        cls, mask = segmentation_target(out.detach())
        (out[:, cls] * mask).sum().backward()
        expected['out'] = out.detach().float().numpy()
        if 'aux' in result:
            expected['aux'] = result['aux'].detach().float().numpy()
        expected['cam_layer'] = acts[layer].float().numpy()
        expected['second_layer'] = acts[second].float().numpy()
        expected['mask'] = mask.float().numpy()
        expected['class'] = np.array(cls, dtype=np.int32)
        expected['input_grad'] = xd.grad.float().numpy()
        cam_class, cam_mask, (cam_layer, cam_second) = grad_cams(m64, x[:1], [layer, second])
        expected['cam_class'] = np.array(cam_class, dtype=np.int32)
        expected['cam_mask'] = cam_mask.float().numpy()
        expected['gradcam_layer'] = cam_layer.float().numpy()
        expected['gradcam_second'] = cam_second.float().numpy()
        params = sum(p.numel() for p in model.parameters())
        manifest['models'][name] = {'options': options, 'layer': layer, 'secondLayer': second, 'params': params,
                                    'aux': 'aux' in result, 'stateDictNames': names_hash}
        file = os.path.join(OUT, f'{name}.npz')
        np.savez_compressed(file, **expected)
        print(f'{name}: {params} params, out {tuple(out.shape)}, {layer} {tuple(acts[layer].shape)}, class {cls} '
              f'on {int(mask.sum())} pixels, {os.path.getsize(file)} bytes')
    with open(os.path.join(OUT, 'models.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')
    full_size_lists()


if __name__ == '__main__':
    main()
