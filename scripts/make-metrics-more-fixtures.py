#!/usr/bin/python3
"""Golden values for the Quantus / pytorch-grad-cam metrics and the newer CAMs, in NumPy/PyTorch.

Run with Debian's python3 (torch 1.13):  /usr/bin/python3 scripts/make-metrics-more-fixtures.py
Uses the fixture SmallVGG of scripts/make-explain-fixtures.py (smallvgg.pth) and item 0 of its input
x (expected.npz), class 3, and writes packages/explain/test/fixtures/metrics-more.npz (float64).
Every metric is written here from its definition (Quantus / pytorch-grad-cam / the papers), not
from their code; the random draws are made here and stored, so the TypeScript side uses the same.
Orders are numpy's stable argsort (ties by index), as the TypeScript side's.
"""
import importlib.util
import os

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, '..', 'packages', 'explain', 'test', 'fixtures')

spec = importlib.util.spec_from_file_location('explain_fixtures', os.path.join(HERE, 'make-explain-fixtures.py'))
base = importlib.util.module_from_spec(spec)
spec.loader.exec_module(base)

T = 3
H = W = 16
HW = H * W


def vgg():
    m = base.SmallVGG().eval()
    m.load_state_dict(torch.load(os.path.join(FIX, 'smallvgg.pth')))
    return m


def make_score(model):
    def score(imgs, prob=True):
        """Target scores of images [R, 3, 16, 16] (float64 values, fed as float32)."""
        with torch.no_grad():
            out = model(torch.as_tensor(np.asarray(imgs)).float())
        return (torch.softmax(out, 1) if prob else out)[:, T].double().numpy()
    return score


def set_pixels(img, pixels, value):
    flat = img.reshape(3, HW)
    for p in pixels:
        flat[:, p] = value if np.isscalar(value) else value[:, p]


def trapz(y):
    y = np.asarray(y, dtype=np.float64)
    return float(np.sum((y[1:] + y[:-1]) / 2)) if len(y) > 1 else 0.0


def pearson(a, b):
    a = np.asarray(a, float) - np.mean(a)
    b = np.asarray(b, float) - np.mean(b)
    return float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b)))


def rankdata(v):
    v = np.asarray(v, float)
    order = np.argsort(v, kind='stable')
    ranks = np.empty(len(v))
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def ssim(a, b):
    """skimage structural_similarity defaults on min-max scaled maps (7x7 uniform window, sample covariance)."""
    def mm(v):
        lo, hi = v.min(), v.max()
        return (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    x, y = mm(a), mm(b)
    win, np_ = 7, 49
    cov = np_ / (np_ - 1)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    vals = []
    for r in range(H - win + 1):
        for c in range(W - win + 1):
            u, v = x[r:r + win, c:c + win], y[r:r + win, c:c + win]
            mx, my = u.mean(), v.mean()
            vx = cov * ((u * u).mean() - mx * mx)
            vy = cov * ((v * v).mean() - my * my)
            vxy = cov * ((u * v).mean() - mx * my)
            vals.append((2 * mx * my + c1) * (2 * vxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2)))
    return float(np.mean(vals))


