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


def impute(img, removed):
    """ROAD's linear imputation (Rong et al. 2022) without noise, as a dense solve: each removed pixel
    equals the weighted mean of its in-picture neighbours (1/6 edges, 1/12 corners)."""
    c, h, w = img.shape
    nb = [(-1, -1, 1 / 12), (-1, 0, 1 / 6), (-1, 1, 1 / 12), (0, -1, 1 / 6), (0, 1, 1 / 6), (1, -1, 1 / 12), (1, 0, 1 / 6), (1, 1, 1 / 12)]
    unk = [p for p in range(h * w) if removed[p]]
    slot = {p: i for i, p in enumerate(unk)}
    out = img.reshape(c, -1).astype(np.float64).copy()
    a = np.zeros((len(unk), len(unk)))
    b = np.zeros((c, len(unk)))
    for i, p in enumerate(unk):
        y, x = divmod(p, w)
        for dy, dx, wt in nb:
            yy, xx = y + dy, x + dx
            if 0 <= yy < h and 0 <= xx < w:
                q = yy * w + xx
                a[i, i] += wt
                if q in slot:
                    a[i, slot[q]] -= wt
                else:
                    b[:, i] += wt * out[:, q]
    for k in range(c):
        out[k, unk] = np.linalg.solve(a, b[k])
    return out.reshape(c, h, w)


def metrics(e, model, x0, g):
    """Quantus/Captum metrics written from their papers, in NumPy, on item 0 with class 3 and its vanilla gradient."""
    t = 3
    grad = base.input_grad(model, x0, [t])  # [1, 3, 16, 16]
    amap = grad[0].abs().max(0)[0].double().numpy()  # abs-max over channels
    e['m_grad'] = grad
    a = np.abs(amap).ravel() / np.abs(amap).max() + 1e-7
    a = np.sort(a)
    n = a.size
    e['m_sparseness'] = torch.tensor([np.sum((2 * np.arange(1, n + 1) - n - 1) * a) / (n * np.sum(a))])
    p = np.abs(amap).ravel() / np.abs(amap).sum()
    e['m_complexity'] = torch.tensor([-np.sum(p[p > 0] * np.log(p[p > 0]))])

    def score(xs, prob=False):
        with torch.no_grad():
            out = model(xs.float())
        return (torch.softmax(out, 1) if prob else out)[:, t].double().numpy()

    # Faithfulness correlation: 12 subsets of 20 pixels set to the image's minimum.
    subsets = torch.stack([torch.randperm(256, generator=g)[:20] for _ in range(12)])
    e['m_fc_subsets'] = subsets.to(torch.float32)
    fill = x0.min()
    xs = x0.repeat(12, 1, 1, 1).clone()
    for r in range(12):
        for q in subsets[r].tolist():
            xs[r, :, q // 16, q % 16] = fill
    drops = score(x0)[0] - score(xs)
    sums = np.array([amap.ravel()[subsets[r].numpy()].sum() for r in range(12)])
    e['m_faithfulness_corr'] = torch.tensor([np.corrcoef(sums, drops)[0, 1]])

    # Infidelity: I ~ N(0, 0.1^2), perturbed = x - I; raw attribution, and the per-pixel map on every channel.
    pert = 0.1 * torch.randn(8, 3, 16, 16, generator=g)
    e['m_inf_pert'] = pert
    diffs = score(x0)[0] - score(x0 - pert)
    for name, attr in (('raw', grad[0].double().numpy()), ('map', np.broadcast_to(amap, (3, 16, 16)))):
        dots = (pert.double().numpy() * attr[None]).reshape(8, -1).sum(1)
        e[f'm_infidelity_{name}'] = torch.tensor([np.mean((dots - diffs) ** 2)])
        beta = np.sum(dots * diffs) / np.sum(dots ** 2)
        e[f'm_infidelity_{name}_norm'] = torch.tensor([np.mean((beta * dots - diffs) ** 2)])

    # Max-sensitivity: delta ~ U(-0.02, 0.02); explanation = the vanilla gradient.
    unif = (torch.rand(5, 3, 16, 16, generator=g) * 2 - 1) * 0.02
    e['m_sens_pert'] = unif
    g0 = grad.double().numpy().ravel()
    sens = [np.linalg.norm(base.input_grad(model, x0 + unif[k:k + 1], [t]).double().numpy().ravel() - g0) / np.linalg.norm(g0) for k in range(5)]
    e['m_max_sensitivity'] = torch.tensor([max(sens)])

    # Local Lipschitz: x' = x + N(0, 0.1^2); |explanation| / max.
    gp = 0.1 * torch.randn(5, 3, 16, 16, generator=g)
    e['m_lip_pert'] = gp
    nrm = lambda v: np.abs(v) / np.abs(v).max()
    b0 = nrm(g0)
    lips = []
    for k in range(5):
        xp = x0 + gp[k:k + 1]
        ek = nrm(base.input_grad(model, xp, [t]).double().numpy().ravel())
        lips.append(np.linalg.norm(ek - b0) / np.linalg.norm((xp - x0).double().numpy().ravel()))
    e['m_local_lipschitz'] = torch.tensor([max(lips)])

    # ROAD without noise: MoRF and LeRF at 10, 30, 50, 70, 90 %, softmax probability.
    order = sorted(range(256), key=lambda q: (-amap.ravel()[q], q))
    curves = []
    for most in (True, False):
        rows = []
        for pc in (10, 30, 50, 70, 90):
            k = (pc * 256) // 100
            removed = np.zeros(256, dtype=bool)
            for i in range(k):
                removed[order[i] if most else order[255 - i]] = True
            rows.append(impute(x0[0].double().numpy(), removed))
        curves.append(score(torch.tensor(np.stack(rows)), prob=True))
    e['m_road_morf'] = torch.tensor(curves[0])
    e['m_road_lerf'] = torch.tensor(curves[1])
    # one imputation on its own, a fixed mask
    mask = np.zeros(256, dtype=bool)
    mask[[17, 18, 33, 34, 35, 100, 101, 200, 255]] = True
    e['m_impute_mask'] = torch.tensor(mask.astype(np.float32))
    e['m_impute'] = torch.tensor(impute(x0[0].double().numpy(), mask))


def minmax_relu(m):
    """pytorch-grad-cam's max(., 0) then scale_cam_image per item (without its 1e-7)."""
    m = m.clamp(min=0)
    lo = m.flatten(1).min(1)[0].view(-1, 1, 1)
    hi = m.flatten(1).max(1)[0].view(-1, 1, 1)
    return torch.where(hi > lo, (m - lo) / torch.where(hi > lo, hi - lo, torch.ones_like(hi)), torch.zeros_like(m))


def grad_cam_up(model, layer, x, classes):
    a, g, _ = base.layer_and_grad(model, layer, x, classes)
    cam, _ = base.grad_cam(a, g)
    return base.upsample(cam, x.shape[2:])


def full_grad(model, x, classes):
    """FullGrad (Srinivas & Fleuret 2019): psi(|dS/dx * x|) + sum over conv layers and channels of psi(|dS/dz * b|),
    psi = bilinear upsampling then min-max per map; the total min-max per item."""
    store = []
    hooks = []
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d) and m.bias is not None:
            def hook(mod, _i, o):
                o.retain_grad()
                store.append((mod, o))
            hooks.append(m.register_forward_hook(hook))
    xg = x.clone().requires_grad_(True)
    out = model(xg)
    for h in hooks:
        h.remove()
    out.backward(base.one_hot(out, classes))
    n, _, hh, ww = x.shape

    def psi(t):
        c = t.shape[1]
        up = base.upsample(t.reshape(n * c, *t.shape[2:]), (hh, ww))
        lo = up.flatten(1).min(1)[0].view(-1, 1, 1)
        hi = up.flatten(1).max(1)[0].view(-1, 1, 1)
        up = torch.where(hi > lo, (up - lo) / torch.where(hi > lo, hi - lo, torch.ones_like(hi)), torch.zeros_like(up))
        return up.reshape(n, c, hh, ww).sum(1)

    total = psi((xg.grad * x).abs())
    for mod, o in store:
        total = total + psi((o.grad * mod.bias.view(1, -1, 1, 1)).abs())
    return minmax_relu(total)


