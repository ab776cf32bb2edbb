#!/usr/bin/python3
"""PyTorch side of benchmarks/suites/perturbation.js: a plain PyTorch Score-CAM and occlusion, the same
computation gradlens runs, on torchvision's VGG16 with the weights file the suite wrote (so both see the
same model and image). Prints one JSON object per line.

usage: perturbation_torch.py --weights vgg16.pth --size 112 --threads 1,2 [--batch 32] [--window 16 --stride 8]
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F
import torchvision


def image(size):
    """The suite's deterministic image: x[i] = ((i · 7919) mod 1000) / 1000 − 0.5, [1, 3, size, size]."""
    i = torch.arange(3 * size * size, dtype=torch.float64)
    return (((i * 7919) % 1000) / 1000 - 0.5).float().reshape(1, 3, size, size)


def score_cam(model, x, layer_end, batch, target):
    """Score-CAM (Wang et al. 2020), as gradlens's scoreCam: masks from the min–max normalised upsampled
    channels of features[layer_end − 1] (constant channels skipped, weight 0), softmax score of the target."""
    with torch.no_grad():
        a = model.features[:layer_end](x)[0]
        k, h, w = a.shape
        up = F.interpolate(a[:, None], size=x.shape[2:], mode='bilinear', align_corners=False)[:, 0]
        lo, hi = up.amin((1, 2)), up.amax((1, 2))
        active = (hi > lo).nonzero()[:, 0]
        masks = (up[active] - lo[active, None, None]) / (hi - lo)[active, None, None]
        weights = torch.zeros(k)
        for b in range(0, len(active), batch):
            s = F.softmax(model(x * masks[b:b + batch, None]), 1)[:, target]
            weights[active[b:b + batch]] = s
        return F.relu((weights[:, None, None] * a).sum(0)), len(active)


def occlusion(model, x, window, stride, batch, target):
    """Occlusion (Zeiler & Fergus 2014), as gradlens's occlusion: fill 0, softmax probability drop per position."""
    with torch.no_grad():
        base = F.softmax(model(x), 1)[0, target]
        size = x.shape[2]
        pos = [(y, z) for y in range(0, size - window + 1, stride) for z in range(0, size - window + 1, stride)]
        drops = []
        for b in range(0, len(pos), batch):
            xs = x.repeat(len(pos[b:b + batch]), 1, 1, 1)
            for r, (y, z) in enumerate(pos[b:b + batch]):
                xs[r, :, y:y + window, z:z + window] = 0
            drops.append(base - F.softmax(model(xs), 1)[:, target])
        return torch.cat(drops), len(pos)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--weights', required=True)
    p.add_argument('--size', type=int, default=112)
    p.add_argument('--threads', default='1,2')
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--window', type=int, default=16)
    p.add_argument('--stride', type=int, default=8)
    p.add_argument('--methods', default='scorecam,occlusion')
    a = p.parse_args()
    model = torchvision.models.vgg16(weights=None).eval()
    model.load_state_dict(torch.load(a.weights))
    x = image(a.size)
    for threads in [int(t) for t in a.threads.split(',')]:
        torch.set_num_threads(threads)
        for method in a.methods.split(','):
            t = time.perf_counter()
            c = time.process_time()
            if method == 'scorecam':
                out, passes = score_cam(model, x, 30, a.batch, 0)
            else:
                out, passes = occlusion(model, x, a.window, a.stride, a.batch, 0)
            ms, cpu = (time.perf_counter() - t) * 1e3, (time.process_time() - c) * 1e3
            print(json.dumps({'method': method, 'threads': threads, 'ms': ms, 'cpuMs': cpu, 'passes': passes,
                              'checksum': float(out.double().sum())}), flush=True)


if __name__ == '__main__':
    main()
