import * as t from '@gradlens/tensor';
import { Tensor } from '@gradlens/tensor';
import type { OpContext, OpTable } from './op-context';
import { float, input, ints, numbers } from './op-context';
import { dataTypeName } from './initializers';
import type { ConstKind, Value } from './values';
import { Const } from './values';

/**
 * The signal ops of opset 17. The windows and the mel matrix are load-time constants (computed in JavaScript from
 * their integer inputs); DFT and STFT are products with cos/sin matrices built when the node runs, so they are
 * gradlens matmuls and differentiate through the tape.
 */

/** The longest DFT the importer builds: its two [n, n] matrices take 128 MiB of float32 at this length. */
export const MAX_DFT_LENGTH = 4096;

/** The constant kind of an output_datatype (floats; integer types truncate, as a cast does). */
function kindOf(onnxType: number, op: string): ConstKind {
  if (onnxType === 1 || onnxType === 10 || onnxType === 16) return 'float32';
  if (onnxType === 11) return 'float64';
  if ([2, 3, 4, 5, 6, 7, 12, 13].includes(onnxType)) return 'int';
  throw new Error(`${op} output_datatype ${dataTypeName(onnxType)} is not a numeric type`);
}

function constOf(values: number[], shape: number[], onnxType: number, op: string): Const {
  const kind = kindOf(onnxType, op);
  const data = kind === 'int' ? values.map(Math.trunc) : kind === 'float32' ? Float32Array.from(values) : values;
  return new Const(data, shape, kind);
}

/** One scalar integer input known when the node runs. */
function scalarInt(v: Value | null, what: string): number {
  const n = ints(v, what);
  if (!n || n.length !== 1) throw new Error(`${what} must be one integer`);
  return n[0]!;
}

/**
 * A generalised cosine window a₀ − a₁·cos(2πn/N) + a₂·cos(4πn/N), n = 0 … size−1, with N = size (periodic, the
 * default) or size − 1 (symmetric).
 */
function cosineWindow(a: readonly [number, number, number], op: string) {
  return ({ values, attrs }: OpContext): Value[] => {
    const size = scalarInt(values[0] ?? null, `${op} size`);
    if (size < 0 || size > 1 << 24) throw new Error(`${op} size ${size} is out of range (0 to 2²⁴)`);
    const N = attrs.int('periodic', 1) === 1 ? size : size - 1;
    const w = Array.from({ length: size }, (_, n) => {
      const x = N > 0 ? n / N : 0;
      return a[0] - a[1] * Math.cos(2 * Math.PI * x) + a[2] * Math.cos(4 * Math.PI * x);
    });
    return [constOf(w, [size], attrs.int('output_datatype', 1), op)];
  };
}

/** The [m, k] matrices cos(2π·j·f/L) and sin(2π·j·f/L), j < m samples, f < k frequencies, in `dtype`. */
function dftMatrices(m: number, k: number, L: number, dtype: 'float32' | 'float64'): [Tensor, Tensor] {
  const c = dtype === 'float64' ? new Float64Array(m * k) : new Float32Array(m * k);
  const s = dtype === 'float64' ? new Float64Array(m * k) : new Float32Array(m * k);
  for (let j = 0; j < m; j++)
    for (let f = 0; f < k; f++) {
      // j·f mod L keeps the angle in [0, 2π), where cos and sin are exact to the last bits.
      const angle = (2 * Math.PI * ((j * f) % L)) / L;
      c[j * k + f] = Math.cos(angle);
      s[j * k + f] = Math.sin(angle);
    }
  return [new Tensor(c, [m, k], dtype), new Tensor(s, [m, k], dtype)];
}

/**
 * The DFT of x (real [.., n, .., 1] or complex [.., n, .., 2]) along `ax` at length L (the input cut to L samples,
 * or zero-padded to it, which the matrices do by having min(n, L) rows), forwards or inverse (÷ L), all L
 * frequencies or the onesided ⌊L/2⌋ + 1. The result is [.., k, .., 2].
 */
