#!/usr/bin/python3
"""Golden values for the layer and neuron attribution methods (Captum's families), in plain PyTorch.

Run with Debian's python3 (torch 1.13):  /usr/bin/python3 scripts/make-layer-attr-fixtures.py
Reads the fixture SmallVGG of scripts/make-explain-fixtures.py (random weights, seed 0: smallvgg.pth,
and its input x from expected.npz) and writes packages/explain/test/fixtures/layer-attr.npz. Captum is
not used: each method is written here from its definition (Captum 0.6's documentation and papers):

- layer gradient x activation: A * dF/dA;
- layer integrated gradients: the layer's output replaced (forward hook) by A' + a (A - A'), A and A'
  the layer's outputs for the input and the baseline, the input still fed; (A - A') * sum_k w_k dF/dA;
- layer conductance (Dhamdhere et al. 2018 with Captum's step rule): inputs x' + a_p (x - x') at the
  n + 1 points of the quadrature, sum_p dF/dA(x_p) * (A(x_{p+1}) - A(x_p));
- internal influence (Leino et al. 2018): sum_k w_k dF/dA(x' + a_k (x - x'));
- layer DeepLIFT: [x; x'] in one batch, ReLUs' backward the Rescale multiplier, input rows seeded;
  (A - A') * dF/dA;
- layer feature ablation: F(x) - F(x with the group's activations set to the layer baseline);
- neuron gradient / guided backprop / deconvolution: d neuron / dx under the ReLU rule;
- neuron integrated gradients: (x - x') * sum_k w_k d neuron / dx;
- neuron conductance: (x - x') * sum_k w_k dF/dy * dy/dx, y the neuron.

The same methods then run on the width-reduced torchvision ResNet-18 of scripts/make-nn-fixtures.py
(widthDivisor 16, its weights packages/nn/test/fixtures/resnet18.pth) at 32x32, into
layer-attr-resnet.npz: layer IG on a block's first conv (its skip path still fed by the input) and on
layer4, conductance, internal influence, layer DeepLIFT, channel ablation, neuron IG and conductance; the neuron is
chosen here (active, on the path to both targets) and stored with the values.

Quadratures as Captum's approximation_parameters: Gauss-Legendre nodes (1 + t) / 2, weights w / 2;
the Riemann rules on [0, 1].
"""
import copy
import importlib.util
import os

import numpy as np
import torch

from fixture_common import MODE

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, '..', 'packages', 'explain', 'test', 'fixtures')

spec = importlib.util.spec_from_file_location('explain_fixtures', os.path.join(HERE, 'make-explain-fixtures.py'))
base = importlib.util.module_from_spec(spec)
spec.loader.exec_module(base)


def quadrature(method, n):
    """Path points and step sizes on [0, 1]."""
    if method == 'gauss-legendre':
        t, w = np.polynomial.legendre.leggauss(n)
        return list(0.5 * (t + 1)), list(0.5 * w)
    if method == 'riemann-trapezoid':
        return [k / (n - 1) for k in range(n)], [(0.5 if k in (0, n - 1) else 1.0) / (n - 1) for k in range(n)]
    if method == 'riemann-right':
        return [(k + 1) / n for k in range(n)], [1 / n] * n
    if method == 'riemann-left':
        return [k / n for k in range(n)], [1 / n] * n
    raise ValueError(method)


class RescaleReLU(torch.autograd.Function):
    """DeepLIFT's Rescale multiplier over a [input; reference] batch (Shrikumar et al. 2017)."""

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
        far = dz.abs() > 1e-10
        m = torch.where(far, (y[:h] - y[h:]) / torch.where(far, dz, torch.ones_like(dz)), (z[:h] > 0).to(dz.dtype))
        return dy * torch.cat([m, m])


def run(model, layer, x, replace=None):
    """The model's output on x and the layer's output (replaced by `replace` if given)."""
    store = {}

    def hook(_m, _i, out):
        if replace is not None:
            store['a'] = replace
            return replace
        store['a'] = out
        return out

    h = model.get_submodule(layer).register_forward_hook(hook)
    try:
        out = model(x)
    finally:
        h.remove()
    return out, store['a']


def score(out, classes):
    reps = out.shape[0] // len(classes)
    return out[torch.arange(out.shape[0]), torch.tensor(classes * reps)]


def logits(model, x, classes):
    with torch.no_grad():
        return score(model(x), classes)


def layer_gxa(model, layer, x, classes):
    out, a = run(model, layer, x)
    (g,) = torch.autograd.grad(score(out, classes).sum(), a)
    return (a * g).detach()


def layer_ig(model, layer, x, b, classes, method, n):
    with torch.no_grad():
        ax = run(model, layer, x)[1]
        ab = run(model, layer, b)[1]
    alphas, w = quadrature(method, n)
    interp = torch.cat([ab + a * (ax - ab) for a in alphas]).requires_grad_(True)
    out, _ = run(model, layer, x.repeat(n, *[1] * (x.dim() - 1)), interp)
    (g,) = torch.autograd.grad(score(out, classes).sum(), interp)
    g = g.view(n, *ax.shape)
    total = sum(w[k] * g[k] for k in range(n))
    attr = (ax - ab) * total
    return attr.detach(), attr.flatten(1).sum(1).detach() - (logits(model, x, classes) - logits(model, b, classes))