def cams(e, model, x, classes):
    layer = 'features.3'
    a, g, _ = base.layer_and_grad(model, layer, x, classes)
    e['eigen_gradcam'], _ = base.eigen_cam(g * a)
    e['gradcam_elementwise'] = torch.relu(torch.relu(g * a).sum(1))
    e['fullgrad'] = full_grad(model, x, classes)
    # Grad-CAM on two layers, averaged
    per = [minmax_relu(grad_cam_up(model, l, x, classes)) for l in ('features.0', 'features.3')]
    e['multi_layer_gradcam'] = minmax_relu(sum(per) / 2)
    # aug_smooth: flip or not, times 0.9 / 1 / 1.1
    acc = torch.zeros(x.shape[0], *x.shape[2:])
    for flip in (False, True):
        for m in (0.9, 1.0, 1.1):
            xa = (torch.flip(x, dims=[3]) if flip else x) * m
            c = minmax_relu(grad_cam_up(model, layer, xa, classes))
            acc += (torch.flip(c, dims=[2]) if flip else c) / 6
    e['aug_smooth_gradcam'] = minmax_relu(acc)
    # eigen_smooth: first principal component of the weighted activations, then ReLU
    w = g.mean(dim=(2, 3))
    e['eigen_smooth_gradcam'] = torch.relu(base.eigen_cam(w[:, :, None, None] * a)[0])
    e['eigen_smooth_layercam'] = torch.relu(base.eigen_cam(torch.relu(g) * a)[0])


