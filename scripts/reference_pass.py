"""The float64 reference pass and the fixture files shared by the reduced-transformer fixture scripts
(make-nn-swin-fixtures.py, make-nn-swin-v2-fixtures.py, make-nn-maxvit-fixtures.py): the tests read the same keys
(input, logits, the layers' activations, weights, input_grad, grad.<parameter>) and the same config.json."""
import json
import os

import numpy as np
import torch


def reference_pass(model64, x, layers, param_grads, retain=False):
    """Runs the float64 model on x (float32, made float64) with the activations of `layers` (module path → key)
    recorded, and backpropagates sum(logits · w) for w drawn from seed 3. Returns the arrays (float32) by key, the
    recorded activations by path and the logits; with `retain` the activations keep their gradients and the graph
    stays, for a further backward pass."""
    xd = x.double().clone().requires_grad_(True)
    store = {}

    def hook(path):
        def record(_m, _i, o):
            if retain:
                o.retain_grad()
            store[path] = o
        return record

    hooks = [model64.get_submodule(p).register_forward_hook(hook(p)) for p in layers]
    logits = model64(xd)
    for h in hooks:
        h.remove()
    w = torch.randn(logits.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    (logits * w).sum().backward(retain_graph=retain)
    out = {'logits': logits.detach().float().numpy()}
    for path, key in layers.items():
        out[key] = store[path].detach().float().numpy()
    out['weights'] = w.float().numpy()
    out['input_grad'] = xd.grad.float().numpy()
    for name in param_grads:
        out['grad.' + name] = model64.get_parameter(name).grad.float().numpy()
    return out, store, logits


def write_fixture(out_dir, arrays, config, cam_layer, model, compressed=False):
    """expected.npz and config.json (the reduced model's configuration, CAM layer and parameter count)."""
    (np.savez_compressed if compressed else np.savez)(os.path.join(out_dir, 'expected.npz'), **arrays)
    with open(os.path.join(out_dir, 'config.json'), 'w') as f:
        json.dump({'config': config, 'camLayer': cam_layer,
                   'params': sum(p.numel() for p in model.parameters())}, f, indent=1)
        f.write('\n')
    print({k: v.shape for k, v in arrays.items()})
