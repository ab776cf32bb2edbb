#!/usr/bin/python3
"""Writes packages/io/test/fixtures/images/odd/: valid pictures in combinations the other fixtures lack,
for the fuzz sweep's "odd but valid files load correctly" half (packages/io/test/images/odd-valid.test.ts):

- JPEG progressive + grayscale; progressive + restart markers; progressive + EXIF orientation 6 (made
  by libjpeg-turbo's cjpeg/jpegtran from PPM/PGM sources, so they are what real tools write);
- PNG with every common ancillary chunk (tEXt, zTXt, iTXt, iCCP, gAMA, pHYs, tIME) and its image data split
  over many one-byte IDAT chunks; grey+alpha 16-bit Adam7; 2-bit palette with tRNS, Adam7; 1-bit grey with
  tRNS, Adam7.

expected.json holds PIL 9.4's pixels (mode as PIL gives it; RGBA for PNGs with transparency, the samples for
16 bits), as little-endian base64 like the other image fixtures; for the 1-bit grey with tRNS, the PNG spec's
pixels (PIL 9.4 ignores that tRNS).

Run with Debian's python3 (python3-pil, python3-numpy, libjpeg-turbo-progs):  /usr/bin/python3 scripts/make-odd-valid-fixtures.py
"""
import base64
import importlib.util
import io
import json
import os
import struct
import subprocess
import tempfile
import zlib

import numpy as np
from PIL import Image, PngImagePlugin

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'packages', 'io', 'test', 'fixtures', 'images', 'odd')
spec = importlib.util.spec_from_file_location('images', os.path.join(HERE, 'make-io-image-fixtures.py'))
images = importlib.util.module_from_spec(spec)
spec.loader.exec_module(images)  # only defines functions (its PNG encoder among them)
RNG = np.random.default_rng(20261206)


def arr(a):
    a = np.ascontiguousarray(a)
    return {'dtype': str(a.dtype), 'shape': list(a.shape), 'b64': base64.b64encode(a.astype(a.dtype.newbyteorder('<')).tobytes()).decode()}


def smooth(h, w, channels):
    """A smooth picture (JPEG-friendly) with some texture."""
    y, x = np.mgrid[0:h, 0:w]
    planes = [(128 + 100 * np.sin(x / (3 + c) + y / (5 + c))).clip(0, 255) for c in range(channels)]
    return np.stack(planes, -1).astype(np.uint8)


def run(args, data):
    return subprocess.run(args, input=data, stdout=subprocess.PIPE, check=True).stdout


def ppm(rgb):
    h, w, c = rgb.shape
    return (b'P6' if c == 3 else b'P5') + b'\n%d %d\n255\n' % (w, h) + rgb.tobytes()


def exif_orientation(value):
    """A big-endian TIFF block with one IFD entry: Orientation (0x0112) = value."""
    return b'MM\x00\x2a' + struct.pack('>I', 8) + struct.pack('>H', 1) + struct.pack('>HHIHH', 0x0112, 3, 1, value, 0) + struct.pack('>I', 0)


def with_app1(jpeg, tiff):
    seg = b'Exif\x00\x00' + tiff
    return jpeg[:2] + b'\xff\xe1' + struct.pack('>H', len(seg) + 2) + seg + jpeg[2:]


def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF)


