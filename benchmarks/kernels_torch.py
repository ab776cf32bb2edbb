#!/usr/bin/python3
"""PyTorch side of benchmarks/suites/kernels.js: the same conv2d 3x3 layers (batch 1, pad 1, NCHW, float32)
forward / backward-input / backward-weight and the 1024^3 matmul, on one thread count per process (the
suite sets OPENBLAS_NUM_THREADS and OMP_NUM_THREADS to it). Prints one JSON object per line: name, ms
(median wall), cpuMs (median process CPU, all threads), reps.

usage: kernels_torch.py --threads N [--reps 7] [--max-seconds 4]
"""
import argparse
import json

import torch
import torch.nn.functional as F

from torch_measure import measure  # benchmarks/torch_measure.py, beside this script

CONVS = [('conv3x3 64->64 56x56', 64, 64, 56), ('conv3x3 256->256 14x14', 256, 256, 14), ('conv3x3 3->64 224x224', 3, 64, 224)]
MATMUL_N = 1024


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--threads', type=int, required=True)
    p.add_argument('--reps', type=int, default=7)
    p.add_argument('--max-seconds', type=float, default=4)
    a = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    cases = []
    for label, cin, cout, hw in CONVS:
        x = torch.rand(1, cin, hw, hw) - 0.5
        w = torch.rand(cout, cin, 3, 3) - 0.5
        dy = torch.rand(1, cout, hw, hw) - 0.5
        cases.append((f'{label} forward', lambda x=x, w=w: F.conv2d(x, w, padding=1)))
        cases.append((f'{label} backward-input', lambda x=x, w=w, dy=dy: torch.nn.grad.conv2d_input(x.shape, w, dy, padding=1)))
        cases.append((f'{label} backward-weight', lambda x=x, w=w, dy=dy: torch.nn.grad.conv2d_weight(x, w.shape, dy, padding=1)))
    a_ = torch.rand(MATMUL_N, MATMUL_N) - 0.5
    b_ = torch.rand(MATMUL_N, MATMUL_N) - 0.5
    cases.append((f'matmul {MATMUL_N}^3', lambda: a_ @ b_))
    with torch.no_grad():
        for name, fn in cases:
            ms, cpu_ms, reps = measure(fn, a.reps, a.max_seconds)
            print(json.dumps({'name': name, 'threads': a.threads, 'ms': ms, 'cpuMs': cpu_ms, 'reps': reps}), flush=True)


if __name__ == '__main__':
    main()