export function dft(x: Tensor, ax: number, L: number, inverse: boolean, onesided: boolean, op: string): Tensor {
  const rank = x.shape.length;
  const channels = x.shape[rank - 1];
  if (channels !== 1 && channels !== 2)
    throw new Error(`${op} input [${x.shape.join(', ')}] must end in 1 (real) or 2 (complex) values, got ${channels}`);
  if (!(L >= 1) || L > MAX_DFT_LENGTH)
    throw new Error(`${op} length ${L} is outside 1…${MAX_DFT_LENGTH}, the lengths the importer builds cos/sin matrices for`);
  if (onesided && channels === 2) throw new Error(`${op} onesided needs a real input (the last axis 1), got a complex one`);
  const dtype = x.dtype === 'float64' ? 'float64' : 'float32';
  const n = x.shape[ax]!;
  const m = Math.min(n, L);
  const k = onesided ? Math.floor(L / 2) + 1 : L;
  const last = rank - 2;
  // Each channel with the transformed axis last, cut to m samples, as rows of a 2-D matrix.
  const part = (c: number) => {
    const v = t.squeeze(t.slice(x, rank - 1, c, c + 1), rank - 1);
    const moved = ax === last ? v : t.transpose(v, ax, last);
    return m < n ? t.slice(moved, last, 0, m) : moved;
  };
  const re = part(0);
  const im = channels === 2 ? part(1) : null;
  const lead = re.shape.slice(0, -1);
  const [C, S] = dftMatrices(m, k, L, dtype);
  const times = (v: Tensor, w: Tensor) => t.reshape(t.matmul(t.reshape(v, [-1, m]), w), [...lead, k]);
  // Forwards (re + i·im)(cos − i·sin); inverse (re + i·im)(cos + i·sin) / L.
  const sign = inverse ? -1 : 1;
  let yr = times(re, C);
  let yi = t.mul(times(re, S), -sign);
  if (im) {
    yr = t.add(yr, t.mul(times(im, S), sign));
    yi = t.add(yi, times(im, C));
  }
  if (inverse) {
    yr = t.div(yr, L);
    yi = t.div(yi, L);
  }
  const back = (v: Tensor) => (ax === last ? v : t.transpose(v, ax, last));
  return t.stack([back(yr), back(yi)], rank - 1);
}

/** MelWeightMatrix as ONNX's reference builds it: triangles between mel-spaced spectrogram bins, peaks of 1. */
function melWeightMatrix({ values, attrs }: OpContext): Value[] {
  const op = 'MelWeightMatrix';
  const bins = scalarInt(values[0] ?? null, `${op} num_mel_bins`);
  const length = scalarInt(values[1] ?? null, `${op} dft_length`);
  const rate = scalarInt(values[2] ?? null, `${op} sample_rate`);
  const [low] = numbers(input(values, 3));
  const [high] = numbers(input(values, 4));
  if (!(bins > 0 && length > 0 && rate > 0)) throw new Error(`${op} needs positive num_mel_bins, dft_length and sample_rate`);
  if (length > 2 * MAX_DFT_LENGTH || bins > MAX_DFT_LENGTH) throw new Error(`${op} of ${bins} bins at length ${length} is too large`);
  const spectrogramBins = Math.floor(length / 2) + 1;
  const mel = (f: number) => 2595 * Math.log10(1 + f / 700);
  const lowMel = mel(low!);
  const step = (mel(high!) - lowMel) / (bins + 2);
  const edges = Array.from({ length: bins + 2 }, (_, i) => {
    const hz = 700 * (10 ** ((i * step + lowMel) / 2595) - 1);
    return Math.floor(((length + 1) * hz) / rate);
  });
  const out = new Array<number>(spectrogramBins * bins).fill(0);
  const set = (j: number, i: number, v: number) => {
    if (j < 0 || j >= spectrogramBins) throw new Error(`${op} band ${i} reaches bin ${j}, past the ${spectrogramBins} of the spectrogram`);
    out[j * bins + i] = v;
  };
  for (let i = 0; i < bins; i++) {
    const [left, centre, right] = [edges[i]!, edges[i + 1]!, edges[i + 2]!];
    if (centre === left) set(centre, i, 1);
    else for (let j = left; j <= centre; j++) set(j, i, (j - left) / (centre - left));
    for (let j = centre; j < right; j++) set(j, i, (right - j) / (right - centre));
  }
  return [constOf(out, [spectrogramBins, bins], attrs.int('output_datatype', 1), op)];
}

