#!/usr/bin/python3
"""Writes the fixtures of packages/nn/test: torchvision models (width-reduced, random weights) as
.pth state dicts with their expected logits and activations, the full-size parameter names and
shapes of every supported torchvision model, and BatchNorm2d training-mode goldens.

Run with Debian's python3 (torch 1.13, torchvision 0.14):  /usr/bin/python3 scripts/make-nn-fixtures.py
Only one model's .pth and its entries in expected.npz / models.json:  ... make-nn-fixtures.py --only squeezenet1_1

Width reduction mirrors the TypeScript `widthDivisor` option: every channel count and hidden width c
becomes max(1, c // d). The models are built from torchvision's own classes (VGG + make_layers,
AlexNet, ResNet + BasicBlock/Bottleneck, SqueezeNet + Fire, MobileNetV2 with width_mult), with the
hard-coded widths swapped for reduced ones, so structure and parameter names are torchvision's.
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn as nn
from state_dict_lists import add_full_size
from torchvision.models.alexnet import AlexNet
from torchvision.models import mobilenetv2, resnet, squeezenet, vgg

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'packages', 'nn', 'test', 'fixtures')
NUM_CLASSES = 10
INPUT_SHAPE = (2, 3, 64, 64)


def w(c, d):
    return max(1, c // d)


def make_vgg(cfg, bn, d):
    layers = [v if v == 'M' else w(v, d) for v in vgg.cfgs[cfg]]
    m = vgg.VGG(vgg.make_layers(layers, batch_norm=bn), num_classes=NUM_CLASSES)
    h = w(4096, d)
    m.classifier[0] = nn.Linear(w(512, d) * 7 * 7, h)
    m.classifier[3] = nn.Linear(h, h)
    m.classifier[6] = nn.Linear(h, NUM_CLASSES)
    return m


def make_alexnet(d):
    m = AlexNet(num_classes=NUM_CLASSES)
    f, c = m.features, m.classifier
    f[0] = nn.Conv2d(3, w(64, d), kernel_size=11, stride=4, padding=2)
    f[3] = nn.Conv2d(w(64, d), w(192, d), kernel_size=5, padding=2)
    f[6] = nn.Conv2d(w(192, d), w(384, d), kernel_size=3, padding=1)
    f[8] = nn.Conv2d(w(384, d), w(256, d), kernel_size=3, padding=1)
    f[10] = nn.Conv2d(w(256, d), w(256, d), kernel_size=3, padding=1)
    c[1] = nn.Linear(w(256, d) * 6 * 6, w(4096, d))
    c[4] = nn.Linear(w(4096, d), w(4096, d))
    c[6] = nn.Linear(w(4096, d), NUM_CLASSES)
    return m


class SlimResNet(resnet.ResNet):
    """torchvision's ResNet with every width divided by d (the stem's 64 and each layer's planes)."""

    def __init__(self, block, layers, d):
        self._d = d
        super().__init__(block, layers, num_classes=NUM_CLASSES)
        stem = w(64, d)
        self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.fc = nn.Linear(w(512, d) * block.expansion, NUM_CLASSES)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        if planes == 64:
            self.inplanes = w(64, self._d)
        return super()._make_layer(block, w(planes, self._d), blocks, stride, dilate)


def make_squeezenet(version, d):
    m = squeezenet.SqueezeNet(version, num_classes=NUM_CLASSES)
    F = lambda i, s, e1, e3: squeezenet.Fire(w(i, d), w(s, d), w(e1, d), w(e3, d))
    pool = lambda: nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)
    if version == '1_0':
        m.features = nn.Sequential(
            nn.Conv2d(3, w(96, d), kernel_size=7, stride=2), nn.ReLU(inplace=True), pool(),
            F(96, 16, 64, 64), F(128, 16, 64, 64), F(128, 32, 128, 128), pool(),
            F(256, 32, 128, 128), F(256, 48, 192, 192), F(384, 48, 192, 192), F(384, 64, 256, 256), pool(),
            F(512, 64, 256, 256))
    else:
        m.features = nn.Sequential(
            nn.Conv2d(3, w(64, d), kernel_size=3, stride=2), nn.ReLU(inplace=True), pool(),
            F(64, 16, 64, 64), F(128, 16, 64, 64), pool(),
            F(128, 32, 128, 128), F(256, 32, 128, 128), pool(),
            F(256, 48, 192, 192), F(384, 48, 192, 192), F(384, 64, 256, 256), F(512, 64, 256, 256))
    m.classifier[1] = nn.Conv2d(w(512, d), NUM_CLASSES, kernel_size=1)
    return m


