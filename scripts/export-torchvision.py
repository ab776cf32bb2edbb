#!/usr/bin/env python3
"""Saves a torchvision model's state dict as a .safetensors file that gradlens loads with no renaming.

    /usr/bin/python3 scripts/export-torchvision.py --arch resnet18 --out resnet18.safetensors
    /usr/bin/python3 scripts/export-torchvision.py --arch vgg16 --out vgg16.safetensors --weights vgg16.pth

Without --weights the model keeps torchvision's random initialisation (seeded by --seed): nothing is
downloaded. --weights takes a torch.save file holding a state dict, or a checkpoint holding one under
'state_dict' / 'model_state_dict' / 'model'; a 'module.' prefix (DataParallel) is stripped. The
weights are loaded into the model strictly first, so a mismatch fails here, not later in gradlens.

Needs only torch and torchvision: the safetensors format is written by hand (the `safetensors`
package is not required): an 8-byte little-endian header length, a JSON header
{name: {dtype, shape, data_offsets}, "__metadata__": {...}} padded with spaces to 8 bytes, then
the raw little-endian tensor bytes, widest dtype first so every tensor is aligned.
"""
import argparse
import json
import os
import struct
import sys

import torch
import torchvision

DTYPES = {
    torch.float64: 'F64', torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16',
    torch.int64: 'I64', torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8',
    torch.uint8: 'U8', torch.bool: 'BOOL',
}
STATE_DICT_KEYS = ('state_dict', 'model_state_dict', 'model')


def build_model(arch, num_classes):
    """Returns an untrained torchvision model (random init, no download)."""
    if not hasattr(torchvision.models, arch) or arch.startswith('_'):
        names = sorted(n for n in dir(torchvision.models) if n[:1].islower() and callable(getattr(torchvision.models, n)))
        sys.exit(f'unknown --arch {arch!r}; torchvision has: {", ".join(names)}')
    ctor = getattr(torchvision.models, arch)
    kwargs = {} if num_classes is None else {'num_classes': num_classes}
    try:
        return ctor(weights=None, **kwargs)  # torchvision >= 0.13
    except TypeError:
        return ctor(pretrained=False, **kwargs)


def load_weights(path):
    """Returns the state dict stored in a torch.save file (plain, or inside a checkpoint dict)."""
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)  # refuses arbitrary pickles
    except TypeError:  # torch < 1.13 has no weights_only
        obj = torch.load(path, map_location='cpu')
    if isinstance(obj, dict) and not all(torch.is_tensor(v) for v in obj.values()):
        for key in STATE_DICT_KEYS:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
        else:
            sys.exit(f'{path}: no state dict found (top-level keys: {", ".join(map(str, obj))})')
    if not isinstance(obj, dict):
        sys.exit(f'{path}: holds a {type(obj).__name__}, expected a state dict')
    return {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in obj.items()}


def safetensors_bytes(tensors, metadata):
    """Returns the safetensors encoding of a {name: tensor} dict and a {str: str} metadata map."""
    if sys.byteorder != 'little':
        sys.exit('this writer assumes a little-endian machine')
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors, key=lambda n: (-tensors[n].element_size(), n)):
        t = tensors[name].detach().cpu().contiguous()  # views of shared storages are written separately
        if t.dtype not in DTYPES:
            sys.exit(f'tensor {name}: dtype {t.dtype} has no safetensors code here')
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {'dtype': DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    header['__metadata__'] = metadata
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    return [struct.pack('<Q', len(text)), text, *chunks]


def write_atomic(path, parts):
    """Writes to a temporary file beside `path`, then renames it into place."""
    tmp = f'{path}.{os.getpid()}.tmp'
    try:
        with open(tmp, 'wb') as f:
            for p in parts:
                f.write(p)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--arch', required=True, help='torchvision.models constructor name, e.g. resnet18, vgg16, alexnet')
    ap.add_argument('--out', required=True, help='output .safetensors path')
    ap.add_argument('--weights', help='a .pth/.pt state dict or checkpoint to load (default: random init)')
    ap.add_argument('--num-classes', type=int, help='classifier size (default: torchvision\'s, 1000)')
    ap.add_argument('--seed', type=int, default=0, help='seed of the random initialisation (default 0)')
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    model = build_model(args.arch, args.num_classes)
    if args.weights:
        model.load_state_dict(load_weights(args.weights), strict=True)
    model.eval()
    sd = model.state_dict()
    metadata = {
        'format': 'pt',
        'arch': args.arch,
        'source': os.path.basename(args.weights) if args.weights else f'random init, seed {args.seed}',
        'torch': torch.__version__,
        'torchvision': torchvision.__version__,
    }
    write_atomic(args.out, safetensors_bytes(sd, metadata))
    n = sum(t.numel() for t in sd.values())
    print(f'wrote {args.out}: {len(sd)} tensors, {n} elements ({args.arch}, {metadata["source"]})')


if __name__ == '__main__':
    main()
