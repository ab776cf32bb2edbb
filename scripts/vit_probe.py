#!/usr/bin/python3
"""The PyTorch half of scripts/vit-probe.js (issue 16: why the ViT learns late).

  /usr/bin/python3 scripts/vit_probe.py grads --dir DIR            step-1 gradients of gradlens's initial
      weights (DIR/init.safetensors) on batch 0 against gradlens's (DIR/grads/*.npy): relative error per parameter
  /usr/bin/python3 scripts/vit_probe.py train --dir DIR [--steps 300] [--lr 2e-3] [--wd 0.05] [--warmup 100]
      [--aux 0] [--stem 32:2,...] [--layers 2] [--hidden 64] [--heads 4] [--mlp 128] [--fresh] [--nodecay-norms]
      [--smooth 0] [--tag level0] [--tag2 level1 --switch 200]: the loss per step, same batches, same schedule

Single thread (torch.set_num_threads(1)) so that it runs beside the gradlens probe on the shared machine.
"""
import argparse, json, math, os, struct, sys, time
import numpy as np
import torch
import torch.nn.functional as F
from functools import partial
from torchvision.models.vision_transformer import VisionTransformer
from torchvision.ops.misc import Conv2dNormActivation  # noqa: F401
from torchvision.models.vision_transformer import ConvStemConfig

MEAN = np.array([0.4678, 0.4803, 0.4757], np.float32)
STD = np.array([0.2588, 0.257, 0.2553], np.float32)


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        body = f.read()
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        a, b = v['data_offsets']
        dt = {'F32': np.float32, 'I64': np.int64, 'I32': np.int32}[v['dtype']]
        out[k] = torch.from_numpy(np.frombuffer(body[a:b], dtype=dt).reshape(v['shape']).copy())
    return out


def build(args, bn=True):
    stem = [tuple(int(v) for v in p.split(':')) for p in args.stem.split(',')]
    cfgs = [ConvStemConfig(out_channels=c, kernel_size=3, stride=s, norm_layer=torch.nn.BatchNorm2d if bn else None) for c, s in stem]
    return VisionTransformer(image_size=64, patch_size=8, num_layers=args.layers, num_heads=args.heads, hidden_dim=args.hidden,
                             mlp_dim=args.mlp, num_classes=10, conv_stem_configs=cfgs)


def batches(d, tag, size):
    x = np.load(os.path.join(d, f'{tag}-x.npy'))
    y = np.load(os.path.join(d, f'{tag}-y.npy'))
    nb = len(y) // size

    def get(b):
        b %= nb
        u = x[b * size:(b + 1) * size].astype(np.float32) / np.float32(255)
        u = (u - MEAN[None, :, None, None]) / STD[None, :, None, None]
        return torch.from_numpy(u.astype(np.float32)), torch.from_numpy(y[b * size:(b + 1) * size].astype(np.int64))
    return get


def forward(m, x, aux=None):
    """torchvision's forward, plus the pooled-token logits of an auxiliary head while training."""
    t = m._process_input(x)
    n = t.shape[0]
    t = torch.cat([m.class_token.expand(n, -1, -1), t], dim=1)
    t = m.encoder(t)
    logits = m.heads(t[:, 0])
    return logits, (aux(t[:, 1:].mean(1)) if aux is not None else None)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('mode')
    p.add_argument('--dir', default='/tmp/vitprobe')
    p.add_argument('--steps', type=int, default=300)
    p.add_argument('--total', type=int, default=0)
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--lr', type=float, default=2e-3)
    p.add_argument('--wd', type=float, default=0.05)
    p.add_argument('--warmup', type=int, default=100)
    p.add_argument('--aux', type=float, default=0)
    p.add_argument('--smooth', type=float, default=0)
    p.add_argument('--stem', default='32:2,32:1,64:2,64:1,96:2,96:1')
    p.add_argument('--layers', type=int, default=2)
    p.add_argument('--heads', type=int, default=4)
    p.add_argument('--hidden', type=int, default=64)
    p.add_argument('--mlp', type=int, default=128)
    p.add_argument('--fresh', action='store_true', help="torch's own init instead of gradlens's init.safetensors")
    p.add_argument('--nodecay-norms', action='store_true', help='no weight decay on norms, biases, tokens, position embedding')
    p.add_argument('--tag', default='level0')
    p.add_argument('--tag2', default='')
    p.add_argument('--switch', type=int, default=0)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--name', default='base')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    m = build(a)
    if not a.fresh:
        print(m.load_state_dict(read_safetensors(os.path.join(a.dir, 'init.safetensors')), strict=True))
    m.train()
    get = batches(a.dir, a.tag, a.batch)
    if a.mode == 'grads':
        x, y = get(0)
        logits, _ = forward(m, x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        ref = float(open(os.path.join(a.dir, 'grads', 'loss.txt')).read())
        print(f'loss torch {loss.item():.6f} gradlens {ref:.6f}')
        worst = 0
        for k, prm in m.named_parameters():
            g = np.load(os.path.join(a.dir, 'grads', f'{k}.npy'))
            t = prm.grad.numpy()
            rel = np.abs(g - t).max() / max(np.abs(t).max(), 1e-12)
            worst = max(worst, rel)
            print(f'{k:55s} |g| {np.abs(t).max():.3e}  rel err {rel:.2e}')
        print(f'worst relative error {worst:.2e}')
        return
    get2 = batches(a.dir, a.tag2, a.batch) if a.tag2 else None
    aux = torch.nn.Linear(a.hidden, 10) if a.aux > 0 else None
    params = list(m.parameters()) + (list(aux.parameters()) if aux else [])
    if a.nodecay_norms:
        decay = [q for n_, q in list(m.named_parameters()) + (list(aux.named_parameters()) if aux else []) if q.ndim >= 2 and 'pos_embedding' not in n_ and 'class_token' not in n_]
        ids = {id(q) for q in decay}
        groups = [{'params': decay, 'weight_decay': a.wd}, {'params': [q for q in params if id(q) not in ids], 'weight_decay': 0}]
    else:
        groups = [{'params': params, 'weight_decay': a.wd}]
    opt = torch.optim.AdamW(groups, lr=a.lr)
    total = a.total or a.steps
    lr_at = lambda s: a.lr * (0.05 + 0.95 * s / a.warmup) if s < a.warmup else a.lr * (1 + math.cos(math.pi * min(1, (s - a.warmup) / max(1, total - a.warmup)))) / 2
    losses, correct = [], []
    t0 = time.time()
    for s in range(a.steps):
        for g in opt.param_groups:
            g['lr'] = lr_at(s)
        x, y = (get2 if get2 and s >= a.switch else get)(s)
        logits, al = forward(m, x, aux)
        loss = F.cross_entropy(logits, y, label_smoothing=a.smooth)
        full = loss + a.aux * F.cross_entropy(al, y, label_smoothing=a.smooth) if aux is not None else loss
        opt.zero_grad()
        full.backward()
        opt.step()
        losses.append(F.cross_entropy(logits.detach(), y).item())
        correct.append((logits.argmax(1) == y).float().mean().item())
        if s % 25 == 24:
            print(f'{a.name} step {s + 1} loss {np.mean(losses[-25:]):.4f} acc {100 * np.mean(correct[-25:]):.1f}% · {time.time() - t0:.0f} s', flush=True)
    json.dump(losses, open(os.path.join(a.dir, f'torch-losses-{a.name}.json'), 'w'))


if __name__ == '__main__':
    main()
