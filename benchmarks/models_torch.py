#!/usr/bin/python3
"""PyTorch side of benchmarks/suites/models.js: whole torchvision models at 1x3x224x224, eval mode,
random weights. Workloads: forward (no_grad), and forward + backward to the input (the saliency
workload: parameters frozen, gradient of one logit w.r.t. x). Prints one JSON object per line.

usage: models_torch.py --models vgg16,alexnet --threads 1,2 [--channels-last] [--reps 5] [--max-seconds 4]
"""
import argparse
import json
import statistics
import time

import torch
import torchvision


def measure(fn, reps, max_seconds):
    """Median wall ms, median process CPU ms (all threads: robust to a busy machine), runs."""
    def once():
        t, c = time.perf_counter(), time.process_time()
        fn()
        return (time.perf_counter() - t) * 1e3, (time.process_time() - c) * 1e3
    first = once()
    if first[0] > max_seconds * 1e3:
        return first[0], first[1], 1
    once()
    n = max(1, min(reps, int(max_seconds * 1e3 / max(first[0], 1e-3))))
    runs = [once() for _ in range(n)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), n


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
