#!/usr/bin/python3
"""Writes packages/explain/test/fixtures/vit/expected.npz: attribution maps of the reduced torchvision ViT
(packages/nn/test/fixtures/vit_small.pth, see scripts/make-vit-fixtures.py) computed by PyTorch
implementations written from the papers, for packages/explain/test/vit.test.ts.

Run with Debian's python3 (torch 1.13, torchvision 0.14):  /usr/bin/python3 scripts/make-vit-explain-fixtures.py

- vanilla: d logit[target] / d input (Simonyan et al. 2014).
- gradcam: Grad-CAM (Selvaraju et al. 2017) at encoder.layers.encoder_layer_2.ln_1 through the token reshape
  of pytorch-grad-cam's ViT example (drop the class token, lay the 16 patch tokens on their 4×4 grid,
  channels first), applied to the activation and to its gradient; the map and its bilinear upsampling.
- rollout_{mean,max,min}[_discard]: attention rollout (Abnar & Zuidema 2020): heads fused, 0.5·A + 0.5·I
  with rows renormalised, multiplied from the first layer up; optionally the smallest 30% of each fused
  matrix zeroed first (never the class token's own entry), as vit-explain does.
- generic: Chefer et al. 2021 (ICCV), self-attention: R = I; R += mean_h((∇A ⊙ A)⁺)·R per layer.
- tattr: Chefer et al. 2021 (CVPR): relevance from the one-hot target, LRP-αβ (α=1, β=0, signed inputs)
  for linear layers, the generic rule with the normalisation of eq. (8) for skip connections and matrix
  products, identity through softmax, GELU and layer norm; per layer I + mean_h((∇A ⊙ R_A)⁺), multiplied up.
- lrp_conservative / lrp_attnlrp: Ali et al. 2022 (LN-rule, AH-rule) and AttnLRP (Achtibat et al. 2024)
  as the papers implement them: gradient × input on a forward pass where the layer norm's σ is detached,
  GELU is the gate x·(gelu(x)/x) with the gate detached, and (AH) the attention probabilities are detached
  or (AttnLRP) each product of two activations is 0.5·(a·b̄ + ā·b) with bars detached. The ε of the
  TypeScript rules is the only difference.

The functional forward below is torchvision's VisionTransformer written out (its logits are checked
against the module's), so that the rules can reach every op.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.models.vision_transformer import VisionTransformer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
OUT = os.path.join(ROOT, 'packages', 'explain', 'test', 'fixtures', 'vit')
SMALL = dict(image_size=32, patch_size=8, num_layers=3, num_heads=4, hidden_dim=32, mlp_dim=64, num_classes=10)
LAYER = 'encoder.layers.encoder_layer_2.ln_1'
TARGET = [3, 7]


def load_model():
    model = VisionTransformer(**SMALL)
    state = torch.load(os.path.join(ROOT, 'packages', 'nn', 'test', 'fixtures', 'vit_small.pth'))
    model.load_state_dict(state)  # torchvision renames the legacy mlp.linear_1 / linear_2 keys itself
    return model.double().eval()


def tokens_to_grid(t, h=4, w=4):
    """pytorch-grad-cam's reshape_transform for ViTs: [N, 1 + h·w, C] → [N, C, h, w]."""
    return t[:, 1:, :].reshape(t.shape[0], h, w, t.shape[2]).permute(0, 3, 1, 2)


def one_hot(out):
    seed = torch.zeros_like(out)
    for i, c in enumerate(TARGET):
        seed[i, c] = 1
    return seed


L, H, D = 3, 4, 32


