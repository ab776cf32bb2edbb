#!/usr/bin/python3
"""Golden values for packages/explain: every attribution method written from its paper in PyTorch.

Run with Debian's python3 (torch 1.13, torchvision 0.14):  /usr/bin/python3 scripts/make-explain-fixtures.py
Writes packages/explain/test/fixtures/{smallvgg.pth, gapnet.pth, expected.npz}. The models are the
ones in packages/explain/test/models.ts (same module paths), with random weights. ReLUs are written
through one function `act`, whose backward rule is switched globally (vanilla, guided, deconvnet),
so that module ReLUs and functional ReLUs, in the features and the classifier, all follow the rule:
no hooks. Everything is float32 as the TypeScript side; SVD runs in float64.
"""
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from fixture_common import MODE, grad_cam, grad_cam_pp, input_grad, layer_and_grad, one_hot, upsample

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'packages', 'explain', 'test', 'fixtures')


class RuleReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        if MODE['rule'] == 'guided':
            return dy.clamp(min=0) * (x > 0).to(dy.dtype)
        if MODE['rule'] == 'deconvnet':
            return dy.clamp(min=0)
        return dy * (x > 0).to(dy.dtype)


def act(x):
    return RuleReLU.apply(x)


class ReLU(nn.Module):
    def forward(self, x):
        return act(x)


class ConvRelu(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)

    def forward(self, x):
        return act(self.conv(x))  # a functional ReLU inside `features`


class SmallVGG(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), ReLU(), nn.MaxPool2d(2), ConvRelu(8, 16), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Linear(256, 32), ReLU(), nn.Dropout(0.5), nn.Linear(32, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class GapNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), ReLU())
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))


def xgrad_cam(a, g):
    sum_a = a.sum(dim=(2, 3))
    w = torch.where(sum_a != 0, (a * g).sum(dim=(2, 3)) / torch.where(sum_a != 0, sum_a, torch.ones_like(sum_a)), torch.zeros_like(sum_a))
    return F.relu((w[:, :, None, None] * a).sum(1)), w


def scores_of(model, x, classes, probability):
    with torch.no_grad():
        out = model(x)
        if probability:
            out = F.softmax(out, dim=1)
        return out[torch.arange(len(classes)), torch.tensor(classes)]


def score_cam(model, layer, x, classes, a):
    n, k = a.shape[:2]
    size = x.shape[2:]
    weights = torch.zeros(n, k)
    for i in range(n):
        up = upsample(a[i], size)  # [K, H, W]
        for c in range(k):
            m = up[c]
            if m.max() == m.min():
                continue
            m = (m - m.min()) / (m.max() - m.min())
            weights[i, c] = scores_of(model, x[i:i + 1] * m, [classes[i]], True)[0]
    return F.relu((weights[:, :, None, None] * a).sum(1)), weights


def ablation_cam(model, layer, x, classes, a, logits):
    n, k = a.shape[:2]
    weights = torch.zeros(n, k)
    mod = model.get_submodule(layer)
    for i in range(n):
        y = logits[i, classes[i]]
        for c in range(k):
            mask = torch.ones(1, k, 1, 1)
            mask[0, c] = 0
            h = mod.register_forward_hook(lambda _m, _i, o: o * mask)
            yk = scores_of(model, x[i:i + 1], [classes[i]], False)[0]
            h.remove()
            weights[i, c] = (y - yk) / y
    return F.relu((weights[:, :, None, None] * a).sum(1)), weights


def eigen_cam(a):
    n, k, h, w = a.shape
    maps, dirs = [], []
    for i in range(n):
        m = a[i].reshape(k, h * w).T.double()
        m = m - m.mean(dim=0, keepdim=True)
        _, _, vh = torch.linalg.svd(m, full_matrices=False)
        v = vh[0]
        if v.sum() < 0:
            v = -v
        maps.append((m @ v).reshape(h, w).float())
        dirs.append(v.float())
    return torch.stack(maps), torch.stack(dirs)


def occlusion(model, x, classes, window, stride, fill):
    n, _, hh, ww = x.shape
    clean = scores_of(model, x, classes, True)
    ys = list(range(0, hh - window + 1, stride))
    xs = list(range(0, ww - window + 1, stride))
    grid = torch.zeros(n, len(ys), len(xs))
    for i in range(n):
        for a, y in enumerate(ys):
            for b, x0 in enumerate(xs):
                xo = x[i:i + 1].clone()
                xo[:, :, y:y + window, x0:x0 + window] = fill
                grid[i, a, b] = clean[i] - scores_of(model, xo, [classes[i]], True)[0]
    mp = torch.zeros(n, hh, ww)
    cnt = torch.zeros(hh, ww)
    for a, y in enumerate(ys):
        for b, x0 in enumerate(xs):
            mp[:, y:y + window, x0:x0 + window] += grid[:, a, b][:, None, None]
            cnt[y:y + window, x0:x0 + window] += 1
    mp = torch.where(cnt > 0, mp / cnt.clamp(min=1), torch.zeros_like(mp))
    return grid, mp


def smooth_grad(model, x, classes, eps, level):
    n = x.shape[0]
    flat = x.reshape(n, -1)
    sigma = level * (flat.max(1).values - flat.min(1).values)
    grads = torch.stack([input_grad(model, x + eps[s] * sigma[:, None, None, None], classes) for s in range(eps.shape[0])])
    mean = grads.mean(0)
    sq = (grads ** 2).mean(0)
    var = grads.var(0, unbiased=False)
    return mean, sq, var