/**
 * STFT: frames of frame_length samples every frame_step along the signal [batch, length, 1 or 2], each multiplied
 * by the window (if given) and transformed: [batch, frames, bins, 2]. The frames are one index selection.
 */
function stft({ values, attrs }: OpContext): Value[] {
  const op = 'STFT';
  const signal = float(input(values, 0));
  if (signal.shape.length !== 3) throw new Error(`${op} signal must be [batch, length, 1 or 2], got [${signal.shape.join(', ')}]`);
  const step = scalarInt(input(values, 1), `${op} frame_step`);
  const window = values[2] ? float(values[2]) : null;
  const given = values[3] ? scalarInt(values[3], `${op} frame_length`) : null;
  if (window && window.shape.length !== 1) throw new Error(`${op} window must be 1-D, got [${window.shape.join(', ')}]`);
  const frameLength = given ?? window?.shape[0];
  if (frameLength === undefined) throw new Error(`${op} needs a window or a frame_length`);
  if (window && window.shape[0] !== frameLength)
    throw new Error(`${op} window of ${window.shape[0]} samples differs from frame_length ${frameLength}`);
  const length = signal.shape[1]!;
  if (!(step >= 1)) throw new Error(`${op} frame_step ${step} must be positive`);
  if (!(frameLength >= 1) || frameLength > length)
    throw new Error(`${op} frame_length ${frameLength} does not fit the signal's ${length} samples`);
  const frames = Math.floor((length - frameLength) / step) + 1;
  if (frames * frameLength > 2 ** 26) throw new Error(`${op} of ${frames} frames of ${frameLength} samples is too large`);
  const index = Array.from({ length: frames * frameLength }, (_, i) => Math.floor(i / frameLength) * step + (i % frameLength));
  const batch = signal.shape[0]!;
  const channels = signal.shape[2]!;
  let framed = t.reshape(t.indexSelect(signal, 1, index), [batch, frames, frameLength, channels]);
  if (window)
    framed = t.mul(framed, t.reshape(window.dtype === framed.dtype ? window : t.cast(window, framed.dtype), [1, 1, frameLength, 1]));
  return [dft(framed, 2, frameLength, false, attrs.int('onesided', 1) === 1, op)];
}

export const signalOps: OpTable = {
  HannWindow: { since: 17, run: cosineWindow([0.5, 0.5, 0], 'HannWindow') },
  HammingWindow: { since: 17, run: cosineWindow([25 / 46, 21 / 46, 0], 'HammingWindow') },
  BlackmanWindow: { since: 17, run: cosineWindow([0.42, 0.5, 0.08], 'BlackmanWindow') },
  MelWeightMatrix: { since: 17, run: melWeightMatrix },
  STFT: { since: 17, run: stft },
  DFT: {
    since: 17,
    run: ({ values, attrs }) => {
      const x = float(input(values, 0));
      const rank = x.shape.length;
      const a = attrs.int('axis', 1);
      // The signal axes are 0 … rank − 2 (the last holds the real and imaginary parts); negative ones count from the back.
      const ax = a < 0 ? a + rank : a;
      if (!(ax >= 0 && ax <= rank - 2)) throw new Error(`DFT axis ${a} is out of range for input [${x.shape.join(', ')}]`);
      const L = values[1] ? scalarInt(values[1], 'DFT dft_length') : x.shape[ax]!;
      return [dft(x, ax, L, attrs.int('inverse', 0) === 1, attrs.int('onesided', 0) === 1, 'DFT')];
    },
  },
};
