#!/usr/bin/python3
"""Golden values for the methods of issue 21 (DeepLIFT, DeepLIFT-SHAP, GradientSHAP, the noise tunnel), in PyTorch.

Run with Debian's python3 (torch 1.13):  /usr/bin/python3 scripts/make-breadth-fixtures.py
Reads the fixture SmallVGG of scripts/make-explain-fixtures.py (same weights, smallvgg.pth, and the
same input x from expected.npz) and writes packages/explain/test/fixtures/breadth.npz. Each method is
written here from its paper; the random draws are made here and stored, so the TypeScript side uses
the same ones.

DeepLIFT-Rescale (Shrikumar et al. 2017): the input and its reference run as one batch [x; x'];
every ReLU's backward multiplies by m = (relu(z) - relu(z')) / (z - z') (its gradient where
|z - z'| <= 1e-10), the same m for both halves; only the input rows are seeded; max pooling keeps
its gradient. Attribution = (x - x') * multipliers.
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


class RescaleReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):
        y = z.clamp(min=0)
        ctx.save_for_backward(z, y)
        return y

    @staticmethod
    def backward(ctx, dy):
        z, y = ctx.saved_tensors
        h = z.shape[0] // 2
        dz = z[:h] - z[h:]
        dout = y[:h] - y[h:]
        far = dz.abs() > 1e-10
        m = torch.where(far, dout / torch.where(far, dz, torch.ones_like(dz)), (z[:h] > 0).to(dz.dtype))
        return dy * torch.cat([m, m])


def vgg():
    m = base.SmallVGG().eval()
    m.load_state_dict(torch.load(os.path.join(FIX, 'smallvgg.pth')))
    return m


def one_hot_rows(out, classes, rows):
    seed = torch.zeros_like(out)
    for r in range(rows):
        seed[r, classes[r]] = 1
    return seed


def deeplift(model, x, ref, classes):
    """Multipliers of x relative to ref (rows matched), times (x - ref)."""
    orig = base.act
    base.act = RescaleReLU.apply  # the fixture model's ReLUs all call base.act
    try:
        both = torch.cat([x, ref]).requires_grad_(True)
        out = model(both)
        out.backward(one_hot_rows(out, classes, x.shape[0]))
        return both.grad[: x.shape[0]].detach() * (x - ref)
    finally:
        base.act = orig


def logits(model, x, classes):
    with torch.no_grad():
        out = model(x)
    return torch.stack([out[i, c] for i, c in enumerate(classes)])


def main():
    e0 = np.load(os.path.join(FIX, 'expected.npz'))
    x = torch.from_numpy(e0['x'])
    n = x.shape[0]
    classes = [3, 7]
    model = vgg()
    g = torch.Generator().manual_seed(21)
    e = {}

    # DeepLIFT against one reference.
    ref = 0.3 * torch.randn(1, 3, 16, 16, generator=g)
    e['dl_ref'] = ref
    e['deeplift'] = deeplift(model, x, ref.expand_as(x), classes)
    e['deeplift_delta'] = e['deeplift'].sum(dim=(1, 2, 3)) - (logits(model, x, classes) - logits(model, ref.expand_as(x), classes))

    # DeepLIFT-SHAP: the mean of DeepLIFT over a baseline distribution.
    bl = torch.randn(3, 3, 16, 16, generator=g)
    e['shap_baselines'] = bl
    e['deeplift_shap'] = torch.stack([deeplift(model, x, b[None].expand_as(x), classes) for b in bl]).mean(0)

    # GradientSHAP with stored draws: mean_s (x~ - b) * grad F(b + a (x~ - b)), x~ = x + stdev * noise.
    s, stdev = 5, 0.1
    idx = torch.randint(0, 3, (s * n,), generator=g)
    alpha = torch.rand(s * n, generator=g)
    noise = torch.randn(s, n, 3, 16, 16, generator=g)
    e['gs_index'] = idx.to(torch.float32)
    e['gs_alpha'] = alpha
    e['gs_noise'] = noise
    acc = torch.zeros_like(x)
    for k in range(s):
        b = bl[idx[k * n:(k + 1) * n]]
        xt = x + stdev * noise[k]
        a = alpha[k * n:(k + 1) * n].view(n, 1, 1, 1)
        grad = base.input_grad(model, b + a * (xt - b), classes)
        acc += (xt - b) * grad / s
    e['gradient_shap'] = acc

    # Noise tunnel around guided backprop, absolute sigma 0.2.
    nt = torch.randn(4, n, 3, 16, 16, generator=g)
    e['nt_noise'] = nt
    maps = torch.stack([base.input_grad(model, x + 0.2 * nt[k], classes, 'guided') for k in range(4)])
    e['nt_guided_mean'] = maps.mean(0)
    e['nt_guided_sq'] = (maps ** 2).mean(0)
    e['nt_guided_var'] = maps.var(0, unbiased=False)

    np.savez(os.path.join(FIX, 'breadth.npz'), **{k: v.detach().numpy().astype(np.float32) for k, v in e.items()})
    print('wrote breadth.npz', sorted(e))


if __name__ == '__main__':
    main()
