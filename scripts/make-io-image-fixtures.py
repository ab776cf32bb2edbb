#!/usr/bin/python3
"""Writes the golden fixtures of packages/io/src/images (PNG/JPEG decoding, PIL resize, torchvision
preprocessing, matplotlib/OpenCV colormaps, pytorch-cnn-visualizations picture conventions).

Run with Debian's python3 (python3-pil, python3-numpy, python3-matplotlib, python3-opencv,
python3-torchvision):  /usr/bin/python3 scripts/make-io-image-fixtures.py
CI never runs this: the outputs under packages/io/test/fixtures/images/ are committed.

Arrays go into JSON as {dtype, shape, b64} (little-endian raw bytes, base64) to stay small.
"""
import base64
import io
import json
import os
import struct
import zlib

import numpy as np
from PIL import Image, ImageOps

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'packages', 'io', 'test',
                    'fixtures', 'images')
RNG = np.random.default_rng(20240611)


def arr(a):
    a = np.ascontiguousarray(a)
    return {'dtype': str(a.dtype), 'shape': list(a.shape), 'b64': base64.b64encode(a.tobytes()).decode()}


def out(*parts):
    p = os.path.join(ROOT, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def write_json(obj, *parts):
    with open(out(*parts), 'w') as f:
        json.dump(obj, f, separators=(',', ':'))


# ---------------------------------------------------------------------------------------------
# PNG: a hand-written encoder, so that every colour type, bit depth, filter and Adam7 interlace
# is covered (PIL cannot write interlaced or 16-bit RGB PNGs).

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def pack_row(samples, depth):
    if depth == 16:
        return b''.join(struct.pack('>H', int(v)) for v in samples)
    if depth == 8:
        return bytes(int(v) for v in samples)
    per = 8 // depth
    out_ = bytearray()
    for i in range(0, len(samples), per):
        byte = 0
        for j in range(per):
            v = int(samples[i + j]) if i + j < len(samples) else 0
            byte |= v << (8 - depth * (j + 1))
        out_.append(byte)
    return bytes(out_)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(rows, bpp):
    """Each row gets a filter type 0..4 in turn, so every unfilter path of the decoder is used."""
    res = b''
    prev = bytes(len(rows[0])) if rows else b''
    for k, row in enumerate(rows):
        ft = k % 5
        f = bytearray()
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ft]
            f.append((x - pred) & 0xFF)
        res += bytes([ft]) + bytes(f)
        prev = row
    return res


def png_bytes(img, color_type, depth, interlace=False, plte=None, trns=None):
    """img: H x W x C integer samples (palette indices for colour type 3)."""
    h, w, c = img.shape
    bpp = max(1, c * depth // 8)

    def raw_of(sub):
        rows = [pack_row(sub[y].reshape(-1), depth) for y in range(sub.shape[0])]
        return filter_rows(rows, bpp) if rows and len(rows[0]) else b''

    if interlace:
        raw = b''
        for (x0, y0, dx, dy) in ADAM7:
            sub = img[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += raw_of(sub)
    else:
        raw = raw_of(img)

    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xFFFFFFFF)

    data = b'\x89PNG\r\n\x1a\n'
    data += chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, color_type, 0, 0, 1 if interlace else 0))
    if plte is not None:
        data += chunk(b'PLTE', bytes(int(v) for v in plte.reshape(-1)))
    if trns is not None:
        data += chunk(b'tRNS', trns)
    data += chunk(b'IDAT', zlib.compress(raw, 9))
    data += chunk(b'IEND', b'')
    return data


