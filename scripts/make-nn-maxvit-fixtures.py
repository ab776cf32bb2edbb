#!/usr/bin/python3
"""Writes the MaxViT fixtures of packages/nn/test (and the full-size state-dict list).

Run with Debian's python3 (torch 1.13, torchvision 0.14):  /usr/bin/python3 scripts/make-nn-maxvit-fixtures.py

- fixtures/maxvit/small.pth: torchvision's own MaxVit class (the one maxvit_t builds) reduced in size (input
  23×23, stem 8, partition 3, blocks [8, 16] of [1, 2] layers, head size 4, 5 classes) with random weights in
  every parameter and BatchNorm statistic (norm weights around 1, the relative position bias tables too). The odd
  input halves to 12, 6 and 3: block 0 has 2×2 windows and a 3×3-cell grid, block 1 one window; its first layers
  pool and project, the second of block 1 adds its input as it is.
- fixtures/maxvit/expected.npz: an input [2, 3, 23, 23], computed in float64: the logits, the outputs of
  blocks.0 and of the default CAM layer blocks.1, the input gradient of Σ logits·weights and that sum's gradient
  for the parameters in PARAM_GRADS.
- fixtures/torchvision-state-dicts.json: maxvit_t's state-dict names and shapes.
"""
import os

import torch
from reference_pass import reference_pass, write_fixture
from state_dict_lists import add_full_size
from torchvision.models.maxvit import MaxVit

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'packages', 'nn', 'test', 'fixtures')
OUT = os.path.join(ROOT, 'maxvit')
SMALL = dict(input_size=(23, 23), stem_channels=8, partition_size=3, block_channels=[8, 16], block_layers=[1, 2],
             head_dim=4, stochastic_depth_prob=0.2, num_classes=5)
CAM_LAYER = 'blocks.1'
PARAM_GRADS = ['blocks.0.layers.0.layers.grid_attention.attn_layer.1.relative_position_bias_table',
               'blocks.1.layers.1.layers.MBconv.layers.conv_b.0.weight', 'stem.1.0.bias', 'classifier.3.weight']


def small_maxvit(seed=20261207):
    """The reduced MaxViT with every parameter and BatchNorm statistic drawn at random."""
    torch.manual_seed(seed)
    model = MaxVit(**SMALL)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            mod = model.get_submodule(name.rsplit('.', 1)[0])
            if isinstance(mod, (torch.nn.LayerNorm, torch.nn.BatchNorm2d)) and name.endswith('weight'):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith('relative_position_bias_table'):
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
    return model.eval()


def main():
    os.makedirs(OUT, exist_ok=True)
    model = small_maxvit()
    torch.save(model.state_dict(), os.path.join(OUT, 'small.pth'))
    g = torch.Generator().manual_seed(7)
    x = (torch.rand((2, 3, 23, 23), generator=g) * 2 - 1).float()
    out = {'input': x.numpy()}

    arrays, _, _ = reference_pass(small_maxvit().double(), x, {'blocks.0': 'blocks.0', CAM_LAYER: 'cam_layer'}, PARAM_GRADS)
    out.update(arrays)
    write_fixture(OUT, out, SMALL, CAM_LAYER, model, compressed=True)

    add_full_size(['maxvit_t'])


if __name__ == '__main__':
    main()
