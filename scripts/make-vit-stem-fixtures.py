#!/usr/bin/python3
"""Writes the conv-stem vision-transformer fixtures of packages/nn/test (torchvision's conv_stem_configs).

Run with Debian's python3 (torch 1.13, torchvision 0.14):  /usr/bin/python3 scripts/make-vit-stem-fixtures.py

torchvision's VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=32,
mlp_dim=64, num_classes=10) with conv_stem_configs of three 3×3 stride-2 convs (8, 16, 24 channels; the
second with a 5×5 kernel, so padding (k − 1) / 2 is exercised), random values in every parameter and
buffer, in eval mode:

- fixtures/vit_stem_bn.pth: the stem with BatchNorm2d and ReLU (ConvStemConfig's defaults), random
  running statistics;
- fixtures/vit_stem_plain.pth: the same shape with norm_layer=None (convs with biases, ReLU), as the
  bundled ViT is published;
- fixtures/vit-stem-expected.npz: an input batch, and each model's logits and conv_proj output.
The .pth files' keys are torchvision's names (conv_proj.conv_bn_relu_0.0.weight, …, conv_proj.conv_last.weight).
"""
import os

import numpy as np
import torch
from torchvision.models.vision_transformer import ConvStemConfig, VisionTransformer

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'packages', 'nn', 'test', 'fixtures')
SHAPE = dict(image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=32, mlp_dim=64, num_classes=10)
STEM = [(8, 3, 2), (16, 5, 2), (24, 3, 2)]


def stem_vit(norm, seed):
    """The reduced conv-stem ViT with every parameter and buffer drawn at random."""
    torch.manual_seed(seed)
    configs = [ConvStemConfig(out_channels=c, kernel_size=k, stride=s, **({} if norm else {'norm_layer': None}))
               for c, k, s in STEM]
    model = VisionTransformer(**SHAPE, conv_stem_configs=configs)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.split('.')[-2] if '.' in name else name
            if name.endswith('weight') and (leaf.startswith('ln') or leaf == '1'):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))  # LayerNorm / BatchNorm scales around 1
            elif p.dim() == 1 or name in ('class_token', 'encoder.pos_embedding'):
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
        for name, b in model.named_buffers():
            if name.endswith('running_mean'):
                b.copy_(0.3 * torch.randn(b.shape, generator=g))
            elif name.endswith('running_var'):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))
    return model.eval()


def main():
    g = torch.Generator().manual_seed(11)
    x = torch.rand((2, 3, 32, 32), generator=g) * 2 - 1
    out = {'input': x.numpy()}
    for tag, norm, seed in (('bn', True, 20261205), ('plain', False, 20261206)):
        model = stem_vit(norm, seed)
        torch.save(model.state_dict(), os.path.join(OUT, f'vit_stem_{tag}.pth'))
        with torch.no_grad():
            out[f'{tag}_logits'] = model(x).numpy()
            out[f'{tag}_stem'] = model.conv_proj(x).numpy()
        print(tag, sum(p.numel() for p in model.parameters()), 'params')
    np.savez(os.path.join(OUT, 'vit-stem-expected.npz'), **out)


if __name__ == '__main__':
    main()
