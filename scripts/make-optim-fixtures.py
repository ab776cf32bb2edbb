#!/usr/bin/python3
"""Writes the optimiser and LR-schedule fixtures of packages/nn/test/fixtures/train/ with PyTorch.

Run with Debian's python3 (torch 1.13):  /usr/bin/python3 scripts/make-optim-fixtures.py
Each optimiser case holds the initial float32 parameters, a sequence of gradient sets and the
parameters after each step (torch's single-tensor CPU implementation, foreach=False), written as
JSON numbers that round-trip float32 exactly. Schedule cases hold the learning rate per epoch.
"""
import json
import os
import warnings

import torch

OUT = os.path.join(os.path.dirname(__file__), '..', 'packages', 'nn', 'test', 'fixtures', 'train')
STEPS = 5
SHAPES = [(3, 4), (5,), (2, 1, 3, 3)]


def floats(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def optim_case(name, cls, kwargs, seed):
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(s, generator=g, dtype=torch.float32).requires_grad_() for s in SHAPES]
    initial = [floats(p) for p in params]
    opt = cls(params, foreach=False, **kwargs)
    grads, after = [], []
    for _ in range(STEPS):
        step_grads = [torch.randn(s, generator=g, dtype=torch.float32) for s in SHAPES]
        for p, gr in zip(params, step_grads):
            p.grad = gr.clone()
        opt.step()
        grads.append([floats(gr) for gr in step_grads])
        after.append([floats(p) for p in params])
    return {'name': name, 'optimizer': cls.__name__, 'options': kwargs, 'shapes': [list(s) for s in SHAPES],
            'initial': initial, 'grads': grads, 'after': after}


def schedule_case(name, make, epochs, lr=0.1):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = make(opt)
    lrs = [opt.param_groups[0]['lr']]
    for _ in range(epochs):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]['lr'])
    return {'name': name, 'lr': lr, 'lrs': lrs}


def main():
    # SequentialLR calls step(0) on its second scheduler at the milestone, which warns; that is torch's own doing.
    warnings.filterwarnings('ignore', message='The epoch parameter')
    os.makedirs(OUT, exist_ok=True)
    O = torch.optim
    cases = [
        optim_case('sgd-plain', O.SGD, {'lr': 0.1}, 1),
        optim_case('sgd-momentum', O.SGD, {'lr': 0.05, 'momentum': 0.9}, 2),
        optim_case('sgd-momentum-dampening', O.SGD, {'lr': 0.05, 'momentum': 0.9, 'dampening': 0.3}, 3),
        optim_case('sgd-nesterov', O.SGD, {'lr': 0.05, 'momentum': 0.9, 'nesterov': True}, 4),
        optim_case('sgd-weight-decay', O.SGD, {'lr': 0.1, 'weight_decay': 0.01}, 5),
        optim_case('sgd-all', O.SGD, {'lr': 0.03, 'momentum': 0.8, 'nesterov': True, 'weight_decay': 5e-4}, 6),
        optim_case('sgd-maximize', O.SGD, {'lr': 0.1, 'momentum': 0.5, 'maximize': True}, 7),
        optim_case('adam', O.Adam, {'lr': 1e-3}, 11),
        optim_case('adam-betas-eps', O.Adam, {'lr': 0.01, 'betas': [0.8, 0.99], 'eps': 1e-6}, 12),
        optim_case('adam-weight-decay', O.Adam, {'lr': 0.01, 'weight_decay': 0.1}, 13),
        optim_case('adam-amsgrad', O.Adam, {'lr': 0.01, 'amsgrad': True}, 14),
        optim_case('adamw', O.AdamW, {'lr': 0.01}, 21),
        optim_case('adamw-weight-decay', O.AdamW, {'lr': 0.01, 'weight_decay': 0.1, 'betas': [0.85, 0.995]}, 22),
        optim_case('adamw-amsgrad', O.AdamW, {'lr': 0.01, 'weight_decay': 0.05, 'amsgrad': True}, 23),
    ]
    L = O.lr_scheduler
    schedules = [
        schedule_case('step-lr', lambda o: L.StepLR(o, step_size=3, gamma=0.5), 12),
        schedule_case('cosine', lambda o: L.CosineAnnealingLR(o, T_max=10), 12),
        schedule_case('cosine-eta-min-restart', lambda o: L.CosineAnnealingLR(o, T_max=4, eta_min=0.01), 14),
        schedule_case('linear', lambda o: L.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=4), 8),
        schedule_case('warmup-cosine', lambda o: L.SequentialLR(o, [
            L.LinearLR(o, start_factor=0.1, total_iters=3),
            L.CosineAnnealingLR(o, T_max=7, eta_min=0.001)], milestones=[3]), 12),
    ]
    with open(os.path.join(OUT, 'optim.json'), 'w') as f:
        json.dump({'torch': torch.__version__, 'cases': cases}, f)
    with open(os.path.join(OUT, 'schedules.json'), 'w') as f:
        json.dump({'torch': torch.__version__, 'cases': schedules}, f, indent=1)
    print(f'wrote {len(cases)} optimiser cases and {len(schedules)} schedules to {os.path.normpath(OUT)}')


if __name__ == '__main__':
    main()
