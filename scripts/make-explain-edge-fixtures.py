#!/usr/bin/python3
"""Golden maps for packages/explain/test/edge-cases.test.ts: a model and an input no other test uses.

Run with Debian's python3 (torch 1.13):  /usr/bin/python3 scripts/make-explain-edge-fixtures.py

EdgeNet: features = conv 3→6, ReLU (in place), max pool 2, conv 6→8, GELU (erf), conv 8→8, Hardswish;
then SiLU (functional), global average pooling, fc 8→5. The TypeScript twin (test/edge-models.ts) has
no ReLU module: every activation there is a functional op inside a parameter-free module, so the
state dict keys match. Input: a batch of three non-square 3×12×20 images with three different top-1 classes; targets [0, 3, 1].

Written from the papers, float32 like the TypeScript side: the vanilla gradient; Grad-CAM, HiResCAM
and Grad-CAM++ (α = g²/(2g² + ΣA·g³), 0 where the denominator is 0) at features.6, each image alone
(so the batch equality is against PyTorch's single-image maps), raw and upsampled bilinearly to 12×20.
Writes packages/explain/test/fixtures/edge/{edgenet.pth, expected.npz} (a few kilobytes).
"""
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from fixture_common import grad_cam, grad_cam_pp, layer_and_grad, one_hot, upsample

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'packages', 'explain', 'test', 'fixtures', 'edge')
LAYER = 'features.6'
TARGETS = [0, 3, 1]


class EdgeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(6, 8, 3, padding=1), nn.GELU(), nn.Conv2d(8, 8, 3, padding=1), nn.Hardswish())
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        return self.fc(torch.flatten(self.avgpool(F.silu(self.features(x))), 1))


def main():
    torch.manual_seed(7)
    model = EdgeNet().eval()
    with torch.no_grad():  # so that the input, not the bias, decides the class
        model.fc.weight.mul_(10)
        model.fc.bias.zero_()
    # From a pool of random images, the first of three different top-1 classes: the default target
    # must pick each image's own class in a batch.
    gen = torch.Generator().manual_seed(0)
    pool = torch.randn(64, 3, 12, 20, generator=gen) + 3 * torch.randn(64, 3, 1, 1, generator=gen)
    picked = {}
    for i, c in enumerate(model(pool).argmax(1).tolist()):
        picked.setdefault(c, i)
    assert len(picked) >= 3, picked
    x = pool[sorted(picked.values())[:3]].clone()
    e = {'x': x, 'targets': torch.tensor(TARGETS, dtype=torch.float32)}
    xg = x.clone().requires_grad_(True)
    out = model(xg)
    out.backward(one_hot(out, TARGETS))
    e['logits'] = out.detach()
    e['vanilla'] = xg.grad.detach()
    cams, ups, hires, pps = [], [], [], []
    for i, c in enumerate(TARGETS):
        a, g, _ = layer_and_grad(model, LAYER, x[i:i + 1], [c])
        m, _ = grad_cam(a, g)
        cams.append(m)
        ups.append(upsample(m, (12, 20)))
        hires.append(F.relu((g * a).sum(1)))
        pps.append(grad_cam_pp(a.double(), g.double())[0].float())
    e['gradcam'] = torch.cat(cams)
    e['gradcam_up'] = torch.cat(ups)
    e['hirescam'] = torch.cat(hires)
    e['gradcampp'] = torch.cat(pps)
    os.makedirs(OUT, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(OUT, 'edgenet.pth'))
    np.savez(os.path.join(OUT, 'expected.npz'), **{k: v.detach().numpy().astype(np.float32) for k, v in e.items()})
    print('wrote', OUT, {k: tuple(v.shape) for k, v in e.items()})


if __name__ == '__main__':
    main()
