"""Hostile weights and array files for packages/io/test/hostile/formats.test.ts (issue 19).

Run with Debian's python3 (torch, numpy):  /usr/bin/python3 scripts/make-hostile-fixtures.py
Writes packages/io/test/fixtures/hostile/*, each file a few KiB at most. Every file is crafted the way
an attacker would: small on disk, but declaring gigabytes, nesting without end, or pointing many
zip entries at the same bytes. Cases that need megabytes on disk (a 16 MiB dtype string) are crafted
by the test itself instead of being committed.
"""
import io
import os
import struct
import zipfile
import zlib

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), '..', 'packages', 'io', 'test', 'fixtures', 'hostile')
os.makedirs(OUT, exist_ok=True)


def put(name, data):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)


def torch_bytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def replace_entry(pth, name, data):
    """Returns a copy of a torch.save zip archive with entry `name` (under its folder) replaced, deflated."""
    src = zipfile.ZipFile(io.BytesIO(pth))
    out = io.BytesIO()
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            if info.filename.endswith('/' + name):
                # deflated, so a megabyte of repetitive pickle is a few KiB on disk
                dst.writestr(info.filename, data, zipfile.ZIP_DEFLATED)
            else:
                dst.writestr(info.filename, src.read(info.filename))
    return out.getvalue()


# --- .pth: views that materialise far beyond their storage ---------------------------------------
# 4 bytes of storage, a 2 GiB view: over the default budget before anything is allocated.
put('expand-2gib.pth', torch_bytes({'w': torch.ones(1).expand(2 ** 29)}))
# six 64 MiB views: each fits, together they pass a 200 MiB budget (the test lowers the limit).
put('expand-six.pth', torch_bytes({f'w{i}': torch.ones(1).expand(2 ** 24) for i in range(6)}))
# a 2-D expand (stride 0 on both axes), 1 GiB: neighbours of the 1-D case
put('expand-2d.pth', torch_bytes({'w': torch.ones(1, 1).expand(2 ** 14, 2 ** 14)}))

# the same 2 GiB view in the legacy format (_use_new_zipfile_serialization=False): the same budget
buf = io.BytesIO()
torch.save({'w': torch.ones(1).expand(2 ** 29)}, buf, _use_new_zipfile_serialization=False)
put('expand-2gib-legacy.pth', buf.getvalue())

# a legacy file whose storage claims 2^50 float32 elements, in the pickle and in its count field, over 4 bytes
buf = io.BytesIO()
torch.save({'w': torch.ones(1)}, buf, _use_new_zipfile_serialization=False)
legacy = buf.getvalue()
numel = b'cpuq\x06K\x01N'
assert legacy.count(numel) == 1 and legacy[-12:-4] == struct.pack('<q', 1)
legacy = legacy.replace(numel, b'cpuq\x06\x8a\x07' + (2 ** 50).to_bytes(7, 'little') + b'N')
put('legacy-numel-2pow50.pth', legacy[:-12] + struct.pack('<q', 2 ** 50) + legacy[-4:])

# valid: three tensors on one storage (a contiguous reshape, a strided slice, a contiguous row)
shared = torch.arange(12, dtype=torch.float32)
put('shared-storage.pth', torch_bytes({'a': shared.view(3, 4), 'b': shared.view(3, 4)[:, 1:3], 'c': shared.view(3, 4)[1]}))

# --- .pth: pickles that nest, loop or compute ---------------------------------------------------
base = torch_bytes({'w': torch.zeros(2)})
PROTO = b'\x80\x02'


def pickle_long4(nbytes):
    return PROTO + b'}q\x00X\x01\x00\x00\x00nq\x01\x8b' + struct.pack('<i', nbytes) + b'\x5a' * nbytes + b's.'


# a 1 MiB LONG4 integer (quadratic decoding took minutes); readTorchFile returns it quickly
put('long4-1mib.pth', replace_entry(base, 'data.pkl', pickle_long4(1 << 20)))
# 100 000 nested MARKs, then 100 000 LIST opcodes
put('deep-marks.pth', replace_entry(base, 'data.pkl', PROTO + b'(' * 100000 + b'l' * 100000 + b'.'))
# lists nested 20 000 deep through the memo (no MARK at all): [[[[...]]]]
deep = bytearray(PROTO + b']r' + struct.pack('<I', 0) + b'0')
for i in range(1, 20000):
    deep += b']j' + struct.pack('<I', i - 1) + b'ar' + struct.pack('<I', i) + b'0'
deep += b'j' + struct.pack('<I', 19999) + b'.'
put('deep-memo.pth', replace_entry(base, 'data.pkl', bytes(deep)))
# _rebuild_from_type_v2(_rebuild_from_type_v2, Tensor, (_rebuild_from_type_v2, Tensor, (...))) 5000 deep:
# each level calls the next (a bare RangeError before)
G = b'ctorch._tensor\n_rebuild_from_type_v2\n'
T = b'ctorch\nTensor\n'
calls = bytearray(PROTO + G)  # the callable REDUCE calls
N = 5000
for _ in range(N):
    calls += G + T  # each level's (fn, Tensor, ...
