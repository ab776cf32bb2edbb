#!/usr/bin/python3
"""Golden values for ShapleyCAM (Cai et al. 2024, pytorch-grad-cam's ShapleyCAM), written from its definition in
PyTorch: the channel weights are the spatial mean of ∂s/∂A − ½·H·A, H = ∂²s/∂A² (a Hessian-vector product with A
itself, by double backward: autograd.grad of the retained gradient with grad_outputs = A), the map ReLU(Σₖ wₖAₖ).

With a logit target a ReLU/max-pool network's H is 0 almost everywhere and ShapleyCAM is Grad-CAM; the fixture uses
the softmax probability of class 3 as the score (as pytorch-grad-cam's examples do), where H·A is not 0.

Run with Debian's python3 (torch 1.13):  /usr/bin/python3 scripts/make-shapley-cam-fixtures.py
Uses the fixture SmallVGG of scripts/make-explain-fixtures.py (smallvgg.pth) and its input x (expected.npz), and
writes packages/explain/test/fixtures/shapley-cam.npz (float64): shapley (maps [2, 8, 8]), shapley_weights [2, K],
hvp_mean [2, K] (the spatial mean of H·A), gradcam (Grad-CAM of the same score).
"""
import importlib.util
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, '..', 'packages', 'explain', 'test', 'fixtures')

spec = importlib.util.spec_from_file_location('explain_fixtures', os.path.join(HERE, 'make-explain-fixtures.py'))
base = importlib.util.module_from_spec(spec)
spec.loader.exec_module(base)


def main():
    model = base.SmallVGG().eval().double()
    model.load_state_dict(torch.load(os.path.join(FIX, 'smallvgg.pth')))
    model = model.double()
    x = torch.from_numpy(np.load(os.path.join(FIX, 'expected.npz'))['x']).double()
    store = {}

    def hook(_m, _i, o):
        store['a'] = o

    h = model.get_submodule('features.3').register_forward_hook(hook)
    y = model(x)
    h.remove()
    score = torch.softmax(y, 1)[:, 3].sum()
    a = store['a']
    g = torch.autograd.grad(score, a, create_graph=True)[0]
    hvp = torch.autograd.grad(g, a, grad_outputs=a.detach())[0]
    w = (g - 0.5 * hvp).mean(dim=(2, 3))
    wg = g.mean(dim=(2, 3))
    out = {
        'shapley': torch.relu((w[:, :, None, None] * a).sum(1)),
        'shapley_weights': w,
        'hvp_mean': hvp.mean(dim=(2, 3)),
        'gradcam': torch.relu((wg[:, :, None, None] * a).sum(1)),
    }
    path = os.path.join(FIX, 'shapley-cam.npz')
    np.savez_compressed(path, **{k: v.detach().numpy().astype(np.float64) for k, v in out.items()})
    print('wrote', path, {k: tuple(v.shape) for k, v in out.items()}, 'max |hvp mean|', float(out['hvp_mean'].abs().max()))


if __name__ == '__main__':
    main()
