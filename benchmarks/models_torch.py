#!/usr/bin/python3
"""PyTorch side of benchmarks/suites/models.js: whole torchvision models at 1x3x224x224, eval mode,
random weights. Workloads: forward (no_grad), and forward + backward to the input (the saliency
workload: parameters frozen, gradient of one logit w.r.t. x). Prints one JSON object per line.

usage: models_torch.py --models vgg16,alexnet --threads 1,2 [--channels-last] [--reps 5] [--max-seconds 4]
"""
import argparse
import json

import torch
import torchvision

from torch_measure import measure  # benchmarks/torch_measure.py, beside this script


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--models', required=True)
    p.add_argument('--threads', default='1,2')
    p.add_argument('--channels-last', action='store_true')
    p.add_argument('--reps', type=int, default=5)
    p.add_argument('--max-seconds', type=float, default=4)
    a = p.parse_args()
    torch.manual_seed(0)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    for name in a.models.split(','):
        model = getattr(torchvision.models, name)(weights=None).eval().to(memory_format=fmt)
        for q in model.parameters():
            q.requires_grad_(False)
        x = torch.rand(1, 3, 224, 224).contiguous(memory_format=fmt)

        def forward():
            with torch.no_grad():
                model(x)

        def saliency():
            xi = x.detach().clone().requires_grad_(True)
            y = model(xi)
            (g,) = torch.autograd.grad(y[0, 0], xi)
            return g

        for threads in [int(t) for t in a.threads.split(',')]:
            torch.set_num_threads(threads)
            for workload, fn in (('forward', forward), ('forward+backward-input', saliency)):
                ms, cpu_ms, reps = measure(fn, a.reps, a.max_seconds)
                print(json.dumps({'model': name, 'workload': workload, 'threads': threads, 'ms': ms, 'cpuMs': cpu_ms, 'reps': reps,
                                  'channelsLast': a.channels_last}), flush=True)


if __name__ == '__main__':
    main()