def functional_vit(sd, x, ln_rule=False, ah=False, attnlrp=False, keep=None):
    """torchvision's ViT forward on state dict `sd`; keep collects every intermediate the relprop needs."""
    keep = keep if keep is not None else {}

    def ln(t, p):
        mu = t.mean(-1, keepdim=True)
        xc = t - mu
        std = (xc.pow(2).mean(-1, keepdim=True) + 1e-6).sqrt()
        if ln_rule:
            std = std.detach()
        return xc / std * sd[p + '.weight'] + sd[p + '.bias']

    def prod(a, b):
        return 0.5 * (a @ b.detach() + a.detach() @ b) if attnlrp else a @ b

    def gelu(t):
        if not ln_rule:
            return F.gelu(t)
        gate = torch.where(t == 0, torch.zeros_like(t), F.gelu(t) / torch.where(t == 0, torch.ones_like(t), t))
        return t * gate.detach()

    n = x.shape[0]
    h = F.conv2d(x, sd['conv_proj.weight'], sd['conv_proj.bias'], stride=8).flatten(2).transpose(1, 2)
    h = torch.cat([sd['class_token'].expand(n, -1, -1), h], 1) + sd['encoder.pos_embedding']
    keep['probs'], keep['blocks'] = [], []
    for i in range(L):
        p = f'encoder.layers.encoder_layer_{i}.'
        b = {'h_in': h}
        b['y1'] = ln(h, p + 'ln_1')
        qkv = F.linear(b['y1'], sd[p + 'self_attention.in_proj_weight'], sd[p + 'self_attention.in_proj_bias'])
        q, k, v = [t.reshape(n, -1, H, D // H).transpose(1, 2) for t in qkv.chunk(3, -1)]
        b['q'], b['kT'], b['v'] = q, k.transpose(-2, -1), v
        probs = torch.softmax(prod(q, k.transpose(-2, -1)) * (D // H) ** -0.5, -1)
        if probs.requires_grad:
            probs.retain_grad()
        keep['probs'].append(probs)
        b['P'] = probs
        o = prod(probs.detach() if ah else probs, v)
        b['o'] = o
        b['o_merged'] = o.transpose(1, 2).reshape(n, -1, D)
        b['attn_out'] = F.linear(b['o_merged'], sd[p + 'self_attention.out_proj.weight'], sd[p + 'self_attention.out_proj.bias'])
        h = h + b['attn_out']
        b['h_mid'] = h
        b['y2'] = ln(h, p + 'ln_2')
        b['m1'] = F.linear(b['y2'], sd[p + 'mlp.0.weight'], sd[p + 'mlp.0.bias'])
        b['g'] = gelu(b['m1'])
        b['m2'] = F.linear(b['g'], sd[p + 'mlp.3.weight'], sd[p + 'mlp.3.bias'])
        h = h + b['m2']
        keep['blocks'].append(b)
    keep['cls'] = ln(h, 'encoder.ln')[:, 0]
    return F.linear(keep['cls'], sd['heads.head.weight'], sd['heads.head.bias'])


def safe_div(a, b):
    return torch.where(b == 0, torch.zeros_like(a), a / (b + 1e-9))


def lin_ab(x, w, r):
    """LRP-αβ, α = 1, β = 0, on signed inputs (Chefer et al., eq. 6): x⁺w⁺ and x⁻w⁻ share R, no bias."""
    px, nx, pw, nw = x.clamp(min=0), x.clamp(max=0), w.clamp(min=0), w.clamp(max=0)
    s = safe_div(r, F.linear(px, pw) + F.linear(nx, nw))
    return px * (s @ pw) + nx * (s @ nw)


def normalise(ra, rb, r):
    """Eq. (8), per item: the operands share Σ R in proportion to |Σ Rᵃ| and |Σ Rᵇ|."""
    dims = tuple(range(1, r.dim()))
    sa, sb, total = ra.sum(dims, keepdim=True), rb.sum(dims, keepdim=True), r.sum(dims, keepdim=True)
    fa = safe_div(sa.abs(), sa.abs() + sb.abs()) * total
    fb = safe_div(sb.abs(), sa.abs() + sb.abs()) * total
    return ra * safe_div(fa, sa), rb * safe_div(fb, sb)


def add_rel(a, b, r):
    s = safe_div(r, a + b)
    return normalise(a * s, b * s, r)


def matmul_rel(a, b, r):
    s = safe_div(r, a @ b)
    return normalise(a * (s @ b.transpose(-2, -1)), b * (a.transpose(-2, -1) @ s), r)


def transformer_attribution(sd, x):
    keep = {}
    logits = functional_vit(sd, x.clone().requires_grad_(True), keep=keep)
    logits.backward(one_hot(logits))
    grads = [p.grad for p in keep['probs']]
    with torch.no_grad():
        n = x.shape[0]
        r_cls = lin_ab(keep['cls'], sd['heads.head.weight'], one_hot(logits))
        r = torch.zeros_like(keep['blocks'][-1]['h_mid'])
        r[:, 0] = r_cls  # identity through the final layer norm
        cams = [None] * L
        for i in reversed(range(L)):
            b, p = keep['blocks'][i], f'encoder.layers.encoder_layer_{i}.'
            r_mid, r_m2 = add_rel(b['h_mid'], b['m2'], r)
            r_y2 = lin_ab(b['y2'], sd[p + 'mlp.0.weight'], lin_ab(b['g'], sd[p + 'mlp.3.weight'], r_m2))
            r_mid = r_mid + r_y2
            r_in, r_att = add_rel(b['h_in'], b['attn_out'], r_mid)
            r_o = lin_ab(b['o_merged'], sd[p + 'self_attention.out_proj.weight'], r_att).reshape(n, -1, H, D // H).transpose(1, 2)
            r_p, r_v = matmul_rel(b['P'], b['v'], r_o)
            cams[i] = r_p
            r_q, r_kT = matmul_rel(b['q'], b['kT'], r_p)
            r_qkv = torch.cat([t.transpose(1, 2).reshape(n, -1, D) for t in (r_q, r_kT.transpose(-2, -1), r_v)], -1)
            r = r_in + lin_ab(b['y1'], sd[p + 'self_attention.in_proj_weight'], r_qkv)
        joint = None
        for i in range(L):
            abar = (grads[i] * cams[i]).clamp(min=0).mean(1) + torch.eye(17, dtype=x.dtype)
            joint = abar if joint is None else abar @ joint
    return joint[:, 0, 1:].reshape(n, 4, 4)


def rollout(probs, fusion, discard):
    joint = torch.eye(17, dtype=probs[0].dtype).expand(probs[0].shape[0], 17, 17)
    for p in probs:
        a = {'mean': p.mean(1), 'max': p.max(1).values, 'min': p.min(1).values}[fusion].clone()
        if discard:
            flat = a.reshape(a.shape[0], -1)
            k = int(flat.shape[1] * discard)
            for i in range(flat.shape[0]):
                idx = torch.argsort(flat[i], stable=True)[:k]
                idx = idx[idx != 0]
                flat[i, idx] = 0
        a = 0.5 * a + 0.5 * torch.eye(17, dtype=a.dtype)
        a = a / a.sum(-1, keepdim=True)
        joint = a @ joint
    return joint[:, 0, 1:].reshape(-1, 4, 4)


def attention_methods(model, x, out):
    sd = {k: v.detach() for k, v in model.state_dict().items()}
    xd = x.double()
    with torch.no_grad():
        assert torch.allclose(functional_vit(sd, xd), model(xd), rtol=1e-10, atol=1e-12)
    keep = {}
    logits = functional_vit(sd, xd.clone().requires_grad_(True), keep=keep)
    logits.backward(one_hot(logits))
    probs = [p.detach() for p in keep['probs']]
    for fusion in ('mean', 'max', 'min'):
        out[f'rollout_{fusion}'] = rollout(probs, fusion, 0).float().numpy()
        out[f'rollout_{fusion}_discard'] = rollout(probs, fusion, 0.3).float().numpy()
    r = torch.eye(17, dtype=torch.float64).expand(2, 17, 17)
    for p in keep['probs']:
        abar = (p.grad * p.detach()).clamp(min=0).mean(1)
        r = r + abar @ r
    out['generic'] = r[:, 0, 1:].reshape(2, 4, 4).float().numpy()
    out['tattr'] = transformer_attribution(sd, xd).float().numpy()
    for name, flags in (('conservative', dict(ln_rule=True, ah=True)), ('attnlrp', dict(ln_rule=True, attnlrp=True))):
        xg = xd.clone().requires_grad_(True)
        y = functional_vit(sd, xg, **flags)
        y.backward(one_hot(y))
        out[f'lrp_{name}'] = (xg * xg.grad).detach().float().numpy()
        out[f'lrp_{name}_out'] = (y * one_hot(y)).sum(1).detach().float().numpy()


def main():
    os.makedirs(OUT, exist_ok=True)
    model = load_model()
    g = torch.Generator().manual_seed(11)
    x = (torch.rand((2, 3, 32, 32), generator=g) * 2 - 1).float()
    out = {'x': x.numpy(), 'target': np.array(TARGET, dtype=np.int32)}

    xd = x.double().clone().requires_grad_(True)
    store = {}

    def hook(_m, _i, o):
        o.retain_grad()
        store['a'] = o

    h = model.get_submodule(LAYER).register_forward_hook(hook)
    logits = model(xd)
    h.remove()
    logits.backward(one_hot(logits))
    out['logits'] = logits.detach().float().numpy()
    out['vanilla'] = xd.grad.float().numpy()
    a = tokens_to_grid(store['a'].detach())
    grad = tokens_to_grid(store['a'].grad.detach())
    weights = grad.mean(dim=(2, 3))
    cam = F.relu((weights[:, :, None, None] * a).sum(1))
    out['gradcam'] = cam.float().numpy()
    out['gradcam_up'] = F.interpolate(cam[:, None], size=(32, 32), mode='bilinear', align_corners=False)[:, 0].float().numpy()
    attention_methods(model, x, out)
    np.savez(os.path.join(OUT, 'expected.npz'), **out)
    print({k: v.shape for k, v in out.items()})


if __name__ == '__main__':
    main()
