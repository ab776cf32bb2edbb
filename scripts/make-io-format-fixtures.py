#!/usr/bin/env python3
"""Writes the small weight/array fixtures that packages/io's format tests read.

Run with Debian's python3 (python3-torch, python3-numpy):
    /usr/bin/python3 scripts/make-io-format-fixtures.py
CI never runs this; the outputs under packages/io/test/fixtures/formats/ are committed.
Each fixture has its expected values beside it as JSON:
    {name: {"dtype": ..., "shape": [...], "values": [...]}}   (row-major, flattened)
float16/bfloat16 values are also given as raw uint16 "bits"; int64 values are strings (they can
exceed 2**53).
"""
import io
import json
import os
import struct
import sys
import zipfile

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'packages', 'io', 'test', 'fixtures', 'formats')

NP_DTYPE_NAMES = {
    np.dtype('float64'): 'float64', np.dtype('float32'): 'float32', np.dtype('float16'): 'float16',
    np.dtype('int64'): 'int64', np.dtype('int32'): 'int32', np.dtype('int16'): 'int16',
    np.dtype('int8'): 'int8', np.dtype('uint8'): 'uint8', np.dtype('bool'): 'bool',
}
TORCH_DTYPE_NAMES = {
    torch.float64: 'float64', torch.float32: 'float32', torch.float16: 'float16', torch.bfloat16: 'bfloat16',
    torch.int64: 'int64', torch.int32: 'int32', torch.int16: 'int16', torch.int8: 'int8',
    torch.uint8: 'uint8', torch.bool: 'bool',
}


def expect_np(a):
    """Expected-value record of a numpy array (any byte order / memory order)."""
    a = np.asarray(a)
    name = NP_DTYPE_NAMES[a.dtype.newbyteorder('=')]
    flat = np.ascontiguousarray(a).astype(a.dtype.newbyteorder('=')).reshape(-1)
    rec = {'dtype': name, 'shape': list(a.shape)}
    if name == 'int64':
        rec['values'] = [str(int(v)) for v in flat]
    elif name == 'bool':
        rec['values'] = [int(v) for v in flat]
    elif name == 'float16':
        rec['values'] = [float(v) for v in flat]
        rec['bits'] = [int(v) for v in flat.view(np.uint16)]
    elif name.startswith('float'):
        rec['values'] = [float(v) for v in flat]
    else:
        rec['values'] = [int(v) for v in flat]
    return rec


def expect_torch(t):
    """Expected-value record of a torch tensor (views are materialised row-major)."""
    t = t.detach().contiguous()
    name = TORCH_DTYPE_NAMES[t.dtype]
    if name == 'bfloat16':
        flat = t.reshape(-1)
        return {'dtype': name, 'shape': list(t.shape), 'values': [float(v) for v in flat.float()],
                'bits': [int(v) & 0xFFFF for v in flat.view(torch.int16)]}
    return expect_np(t.numpy())


def write_json(name, obj):
    with open(os.path.join(OUT, name), 'w') as f:
        json.dump(obj, f, indent=1)  # insertion order: tests check key order
        f.write('\n')


def small_model_state_dict():
    """A torchvision-like state dict: conv + BatchNorm (num_batches_tracked) + linear, from a real Module."""
    torch.manual_seed(0)
    m = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1, bias=False),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 2 * 2, 3),
    )
    m.train()
    m(torch.randn(2, 3, 2, 2))  # moves running stats and num_batches_tracked off their defaults
    return m.state_dict()  # an OrderedDict carrying a _metadata attribute, as torchvision's do


