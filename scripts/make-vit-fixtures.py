#!/usr/bin/python3
"""Writes the vision-transformer fixtures of packages/nn/test (and the full-size state-dict lists).

Run with Debian's python3 (torch 1.13, torchvision 0.14):  /usr/bin/python3 scripts/make-vit-fixtures.py

- fixtures/vit_small.pth: a torchvision VisionTransformer (the same class as vit_b_16) reduced in size
  (32×32 images, patch 8, 3 layers, 4 heads, hidden 32, MLP 64, 10 classes) with random weights in every
  parameter (torchvision zero-initialises the head and class token, which would hide mistakes), saved in
  the legacy MLP key layout (`mlp.linear_1`) that torchvision's published ViT weights use.
- fixtures/vit-expected.npz: an input batch, its logits, and the output of encoder.layers.encoder_layer_1.
- fixtures/torchvision-state-dicts.json: vit_b_16, vit_b_32, vit_l_16, vit_l_32 and vit_h_14's state-dict names and shapes
  added to the lists scripts/make-nn-fixtures.py writes.
"""
import os

import numpy as np
import torch
from state_dict_lists import add_full_size
from torchvision.models.vision_transformer import VisionTransformer

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'packages', 'nn', 'test', 'fixtures')
SMALL = dict(image_size=32, patch_size=8, num_layers=3, num_heads=4, hidden_dim=32, mlp_dim=64, num_classes=10)
FULL_SIZE = ['vit_b_16', 'vit_b_32', 'vit_l_16', 'vit_l_32', 'vit_h_14']


def small_vit(seed=20261204):
    """The reduced ViT with every parameter drawn at random (LayerNorm weights around 1)."""
    torch.manual_seed(seed)
    model = VisionTransformer(**SMALL)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('weight') and ('ln' in name.split('.')[-2]):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1 or name in ('class_token', 'encoder.pos_embedding'):
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
    return model.eval()


def legacy_keys(state):
    """torchvision's published ViT checkpoints name the MLP's linears linear_1 and linear_2."""
    out = {}
    for k, v in state.items():
        k = k.replace('.mlp.0.', '.mlp.linear_1.').replace('.mlp.3.', '.mlp.linear_2.')
        out[k] = v
    return out


def main():
    model = small_vit()
    g = torch.Generator().manual_seed(7)
    x = torch.rand((2, 3, 32, 32), generator=g) * 2 - 1
    torch.save(legacy_keys(model.state_dict()), os.path.join(OUT, 'vit_small.pth'))
    acts = {}
    model.encoder.layers.encoder_layer_1.register_forward_hook(lambda m, i, o: acts.__setitem__('a', o.detach().clone()))
    with torch.no_grad():
        logits = model(x)
    np.savez(os.path.join(OUT, 'vit-expected.npz'), input=x.numpy(), logits=logits.numpy(),
             activation=acts['a'].numpy())
    print('vit_small:', sum(p.numel() for p in model.parameters()), 'params, logits', tuple(logits.shape))

    add_full_size(FULL_SIZE)


if __name__ == '__main__':
    main()