def path_grads(model, layer, x, b, classes, alphas):
    xs = torch.cat([b + a * (x - b) for a in alphas])
    out, a = run(model, layer, xs)
    (g,) = torch.autograd.grad(score(out, classes).sum(), a)
    shape = (len(alphas), x.shape[0], *a.shape[1:])
    return a.detach().view(shape), g.view(shape)


def layer_conductance(model, layer, x, b, classes, method, n):
    alphas, _ = quadrature(method, n + 1)
    a, g = path_grads(model, layer, x, b, classes, alphas)
    attr = ((a[1:] - a[:-1]) * g[:-1]).sum(0)
    return attr, attr.flatten(1).sum(1) - (logits(model, x, classes) - logits(model, b, classes))


def internal_influence(model, layer, x, b, classes, method, n):
    alphas, w = quadrature(method, n)
    _, g = path_grads(model, layer, x, b, classes, alphas)
    return sum(w[k] * g[k] for k in range(n))


class RescaleAct(torch.nn.Module):
    def forward(self, x):
        return RescaleReLU.apply(x)


def rescaled(model):
    """A copy of a torchvision model with every nn.ReLU module's backward the Rescale multiplier."""
    m = copy.deepcopy(model)
    for parent in list(m.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.ReLU):
                setattr(parent, name, RescaleAct())
    return m


def layer_deeplift(model, layer, x, b, classes):
    """SmallVGG's ReLUs all go through base.act; a torchvision model is given already rescaled()."""
    orig = base.act
    base.act = RescaleReLU.apply
    try:
        out, a = run(model, layer, torch.cat([x, b]))
        n = x.shape[0]
        sel = out[torch.arange(n), torch.tensor(classes)].sum()  # only the input rows are seeded
        (m,) = torch.autograd.grad(sel, a)
    finally:
        base.act = orig
    attr = (m[:n] * (a[:n] - a[n:])).detach()
    return attr, attr.flatten(1).sum(1) - (logits(model, x, classes) - logits(model, b, classes))


def layer_ablation(model, layer, x, classes, groups, fill):
    """groups: an id per neuron of one item (layer shape without batch); fill: the layer baseline [N, ...]."""
    with torch.no_grad():
        a = run(model, layer, x)[1]
        f = logits(model, x, classes)
        attr = torch.zeros_like(a)
        for gid in np.unique(groups):
            m = torch.from_numpy(groups == gid)
            ab = torch.where(m, fill, a)
            drop = f - score(run(model, layer, x, ab)[0], classes)
            attr[:, m] = drop[:, None].expand(-1, int(m.sum()))
    return attr


def neuron_of(a, neuron):
    if callable(neuron):
        return neuron(a)
    return a[(slice(None), *neuron)]


def neuron_grad(model, layer, x, neuron, rule='vanilla'):
    MODE['rule'] = rule
    try:
        xr = x.clone().requires_grad_(True)
        _, a = run(model, layer, xr)
        (g,) = torch.autograd.grad(neuron_of(a, neuron).sum(), xr)
    finally:
        MODE['rule'] = 'vanilla'
    return g


def neuron_value(model, layer, x, neuron):
    with torch.no_grad():
        return neuron_of(run(model, layer, x)[1], neuron)


def neuron_ig(model, layer, x, b, neuron, method, n):
    alphas, w = quadrature(method, n)
    total = sum(w[k] * neuron_grad(model, layer, b + alphas[k] * (x - b), neuron) for k in range(n))
    attr = (x - b) * total
    return attr, attr.flatten(1).sum(1) - (neuron_value(model, layer, x, neuron) - neuron_value(model, layer, b, neuron))


def neuron_conductance(model, layer, x, b, classes, neuron, method, n):
    alphas, w = quadrature(method, n)
    total = torch.zeros_like(x)
    for k in range(n):
        xk = (b + alphas[k] * (x - b)).requires_grad_(True)
        out, a = run(model, layer, xk)
        (ga,) = torch.autograd.grad(score(out, classes).sum(), a, retain_graph=True)
        (gx,) = torch.autograd.grad(neuron_of(a, neuron).sum(), xk)
        total += w[k] * neuron_of(ga, neuron).view(-1, *[1] * (x.dim() - 1)) * gx
    return (x - b) * total


