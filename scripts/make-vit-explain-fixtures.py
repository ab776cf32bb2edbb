#!/usr/bin/python3
"""Writes packages/explain/test/fixtures/vit/expected.npz: attribution maps of the reduced torchvision ViT
(packages/nn/test/fixtures/vit_small.pth, see scripts/make-vit-fixtures.py) computed by PyTorch
implementations written from the papers, for packages/explain/test/vit.test.ts.

Run with Debian's python3 (torch 1.13, torchvision 0.14):  /usr/bin/python3 scripts/make-vit-explain-fixtures.py

- vanilla: d logit[target] / d input (Simonyan et al. 2014).
- gradcam: Grad-CAM (Selvaraju et al. 2017) at encoder.layers.encoder_layer_2.ln_1 through the token reshape
  of pytorch-grad-cam's ViT example (drop the class token, lay the 16 patch tokens on their 4×4 grid,
  channels first), applied to the activation and to its gradient; the map and its bilinear upsampling.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.models.vision_transformer import VisionTransformer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
OUT = os.path.join(ROOT, 'packages', 'explain', 'test', 'fixtures', 'vit')
SMALL = dict(image_size=32, patch_size=8, num_layers=3, num_heads=4, hidden_dim=32, mlp_dim=64, num_classes=10)
LAYER = 'encoder.layers.encoder_layer_2.ln_1'
TARGET = [3, 7]


def load_model():
    model = VisionTransformer(**SMALL)
    state = torch.load(os.path.join(ROOT, 'packages', 'nn', 'test', 'fixtures', 'vit_small.pth'))
    model.load_state_dict(state)  # torchvision renames the legacy mlp.linear_1 / linear_2 keys itself
    return model.double().eval()


def tokens_to_grid(t, h=4, w=4):
    """pytorch-grad-cam's reshape_transform for ViTs: [N, 1 + h·w, C] → [N, C, h, w]."""
    return t[:, 1:, :].reshape(t.shape[0], h, w, t.shape[2]).permute(0, 3, 1, 2)


def one_hot(out):
    seed = torch.zeros_like(out)
    for i, c in enumerate(TARGET):
        seed[i, c] = 1
    return seed


def main():
    os.makedirs(OUT, exist_ok=True)
    model = load_model()
    g = torch.Generator().manual_seed(11)
    x = (torch.rand((2, 3, 32, 32), generator=g) * 2 - 1).float()
    out = {'x': x.numpy(), 'target': np.array(TARGET, dtype=np.int32)}

    xd = x.double().clone().requires_grad_(True)
    store = {}

    def hook(_m, _i, o):
        o.retain_grad()
        store['a'] = o

    h = model.get_submodule(LAYER).register_forward_hook(hook)
    logits = model(xd)
    h.remove()
    logits.backward(one_hot(logits))
    out['logits'] = logits.detach().float().numpy()
    out['vanilla'] = xd.grad.float().numpy()
    a = tokens_to_grid(store['a'].detach())
    grad = tokens_to_grid(store['a'].grad.detach())
    weights = grad.mean(dim=(2, 3))
    cam = F.relu((weights[:, :, None, None] * a).sum(1))
    out['gradcam'] = cam.float().numpy()
    out['gradcam_up'] = F.interpolate(cam[:, None], size=(32, 32), mode='bilinear', align_corners=False)[:, 0].float().numpy()
    np.savez(os.path.join(OUT, 'expected.npz'), **out)
    print({k: v.shape for k, v in out.items()})


if __name__ == '__main__':
    main()
