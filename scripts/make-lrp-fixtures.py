#!/usr/bin/env python3
"""LRP golden values for gradlens, written from Montavon et al. (2019), "Layer-wise relevance
propagation: an overview": a layer-by-layer loop over a small VGG-like net, each conv/linear layer
propagating R_in = x * (rho(W)^T (R / (z + eps*sign z))). Run with Debian's python3-torch:
    /usr/bin/python3 scripts/make-lrp-fixtures.py
Writes packages/explain/test/fixtures/lrp/{small_vgg.pth, expected.json}."""
import json
import os
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(__file__), '..', 'packages', 'explain', 'test', 'fixtures', 'lrp')
torch.manual_seed(3)


class SmallVgg(nn.Module):
    def __init__(self, bias=True):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1, bias=bias), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(4, 6, 3, padding=1, bias=bias), nn.ReLU(), nn.AvgPool2d(2))
        self.classifier = nn.Sequential(
            nn.Linear(24, 10, bias=bias), nn.ReLU(), nn.Dropout(0.5), nn.Linear(10, 5, bias=bias))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def sign_eps(z, eps):
    return z + eps * torch.where(z >= 0, torch.ones_like(z), -torch.ones_like(z))


def layer_relevance(layer, x, R, rule, eps, first, low=None, high=None):
    """One LRP step for a layer; the transpose comes from autograd of the (modified) forward pass."""
    x = x.detach().requires_grad_(True)
    if isinstance(layer, nn.MaxPool2d):
        return _route_max(layer, x, R)  # winner takes all
    if isinstance(layer, nn.AvgPool2d):
        z = layer(x)
        s = (R / sign_eps(z, 1e-9)).detach()
        (z * s).sum().backward()
        return (x * x.grad).detach()
    if isinstance(layer, (nn.ReLU, nn.Dropout)):
        return R
    w, b = layer.weight, layer.bias
    fwd = (lambda inp, ww, bb: nn.functional.conv2d(inp, ww, bb, padding=layer.padding)) if isinstance(layer, nn.Conv2d) \
        else (lambda inp, ww, bb: nn.functional.linear(inp, ww, bb))
    if first and rule['rule'] == 'zB':
        lo = torch.full_like(x, low).requires_grad_(True)
        hi = torch.full_like(x, high).requires_grad_(True)
        z = fwd(x, w, None) - fwd(lo, w.clamp(min=0), None) - fwd(hi, w.clamp(max=0), None)
        s = (R / sign_eps(z, 1e-9)).detach()
        (z * s).sum().backward()
        return (x * x.grad + lo * lo.grad + hi * hi.grad).detach()
    if rule['rule'] == 'epsilon':
        z = fwd(x, w, b)
        s = (R / sign_eps(z, rule['epsilon'])).detach()
    elif rule['rule'] == 'gamma':
        g = rule['gamma']
        z = fwd(x, w + g * w.clamp(min=0), None if b is None else b + g * b.clamp(min=0))
        s = (R / sign_eps(z, 1e-9)).detach()
    else:
        raise ValueError(rule)
    (z * s).sum().backward()
    return (x * x.grad).detach()


def _route_max(layer, x, R):
    _, idx = nn.functional.max_pool2d(x.detach(), layer.kernel_size, layer.stride, return_indices=True)
    out = torch.zeros_like(x).flatten(2)
    out.scatter_add_(2, idx.flatten(2), R.flatten(2))
    return out.view_as(x)


def run_lrp(model, x, target, conv_rule, linear_rule, input_rule=None, low=None, high=None):
    layers = list(model.features) + [nn.Flatten(1)] + list(model.classifier)
    acts = [x]
    for layer in layers:
        acts.append(layer(acts[-1]).detach())
    R = acts[-1] * nn.functional.one_hot(torch.tensor(target), acts[-1].shape[1]).float()
    seed = R.sum(1)
    for i in range(len(layers) - 1, -1, -1):
        layer = layers[i]
        if isinstance(layer, nn.Flatten):
            R = R.view(acts[i].shape)
            continue
        rule = linear_rule if isinstance(layer, nn.Linear) else conv_rule
        first = i == 0
        if first and input_rule is not None:
            rule = input_rule
        R = layer_relevance(layer, acts[i], R, rule, rule.get('epsilon', 0.0), first, low, high)
    return R, seed


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = {}
    model = SmallVgg().eval()
    torch.save(model.state_dict(), os.path.join(OUT, 'small_vgg.pth'))
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    target = [1, 3]
    setups = {
        'epsilon': dict(conv_rule={'rule': 'epsilon', 'epsilon': 0.25}, linear_rule={'rule': 'epsilon', 'epsilon': 0.25}),
        'gamma': dict(conv_rule={'rule': 'gamma', 'gamma': 0.25}, linear_rule={'rule': 'epsilon', 'epsilon': 0.25}),
        'zB': dict(conv_rule={'rule': 'gamma', 'gamma': 0.25}, linear_rule={'rule': 'epsilon', 'epsilon': 0.25},
                   input_rule={'rule': 'zB'}, low=-1.0, high=1.0),
    }
    for name, kw in setups.items():
        R, seed = run_lrp(model, x, target, **kw)
        cases[name] = {'relevance': R.flatten().tolist(), 'shape': list(R.shape), 'seed': seed.tolist()}
    nobias = SmallVgg(bias=False).eval()
    torch.save(nobias.state_dict(), os.path.join(OUT, 'small_vgg_nobias.pth'))
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump({'input': x.flatten().tolist(), 'inputShape': list(x.shape), 'target': target, 'cases': cases}, f)


if __name__ == '__main__':
    main()
