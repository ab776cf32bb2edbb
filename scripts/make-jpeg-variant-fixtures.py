#!/usr/bin/python3
"""Writes packages/io/test/fixtures/images/jpeg-variants/: JPEGs PIL 9.4 cannot write, made by the small
baseline encoder below, and ones it can (CMYK, 1x1, very wide), each with PIL's decoded pixels.

- restart markers (DRI: a restart interval of 1 and of 3 MCUs), colour and grayscale;
- Adobe APP14 four-component files: CMYK (transform 0) and YCCK (transform 2), PIL's convert('RGB');
- 3 components stored as RGB, not YCbCr: told by an Adobe transform 0 marker, or by component ids 'R', 'G', 'B';
- a 1x1 picture and a 3000x2 one.

Run with Debian's python3 (python3-pil, python3-numpy):  /usr/bin/python3 scripts/make-jpeg-variant-fixtures.py
Expected values: expected.json, {name: {pil: {dtype, shape, b64}, mode}}, as make-io-image-fixtures.py writes.
"""
import base64
import io
import json
import os
import struct

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'packages', 'io', 'test', 'fixtures', 'images',
                   'jpeg-variants')

ZIGZAG = [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14,
          21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60,
          61, 54, 47, 55, 62, 63]
# Annex K luminance tables (used for every component: one DC and one AC table)
DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
DC_VALS = list(range(12))
AC_BITS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d]
AC_VALS = bytes.fromhex(
    '01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738'
    '393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5'
    'a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa')
QUANT = np.full(64, 4, np.int64)  # a flat fine table: both decoders stay within a level or two


