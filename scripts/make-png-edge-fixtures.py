#!/usr/bin/python3
"""Writes packages/io/test/fixtures/images/png-edge/: tiny and very wide PNGs, most of them Adam7-interlaced
(a 1x1 or 1xN picture leaves most of the seven passes empty), in the colour types and depths PIL reads,
made by make-io-image-fixtures.py's encoder. expected.json holds, as shape and SHA-256 of the bytes (PNG
decoding is exact, and the wide pictures stay out of the JSON), PIL 9.4's convert('RGBA') pixels for 8 bits
and less, and the samples themselves (little-endian uint16) for 16 bits (PIL clips 16-bit gray when converting).

Run with Debian's python3 (python3-pil, python3-numpy):  /usr/bin/python3 scripts/make-png-edge-fixtures.py
"""
import hashlib
import importlib.util
import io
import json
import os

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('images', os.path.join(HERE, 'make-io-image-fixtures.py'))
images = importlib.util.module_from_spec(spec)
spec.loader.exec_module(images)  # only defines functions: its fixtures are written by its own main
OUT = os.path.join(HERE, '..', 'packages', 'io', 'test', 'fixtures', 'images', 'png-edge')
RNG = np.random.default_rng(7)

# (height, width, colour type, depth, channels, interlaced)
CASES = [
    (1, 1, 2, 8, 3, True), (1, 1, 6, 16, 4, True), (1, 1, 0, 1, 1, True), (1, 1, 3, 4, 1, True),
    (1, 9, 4, 8, 2, True), (9, 1, 0, 2, 1, True), (3, 2, 0, 16, 1, True), (2, 3, 4, 16, 2, True),
    (2, 2000, 3, 2, 1, False), (2, 2000, 3, 8, 1, True), (1, 3000, 2, 16, 3, False),
]


def digest(a):
    a = np.ascontiguousarray(a)
    return {'dtype': str(a.dtype), 'shape': list(a.shape), 'sha256': hashlib.sha256(a.tobytes()).hexdigest()}


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = {}
    for h, w, ct, depth, c, interlaced in CASES:
        samples = RNG.integers(0, 1 << depth, size=(h, w, c))
        plte = trns = None
        if ct == 3:
            plte = RNG.integers(0, 256, size=(1 << depth, 3))
            trns = bytes(RNG.integers(0, 256, size=max(1, (1 << depth) // 2)).tolist())  # alpha for half the entries
        data = images.png_bytes(samples, ct, depth, interlaced, plte, trns)
        name = f'{h}x{w}_type{ct}_{depth}bit{"_adam7" if interlaced else ""}'
        with open(os.path.join(OUT, name + '.png'), 'wb') as f:
            f.write(data)
        pil = Image.open(io.BytesIO(data))
        case = {'mode': pil.mode}
        if depth == 16:
            case['samples'] = digest(samples.astype('<u2'))
        else:
            case['rgba'] = digest(np.asarray(pil.convert('RGBA')))
        cases[name] = case
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(cases, f, indent=1)
    print('wrote', len(cases), 'PNGs to', os.path.normpath(OUT))


if __name__ == '__main__':
    main()