# Seed of squeezenet1_1's He init (he_init): with it every Fire module is alive on the fixture input
# (check_fire_alive). The Fire modules swapped in above keep PyTorch's default Conv2d init, which
# shrinks the signal layer by layer: with it a whole Fire module's squeeze was zero and the logits did
# not depend on the input, so the parity test could not see errors before that module.
SQUEEZENET1_1_SEED = 21
MIN_ALIVE = 0.25


def he_init(model, seed):
    """Kaiming-normal (ReLU gain) conv weights and N(0, 0.05²) biases from their own seed; the global
    RNG is left as it was, so the models built after this one are unchanged."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
                nn.init.normal_(m.bias, std=0.05)
    return model


def check_fire_alive(model, x):
    """Prints, per Fire module, the fraction of non-zeros of its squeeze activation and of its output,
    and asserts each is at least MIN_ALIVE and that the logits depend on the input."""
    stats = []
    hooks = [mod.register_forward_hook(lambda fm, i, o, path=path: stats.append(
        (path, (fm.squeeze_activation(fm.squeeze(i[0])) != 0).float().mean().item(), (o != 0).float().mean().item())))
        for path, mod in model.named_modules() if isinstance(mod, squeezenet.Fire)]
    with torch.no_grad():
        y = model(x)
    for h in hooks:
        h.remove()
    for path, squeeze, out in stats:
        print(f'  {path}: non-zeros squeeze {squeeze:.2f}, output {out:.2f}')
        assert squeeze >= MIN_ALIVE and out >= MIN_ALIVE, f'{path} is (nearly) dead: {squeeze:.2f}, {out:.2f} < {MIN_ALIVE}'
    spread = (y[0] - y[1]).abs().max().item() / y.abs().max().item()
    print(f'  logits: max |y0 - y1| / max |y| = {spread:.3f}')
    assert spread > 0.01, 'the logits barely depend on the input'


# name → (builder, TS options, activation path to check)
MODELS = {
    'alexnet': (lambda: make_alexnet(32), {'widthDivisor': 32}, 'features.11'),
    'vgg11': (lambda: make_vgg('A', False, 64), {'widthDivisor': 64}, 'features.19'),
    'vgg16_bn': (lambda: make_vgg('D', True, 32), {'widthDivisor': 32}, 'features.42'),
    'resnet18': (lambda: SlimResNet(resnet.BasicBlock, [2, 2, 2, 2], 16), {'widthDivisor': 16}, 'layer4'),
    'resnet34': (lambda: SlimResNet(resnet.BasicBlock, [3, 4, 6, 3], 32), {'widthDivisor': 32}, 'layer3.5'),
    'resnet50': (lambda: SlimResNet(resnet.Bottleneck, [3, 4, 6, 3], 16), {'widthDivisor': 16}, 'layer4.2'),
    'squeezenet1_0': (lambda: make_squeezenet('1_0', 8), {'widthDivisor': 8}, 'features.12'),
    'squeezenet1_1': (lambda: he_init(make_squeezenet('1_1', 8), SQUEEZENET1_1_SEED), {'widthDivisor': 8}, 'features.12'),
    'mobilenet_v2': (lambda: mobilenetv2.MobileNetV2(num_classes=NUM_CLASSES, width_mult=0.1, round_nearest=2),
                     {'widthMult': 0.1, 'roundNearest': 2}, 'features.18'),
}

FULL_SIZE = ['alexnet', 'vgg11', 'vgg11_bn', 'vgg13', 'vgg13_bn', 'vgg16', 'vgg16_bn', 'vgg19', 'vgg19_bn',
             'resnet18', 'resnet34', 'resnet50', 'squeezenet1_0', 'squeezenet1_1', 'mobilenet_v2',
             'vit_b_16', 'vit_b_32', 'vit_l_16']  # the ViTs' reduced fixture: scripts/make-vit-fixtures.py


def randomize_bn(model, g):
    """BatchNorm defaults (1, 0, 0, 1) would hide mistakes in the affine or running terms."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.2)
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                m.num_batches_tracked.fill_(7)


