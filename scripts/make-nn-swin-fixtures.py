#!/usr/bin/python3
"""Writes the Swin Transformer fixtures of packages/nn/test (and the full-size state-dict lists).

Run with Debian's python3 (torch 1.13, torchvision 0.14):  /usr/bin/python3 scripts/make-nn-swin-fixtures.py

- fixtures/swin/small.pth: torchvision's own SwinTransformer class (the one swin_t builds) reduced in
  size (patch 2, embed 8, depths [2, 2], heads [2, 4], a non-square 4×3 window, 5 classes) with random
  weights in every parameter (LayerNorm weights around 1, the relative position bias tables too).
- fixtures/swin/expected.npz: an input [2, 3, 22, 30] (11×15 patches: the windows pad to 12×15, then
  after patch merging 6×8 pads to 8×9, and every second block is shifted), computed in float64:
  the logits, the output of features.1.1 and of the default CAM layer features.3.1.norm1 ([N, h, w, C],
  channels-last), the input gradient of Σ logits·weights and that sum's gradient for three parameters
  (a shifted block's relative position bias table and qkv weight, a patch merging norm), and Grad-CAM at features.3.1.norm1 (channels
  moved to dim 1, weights the spatial mean of the gradient, ReLU of the weighted sum) and Ablation-CAM
  (each channel zeroed in the channels-last output, weights (y − yₖ) / y) for `target`; and the logits of a
  flat input [1, 3, 6, 30], whose map is one window high, so torchvision shifts only along the width.
- fixtures/torchvision-state-dicts.json: swin_t, swin_s and swin_b's state-dict names and shapes appended.
"""
import os

import numpy as np
import torch
from reference_pass import reference_pass, write_fixture
from state_dict_lists import add_full_size
from torchvision.models.swin_transformer import SwinTransformer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'packages', 'nn', 'test', 'fixtures')
OUT = os.path.join(ROOT, 'swin')
SMALL = dict(patch_size=[2, 2], embed_dim=8, depths=[2, 2], num_heads=[2, 4], window_size=[4, 3], num_classes=5)
FULL_SIZE = ['swin_t', 'swin_s', 'swin_b']
CAM_LAYER = 'features.3.1.norm1'
TARGET = [3, 1]
PARAM_GRADS = ['features.1.1.attn.relative_position_bias_table', 'features.3.1.attn.qkv.weight', 'features.2.norm.weight']


def small_swin(seed=20261205):
    """The reduced Swin with every parameter drawn at random."""
    torch.manual_seed(seed)
    model = SwinTransformer(**SMALL)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            mod = model.get_submodule(name.rsplit('.', 1)[0])
            if isinstance(mod, torch.nn.LayerNorm) and name.endswith('weight'):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith('relative_position_bias_table'):
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
    return model.eval()


def main():
    os.makedirs(OUT, exist_ok=True)
    model = small_swin()
    torch.save(model.state_dict(), os.path.join(OUT, 'small.pth'))
    g = torch.Generator().manual_seed(7)
    x = (torch.rand((2, 3, 22, 30), generator=g) * 2 - 1).float()
    out = {'input': x.numpy(), 'target': np.array(TARGET, dtype=np.int32)}

    m64 = small_swin().double()
    # Parameter gradients of the same sum: a shifted block's bias table (through the index) and qkv weight.
    arrays, store, logits = reference_pass(m64, x, {'features.1.1': 'features.1.1', CAM_LAYER: 'cam_layer'},
                                           PARAM_GRADS, retain=True)
    out.update(arrays)

    # Grad-CAM for TARGET: a fresh backward of the targets' logits.
    store[CAM_LAYER].grad = None
    logits[torch.arange(2), torch.tensor(TARGET)].sum().backward()
    a = store[CAM_LAYER].detach().permute(0, 3, 1, 2)
    grad = store[CAM_LAYER].grad.detach().permute(0, 3, 1, 2)
    cam = torch.relu((grad.mean(dim=(2, 3))[:, :, None, None] * a).sum(1))
    out['gradcam'] = cam.float().numpy()

    # Ablation-CAM (Desai & Ramaswamy 2020) at the same layer: channel k zeroed, weights (y − yₖ) / y.
    with torch.no_grad():
        y = m64(x.double())[torch.arange(2), torch.tensor(TARGET)]
        k = a.shape[1]
        wts = torch.zeros(2, k, dtype=torch.float64)
        for c in range(k):
            def zero(_m, _i, o, c=c):
                o = o.clone()
                o[..., c] = 0
                return o
            h = m64.get_submodule(CAM_LAYER).register_forward_hook(zero)
            yk = m64(x.double())[torch.arange(2), torch.tensor(TARGET)]
            h.remove()
            wts[:, c] = (y - yk) / y
        out['ablationcam'] = torch.relu((wts[:, :, None, None] * a).sum(1)).float().numpy()
    # A flat input [1, 3, 6, 30]: 3×15 patches pad to 4×15, one window high, so only the width shifts.
    flat = (torch.rand((1, 3, 6, 30), generator=g) * 2 - 1).float()
    with torch.no_grad():
        out['flat_input'] = flat.numpy()
        out['flat_logits'] = m64(flat.double()).float().numpy()
    write_fixture(OUT, out, SMALL, CAM_LAYER, model)

    add_full_size(FULL_SIZE)


if __name__ == '__main__':
    main()
