"""Helpers shared by scripts/make-explain-fixtures.py and scripts/make-explain-arch-fixtures.py.

MODE is the one global backward-rule switch ('vanilla', 'guided', 'deconvnet') that each script's
ReLU autograd function reads; input_grad sets it for one backward pass.
"""
import torch
import torch.nn.functional as F

MODE = {'rule': 'vanilla'}


def one_hot(out, classes):
    seed = torch.zeros_like(out)
    for i, c in enumerate(classes):
        seed[i, c] = 1
    return seed


def input_grad(model, x, classes, rule='vanilla'):
    MODE['rule'] = rule
    try:
        x = x.clone().requires_grad_(True)
        out = model(x)
        out.backward(one_hot(out, classes))
        return x.grad.detach()
    finally:
        MODE['rule'] = 'vanilla'


def layer_and_grad(model, layer, x, classes):
    """Activation A of module `layer` and dScore/dA from one forward pass."""
    store = {}

    def hook(_m, _i, o):
        o.retain_grad()
        store['a'] = o

    h = model.get_submodule(layer).register_forward_hook(hook)
    out = model(x)
    h.remove()
    out.backward(one_hot(out, classes))
    return store['a'].detach(), store['a'].grad.detach(), out.detach()


def upsample(maps, size):
    return F.interpolate(maps[:, None], size=size, mode='bilinear', align_corners=False)[:, 0]


def grad_cam(a, g):
    w = g.mean(dim=(2, 3))
    return F.relu((w[:, :, None, None] * a).sum(1)), w


def grad_cam_pp(a, g):
    g2, g3 = g ** 2, g ** 3
    sum_a = a.sum(dim=(2, 3), keepdim=True)
    denom = 2 * g2 + sum_a * g3
    alpha = torch.where(denom != 0, g2 / torch.where(denom != 0, denom, torch.ones_like(denom)), torch.zeros_like(denom))
    w = (alpha * F.relu(g)).sum(dim=(2, 3))
    return F.relu((w[:, :, None, None] * a).sum(1)), w