calls += b')'  # innermost arguments: ()
calls += b'\x87' * N  # ... args) as nested TUPLE3s
calls += b'R.'
put('deep-calls.pth', replace_entry(base, 'data.pkl', bytes(calls)))
# a global off the allow-list, reached through STACK_GLOBAL
put('stack-global.pth', replace_entry(base, 'data.pkl', PROTO + b'\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R.'))

# --- .npz / zip ---------------------------------------------------------------------------------
buf = io.BytesIO()
np.save(buf, np.zeros((1024, 1024), np.float64))  # 8 MiB of zeros deflate to about 8 KiB
zeros = buf.getvalue()


def overlapping_npz(copies):
    """One deflated entry, then `copies` central-directory records all pointing at its bytes."""
    one = io.BytesIO()
    with zipfile.ZipFile(one, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('a.npy', zeros)
    data = one.getvalue()
    eocd = data.rindex(b'PK\x05\x06')
    cd_size, cd_offset = struct.unpack('<II', data[eocd + 12:eocd + 20])
    record = data[cd_offset:cd_offset + cd_size]
    name_len = struct.unpack('<H', record[28:30])[0]
    records = b''
    for i in range(copies):
        name = b'a%05d.npy' % i
        records += record[:28] + struct.pack('<H', len(name)) + record[30:46] + name + record[46 + name_len:]
    body = data[:cd_offset]
    end = data[eocd:eocd + 8] + struct.pack('<HHII', copies, copies, len(records), len(body)) + b'\x00\x00'
    return body + records + end


put('overlap.npz', overlapping_npz(300))  # 300 x 8 MiB = 2.4 GB from an 8 KiB blob



def nested_npz():
    """A stored entry outer.npy whose data holds a whole second entry, inner.npy, both in the directory."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('inner.npy', zeros)
    inner_data = inner.getvalue()
    inner_local = inner_data[:inner_data.index(b'PK\x01\x02')]
    out = io.BytesIO()
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_STORED) as z:
        z.writestr('outer.npy', inner_local)
    data = out.getvalue()
    eocd = data.rindex(b'PK\x05\x06')
    cd_size, cd_offset = struct.unpack('<II', data[eocd + 12:eocd + 20])
    outer_header = 30 + len('outer.npy')
    icd = inner_data.index(b'PK\x01\x02')
    inner_record = bytearray(inner_data[icd:inner_data.rindex(b'PK\x05\x06')])
    struct.pack_into('<I', inner_record, 42, outer_header)  # inner's local header sits inside outer's data
    records = data[cd_offset:cd_offset + cd_size] + bytes(inner_record)
    end = data[eocd:eocd + 8] + struct.pack('<HHII', 2, 2, len(records), cd_offset) + b'\x00\x00'
    return data[:cd_offset] + records + end


put('overlap-nested.npz', nested_npz())

# an entry whose directory declares 1000 bytes but whose stream inflates to 8 MiB (the cap stops it)
one = io.BytesIO()
with zipfile.ZipFile(one, 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('a.npy', zeros)
liar = bytearray(one.getvalue())
cd = liar.rindex(b'PK\x01\x02')
struct.pack_into('<I', liar, cd + 24, 1000)
put('inflate-longer.npz', bytes(liar))
# ... and one that declares 4 GiB - 16 bytes: over the budget before inflating
struct.pack_into('<I', liar, cd + 24, 0xFFFFFFF0)
put('inflate-declares-4gib.npz', bytes(liar))

# --- .npy ---------------------------------------------------------------------------------------
# a version-2 header claiming 4 GiB
put('header-4gib.npy', b'\x93NUMPY\x02\x00' + struct.pack('<I', 0xFFFFFFFF) + b"{'descr': '<f4'}")
# a shape of 2^40 elements and 16 bytes of data
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }"
hdr += ' ' * (64 - (10 + len(hdr) + 1) % 64) + '\n'
put('shape-2pow40.npy', b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hdr)) + hdr.encode() + b'\x00' * 16)

# --- safetensors --------------------------------------------------------------------------------


def safetensors(header, data=b''):
    import json
    h = json.dumps(header).encode()
    return struct.pack('<Q', len(h)) + h + data


put('dtype-proto.safetensors', safetensors({'w': {'dtype': '__proto__', 'shape': [1], 'data_offsets': [0, 4]}}, b'\x00' * 4))
put('dtype-tostring.safetensors', safetensors({'w': {'dtype': 'toString', 'shape': [1], 'data_offsets': [0, 4]}}, b'\x00' * 4))
put('header-huge.safetensors', struct.pack('<Q', 2 ** 64 - 1) + b'{}')
# a tensor named __proto__ is a plain tensor
put('name-proto.safetensors', safetensors({'__proto__': {'dtype': 'F32', 'shape': [2], 'data_offsets': [0, 8]}},
                                          struct.pack('<2f', 1.5, -2.0)))
print('wrote', len(os.listdir(OUT)), 'files to', os.path.normpath(OUT))