def save(name, arrays):
    np.savez(os.path.join(OUT, name), **{k: np.ascontiguousarray(v) for k, v in arrays.items()})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--only', choices=list(MODELS), help="write only this model's .pth and its entries "
                        'in expected.npz and models.json (every model is still built, in order, for the RNG stream)')
    only = parser.parse_args().only
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1234)
    x = torch.rand(INPUT_SHAPE, generator=g) * 2 - 1
    expected = {'input': x.numpy()}
    manifest = {'numClasses': NUM_CLASSES, 'inputShape': list(INPUT_SHAPE), 'models': {}}
    for name, (build, options, act_path) in MODELS.items():
        model = build()
        randomize_bn(model, g)
        model.eval()
        if only not in (None, name):
            continue
        if name == 'squeezenet1_1':
            check_fire_alive(model, x)
        torch.save(model.state_dict(), os.path.join(OUT, f'{name}.pth'))
        acts = {}
        model.get_submodule(act_path).register_forward_hook(lambda m, i, o: acts.__setitem__('a', o.detach().clone()))
        with torch.no_grad():
            logits = model(x)
        expected[f'{name}.logits'] = logits.numpy()
        expected[f'{name}.activation'] = acts['a'].numpy()
        manifest['models'][name] = {'options': options, 'activation': act_path,
                                    'params': sum(p.numel() for p in model.parameters())}
        print(f'{name}: {manifest["models"][name]["params"]} params, logits {tuple(logits.shape)}, {act_path} {tuple(acts["a"].shape)}')

    if only is not None:
        old = dict(np.load(os.path.join(OUT, 'expected.npz')))
        assert np.array_equal(old['input'], expected['input'])
        save('expected.npz', {**old, **expected})
        with open(os.path.join(OUT, 'models.json')) as f:
            old_manifest = json.load(f)
        old_manifest['models'][only] = manifest['models'][only]
        with open(os.path.join(OUT, 'models.json'), 'w') as f:
            json.dump(old_manifest, f, indent=1)
        return

    # A float16 state dict: decoding half-precision weights in loadWeights.
    model = make_squeezenet('1_1', 8)
    model.eval()
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    torch.save(half, os.path.join(OUT, 'squeezenet1_1_fp16.pth'))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in half.items()})
    with torch.no_grad():
        expected['squeezenet1_1_fp16.logits'] = model(x).numpy()
    save('expected.npz', expected)
    with open(os.path.join(OUT, 'models.json'), 'w') as f:
        json.dump(manifest, f, indent=1)

    # Full-size parameter and buffer names and shapes, as torchvision's state_dict() lists them (the other
    # families' fixture scripts add theirs to the same file).
    add_full_size(FULL_SIZE)

    # BatchNorm2d in training mode: two steps, then eval; also momentum=None (cumulative average).
    bn = {}
    for tag, momentum in (('m01', 0.1), ('cum', None)):
        m = nn.BatchNorm2d(3, momentum=momentum)
        with torch.no_grad():
            m.weight.copy_(torch.tensor([1.5, 0.5, -1.0]))
            m.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
        m.train()
        for step in range(2):
            xi = torch.randn(4, 3, 5, 5, generator=g) * (step + 1) + step
            bn[f'{tag}.x{step}'] = xi.numpy()
            bn[f'{tag}.y{step}'] = m(xi).detach().numpy()
        bn[f'{tag}.running_mean'] = m.running_mean.numpy()
        bn[f'{tag}.running_var'] = m.running_var.numpy()
        bn[f'{tag}.num_batches_tracked'] = m.num_batches_tracked.numpy()
        m.eval()
        bn[f'{tag}.yeval'] = m(bn_x := torch.tensor(bn[f'{tag}.x0'])).detach().numpy()
        del bn_x
    save('batchnorm-train.npz', bn)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT) if os.path.isfile(os.path.join(OUT, f)))
    print(f'fixtures: {total / 1e6:.2f} MB in {OUT}')


if __name__ == '__main__':
    main()
