"""Writes packages/onnx/test/fixtures/signal.json: NumPy's FFT (the definition ONNX's DFT and STFT reference
computations use) for DFT cases beyond ONNX's own node tests — onesided, dft_length cutting and zero-padding,
complex input forwards, a negative axis, inverse of a complex input — and an STFT with onesided 0; each case holds
the float64 input, the node's attributes and inputs, and the expected output as [..., 2] (real, imaginary).

Run with Debian's python3-numpy:
    /usr/bin/python3 scripts/make-onnx-signal-fixtures.py
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), '..', 'packages', 'onnx', 'test', 'fixtures')


def as_pairs(z):
    return np.stack([z.real, z.imag], axis=-1)


def dft_case(label, x, axis=1, inverse=0, onesided=0, length=None):
    z = x[..., 0] + (1j * x[..., 1] if x.shape[-1] == 2 else 0)
    a = axis if axis >= 0 else axis + x.ndim
    n = length or x.shape[a]
    y = np.fft.ifft(z, n=n, axis=a) if inverse else np.fft.fft(z, n=n, axis=a)
    if onesided:
        y = np.take(y, range(n // 2 + 1), axis=a)
    case = {'label': label, 'op': 'DFT', 'input': x.ravel().tolist(), 'shape': list(x.shape),
            'attrs': {'axis': axis, 'inverse': inverse, 'onesided': onesided}, 'output': as_pairs(y).ravel().tolist(),
            'outputShape': list(as_pairs(y).shape)}
    if length:
        case['dftLength'] = length
    return case


def stft_case(label, x, step, window, onesided):
    frame = len(window)
    z = x[..., 0] + (1j * x[..., 1] if x.shape[-1] == 2 else 0)
    frames = (x.shape[1] - frame) // step + 1
    rows = np.stack([z[:, f * step:f * step + frame] * window for f in range(frames)], axis=1)
    y = np.fft.fft(rows, axis=2)
    if onesided:
        y = y[:, :, :frame // 2 + 1]
    return {'label': label, 'op': 'STFT', 'input': x.ravel().tolist(), 'shape': list(x.shape), 'frameStep': step,
            'window': window.tolist(), 'attrs': {'onesided': onesided}, 'output': as_pairs(y).ravel().tolist(),
            'outputShape': list(as_pairs(y).shape)}


def main():
    rng = np.random.default_rng(0)
    r = lambda *s: rng.standard_normal(s)
    cases = [
        dft_case('real, onesided, odd length', r(2, 7, 1), onesided=1),
        dft_case('real, dft_length cuts', r(2, 9, 1), length=6),
        dft_case('real, dft_length zero-pads, onesided', r(1, 5, 3, 1), axis=1, length=8, onesided=1),
        dft_case('complex forwards, axis 2', r(2, 3, 5, 2), axis=2),
        dft_case('complex inverse, negative axis', r(2, 4, 6, 2), axis=-2, inverse=1),
        stft_case('complex signal, Hann window, onesided 0', r(2, 40, 2), 6, np.hanning(10), 0),
        stft_case('real signal, onesided', r(1, 33, 1), 5, np.hamming(8), 1),
    ]
    with open(os.path.join(OUT, 'signal.json'), 'w') as f:
        json.dump(cases, f)
        f.write('\n')


if __name__ == '__main__':
    main()