class WithScratch(torch.nn.Module):
    """A module with a parameter, a buffer and a non-persistent buffer (left out of state_dict())."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.randn(3))
        self.register_buffer('kept', torch.arange(3.0))
        self.register_buffer('scratch', torch.ones(2), persistent=False)


def make_pth():
    sd = small_model_state_dict()
    torch.manual_seed(1)
    t = torch.randn(4, 6)
    sd['shared.a'] = t
    sd['shared.b'] = t[1:3]          # view with a storage offset
    sd['shared.c'] = t.t()           # non-contiguous (strides 1, 6)
    sd['shared.d'] = t[:, 1::2]      # offset and step
    sd['half'] = torch.randn(2, 3).half()
    sd['bf16'] = torch.randn(5).to(torch.bfloat16)
    sd['double'] = torch.randn(3).double()
    sd['int32'] = torch.tensor([1, -2, 2**31 - 1], dtype=torch.int32)
    sd['int16'] = torch.tensor([-32768, 7], dtype=torch.int16)
    sd['int8'] = torch.tensor([-128, 127, 0], dtype=torch.int8)
    sd['uint8'] = torch.tensor([0, 255, 9], dtype=torch.uint8)
    sd['bool'] = torch.tensor([True, False, True])
    sd['big_int64'] = torch.tensor([2**40 + 1, -(2**62), 5], dtype=torch.int64)
    sd['scalar'] = torch.tensor(2.5)
    sd['empty'] = torch.zeros(0, 3)
    sd['expanded'] = torch.arange(3.0).expand(2, 3)  # stride 0
    path = os.path.join(OUT, 'state_dict.pth')  # saved by path: the zip folder is 'state_dict/'
    torch.save(sd, path)
    write_json('state_dict.expected.json', {k: expect_torch(v) for k, v in sd.items()})

    # A nested checkpoint, saved through a file object: the zip folder is 'archive/'.
    torch.manual_seed(2)
    inner = {'conv.weight': torch.randn(2, 1, 1, 1), 'bn.num_batches_tracked': torch.tensor(7)}
    ckpt = {
        'state_dict': inner,
        'epoch': 3,
        'lr': 0.125,
        'name': 'resnet-ish',
        'best': None,
        'flags': [True, False],
        'pair': (1, 2.5, 'x'),
        'big': 2**40,
        'huge': 2**70,
        'neg': -5,
        'nested': {'deep': {'t': torch.arange(4, dtype=torch.int64).reshape(2, 2)}},
        'param': torch.nn.Parameter(torch.ones(2)),
        'int_keys': {0: 'zero', 1: 'one'},
    }
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    with open(os.path.join(OUT, 'checkpoint.pth'), 'wb') as f:
        f.write(buf.getvalue())
    write_json('checkpoint.expected.json', {
        'state_dict': {k: expect_torch(v) for k, v in inner.items()},
        'nested.deep.t': expect_torch(ckpt['nested']['deep']['t']),
        'param': expect_torch(ckpt['param']),
    })

    # Pickle protocol 4 (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL), as some callers choose.
    buf = io.BytesIO()
    torch.save(inner, buf, pickle_protocol=4)
    with open(os.path.join(OUT, 'protocol4.pth'), 'wb') as f:
        f.write(buf.getvalue())

    # The legacy (pre-1.6) format: pickles and raw storages back to back, no zip. The same state dict
    # (views, shared storage, every dtype) and the same checkpoint (protocol 4), so they share expectations.
    torch.save(sd, os.path.join(OUT, 'state_dict_legacy.pth'), _use_new_zipfile_serialization=False)
    torch.save(ckpt, os.path.join(OUT, 'checkpoint_legacy.pth'), pickle_protocol=4, _use_new_zipfile_serialization=False)

    # A checkpoint as torchvision's reference training scripts save it: objects of other classes beside the
    # state dict (an argparse.Namespace, numpy scalars). readPth reads them as inert data to reach 'model'.
    import argparse
    ref = {'model': inner, 'epoch': 3, 'args': argparse.Namespace(lr=0.1, arch='resnet18'), 'best_acc1': np.float64(0.5)}
    torch.save(ref, os.path.join(OUT, 'checkpoint_objects.pth'))

    # A whole module pickled by torch.save(model) (its classes read as inert data, nothing run): a Sequential
    # holding a conv without bias (a None parameter), BatchNorm and a module with a non-persistent buffer; alone and
    # under 'model' in a checkpoint. readPth gives exactly model.state_dict().
    torch.manual_seed(5)

    whole = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 1, bias=False), torch.nn.BatchNorm2d(2), torch.nn.Sequential(WithScratch()))
    torch.save(whole, os.path.join(OUT, 'whole_module.pth'))
    torch.save({'model': whole, 'epoch': 2}, os.path.join(OUT, 'whole_module_checkpoint.pth'))
    write_json('whole_module.expected.json', {k: expect_torch(v) for k, v in whole.state_dict().items()})
    # A module among its own submodules (its state_dict() would recurse forever): refused in one line.
    cycle = torch.nn.Sequential(torch.nn.Linear(2, 2))
    cycle.add_module('again', cycle)
    torch.save(cycle, os.path.join(OUT, 'module_cycle.pth'))

    # A TorchScript archive (torch.jit.save): refused, with how to get a state dict out of it.
    torch.manual_seed(4)
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 1)), os.path.join(OUT, 'torchscript.pt'))

    # A pickle naming os.system, built by hand (never executed): as a bare pickle and inside a .pth zip.
    evil = b'\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00echoq\x01\x85q\x02Rq\x03.'
    with open(os.path.join(OUT, 'evil.pkl'), 'wb') as f:
        f.write(evil)
    with zipfile.ZipFile(os.path.join(OUT, 'evil.pth'), 'w', zipfile.ZIP_STORED) as z:
        z.writestr('archive/data.pkl', evil)
        z.writestr('archive/version', '3\n')


def make_npy():
    rng = np.random.default_rng(0)
    arrays = {
        'f8': rng.standard_normal((2, 3)),
        'f4': rng.standard_normal((3, 2)).astype(np.float32),
        'f2': rng.standard_normal(5).astype(np.float16),
        'i8': np.array([2**40 + 3, -(2**62), 0], dtype=np.int64),
        'i4': np.array([[1, -2], [3, 2**31 - 1]], dtype=np.int32),
        'i2': np.array([-32768, 32767], dtype=np.int16),
        'i1': np.array([-128, 5, 127], dtype=np.int8),
        'u1': np.array([0, 200, 255], dtype=np.uint8),
        'b1': np.array([True, False, True, True]),
        'scalar': np.array(1.5, dtype=np.float32),
        'empty': np.zeros((0, 3), dtype=np.float32),
        'fortran': np.asfortranarray(rng.standard_normal((2, 3, 4)).astype(np.float32)),
        'fortran_i8': np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)),
        'big_f4': rng.standard_normal((2, 2)).astype('>f4'),
        'big_i8': np.array([1, -2, 2**50], dtype='>i8'),
        'big_f2': np.array([1.5, -2.0], dtype='>f2'),
    }
    expected = {}
    for name, a in arrays.items():
        np.save(os.path.join(OUT, f'{name}.npy'), a)
        expected[name] = expect_np(a)
    with open(os.path.join(OUT, 'v2.npy'), 'wb') as f:  # format version 2.0 header (4-byte length)
        np.lib.format.write_array(f, arrays['f4'], version=(2, 0))
    expected['v2'] = expect_np(arrays['f4'])
    np.save(os.path.join(OUT, 'u2.npy'), np.array([1, 2], dtype=np.uint16))  # a dtype NdArray lacks
    write_json('npy.expected.json', expected)

    npz = {'weight': arrays['f4'], 'ids': arrays['i8'], 'mask': arrays['b1'], 'half': arrays['f2']}
    np.savez(os.path.join(OUT, 'stored.npz'), **npz)
    np.savez_compressed(os.path.join(OUT, 'compressed.npz'), **npz)
    write_json('npz.expected.json', {k: expect_np(v) for k, v in npz.items()})


ST_DTYPES = {
    torch.float64: 'F64', torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16',
    torch.int64: 'I64', torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8',
    torch.uint8: 'U8', torch.bool: 'BOOL',
}


def safetensors_bytes(tensors, metadata):
    """The safetensors format, by hand: u64 LE header length, JSON header, then the raw data."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors, key=lambda n: (-tensors[n].element_size(), n)):
        t = tensors[name].detach().contiguous()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {'dtype': ST_DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        header['__metadata__'] = metadata
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    return struct.pack('<Q', len(text)) + text + b''.join(chunks)


def make_safetensors():
    assert sys.byteorder == 'little'
    torch.manual_seed(3)
    tensors = {
        'conv.weight': torch.randn(2, 3, 2, 2),
        'f64': torch.randn(3).double(),
        'f16': torch.randn(2, 2).half(),
        'bf16': torch.randn(3).to(torch.bfloat16),
        'i64': torch.tensor([2**40 + 1, -1], dtype=torch.int64),
        'i32': torch.tensor([-7, 8], dtype=torch.int32),
        'i16': torch.tensor([-300, 300], dtype=torch.int16),
        'i8': torch.tensor([-3, 4], dtype=torch.int8),
        'u8': torch.tensor([1, 250], dtype=torch.uint8),
        'mask': torch.tensor([[True, False], [False, True]]),
        'scalar': torch.tensor(4.0),
        'empty': torch.zeros(0),
    }
    metadata = {'format': 'pt', 'arch': 'tiny', 'note': 'made by make-io-format-fixtures.py'}
    with open(os.path.join(OUT, 'model.safetensors'), 'wb') as f:
        f.write(safetensors_bytes(tensors, metadata))
    write_json('safetensors.expected.json', {'tensors': {k: expect_torch(v) for k, v in tensors.items()}, 'metadata': metadata})


def main():
    os.makedirs(OUT, exist_ok=True)
    make_pth()
    make_npy()
    make_safetensors()
    print('wrote fixtures to', os.path.normpath(OUT))


if __name__ == '__main__':
    main()