def split_idat(png, size=1):
    """The PNG with its image data re-split into IDAT chunks of `size` bytes each."""
    at, head, data, tail = 8, [], b'', []
    while at < len(png):
        (n,) = struct.unpack('>I', png[at:at + 4])
        kind = png[at + 4:at + 8]
        body = png[at + 8:at + 8 + n]
        if kind == b'IDAT':
            data += body
        elif data:
            tail.append(chunk(kind, body))
        else:
            head.append(chunk(kind, body))
        at += 12 + n
    idats = [chunk(b'IDAT', data[i:i + size]) for i in range(0, len(data), size)]
    return png[:8] + b''.join(head) + b''.join(idats) + b''.join(tail)


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {}

    def add(name, data, want):
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(data)
        expected[name] = want

    def pil(data, mode=None):
        im = Image.open(io.BytesIO(data))
        im.load()
        if mode:
            im = im.convert(mode)
        return {'mode': im.mode, 'pil': arr(np.asarray(im))}

    gray = smooth(13, 19, 1)[..., 0]
    rgb = smooth(16, 24, 3)
    # JPEGs as libjpeg-turbo writes them
    add('prog_gray.jpg', j := run(['cjpeg', '-progressive', '-quality', '90'], ppm(gray[..., None])), pil(j))
    j = run(['cjpeg', '-progressive', '-restart', '1B', '-sample', '1x1', '-quality', '90'], ppm(rgb))
    assert b'\xff\xdd' in j and b'\xff\xd0' in j, 'no restart markers'
    add('prog_restart.jpg', j, pil(j))
    base = run(['cjpeg', '-sample', '1x1', '-quality', '90'], ppm(rgb[:, :20]))
    j = run(['jpegtran', '-progressive', '-copy', 'all'], with_app1(base, exif_orientation(6)))
    assert b'Exif' in j
    im = Image.open(io.BytesIO(j))
    assert im.getexif().get(0x0112) == 6
    # PIL's exif_transpose: the picture as it is meant to be seen (rotated 90° clockwise)
    from PIL import ImageOps
    add('prog_exif6.jpg', j, {'mode': 'RGB', 'pil': arr(np.asarray(ImageOps.exif_transpose(im).convert('RGB')))})

    # PNGs
    info = PngImagePlugin.PngInfo()
    info.add_text('Comment', 'plain text')
    info.add_text('Software', 'compressed text ' * 8, zip=True)
    info.add_itxt('Title', 'international text é', lang='fr', tkey='Titre')
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, 'PNG', pnginfo=info, icc_profile=b'\0' * 128, dpi=(300, 300))
    p = buf.getvalue()
    p = p[:33] + chunk(b'gAMA', struct.pack('>I', 45455)) + chunk(b'tIME', struct.pack('>HBBBBB', 2026, 12, 6, 8, 0, 0)) + p[33:]
    p = split_idat(p, 1)
    for kind in (b'tEXt', b'zTXt', b'iTXt', b'iCCP', b'gAMA', b'pHYs', b'tIME'):
        assert kind in p, kind
    add('ancillary_many_idat.png', p, pil(p))

    ga = np.stack([RNG.integers(0, 65536, (5, 7)), RNG.integers(0, 65536, (5, 7))], -1).astype(np.uint16)
    p = images.png_bytes(ga, 4, 16, interlace=True)
    add('graya16_adam7.png', p, {'mode': 'samples', 'pil': arr(ga)})

    idx = RNG.integers(0, 4, (6, 9)).astype(np.uint8)
    palette = RNG.integers(0, 256, (4, 3)).astype(np.uint8)
    p = images.png_bytes(idx[..., None], 3, 2, interlace=True, plte=palette, trns=bytes([0, 128, 255]))
    add('pal2_trns_adam7.png', p, pil(p, 'RGBA'))

    bits = RNG.integers(0, 2, (7, 11)).astype(np.uint8)
    p = images.png_bytes(bits[..., None], 0, 1, interlace=True, trns=struct.pack('>H', 1))
    # PIL 9.4 keeps mode "1" pixels as 0/255, so its transparency value 1 never matches and convert('RGBA')
    # leaves every pixel opaque; the PNG spec (and libpng) make the samples equal to 1 transparent: expected by hand
    v = bits * 255
    spec_rgba = np.stack([v, v, v, np.where(bits == 1, 0, 255)], -1).astype(np.uint8)
    add('gray1_trns_adam7.png', p, {'mode': 'RGBA', 'pil': arr(spec_rgba)})

    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, separators=(',', ':'))
    print('wrote', len(expected), 'pictures to', OUT)


if __name__ == '__main__':
    main()
