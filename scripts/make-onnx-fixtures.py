"""Writes packages/onnx/test/fixtures/: small torchvision models exported by torch.onnx with random
weights (seed 0), and PyTorch's logits, vanilla gradient and Grad-CAM map for one random input:
<name>.onnx, <name>.json (shapes, class, logits, Grad-CAM map) and float32 .npy files of the input and
the gradient (<name>.input.npy, <name>.gradient.npy), which as JSON text were five times larger.

The architectures are torchvision's own classes at reduced width/depth/input size so each fixture stays
well under 1 MB (full-size models belong in benchmarks/): ResNet with Bottleneck blocks (resnet50's
block), MobileNetV3-Large at width 0.1, DenseNet (densenet121's structure, tiny growth), ConvNeXt
(convnext_tiny's blocks, narrow), a VisionTransformer (vit_b_16's structure, 2 layers, 32 px), EfficientNet
(efficientnet_b0's stages at width and depth 0.25: SiLU, squeeze-excitation, stochastic depth) and a Swin
Transformer (swin_t's blocks, narrow, windows of 4: shifted-window masks written by ScatterND, attention
dropout exported in training mode at p = 0); Swin's Grad-CAM layer is channels-last [N, H, W, C].

Run with Debian's python3-torch / python3-torchvision / python3-onnx:
    /usr/bin/python3 scripts/make-onnx-fixtures.py
"""
import json
import os
import sys

import numpy as np

import torch
import torchvision
from torchvision.models import resnet, densenet, convnext, vision_transformer, mobilenetv3, efficientnet, swin_transformer

OUT = os.path.join(os.path.dirname(__file__), '..', 'packages', 'onnx', 'test', 'fixtures')


class SmallBottleneckResNet(resnet.ResNet):
    """resnet50's Bottleneck blocks at 1/8 width: torchvision's ResNet with its stage widths divided."""

    def __init__(self):
        torch.nn.Module.__init__(self)
        block = resnet.Bottleneck
        self._norm_layer = torch.nn.BatchNorm2d
        self.inplanes = 8
        self.dilation = 1
        self.groups = 1
        self.base_width = 64
        self.conv1 = torch.nn.Conv2d(3, 8, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.relu = torch.nn.ReLU(inplace=True)
        self.maxpool = torch.nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 8, 2)
        self.layer2 = self._make_layer(block, 16, 2, stride=2)
        self.layer3 = self._make_layer(block, 32, 2, stride=2)
        self.layer4 = self._make_layer(block, 64, 2, stride=2)
        self.avgpool = torch.nn.AdaptiveAvgPool2d((1, 1))
        self.fc = torch.nn.Linear(64 * block.expansion, 10)


def models():
    return {
        # name: (constructor, input size, Grad-CAM layer as a module path)
        'resnet50': (SmallBottleneckResNet, 64, 'layer4'),
        'mobilenet_v3_large': (lambda: torchvision.models.mobilenet_v3_large(width_mult=0.1, num_classes=10), 64, 'features'),
        'densenet121': (lambda: densenet.DenseNet(growth_rate=4, block_config=(2, 2, 2, 2), num_init_features=8, bn_size=2, num_classes=10), 64, 'features.denseblock4'),
        'convnext_tiny': (lambda: convnext.ConvNeXt([convnext.CNBlockConfig(8, 16, 1), convnext.CNBlockConfig(16, 32, 1), convnext.CNBlockConfig(32, 64, 1), convnext.CNBlockConfig(64, None, 1)], num_classes=10), 64, 'features'),
        # a token layer: Grad-CAM on its patch tokens laid out on the 4×4 grid (pytorch-grad-cam's reshape_transform)
        'vit_b_16': (lambda: vision_transformer.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32, num_classes=10), 32, 'encoder.layers.encoder_layer_1.ln_1'),
        'efficientnet_b0': (small_efficientnet, 64, 'features'),
        # channels-last feature maps [N, H, W, C]: Grad-CAM on them permuted to [N, C, H, W]
        'swin_t': (lambda: swin_transformer.SwinTransformer(patch_size=[4, 4], embed_dim=8, depths=[2, 2], num_heads=[1, 2], window_size=[4, 4], num_classes=10), 32, 'features'),
    }


def small_efficientnet():
    setting, last_channel = efficientnet._efficientnet_conf('efficientnet_b0', width_mult=0.25, depth_mult=0.25)
    return efficientnet.EfficientNet(setting, dropout=0.2, last_channel=last_channel, num_classes=10)


def randomize_norm_stats(model, gen):
    for m in model.modules():
        # torchvision zero-initialises some heads (ViT's), which would make every logit 0.
        if isinstance(m, torch.nn.Linear) and not m.weight.abs().sum():
            m.weight.data.copy_(torch.randn(m.weight.shape, generator=gen) * 0.1)
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)


def main():
    os.makedirs(OUT, exist_ok=True)
    only = sys.argv[1:]
    for name, (ctor, size, layer) in models().items():
        if only and name not in only:
            continue
        torch.manual_seed(0)
        gen = torch.Generator().manual_seed(0)
        model = ctor()
        with torch.no_grad():
            randomize_norm_stats(model, gen)
        model.eval()
        x = torch.randn(1, 3, size, size, generator=gen)
        path = os.path.join(OUT, f'{name}.onnx')
        torch.onnx.export(model, x, path, opset_version=17, input_names=['input'], output_names=['logits'], do_constant_folding=True)
        # Goldens: logits, vanilla gradient of the top class's logit, Grad-CAM (paper form) at `layer`.
        acts = {}
        if layer:
            mod = dict(model.named_modules())[layer]
            mod.register_forward_hook(lambda m, i, o: acts.__setitem__('a', o))
        xg = x.clone().requires_grad_(True)
        logits = model(xg)
        cls = int(logits.argmax())
        golden = {'shape': list(x.shape), 'logits': logits.detach().flatten().tolist(), 'class': cls}
        np.save(os.path.join(OUT, f'{name}.input.npy'), x.numpy().astype(np.float32))
        if layer:
            a = acts['a']
            if name == 'swin_t':  # channels last [1, h, w, C] → [1, C, h, w]
                a_grid = lambda t: t.permute(0, 3, 1, 2)
            elif a.dim() == 3:  # tokens [1, 1 + h·w, C] → drop the class token → [1, C, h, w]
                side = int(round((a.shape[1] - 1) ** 0.5))
                a_grid = lambda t: t[:, 1:, :].reshape(t.shape[0], side, side, t.shape[2]).permute(0, 3, 1, 2)
            else:
                a_grid = lambda t: t
            g_a, g_x = torch.autograd.grad(logits[0, cls], [a, xg])
            g_a, a = a_grid(g_a), a_grid(a)
            w = g_a.mean(dim=(2, 3), keepdim=True)
            cam = torch.relu((w * a).sum(dim=1))
            golden.update({'layer': layer, 'gradcam': cam.detach().flatten().tolist(), 'gradcamShape': list(cam.shape)})
        else:
            (g_x,) = torch.autograd.grad(logits[0, cls], [xg])
        np.save(os.path.join(OUT, f'{name}.gradient.npy'), g_x.detach().numpy().astype(np.float32))
        with open(os.path.join(OUT, f'{name}.json'), 'w') as f:
            json.dump(golden, f)
        print(name, os.path.getsize(path), 'bytes, class', cls)


if __name__ == '__main__':
    main()
