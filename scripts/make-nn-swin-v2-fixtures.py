#!/usr/bin/python3
"""Writes the Swin Transformer V2 fixtures of packages/nn/test (and the full-size state-dict lists).

Run with Debian's python3 (torch 1.13, torchvision 0.14):  /usr/bin/python3 scripts/make-nn-swin-v2-fixtures.py

- fixtures/swin-v2/small.pth: torchvision's own SwinTransformer class with the blocks and patch merging that
  swin_v2_t builds (SwinTransformerBlockV2, PatchMergingV2), reduced in size (patch 2, embed 8, depths [2, 2],
  heads [2, 4], a non-square 4×3 window, 5 classes) with random weights in every parameter: LayerNorm weights
  around 1, every bias (k's third of qkv.bias too, which torchvision ignores), the cpb_mlp layers, and
  logit_scale drawn in [0.5, 2.3] (up to torchvision's initial ln 10) but one head of features.3.1 at 5 (past ln 100 ≈ 4.6, so clamped).
- fixtures/swin-v2/expected.npz: an input [2, 3, 22, 30] (11×15 patches: the windows pad to 12×15, then after
  patch merging 6×8 pads to 8×9, and every second block is shifted), computed in float64: the logits, the
  output of features.1.1 and of the default CAM layer features.3.1.norm1 ([N, h, w, C], channels-last), the
  input gradient of Σ logits·weights and that sum's gradient for the parameters in PARAM_GRADS; and the logits
  of a flat input [1, 3, 6, 30], whose map is one window high, so torchvision shifts only along the width.
- fixtures/torchvision-state-dicts.json: swin_v2_t, swin_v2_s and swin_v2_b's state-dict names and shapes.
"""
import os

import torch
from reference_pass import reference_pass, write_fixture
from state_dict_lists import add_full_size
from torchvision.models.swin_transformer import PatchMergingV2, SwinTransformer, SwinTransformerBlockV2

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'packages', 'nn', 'test', 'fixtures')
OUT = os.path.join(ROOT, 'swin-v2')
SMALL = dict(patch_size=[2, 2], embed_dim=8, depths=[2, 2], num_heads=[2, 4], window_size=[4, 3], num_classes=5)
FULL_SIZE = ['swin_v2_t', 'swin_v2_s', 'swin_v2_b']
CAM_LAYER = 'features.3.1.norm1'
CLAMPED = 'features.3.1.attn.logit_scale'
# A shifted block's logit scale (one head clamped) and cpb_mlp, qkv's bias (k's third gets 0), a patch merging norm.
PARAM_GRADS = ['features.3.1.attn.logit_scale', 'features.1.1.attn.cpb_mlp.0.weight', 'features.3.1.attn.qkv.bias',
               'features.2.norm.weight']


def small_swin_v2(seed=20261206):
    """The reduced Swin V2 with every parameter drawn at random."""
    torch.manual_seed(seed)
    model = SwinTransformer(**SMALL, block=SwinTransformerBlockV2, downsample_layer=PatchMergingV2)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            mod = model.get_submodule(name.rsplit('.', 1)[0])
            if isinstance(mod, torch.nn.LayerNorm) and name.endswith('weight'):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith('logit_scale'):
                p.copy_(0.5 + 1.8 * torch.rand(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
        # One head past the clamp (scale 100; a scale that large makes the scores 100× as sensitive to float32
        # rounding as the cosines, so the other heads stay at 1.6–10, where a 1e-4 bound means something).
        model.get_parameter(CLAMPED)[0] = 5.0
    return model.eval()


def main():
    os.makedirs(OUT, exist_ok=True)
    model = small_swin_v2()
    torch.save(model.state_dict(), os.path.join(OUT, 'small.pth'))
    g = torch.Generator().manual_seed(7)
    x = (torch.rand((2, 3, 22, 30), generator=g) * 2 - 1).float()
    out = {'input': x.numpy()}

    m64 = small_swin_v2().double()
    arrays, _, _ = reference_pass(m64, x, {'features.1.1': 'features.1.1', CAM_LAYER: 'cam_layer'}, PARAM_GRADS)
    out.update(arrays)
    # A flat input [1, 3, 6, 30]: 3×15 patches pad to 4×15, one window high, so only the width shifts.
    flat = (torch.rand((1, 3, 6, 30), generator=g) * 2 - 1).float()
    with torch.no_grad():
        out['flat_input'] = flat.numpy()
        out['flat_logits'] = m64(flat.double()).float().numpy()
    write_fixture(OUT, out, SMALL, CAM_LAYER, model, compressed=True)

    add_full_size(FULL_SIZE)


if __name__ == '__main__':
    main()