def resnet_fixtures():
    spec = importlib.util.spec_from_file_location('make_nn_fixtures', os.path.join(HERE, 'make-nn-fixtures.py'))
    nnfix = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nnfix)
    from torchvision.models import resnet

    model = nnfix.SlimResNet(resnet.BasicBlock, [2, 2, 2, 2], 16).eval()
    model.load_state_dict(torch.load(os.path.join(HERE, '..', 'packages', 'nn', 'test', 'fixtures', 'resnet18.pth')))
    torch.manual_seed(1)
    x = torch.randn(2, 3, 32, 32)
    b = torch.zeros_like(x)
    classes = [2, 5]
    e = {'x': x}
    e['lig_conv'], e['lig_conv_delta'] = layer_ig(model, 'layer3.0.conv1', x, b, classes, 'gauss-legendre', 20)
    e['lig_l4'], e['lig_l4_delta'] = layer_ig(model, 'layer4', x, b, classes, 'gauss-legendre', 20)
    e['lcond'], e['lcond_delta'] = layer_conductance(model, 'layer3', x, b, classes, 'gauss-legendre', 20)
    e['infl'] = internal_influence(model, 'layer3', x, b, classes, 'gauss-legendre', 20)
    e['ldl'], e['ldl_delta'] = layer_deeplift(rescaled(model), 'layer3', x, b, classes)
    shape = (16, 2, 2)
    e['labl'] = layer_ablation(model, 'layer3', x, classes, np.repeat(np.arange(16), 4).reshape(shape), torch.zeros(2, *shape))
    # a neuron of layer2 that is on and carries gradient to both targets along the path
    alphas, _ = quadrature('gauss-legendre', 20)
    a, g = path_grads(model, 'layer2', x, b, classes, alphas)
    ok = ((a[-1] > 0).all(0) & (g != 0).all(0).all(0)).nonzero()
    nrn = tuple(int(v) for v in ok[0])
    e['neuron'] = torch.tensor(nrn, dtype=torch.float32)
    e['nig'], e['nig_delta'] = neuron_ig(model, 'layer2', x, b, nrn, 'gauss-legendre', 20)
    e['ncond'] = neuron_conductance(model, 'layer2', x, b, classes, nrn, 'riemann-trapezoid', 20)
    return e


def main():
    torch.manual_seed(0)
    vgg = base.SmallVGG().eval()
    vgg.load_state_dict(torch.load(os.path.join(FIX, 'smallvgg.pth')))
    x = torch.from_numpy(np.load(os.path.join(FIX, 'expected.npz'))['x'])
    b = 0.1 * torch.randn(*x.shape)
    classes = [3, 7]
    L = 'features.3'
    e = {'baseline': b}

    e['lgxa'] = layer_gxa(vgg, L, x, classes)
    e['lig'], e['lig_delta'] = layer_ig(vgg, L, x, b, classes, 'gauss-legendre', 50)
    e['lig_fc'], e['lig_fc_delta'] = layer_ig(vgg, 'classifier.0', x, b, classes, 'riemann-right', 20)
    e['lcond'], e['lcond_delta'] = layer_conductance(vgg, L, x, b, classes, 'gauss-legendre', 50)
    e['lcond_trap'], e['lcond_trap_delta'] = layer_conductance(vgg, L, x, b, classes, 'riemann-trapezoid', 30)
    e['infl'] = internal_influence(vgg, L, x, b, classes, 'gauss-legendre', 50)
    e['ldl'], e['ldl_delta'] = layer_deeplift(vgg, L, x, b, classes)
    shape = (16, 8, 8)
    channels = np.repeat(np.arange(16), 64).reshape(shape)
    e['labl_channel'] = layer_ablation(vgg, L, x, classes, channels, torch.full((2, *shape), 0.5))
    fc_fill = 0.1 * torch.randn(2, 32)
    e['labl_fc_fill'] = fc_fill
    e['labl_fc'] = layer_ablation(vgg, 'classifier.0', x, classes, np.arange(32), fc_fill)

    nrn = (2, 3, 6)
    e['ngrad'] = neuron_grad(vgg, L, x, nrn)
    e['ngrad_fn'] = neuron_grad(vgg, L, x, lambda a: a[:, 5].sum((1, 2)))
    e['ngrad_fc'] = neuron_grad(vgg, 'classifier.1', x, (4,))
    e['nguided'] = neuron_grad(vgg, L, x, nrn, 'guided')
    e['ndeconv'] = neuron_grad(vgg, L, x, nrn, 'deconvnet')
    e['nig'], e['nig_delta'] = neuron_ig(vgg, L, x, b, nrn, 'gauss-legendre', 50)
    e['ncond'] = neuron_conductance(vgg, L, x, b, classes, nrn, 'riemann-trapezoid', 50)

    path = os.path.join(FIX, 'layer-attr.npz')
    np.savez(path, **{k: v.detach().numpy().astype(np.float32) for k, v in e.items()})
    print(path, os.path.getsize(path), 'bytes')

    path = os.path.join(FIX, 'layer-attr-resnet.npz')
    np.savez(path, **{k: v.detach().numpy().astype(np.float32) for k, v in resnet_fixtures().items()})
    print(path, os.path.getsize(path), 'bytes')


if __name__ == '__main__':
    main()