def make_pngs():
    H, W = 9, 13  # odd sizes exercise the partial Adam7 passes
    cases = {}

    def add(name, img, color_type, depth, expected, interlace=False, plte=None, trns=None):
        data = png_bytes(img, color_type, depth, interlace, plte, trns)
        with open(out('png', name + '.png'), 'wb') as f:
            f.write(data)
        pil = Image.open(io.BytesIO(data))
        pil.load()
        rgb = np.asarray(pil.convert('RGB'))
        cases[name] = {'expected': arr(expected), 'bitDepth': 16 if depth == 16 else 8,
                       'pilMode': pil.mode, 'pilRgb': arr(rgb)}

    for depth in (1, 2, 4, 8, 16):
        mx = (1 << depth) - 1
        g = RNG.integers(0, mx + 1, size=(H, W, 1))
        exp = g if depth == 16 else (g * (255 // mx))
        dt = np.uint16 if depth == 16 else np.uint8
        add(f'gray{depth}', g, 0, depth, exp.astype(dt))
        if depth in (4, 8, 16):
            add(f'gray{depth}_interlaced', g, 0, depth, exp.astype(dt), interlace=True)
    # gray with a transparent value: decoded as gray+alpha
    g = RNG.integers(0, 256, size=(H, W, 1))
    g[0, :4] = 77
    exp = np.concatenate([g, np.where(g == 77, 0, 255)], axis=2).astype(np.uint8)
    add('gray8_trns', g, 0, 8, exp, trns=struct.pack('>H', 77))
    g = RNG.integers(0, 65536, size=(H, W, 1))
    g[2, 3:7] = 40000
    exp = np.concatenate([g, np.where(g == 40000, 0, 65535)], axis=2).astype(np.uint16)
    add('gray16_trns', g, 0, 16, exp, trns=struct.pack('>H', 40000))
    g = RNG.integers(0, 4, size=(H, W, 1))
    exp = np.concatenate([g * 85, np.where(g == 2, 0, 255)], axis=2).astype(np.uint8)
    add('gray2_trns', g, 0, 2, exp, trns=struct.pack('>H', 2))
    for depth in (8, 16):
        dt = np.uint16 if depth == 16 else np.uint8
        ga = RNG.integers(0, 1 << depth, size=(H, W, 2))
        add(f'graya{depth}', ga, 4, depth, ga.astype(dt))
        rgb = RNG.integers(0, 1 << depth, size=(H, W, 3))
        add(f'rgb{depth}', rgb, 2, depth, rgb.astype(dt))
        add(f'rgb{depth}_interlaced', rgb, 2, depth, rgb.astype(dt), interlace=True)
        rgba = RNG.integers(0, 1 << depth, size=(H, W, 4))
        add(f'rgba{depth}', rgba, 6, depth, rgba.astype(dt))
        add(f'rgba{depth}_interlaced', rgba, 6, depth, rgba.astype(dt), interlace=True)
    ga = RNG.integers(0, 256, size=(H, W, 2))
    add('graya8_interlaced', ga, 4, 8, ga.astype(np.uint8), interlace=True)
    rgb = RNG.integers(0, 256, size=(H, W, 3))
    rgb[1, 2:6] = (10, 20, 30)
    exp = np.concatenate([rgb, np.where((rgb == (10, 20, 30)).all(axis=2, keepdims=True), 0, 255)], axis=2)
    add('rgb8_trns', rgb, 2, 8, exp.astype(np.uint8), trns=struct.pack('>HHH', 10, 20, 30))
    rgb = RNG.integers(0, 65536, size=(H, W, 3))
    rgb[4, 1:5] = (1000, 2000, 60000)
    exp = np.concatenate([rgb, np.where((rgb == (1000, 2000, 60000)).all(axis=2, keepdims=True), 0, 65535)], axis=2)
    add('rgb16_trns', rgb, 2, 16, exp.astype(np.uint16), trns=struct.pack('>HHH', 1000, 2000, 60000))
    for depth in (1, 2, 4, 8):
        n = 1 << depth
        plte = RNG.integers(0, 256, size=(n, 3))
        idx = RNG.integers(0, n, size=(H, W, 1))
        add(f'pal{depth}', idx, 3, depth, plte[idx[..., 0]].astype(np.uint8), plte=plte)
        if depth == 4:
            add('pal4_interlaced', idx, 3, depth, plte[idx[..., 0]].astype(np.uint8), interlace=True, plte=plte)
        if depth == 8:
            alpha = RNG.integers(0, 256, size=n // 2)  # tRNS may be shorter than the palette
            full = np.concatenate([alpha, np.full(n - n // 2, 255)])
            exp = np.concatenate([plte[idx[..., 0]], full[idx]], axis=2).astype(np.uint8)
            add('pal8_trns', idx, 3, depth, exp, plte=plte, trns=bytes(int(v) for v in alpha))
    # a PNG written by PIL itself (adaptive filters, PIL's zlib settings)
    rgb = RNG.integers(0, 256, size=(H, W, 3)).astype(np.uint8)
    Image.fromarray(rgb).save(out('png', 'pil_rgb8.png'), optimize=True)
    cases['pil_rgb8'] = {'expected': arr(rgb), 'bitDepth': 8, 'pilMode': 'RGB', 'pilRgb': arr(rgb)}
    write_json(cases, 'png', 'expected.json')


# ---------------------------------------------------------------------------------------------
# JPEG: baseline, progressive, grayscale, and the 8 EXIF orientations in both byte orders.

def jpeg_source():
    """24 x 16, four flat quadrants plus a soft gradient: easy to tell orientations apart, and smooth
    enough that jpeg-js and libjpeg agree to a few levels."""
    h, w = 16, 24
    img = np.zeros((h, w, 3), np.float64)
    img[:8, :12] = (220, 40, 40)
    img[:8, 12:] = (40, 200, 40)
    img[8:, :12] = (40, 40, 210)
    img[8:, 12:] = (230, 220, 60)
    img += np.linspace(-20, 20, w)[None, :, None]
    return np.clip(img, 0, 255).astype(np.uint8)


def exif_app1(orientation, big_endian):
    bo = '>' if big_endian else '<'
    tiff = (b'MM' if big_endian else b'II') + struct.pack(bo + 'HI', 42, 8)
    # one IFD entry in IFD0 before the orientation, to make the parser walk entries
    entries = [(0x010F, 2, 4, b'Cam\x00'), (0x0112, 3, 1, struct.pack(bo + 'H', orientation) + b'\x00\x00')]
    ifd = struct.pack(bo + 'H', len(entries))
    for tag, typ, count, value in entries:
        ifd += struct.pack(bo + 'HHI', tag, typ, count) + value
    ifd += struct.pack(bo + 'I', 0)
    payload = b'Exif\x00\x00' + tiff + ifd
    return b'\xff\xe1' + struct.pack('>H', len(payload) + 2) + payload


def make_jpegs():
    src = jpeg_source()
    cases = {}

    def add(name, data):
        with open(out('jpeg', name + '.jpg'), 'wb') as f:
            f.write(data)
        pil = Image.open(io.BytesIO(data))
        raw = np.asarray(pil.convert('RGB') if pil.mode != 'L' else pil)
        oriented = ImageOps.exif_transpose(pil)
        oriented = np.asarray(oriented.convert('RGB') if oriented.mode != 'L' else oriented)
        cases[name] = {'pil': arr(raw), 'pilOriented': arr(oriented), 'mode': pil.mode}

    b = io.BytesIO()
    Image.fromarray(src).save(b, 'JPEG', quality=90)
    baseline = b.getvalue()
    add('baseline', baseline)
    b = io.BytesIO()
    Image.fromarray(src).save(b, 'JPEG', quality=90, subsampling=0)
    baseline444 = b.getvalue()
    add('baseline444', baseline444)
    b = io.BytesIO()
    Image.fromarray(src).save(b, 'JPEG', quality=90, progressive=True)
    add('progressive', b.getvalue())
    b = io.BytesIO()
    Image.fromarray(src).convert('L').save(b, 'JPEG', quality=90)
    add('gray', b.getvalue())
    for o in range(1, 9):
        for big in (False, True):
            # 4:4:4, where jpeg-js and libjpeg agree to 1 level, so orientation errors cannot hide
            data = baseline444[:2] + exif_app1(o, big) + baseline444[2:]
            add(f'exif{o}_{"mm" if big else "ii"}', data)
    write_json(cases, 'jpeg', 'expected.json')


# ---------------------------------------------------------------------------------------------
# Resize: PIL's Image.resize with BILINEAR / LANCZOS / BICUBIC, down and up, on RGB, L and RGBA.

def resize_source():
    h, w = 31, 41
    y, x = np.mgrid[0:h, 0:w]
    r = 128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0)
    g = np.where((x // 8 + y // 8) % 2 == 0, 230, 25)  # hard edges make Lanczos overshoot
    b = 255 * x / (w - 1)
    img = np.stack([r, g, b], axis=2) + RNG.normal(0, 12, size=(h, w, 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def make_resize():
    src = resize_source()
    Image.fromarray(src).save(out('resize', 'source.png'))
    rgba = np.concatenate([src, RNG.integers(0, 256, size=src.shape[:2] + (1,))], axis=2).astype(np.uint8)
    rgba[:10, :10, 3] = 0
    rgba[10:20, :10, 3] = 255
    Image.fromarray(rgba, 'RGBA').save(out('resize', 'source_rgba.png'))
    filters = {'bilinear': Image.Resampling.BILINEAR, 'lanczos': Image.Resampling.LANCZOS,
               'bicubic': Image.Resampling.BICUBIC, 'nearest': Image.Resampling.NEAREST,
               'box': Image.Resampling.BOX, 'hamming': Image.Resampling.HAMMING}
    cases = []
    # down, up, one axis only (the other pass is skipped, as in PIL), mixed
    sizes = [(17, 13), (47, 37), (41, 12), (19, 31), (60, 9)]
    for fname, f in filters.items():
        for (w, h) in sizes:
            for mode in ('RGB', 'L', 'RGBA', 'LA'):
                if mode != 'RGB' and (w, h) not in ((17, 13), (47, 37)):
                    continue
                if mode != 'RGB' and (w, h) == (47, 37) and fname not in ('bilinear', 'lanczos'):
                    continue
                if fname in ('box', 'hamming', 'nearest') and (mode in ('L', 'LA') or (w, h) in ((41, 12), (19, 31))):
                    continue
                if mode == 'LA':
                    im = Image.fromarray(rgba, 'RGBA').convert('LA')
                else:
                    im = Image.fromarray(rgba, 'RGBA') if mode == 'RGBA' else Image.fromarray(src).convert(mode)
                r = np.asarray(im.resize((w, h), f))
                cases.append({'filter': fname, 'mode': mode, 'width': w, 'height': h, 'expected': arr(r)})
    # the float path (PIL mode "F"): CAM maps resized without going through uint8
    fmap = RNG.normal(0, 1, size=(7, 9)).astype(np.float32)
    fcases = []
    for fname, f in filters.items():
        if fname in ('box', 'hamming'):
            continue
        for (w, h) in [(36, 28), (4, 3)]:
            r = np.asarray(Image.fromarray(fmap, 'F').resize((w, h), f))
            fcases.append({'filter': fname, 'width': w, 'height': h, 'expected': arr(r)})
    write_json({'u8': cases, 'f32': {'source': arr(fmap), 'cases': fcases},
                'L': arr(np.asarray(Image.fromarray(src).convert('L'))),
                'LA': arr(np.asarray(Image.fromarray(rgba, 'RGBA').convert('LA')))}, 'resize', 'expected.json')


# ---------------------------------------------------------------------------------------------
# Preprocessing: torchvision's Resize + CenterCrop + ToTensor + Normalize, and the reference
# project's preprocess_image / recreate_image.

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def make_preprocess():
    import torch
    from torchvision import transforms
    src = Image.open(out('resize', 'source.png')).convert('RGB')
    cases = []
    # plain, no-op resize, crop larger than the image (zero padding), odd margins (round half even)
    for (resize, crop) in [(28, 24), (31, 27), (20, 25), (30, 21)]:
        t = transforms.Compose([transforms.Resize(resize), transforms.CenterCrop(crop), transforms.ToTensor(),
                                transforms.Normalize(MEAN, STD)])
        x = t(src).numpy()
        t2 = transforms.Compose([transforms.Resize(resize), transforms.CenterCrop(crop), transforms.ToTensor()])
        case = {'resize': resize, 'size': crop, 'normalized': arr(x)}
        if resize == 28:
            case['unit'] = arr(t2(src).numpy())
        cases.append(case)
    # the reference's preprocess_image: resize to size x size with LANCZOS, /255, -mean, /std in float32
    ref = np.float32(src.resize((24, 24), Image.Resampling.LANCZOS)).transpose(2, 0, 1)
    for c in range(3):
        ref[c] /= 255
        ref[c] -= MEAN[c]
        ref[c] /= STD[c]
    # recreate_image on a tensor that leaves [0, 1] on both sides, with exact .5 cases for np.round
    t = RNG.normal(0, 1.5, size=(3, 5, 6)).astype(np.float32)
    rec = t.copy()
    for c in range(3):
        rec[c] /= 1 / STD[c]
        rec[c] -= -MEAN[c]
    rec[rec > 1] = 1
    rec[rec < 0] = 0
    rec = np.uint8(np.round(rec * 255)).transpose(1, 2, 0)
    write_json({'torchvision': cases, 'stretch24': arr(ref), 'recreateIn': arr(t), 'recreateOut': arr(rec),
                'torchVersion': torch.__version__}, 'preprocess', 'expected.json')


# ---------------------------------------------------------------------------------------------
# Colormaps: matplotlib's (bytes, as (rgba * 255).astype(uint8)) and OpenCV's COLORMAP_JET.

def make_colormaps():
    import cv2
    import matplotlib
    values = np.concatenate([np.linspace(0, 1, 1001), [-0.5, 1.5, 1 / 256, 255 / 256, 0.99999, 1e-9],
                             RNG.random(200)]).astype(np.float32)
    res = {'values': arr(values), 'matplotlib': matplotlib.__version__, 'opencv': cv2.__version__}
    for name in ('hsv', 'viridis', 'seismic', 'gray'):
        cmap = matplotlib.colormaps[name]
        res[name] = arr(cmap(values, bytes=True)[:, :3])
        res[name + '_lut'] = arr((cmap(np.arange(256)) * 255).astype(np.uint8)[:, :3])
    u8 = np.uint8(np.clip(values, 0, 1) * 255)  # the usual cv2 idiom: np.uint8(255 * cam)
    res['jet'] = arr(cv2.applyColorMap(u8.reshape(-1, 1), cv2.COLORMAP_JET)[:, 0, ::-1])
    res['jet_lut'] = arr(cv2.applyColorMap(np.arange(256, dtype=np.uint8).reshape(-1, 1), cv2.COLORMAP_JET)[:, 0, ::-1])
    write_json(res, 'colormaps', 'expected.json')


# ---------------------------------------------------------------------------------------------
# Pictures: what pytorch-cnn-visualizations' misc_functions.py writes, re-done here step by step
# from its documented behaviour (min-max then x255 truncation, |g| summed with a p99 clip, the
# positive/negative saliency split, and the CAM triplet composited with PIL at alpha 0.4).

def to_saveable(a):
    """misc_functions' format_np_output: 2D -> 1xHxW -> 3 channels -> HWC, x255 if max <= 1."""
    if a.ndim == 2:
        a = a[None]
    if a.shape[0] == 1:
        a = np.repeat(a, 3, axis=0)
    if a.shape[0] == 3:
        a = a.transpose(1, 2, 0)
    if np.max(a) <= 1:
        a = (a * 255).astype(np.uint8)
    return a


def save_gradient(g, name):
    g = g - g.min()
    g /= g.max()
    Image.fromarray(to_saveable(g)).save(out('pictures', name + '.png'))


def make_pictures():
    import matplotlib
    grad = RNG.normal(0, 1, size=(3, 9, 11)).astype(np.float32)
    grad[1, 2, 3] = 40  # an outlier that the p99 clip must cut
    save_gradient(grad.copy(), 'grad_color')
    gray = np.sum(np.abs(grad), axis=0)
    p99 = np.percentile(gray, 99)
    gmin = np.min(gray)
    gray = np.clip((gray - gmin) / (p99 - gmin), 0, 1)[None]
    save_gradient(gray.copy(), 'grad_gray')
    pos = np.maximum(0, grad) / grad.max()
    neg = np.maximum(0, -grad) / -grad.min()
    save_gradient(pos.copy(), 'grad_pos_sal')
    save_gradient(neg.copy(), 'grad_neg_sal')

    # CAM: the Grad-CAM script normalises the small map, makes it uint8, resizes it with LANCZOS
    # (ANTIALIAS) to the image size, divides by 255, then save_class_activation_images(..., 'hsv').
    org = Image.fromarray(jpeg_source())
    cam_small = np.maximum(RNG.normal(0, 1, size=(3, 4)), 0).astype(np.float32)
    cam_small[0, 0] = 0
    cam = (cam_small - cam_small.min()) / (cam_small.max() - cam_small.min())
    cam = np.uint8(cam * 255)
    cam = np.uint8(Image.fromarray(cam).resize((org.size[0], org.size[1]), Image.Resampling.LANCZOS)) / 255
    cmap = matplotlib.colormaps['hsv']
    no_trans = cmap(cam)
    heat = no_trans.copy()
    heat[:, :, 3] = 0.4
    heat = Image.fromarray((heat * 255).astype(np.uint8))
    no_trans_img = Image.fromarray((no_trans * 255).astype(np.uint8))
    on_image = Image.new('RGBA', org.size)
    on_image = Image.alpha_composite(on_image, org.convert('RGBA'))
    on_image = Image.alpha_composite(on_image, heat)
    no_trans_img.save(out('pictures', 'cam_Cam_Heatmap.png'))
    on_image.save(out('pictures', 'cam_Cam_On_Image.png'))
    Image.fromarray(to_saveable(cam)).save(out('pictures', 'cam_Cam_Grayscale.png'))
    Image.fromarray(jpeg_source()).save(out('pictures', 'cam_source.png'))

    # PIL's alpha_composite on random pixels, to pin its integer rounding
    dst = RNG.integers(0, 256, size=(16, 16, 4)).astype(np.uint8)
    src = RNG.integers(0, 256, size=(16, 16, 4)).astype(np.uint8)
    src[0, :4, 3] = 0
    src[1, :4, 3] = 255
    dst[2, :4, 3] = 0
    comp = np.asarray(Image.alpha_composite(Image.fromarray(dst, 'RGBA'), Image.fromarray(src, 'RGBA')))
    write_json({'grad': arr(grad), 'camSmall': arr(cam_small), 'cam': arr(cam.astype(np.float64)),
                'p99': float(p99), 'compositeDst': arr(dst), 'compositeSrc': arr(src), 'composite': arr(comp)},
               'pictures', 'expected.json')


if __name__ == '__main__':
    make_pngs()
    make_jpegs()
    make_resize()
    make_preprocess()
    make_colormaps()
    make_pictures()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(ROOT) for f in fs)
    print(f'wrote fixtures under {os.path.normpath(ROOT)}: {total / 1024:.0f} KiB')