def integrated_gradients(model, x, baseline, classes, alphas, weights):
    total = torch.zeros_like(x)
    for a, w in zip(alphas, weights):
        total += w * input_grad(model, baseline + a * (x - baseline), classes)
    attr = (x - baseline) * total
    fx = scores_of(model, x, classes, False)
    fb = scores_of(model, baseline, classes, False)
    delta = attr.reshape(x.shape[0], -1).sum(1) - (fx - fb)
    return attr, delta


def layer_activation(model, layer, x, filt, reference):
    MODE['rule'] = 'guided'
    try:
        store = {}
        h = model.get_submodule(layer).register_forward_hook(lambda _m, _i, o: store.__setitem__('a', o))
        xg = x.clone().requires_grad_(True)
        model(xg)
        h.remove()
        a = store['a'][:, filt]
        obj = a.abs().sum() if reference else a.sum()
        obj.backward()
        return xg.grad.detach()
    finally:
        MODE['rule'] = 'vanilla'


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    vgg = SmallVGG().eval()
    gap = GapNet().eval()
    # Move the biases away from 0 so that they matter.
    with torch.no_grad():
        for p in list(vgg.parameters()) + list(gap.parameters()):
            if p.dim() == 1:
                p.uniform_(-0.2, 0.2)
    torch.save(vgg.state_dict(), os.path.join(OUT, 'smallvgg.pth'))
    torch.save(gap.state_dict(), os.path.join(OUT, 'gapnet.pth'))

    x = torch.randn(2, 3, 16, 16)
    classes = [3, 7]
    e = {'x': x}
    with torch.no_grad():
        e['vgg_logits'] = vgg(x)
        e['gap_logits'] = gap(x)

    e['vanilla'] = input_grad(vgg, x, classes)
    e['guided'] = input_grad(vgg, x, classes, 'guided')
    e['deconvnet'] = input_grad(vgg, x, classes, 'deconvnet')
    e['grad_x_input'] = e['vanilla'] * x

    eps = torch.randn(6, *x.shape)
    e['sg_noise'] = eps
    e['sg_mean'], e['sg_sq'], e['sg_var'] = smooth_grad(vgg, x, classes, eps, 0.2)

    baseline = 0.1 * torch.randn(*x.shape)
    e['ig_baseline'] = baseline
    m = 20
    e['ig_right'], e['ig_right_delta'] = integrated_gradients(vgg, x, baseline, classes, [(k + 1) / m for k in range(m)], [1 / m] * m)
    nodes, w = np.polynomial.legendre.leggauss(16)
    e['ig_gl'], e['ig_gl_delta'] = integrated_gradients(vgg, x, baseline, classes, list((nodes + 1) / 2), list(w / 2))
    e['ig_trap'], e['ig_trap_delta'] = integrated_gradients(vgg, x, baseline, classes, [k / (m - 1) for k in range(m)], [(0.5 if k in (0, m - 1) else 1) / (m - 1) for k in range(m)])

    e['layer_act'] = layer_activation(vgg, 'features.3', x, 5, False)
    e['layer_act_ref'] = layer_activation(vgg, 'features.3.conv', x, 5, True)  # signed: Σ|A| differs from ΣA

    a, g, logits = layer_and_grad(vgg, 'features.3', x, classes)
    e['gradcam'], e['gradcam_w'] = grad_cam(a, g)
    e['gradcam_up'] = upsample(e['gradcam'], (16, 16))
    e['gradcam_ref'] = F.relu(1 + (g.mean(dim=(2, 3))[:, :, None, None] * a).sum(1))
    e['gradcampp'], e['gradcampp_w'] = grad_cam_pp(a, g)
    e['xgradcam'], e['xgradcam_w'] = xgrad_cam(a, g)
    e['hirescam'] = F.relu((g * a).sum(1))
    e['layercam'] = F.relu((F.relu(g) * a).sum(1))
    e['scorecam'], e['scorecam_w'] = score_cam(vgg, 'features.3', x, classes, a)
    e['ablationcam'], e['ablationcam_w'] = ablation_cam(vgg, 'features.3', x, classes, a, logits)
    e['eigencam'], e['eigencam_v'] = eigen_cam(a)
    e['eigencam_up'] = upsample(e['eigencam'], (16, 16))
    e['guided_gradcam'] = e['guided'] * e['gradcam_up'][:, None]

    e['occ_grid'], e['occ_map'] = occlusion(vgg, x, classes, 4, 2, 0.0)

    # CAM on the GAP net, top-1 classes.
    gap_classes = e['gap_logits'].argmax(1).tolist()
    a2, g2, _ = layer_and_grad(gap, 'features.4', x, gap_classes)
    wfc = gap.fc.weight.detach()
    e['cam'] = (wfc[gap_classes][:, :, None, None] * a2).sum(1)
    e['cam_up'] = upsample(e['cam'], (16, 16))
    e['gap_gradcam'], _ = grad_cam(a2, g2)

    np.savez(os.path.join(OUT, 'expected.npz'), **{k: v.detach().numpy().astype(np.float32) for k, v in e.items()})
    print('wrote', OUT, sorted(e))


if __name__ == '__main__':
    main()