def perturbation(e, model, x, classes):
    """Feature ablation and Shapley value sampling (Castro et al. 2009) over a feature mask, baseline 0."""
    n = x.shape[0]
    mask = np.array([[(r // 4) * 10 + (c // 8) for c in range(16)] for r in range(16)])  # 8 features, ids not 0..G-1
    ids = []
    for v in mask.ravel():
        if v not in ids:
            ids.append(v)
    groups = [np.flatnonzero(mask.ravel() == v) for v in ids]
    e['pf_mask'] = torch.tensor(mask.astype(np.float32))

    def with_features(i, on):
        xi = torch.zeros(1, 3, 16, 16)
        flat = x[i].reshape(3, -1).clone()
        out = torch.zeros_like(flat)
        for gi, px in enumerate(groups):
            if on[gi]:
                out[:, px] = flat[:, px]
        return out.reshape(1, 3, 16, 16) + xi

    def score(xs, i):
        with torch.no_grad():
            return model(xs)[:, classes[i]].double()

    abl = torch.zeros(n, 3, 16, 16)
    for i in range(n):
        clean = score(x[i:i + 1], i)[0]
        for gi, px in enumerate(groups):
            xa = x[i:i + 1].clone().reshape(1, 3, -1)
            xa[:, :, px] = 0
            d = clean - score(xa.reshape(1, 3, 16, 16), i)[0]
            abl[i].reshape(3, -1)[:, px] = d.float()
    e['pf_ablation'] = abl

    gen = torch.Generator().manual_seed(7)
    perms = [torch.randperm(len(groups), generator=gen).tolist() for _ in range(6)]
    e['pf_perms'] = torch.tensor(perms, dtype=torch.float32)
    shap = torch.zeros(n, 3, 16, 16)
    for i in range(n):
        phi = np.zeros(len(groups))
        for p in perms:
            on = [False] * len(groups)
            prev = score(with_features(i, on), i)[0].item()
            for f in p:
                on[f] = True
                cur = score(with_features(i, on), i)[0].item()
                phi[f] += (cur - prev) / len(perms)
                prev = cur
        for gi, px in enumerate(groups):
            shap[i].reshape(3, -1)[:, px] = float(phi[gi])
    e['pf_shapley'] = shap

    # LIME and KernelSHAP on the same 8 features, item 0, with stored patterns
    i = 0
    rng = np.random.RandomState(3)
    zl = (rng.rand(40, len(groups)) < 0.5).astype(np.float64)
    zl[0] = 1
    e['pf_lime_patterns'] = torch.tensor(zl, dtype=torch.float32)
    yl = np.array([score(with_features(i, [bool(v) for v in z]), i)[0].item() for z in zl])
    on = zl.sum(1)
    d = 1 - on / (np.sqrt(np.maximum(on, 1)) * np.sqrt(len(groups)))
    d[on == 0] = 1
    wl = np.sqrt(np.exp(-d ** 2 / 0.25 ** 2))
    mx = (wl[:, None] * zl).sum(0) / wl.sum()
    my = (wl * yl).sum() / wl.sum()
    xc = zl - mx
    coef = np.linalg.solve(xc.T @ (wl[:, None] * xc) + np.eye(len(groups)), xc.T @ (wl * (yl - my)))
    e['pf_lime_coef'] = torch.tensor(coef)
    e['pf_lime_intercept'] = torch.tensor([my - mx @ coef])

    m = len(groups)
    zk = []
    while len(zk) < 30:
        z = (rng.rand(m) < rng.rand()).astype(np.float64)
        if 0 < z.sum() < m:
            zk.append(z)
    zk = np.array(zk)
    e['pf_kshap_patterns'] = torch.tensor(zk, dtype=torch.float32)
    from math import comb
    wk = np.array([(m - 1) / (comb(m, int(s)) * s * (m - s)) for s in zk.sum(1)])
    yk = np.array([score(with_features(i, [bool(v) for v in z]), i)[0].item() for z in zk])
    f0 = score(with_features(i, [False] * m), i)[0].item()
    fx = score(x[i:i + 1], i)[0].item()
    # KKT system of min Σ w (f0 + z·φ − y)² subject to Σφ = f(x) − f0
    kkt = np.zeros((m + 1, m + 1))
    kkt[:m, :m] = 2 * zk.T @ (wk[:, None] * zk)
    kkt[:m, m] = 1
    kkt[m, :m] = 1
    rhs = np.concatenate([2 * zk.T @ (wk * (yk - f0)), [fx - f0]])
    e['pf_kshap'] = torch.tensor(np.linalg.solve(kkt, rhs)[:m])


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

    metrics(e, model, x[:1], g)
    cams(e, model, x, classes)
    perturbation(e, model, x, classes)

    np.savez(os.path.join(FIX, 'breadth.npz'), **{k: v.detach().numpy().astype(np.float32) for k, v in e.items()})
    print('wrote breadth.npz', sorted(e))


if __name__ == '__main__':
    main()
