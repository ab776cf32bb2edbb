#!/usr/bin/env python3
"""Writes packages/tensor/test/fixtures/transformer.json: PyTorch golden values for the ops vision
transformers need (erf, gelu, layerNorm, scaledDotProductAttention), in the format and with the helpers of
scripts/make-tensor-fixtures.py (see its docstring), from a generator of its own.

Run with Debian's python3 (python3-torch 1.13):
    /usr/bin/python3 scripts/make-transformer-op-fixtures.py
torch 1.13 has no F.scaled_dot_product_attention (2.0 added it); the reference here is its documented
definition, softmax(q·kᵀ·scale + mask)·v, with a bool mask keeping the positions where it is true.
"""
import importlib.util
import json
import math
import os

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('tensor_fixtures', os.path.join(HERE, 'make-tensor-fixtures.py'))
tf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tf)
tf.GEN = torch.Generator().manual_seed(20261204)
case, randn, uniform = tf.case, tf.randn, tf.uniform


def attention(q, k, v, mask=None, scale=None):
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ k.transpose(-2, -1) * scale
    if mask is not None:
        scores = scores.masked_fill(~mask, float('-inf')) if mask.dtype == torch.bool else scores + mask
    return torch.softmax(scores, -1) @ v


def transformer_cases():
    fam = 'transformer'
    case(fam, 'erf over [-4, 4]', 'erf', [('x', uniform(-4, 4, 3, 7))], {}, torch.erf)
    case(fam, 'erf near zero and far out', 'erf', [('x', torch.tensor([0.0, 1e-6, -3e-4, 0.49, 0.51, 5.5, -7.0, 30.0]))], {}, torch.erf)
    case(fam, 'gelu exact', 'gelu', [('x', randn(2, 3, 5, scale=2.0))], {}, F.gelu)
    case(fam, 'gelu tanh', 'gelu', [('x', randn(4, 6, scale=2.0))], {'approximate': 'tanh'},
         lambda x: F.gelu(x, approximate='tanh'))
    case(fam, 'layerNorm last dim, weight and bias', 'layerNorm',
         [('x', randn(2, 5, 8, scale=3.0, offset=1.0)), ('weight', randn(8)), ('bias', randn(8))],
         {'normalizedShape': [8]}, lambda x, w, b: F.layer_norm(x, [8], w, b))
    case(fam, 'layerNorm two dims, eps 1e-6, weight only', 'layerNorm',
         [('x', randn(3, 4, 5)), ('weight', randn(4, 5))],
         {'normalizedShape': [4, 5], 'eps': 1e-6}, lambda x, w: F.layer_norm(x, [4, 5], w, None, eps=1e-6))
    case(fam, 'layerNorm no affine, 2-D', 'layerNorm', [('x', randn(4, 7, scale=0.1))],
         {'normalizedShape': [7], 'eps': 1e-3}, lambda x: F.layer_norm(x, [7], eps=1e-3))
    case(fam, 'attention heads [N, H, L, E]', 'scaledDotProductAttention',
         [('q', randn(2, 3, 4, 8)), ('k', randn(2, 3, 6, 8)), ('v', randn(2, 3, 6, 5))], {}, attention)
    case(fam, 'attention with scale and float mask', 'scaledDotProductAttention',
         [('q', randn(2, 5, 4)), ('k', randn(2, 5, 4)), ('v', randn(2, 5, 3)), ('mask', randn(5, 5))], {'scale': 0.3},
         lambda q, k, v, m: attention(q, k, v, m, 0.3))
    bool_mask = torch.tril(torch.ones(4, 4, dtype=torch.bool))
    case(fam, 'attention with a causal bool mask', 'scaledDotProductAttention',
         [('q', randn(1, 2, 4, 6)), ('k', randn(1, 2, 4, 6)), ('v', randn(1, 2, 4, 6)), ('mask', bool_mask)], {},
         lambda q, k, v, m: attention(q, k, v, m))


def main():
    torch.set_grad_enabled(True)
    transformer_cases()
    for family, cases in tf.FAMILIES.items():
        path = os.path.join(tf.OUT, f'{family}.json')
        with open(path, 'w') as f:
            json.dump({'torch': torch.__version__, 'generator': 'scripts/make-transformer-op-fixtures.py', 'cases': cases},
                      f, separators=(',', ':'))
            f.write('\n')
        print(f'{path}: {len(cases)} cases, {os.path.getsize(path)} bytes')


if __name__ == '__main__':
    main()