def huff_codes(bits, vals):
    codes, code, k = {}, 0, 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            codes[vals[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


DC_CODES, AC_CODES = huff_codes(DC_BITS, DC_VALS), huff_codes(AC_BITS, list(AC_VALS))
C = np.array([[np.sqrt((1 if u == 0 else 2) / 8) * np.cos((2 * x + 1) * u * np.pi / 16) for x in range(8)] for u in range(8)])


class Bits:
    def __init__(self):
        self.out, self.acc, self.n = bytearray(), 0, 0

    def put(self, value, length):
        for i in range(length - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)  # byte stuffing
                self.acc, self.n = 0, 0

    def flush(self):
        if self.n:
            self.put((1 << (8 - self.n)) - 1, 8 - self.n)  # pad with ones


def magnitude(v):
    size = int(abs(v)).bit_length()
    return size, (v if v >= 0 else v + (1 << size) - 1)


def encode_block(bits, block, prev_dc):
    coef = np.round((C @ (block - 128.0) @ C.T).reshape(64) / QUANT).astype(np.int64)[ZIGZAG]
    size, val = magnitude(int(coef[0]) - prev_dc)
    bits.put(*DC_CODES[size])
    bits.put(val, size)
    run = 0
    for k in range(1, 64):
        v = int(coef[k])
        if v == 0:
            run += 1
            continue
        while run > 15:
            bits.put(*AC_CODES[0xF0])
            run -= 16
        size, val = magnitude(v)
        bits.put(*AC_CODES[(run << 4) | size])
        bits.put(val, size)
        run = 0
    if run:
        bits.put(*AC_CODES[0x00])
    return int(coef[0])


def segment(marker, payload):
    return bytes([0xFF, marker]) + struct.pack('>H', len(payload) + 2) + payload


def encode(planes, restart=0, adobe=None, ids=None):
    """Baseline JPEG of component planes (h x w x n, already in the colour space to store), no subsampling."""
    h, w, n = planes.shape
    ids = ids or list(range(1, n + 1))
    ph, pw = -(-h // 8) * 8, -(-w // 8) * 8
    padded = np.pad(planes.astype(np.float64), ((0, ph - h), (0, pw - w), (0, 0)), mode='edge')
    out = b'\xff\xd8'
    if adobe is not None:
        out += segment(0xEE, b'Adobe' + struct.pack('>HHHB', 100, 0, 0, adobe))
    out += segment(0xDB, b'\x00' + bytes(int(q) for q in QUANT[ZIGZAG]))
    out += segment(0xC0, struct.pack('>BHHB', 8, h, w, n) + b''.join(bytes([ids[i], 0x11, 0]) for i in range(n)))
    out += segment(0xC4, b'\x00' + bytes(DC_BITS) + bytes(DC_VALS) + b'\x10' + bytes(AC_BITS) + AC_VALS)
    if restart:
        out += segment(0xDD, struct.pack('>H', restart))
    out += segment(0xDA, bytes([n]) + b''.join(bytes([ids[i], 0x00]) for i in range(n)) + b'\x00\x3f\x00')
    bits, scan, prev, mcu, rst = Bits(), bytearray(), [0] * n, 0, 0
    for by in range(0, ph, 8):
        for bx in range(0, pw, 8):
            if restart and mcu and mcu % restart == 0:
                bits.flush()
                bits.out += bytes([0xFF, 0xD0 + rst])
                rst = (rst + 1) % 8
                prev = [0] * n
            for c in range(n):
                prev[c] = encode_block(bits, padded[by:by + 8, bx:bx + 8, c], prev[c])
            mcu += 1
    bits.flush()
    return out + bytes(bits.out) + b'\xff\xd9'


def arr(a):
    a = np.ascontiguousarray(a)
    return {'dtype': str(a.dtype), 'shape': list(a.shape), 'b64': base64.b64encode(a.tobytes()).decode()}


def source(h, w):
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([128 + 90 * np.sin(x / 4.0), 128 + 90 * np.cos(y / 3.0), 60 + 140 * x / max(w - 1, 1)], axis=2)
    return np.clip(np.round(img), 0, 255)


def ycc(rgb):
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return np.stack([0.299 * r + 0.587 * g + 0.114 * b, 128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
                     128 + 0.5 * r - 0.418688 * g - 0.081312 * b], axis=2)


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = {}

    def add(name, data):
        with open(os.path.join(OUT, name + '.jpg'), 'wb') as f:
            f.write(data)
        pil = Image.open(io.BytesIO(data))
        pixels = np.asarray(pil if pil.mode == 'L' else pil.convert('RGB'))
        cases[name] = {'pil': arr(pixels), 'mode': pil.mode}

    rgb = source(20, 27)  # neither side a multiple of 8: partial MCUs at the right and bottom
    add('restart1', encode(ycc(rgb), restart=1))
    add('restart3', encode(ycc(rgb), restart=3))
    add('restart_gray', encode(rgb[..., :1], restart=2))
    add('adobe_rgb', encode(rgb, adobe=0))  # stored as RGB: no colour transform
    add('rgb_ids', encode(rgb, ids=[ord('R'), ord('G'), ord('B')]))  # no JFIF or Adobe marker: the ids say RGB
    # Adobe four-component files store inverted CMYK (255 = no ink), as Photoshop writes and PIL reads them
    cmyk = np.concatenate([255 - rgb[..., :3] * 0.8, np.full(rgb.shape[:2] + (1,), 40.0)], axis=2)
    add('adobe_cmyk', encode(255 - cmyk, adobe=0))
    add('adobe_ycck', encode(np.concatenate([ycc(cmyk[..., :3]), 255 - cmyk[..., 3:]], axis=2), adobe=2))
    b = io.BytesIO()
    Image.fromarray(np.uint8([[[200, 30, 90]]])).save(b, 'JPEG', quality=95)
    add('one_pixel', b.getvalue())
    b = io.BytesIO()
    Image.fromarray(source(2, 3000).astype(np.uint8)).save(b, 'JPEG', quality=95, subsampling=0)
    add('wide', b.getvalue())
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(cases, f, separators=(',', ':'))
    print('wrote', len(cases), 'JPEGs to', os.path.normpath(OUT), {k: v['mode'] for k, v in cases.items()})


if __name__ == '__main__':
    main()