def metrics(e, model, x0, g):
    score = make_score(model)
    img = x0[0].double().numpy()  # [3, 16, 16]
    grad = base.input_grad(model, x0, [T])[0].double().numpy()
    amap = np.abs(grad).max(0)  # the abs-max map, used as given on the TypeScript side
    e['map'] = amap
    flat = amap.ravel()
    black = img.min()
    y0 = score(img[None])[0]
    e['x0'] = img

    # pytorch-grad-cam: f(x * m) - f(x) on logits, m = map / max.
    m = amap / amap.max()
    e['cam_mult'] = [score((img * m[None])[None], False)[0] - score(img[None], False)[0]]

    # Pixel flipping: 8 pixels a step, cumulative, to the image minimum.
    order = np.argsort(-flat, kind='stable')
    cur = img.copy()
    rows = []
    for s in range(HW // 8):
        set_pixels(cur, order[s * 8:(s + 1) * 8], black)
        rows.append(cur.copy())
    curve = score(np.stack(rows))
    e['pf_curve'] = curve
    e['pf_auc'] = [trapz(curve)]

    # Region perturbation (patch 5: padding 2/2, 4x4 patches) MoRF and LeRF, 10 regions; selectivity (patch 6: 3x3).
    def patches(size):
        pad = 0 if H % size == 0 else (size - H % size) // 2
        nb = -(-H // size)
        out = []
        for br in range(nb):
            for bc in range(nb):
                px = [y * W + xx for y in range(br * size - pad, (br + 1) * size - pad)
                      for xx in range(bc * size - pad, (bc + 1) * size - pad) if 0 <= y < H and 0 <= xx < W]
                out.append(px)
        sums = np.array([flat[p].sum() for p in out])
        return out, sums

    for name, size, sign, count in (('rp_morf', 5, -1, 10), ('rp_lerf', 5, 1, 10), ('sel', 6, -1, None)):
        ps, sums = patches(size)
        o = np.argsort(sign * sums, kind='stable')
        o = o[:count] if count else o
        cur = img.copy()
        rows = []
        for i in o:
            set_pixels(cur, ps[i], black)
            rows.append(cur.copy())
        s = score(np.stack(rows))
        curve = y0 - s if name.startswith('rp') else s
        e[name] = curve
        e[name + '_auc'] = [trapz(curve)]

    # Sensitivity-n: sizes 3, 10, 40, six random subsets each.
    sizes = [3, 10, 40]
    subs = []
    corr = []
    for n in sizes:
        ss = [torch.randperm(HW, generator=g)[:n].numpy() for _ in range(6)]
        subs.append(np.stack([np.pad(s, (0, 40 - n), constant_values=-1) for s in ss]))
        rows = []
        for s in ss:
            cur = img.copy()
            set_pixels(cur, s, black)
            rows.append(cur)
        drops = y0 - score(np.stack(rows))
        corr.append(pearson([flat[s].sum() for s in ss], drops))
    e['sn_subsets'] = np.stack(subs)  # [3 sizes, 6 runs, 40] padded with -1
    e['sn_corr'] = corr

    # IROF on a fixed segmentation (5-row x 4-column blocks, numbered in scan order), mean fill.
    seg = np.array([(y // 5) * 4 + (xx // 4) for y in range(H) for xx in range(W)])
    e['irof_segments'] = seg
    nseg = seg.max() + 1
    means = np.array([flat[seg == s].mean() for s in range(nseg)])
    o = np.argsort(-means, kind='stable')
    cur = img.copy()
    rows = []
    for s in o:
        set_pixels(cur, np.where(seg == s)[0], img.mean())
        rows.append(cur.copy())
    curve = score(np.stack(rows)) / y0
    e['irof_curve'] = curve
    e['irof_aoc'] = [nseg - trapz(curve)]

    # Monotonicity (Arya): from the minimum, 16 pixels a step by increasing |map|.
    o = np.argsort(np.abs(flat), kind='stable')
    cur = np.full_like(img, black)
    rows = []
    for s in range(HW // 16):
        set_pixels(cur, o[s * 16:(s + 1) * 16], img.reshape(3, HW))
        rows.append(cur.copy())
    curve = score(np.stack(rows))
    e['mono_curve'] = curve
    e['mono'] = [float(np.all(np.diff(curve) >= 0))]

    # Monotonicity correlation (Nguyen & Martinez): 32 pixels a step, 3 samples, uniform in [min, max].
    step, samples = 32, 3
    steps = HW // step
    u = torch.rand(steps * samples * 3 * step, generator=g, dtype=torch.float64).numpy()
    e['mc_draws'] = u
    lo, hi = img.min(), img.max()
    k = 0
    rows = []
    for s in range(steps):
        px = o[s * step:(s + 1) * step]
        for _ in range(samples):
            cur = img.copy().reshape(3, HW)
            for ch in range(3):
                for p in px:
                    cur[ch, p] = lo + (hi - lo) * u[k]
                    k += 1
            rows.append(cur.reshape(3, H, W))
    sc = score(np.stack(rows)).reshape(steps, samples)
    inv = 1 / y0 ** 2 if abs(y0) >= 1e-5 else 1.0
    var = ((sc - y0) ** 2).mean(1) * inv
    atts = np.array([np.abs(flat)[o[s * step:(s + 1) * step]].sum() for s in range(steps)])
    e['mc'] = [pearson(rankdata(atts), rankdata(var))]

    # Average sensitivity with the same uniform draws as max-sensitivity (vanilla gradient, raw).
    unif = (torch.rand(5, 3, 16, 16, generator=g, dtype=torch.float64) * 2 - 1) * 0.02
    e['as_pert'] = unif.numpy()
    g0 = grad.ravel()
    sens = []
    for s in range(5):
        xp = (x0.double() + unif[s:s + 1]).float()
        gs = base.input_grad(model, xp, [T]).double().numpy().ravel()
        sens.append(np.linalg.norm(gs - g0) / np.linalg.norm(g0))
    e['avg_sens'] = [np.mean(sens)]

    # Continuity: 6 horizontal translations t = -16 + 5k, vacated columns black; |a| / max; max over the
    # translations whose top class is the explained one of L1(a - a_t) / (L2(x - x_t) + 1e-9), and over all.
    def nrm(v):
        return np.abs(v) / np.abs(v).max()

    def continuity(cls):
        ca = nrm(base.input_grad(model, x0, [cls])[0].double().numpy().ravel())
        keep, every = [], []
        for k in range(1, 7):
            t = -16 + k * 5
            xt = np.full_like(img, black)
            for xx in range(W):
                if 0 <= xx - t < W:
                    xt[:, :, xx] = img[:, :, xx - t]
            xtt = torch.tensor(xt[None]).float()
            with torch.no_grad():
                top = int(model(xtt).argmax(1)[0])
            at = nrm(base.input_grad(model, xtt, [cls])[0].double().numpy().ravel())
            r = np.abs(ca - at).sum() / (np.linalg.norm((img - xt).ravel()) + 1e-9)
            every.append(r)
            if top == cls:
                keep.append(r)
        return [max(keep) if keep else np.nan, max(every), len(keep)]

    with torch.no_grad():
        top0 = int(model(x0).argmax(1)[0])
    e['continuity_class'] = [top0]
    e['continuity_top'] = continuity(top0)
    e['continuity_3'] = continuity(T)

    # Localisation against a mask: rows 3..10, columns 4..12, plus pixel (0, 0).
    mask = np.zeros((H, W))
    mask[3:11, 4:13] = 1
    mask[0, 0] = 1
    e['mask'] = mask
    mk = mask.ravel().astype(bool)
    e['rma'] = [flat[mk].sum() / flat.sum()]
    od = np.argsort(-flat, kind='stable')
    K = mk.sum()
    e['rra'] = [mk[od[:K]].sum() / K]
    e['topk'] = [mk[od[:20]].mean()]
    e['topk_ci'] = [mk[od[:20]].mean() * HW / K]
    signed = grad.sum(0).ravel()  # a signed map: the positive part counts
    e['signed_map'] = signed.reshape(H, W)
    pos = np.clip(signed, 0, None)
    e['attr_loc'] = [pos[mk].sum() / (pos.sum() + 1e-9)]
    e['attr_loc_w'] = [pos[mk].sum() / (pos.sum() + 1e-9) * K / HW]
    # ROC AUC by the threshold sweep (every distinct value), trapezoids.
    thr = np.concatenate([[np.inf], np.sort(np.unique(signed))[::-1]])
    tpr = [np.sum((signed >= t) & mk) / K for t in thr]
    fpr = [np.sum((signed >= t) & ~mk) / (HW - K) for t in thr]
    e['auc'] = [float(np.sum((np.array(fpr[1:]) - np.array(fpr[:-1])) * (np.array(tpr[1:]) + np.array(tpr[:-1])) / 2))]
    e['eff_complexity'] = [np.sum(np.abs(flat) / np.abs(flat).max() > 1e-5), np.sum(np.abs(flat) / np.abs(flat).max() > 0.1)]

    # Random logit: SSIM of the abs-max vanilla-gradient maps of class 3 and class 5.
    other = np.abs(base.input_grad(model, x0, [5])[0].double().numpy()).max(0)
    e['random_logit'] = [ssim(amap, other)]


def kernel_projection(a, kernel, gamma):
    """KernelPCA(n_components=1).fit_transform of the centred activations (positions x channels)."""
    k, h, w = a.shape
    m = a.reshape(k, -1).T
    m = m - m.mean(0)
    d = m @ m.T
    sq = np.diag(d)
    if kernel == 'rbf':
        km = np.exp(-gamma * np.maximum(sq[:, None] + sq[None, :] - 2 * d, 0))
    elif kernel == 'sigmoid':
        km = np.tanh(gamma * d + 1)
    elif kernel == 'linear':
        km = d
    n = km.shape[0]
    one = np.ones((n, n)) / n
    kc = km - one @ km - km @ one + one @ km @ one
    vals, vecs = np.linalg.eigh(kc)
    v, lam = vecs[:, -1], vals[-1]
    v = v * np.sign(v[np.argmax(np.abs(v))])
    return (v * np.sqrt(max(lam, 0))).reshape(h, w)


def cams(e, model, x):
    layer = 'features.3'
    a, _, out = base.layer_and_grad(model, layer, x, [3, 7])
    an = a.double().numpy()
    for kern in ('rbf', 'sigmoid', 'linear'):
        e['kpca_' + kern] = np.stack([kernel_projection(an[i], kern, 1 / an.shape[1]) for i in range(an.shape[0])])
    # The GAP net's features.0 at 20x20 (400 positions: the TypeScript side's Lanczos path), rbf kernel.
    gap = base.GapNet().eval()
    gap.load_state_dict(torch.load(os.path.join(FIX, 'gapnet.pth')))
    xb = torch.randn(1, 3, 20, 20, generator=torch.Generator().manual_seed(5))
    e['kpca_big_x'] = xb.double().numpy()
    ab, _, _ = base.layer_and_grad(gap, 'features.0', xb, [3])
    e['kpca_big'] = kernel_projection(ab[0].double().numpy(), 'rbf', 1 / ab.shape[1])[None]
    # FEM: k-sigma rule (population std), weights = fraction of positions above, ReLU.
    mean = an.mean(axis=(2, 3), keepdims=True)
    std = an.std(axis=(2, 3), keepdims=True)
    wts = (an > mean + 2 * std).mean(axis=(2, 3))
    e['fem'] = np.maximum((wts[:, :, None, None] * an).sum(1), 0)
    e['fem_weights'] = wts
    # Finer-CAM over Grad-CAM: main = top class, comparisons = ranks 1, 2, 3 of |y_j - y_main|.
    store = {}

    def hook(_m, _i, o):
        o.retain_grad()
        store['a'] = o
    hk = model.get_submodule(layer).register_forward_hook(hook)
    y = model(x)
    hk.remove()
    yv = y.detach().double().numpy()
    total = 0
    comps = []
    for i in range(x.shape[0]):
        ref = yv[i].max()
        o = np.argsort(np.abs(yv[i] - ref), kind='stable')
        main, cmp = int(o[0]), [int(o[r]) for r in (1, 2, 3)]
        comps.append([main] + cmp)
        p = torch.softmax(y[i], 0)
        num = sum(p[j] * (y[i, main] - 1.0 * y[i, j]) for j in cmp)
        den = sum(p[j] for j in cmp)
        total = total + num / (den + 1e-9)
    total.backward()
    ga = store['a'].grad.double().numpy()
    aa = store['a'].detach().double().numpy()
    wf = ga.mean(axis=(2, 3))
    e['finer'] = np.maximum((wf[:, :, None, None] * aa).sum(1), 0)
    e['finer_classes'] = np.array(comps, dtype=np.float64)


def main():
    e0 = np.load(os.path.join(FIX, 'expected.npz'))
    x = torch.from_numpy(e0['x'])
    model = vgg()
    g = torch.Generator().manual_seed(2026)
    e = {}
    metrics(e, model, x[:1], g)
    cams(e, model, x)
    np.savez_compressed(os.path.join(FIX, 'metrics-more.npz'), **{k: np.asarray(v, dtype=np.float64) for k, v in e.items()})
    print('wrote metrics-more.npz', sorted(e))


if __name__ == '__main__':
    main()
