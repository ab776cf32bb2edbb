"""PyTorch's side of benchmarks/detection.js: a torchvision detector (random weights, eval mode) on one random picture.

    detection_torch.py <detect|gradient> <model> <height> <width> <reps> <threads>

detect: `reps` timed runs under no_grad after one warm-up; gradient: the input gradient of detection 0's score,
one run. Prints one JSON line {"ms": [...], "peakMiB": max RSS}.
"""
import json
import resource
import sys
import time

import torch
import torchvision

workload, name, height, width, reps, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
torch.set_num_threads(threads)
torch.manual_seed(0)
model = getattr(torchvision.models.detection, name)(weights=None, weights_backbone=None).eval()
picture = torch.rand(3, height, width, generator=torch.Generator().manual_seed(1))
times = []
if workload == 'detect':
    for i in range(reps + 1):
        t0 = time.perf_counter()
        with torch.no_grad():
            model([picture])
        times.append((time.perf_counter() - t0) * 1000)
    times = times[1:]
else:
    t0 = time.perf_counter()
    x = picture.clone().requires_grad_(True)
    scores = model([x])[0]['scores']
    scores[0].backward()
    times.append((time.perf_counter() - t0) * 1000)
print(json.dumps({'ms': times, 'peakMiB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
