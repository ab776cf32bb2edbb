#!/usr/bin/python3
"""Writes packages/io/test/fixtures/images/jpeg-sampling/: JPEGs with every chroma sampling libjpeg reads (4:2:0,
4:2:2, 4:4:0, 4:1:1, 4:1:0, 4:4:4, chroma at a higher rate than luma), baseline and progressive, at odd sizes and
at sizes where a subsampled plane is 1-2 samples wide (libjpeg's plain-replication case), each with PIL 9.4's
decoded pixels (libjpeg-turbo 2.1: "fancy" upsampling, its fixed-point YCbCr conversion).

The files are made by Debian's cjpeg (libjpeg-turbo-progs), which writes any sampling factors; PIL writes only
4:4:4, 4:2:2 and 4:2:0. The picture mixes smooth gradients, hard-edged coloured shapes and noise, so both the
interpolation and the edges are exercised.

Run with Debian's python3 (python3-pil, python3-numpy, libjpeg-turbo-progs):
  /usr/bin/python3 scripts/make-jpeg-sampling-fixtures.py
Expected values: expected.json, {name: {pil: {dtype, shape, b64}, mode, sampling}}, as make-io-image-fixtures.py writes.
"""
import base64
import io
import json
import os
import subprocess
import tempfile

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'packages', 'io', 'test', 'fixtures', 'images',
                   'jpeg-sampling')


def arr(a):
    a = np.ascontiguousarray(a)
    return {'dtype': str(a.dtype), 'shape': list(a.shape), 'b64': base64.b64encode(a.tobytes()).decode()}


def picture(h, w, seed=0):
    """Gradients, two hard-edged shapes in saturated colours, and a little noise (uint8 RGB)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([40 + 180 * x / max(w - 1, 1), 200 - 150 * y / max(h - 1, 1), 128 + 100 * np.sin((x + y) / 5.0)], 2)
    img[(x - w * 0.3) ** 2 + (y - h * 0.4) ** 2 < (min(h, w) * 0.25) ** 2] = [230, 20, 40]
    img[(x > w * 0.55) & (x < w * 0.85) & (y > h * 0.5)] = [20, 60, 235]
    img[(x + 2 * y) % 11 == 0] = [250, 240, 10]
    img += rng.normal(0, 6, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def cjpeg(rgb, sample, progressive=False, quality=90):
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, 'in.ppm')
        Image.fromarray(rgb).save(src)
        args = ['cjpeg', '-quality', str(quality), '-sample', sample] + (['-progressive'] if progressive else [])
        return subprocess.run(args + [src], check=True, capture_output=True).stdout


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = {}

    def add(name, data, sample):
        with open(os.path.join(OUT, name + '.jpg'), 'wb') as f:
            f.write(data)
        pil = Image.open(io.BytesIO(data))
        cases[name] = {'pil': arr(np.asarray(pil.convert('RGB'))), 'mode': pil.mode, 'sampling': sample}

    big = picture(29, 37)  # neither side a multiple of 8 or 16: partial blocks and MCUs, odd plane sizes
    for name, sample in [('s420', '2x2'), ('s422', '2x1'), ('s440', '1x2'), ('s411', '4x1'), ('s410', '4x2'),
                         ('s444', '1x1'), ('s420_chroma_up', '1x1,2x2,2x2'), ('s422_mixed', '2x2,1x2,2x1')]:
        add(name, cjpeg(big, sample), sample)
    add('s420_progressive', cjpeg(big, '2x2', progressive=True), '2x2')
    add('s420_tall', cjpeg(picture(61, 9, 1), '2x2'), '2x2')  # 5 chroma columns
    for h, w in [(3, 3), (4, 4), (5, 2), (1, 1), (2, 7)]:  # chroma planes 1-2 samples wide: plain replication
        add(f's420_{h}x{w}', cjpeg(picture(h, w, 2), '2x2', quality=95), '2x2')
        add(f's422_{h}x{w}', cjpeg(picture(h, w, 3), '2x1', quality=95), '2x1')
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(cases, f, separators=(',', ':'))
    print('wrote', len(cases), 'JPEGs to', os.path.normpath(OUT))


if __name__ == '__main__':
    main()
