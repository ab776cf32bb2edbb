import * as t from '@gradlens/tensor';
import { noGrad, Tensor } from '@gradlens/tensor';
import type { Attrs } from './attrs';
import type { OpTable } from './op-context';
import { axis, checkElements, float, input, ints, numbers } from './op-context';
import type { Value } from './values';
import { Const } from './values';

/**
 * Resize and Upsample as ONNX's reference computes them (onnx/reference/ops/op_resize.py). Resize is
 * separable: each resized axis is a sum of gathers along it, Σ_k w_k ⊙ indexSelect(x, axis, idx_k), with
 * the indices and weights worked out here in plain numbers from the static shape. The tape differentiates
 * indexSelect, mul and add, so every mode has its exact gradient.
 */

type Mode = 'nearest' | 'linear' | 'cubic';
type NearestMode = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil';

const MODES = ['nearest', 'linear', 'cubic'];
const COORDINATE_MODES = [
  'half_pixel',
  'half_pixel_symmetric',
  'pytorch_half_pixel',
  'align_corners',
  'asymmetric',
  'tf_half_pixel_for_nn',
  'tf_crop_and_resize',
];
const NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];
const ASPECT_POLICIES = ['stretch', 'not_larger', 'not_smaller'];

/** How every resized axis samples its input. */
interface Sampling {
  mode: Mode;
  coordinates: string;
  /** null for Resize-10 and Upsample: floor when upsampling an axis, ceil when downsampling it (onnxruntime's rule). */
  nearest: NearestMode | null;
  cubicA: number;
  excludeOutside: boolean;
  extrapolation: number;
  antialias: boolean;
}

/** What to resize to: per axis of the input, its scale, output length and region of interest. */
interface Target {
  scales: number[];
  sizes: number[];
  roi: number[] | null;
}

/** Per output position of one axis: the source indices and weights (padded to `taps` entries with weight 0), and a constant added. */
interface AxisPlan {
  taps: { index: number[]; weight: number[] }[];
  fill: number[] | null;
}

function oneOf(what: string, v: string, allowed: string[]): string {
  if (!allowed.includes(v)) throw new Error(`${what} '${v}' is not one of ${allowed.join(', ')}`);
  return v;
}

function samplingOf(attrs: Attrs, opset: number): Sampling {
  const raw = attrs.string('mode', 'nearest');
  // Upsample-7 and Resize-10 spell 2-D linear 'bilinear'.
  const mode = oneOf('mode', raw === 'bilinear' && opset < 11 ? 'linear' : raw, MODES) as Mode;
  const modern = opset >= 11;
  return {
    mode,
    coordinates: modern
      ? oneOf('coordinate_transformation_mode', attrs.string('coordinate_transformation_mode', 'half_pixel'), COORDINATE_MODES)
      : 'asymmetric',
    nearest: modern ? (oneOf('nearest_mode', attrs.string('nearest_mode', 'round_prefer_floor'), NEAREST_MODES) as NearestMode) : null,
    cubicA: attrs.float('cubic_coeff_a', -0.75),
    excludeOutside: attrs.int('exclude_outside', 0) === 1,
    extrapolation: attrs.float('extrapolation_value', 0),
    // The reference refuses antialias with nearest; the spec applies it to linear and cubic only, so nearest ignores it.
    antialias: attrs.int('antialias', 0) === 1 && mode !== 'nearest',
  };
}

/** A float input's numbers, or null when omitted or empty (the way opsets 11–12 leave out scales or roi). */
function optionalNumbers(v: Value | null | undefined): number[] | null {
  if (!v || v.shape.reduce((a, b) => a * b, 1) === 0) return null;
  return numbers(v);
}

/** Spreads per-axis values given for `axes` over all `rank` axes, others taking `fill`. */
function spread(given: number[], axes: number[], rank: number, fill: (d: number) => number): number[] {
  const out = Array.from({ length: rank }, (_, d) => fill(d));
  axes.forEach((a, i) => (out[a] = given[i]!));
  return out;
}

/** Scales, output sizes and roi over every axis, from Resize's inputs and attributes (the reference's _interpolate_nd). */
function resizeTarget(shape: readonly number[], values: (Value | null)[], attrs: Attrs, opset: number): Target {
  const rank = shape.length;
  const scalesIn = optionalNumbers(opset >= 11 ? values[2] : values[1]);
  const sizesV = opset >= 11 ? values[3] : null;
  const sizesIn = sizesV && sizesV.shape.reduce((a, b) => a * b, 1) > 0 ? ints(sizesV, 'sizes') : null;
  const roiIn = opset >= 11 ? optionalNumbers(values[1]) : null;
  const axesAttr = attrs.ints('axes');
  const axes = axesAttr ? axesAttr.map((a) => axis(a, rank, 'Resize axis')) : shape.map((_, d) => d);
  if (new Set(axes).size !== axes.length) throw new Error(`Resize axes [${axesAttr!.join(', ')}] repeat an axis`);
  const n = axes.length;
  const against = axesAttr ? `the ${n} axes` : `the input's rank ${rank}`;
  if (scalesIn && sizesIn) throw new Error('Resize has both scales and sizes; give only one');
  if (!scalesIn && !sizesIn) throw new Error('Resize has neither scales nor sizes');
  let roi: number[] | null = null;
  if (roiIn) {
    if (roiIn.length !== 2 * n) throw new Error(`Resize roi has ${roiIn.length} values, not 2 × ${against}`);
    roi = [...spread(roiIn.slice(0, n), axes, rank, () => 0), ...spread(roiIn.slice(n), axes, rank, () => 1)];
  }
  if (scalesIn) {
    if (scalesIn.length !== n) throw new Error(`Resize scales has ${scalesIn.length} values, not ${against}`);
    const bad = scalesIn.find((s) => !(s > 0) || !Number.isFinite(s));
    if (bad !== undefined) throw new Error(`Resize scale ${bad} is not a positive number`);
    const scales = spread(scalesIn, axes, rank, () => 1);
    return { scales, sizes: shape.map((s, d) => scaledLength(s, scales[d]!)), roi };
  }
  if (sizesIn!.length !== n) throw new Error(`Resize sizes has ${sizesIn!.length} values, not ${against}`);
  if (sizesIn!.some((s) => s < 1)) throw new Error(`Resize sizes [${sizesIn!.join(', ')}] has a length below 1`);
  const sizes = spread(sizesIn!, axes, rank, (d) => shape[d]!);
  const policy = oneOf('keep_aspect_ratio_policy', attrs.string('keep_aspect_ratio_policy', 'stretch'), ASPECT_POLICIES);
  if (policy === 'stretch') return { scales: sizes.map((s, d) => s / shape[d]!), sizes, roi };
  // One scale for all the given axes, the smallest or largest, and sizes rounded half up from it.
  const ratios = axes.map((a) => sizes[a]! / shape[a]!);
  const scale = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
  return {
    scales: shape.map((_, d) => (axes.includes(d) ? scale : 1)),
    sizes: shape.map((s, d) => (axes.includes(d) ? Math.floor(scale * s + 0.5) : s)),
    roi,
  };
}

/** Upsample (opsets 7–9): scales from the attribute (7, 8) or the second input (9). */
function upsampleTarget(shape: readonly number[], values: (Value | null)[], attrs: Attrs): Target {
  const scales = attrs.floats('scales') ?? (values[1] ? numbers(values[1]) : null);
  if (!scales) throw new Error('Upsample has no scales');
  if (scales.length !== shape.length) throw new Error(`Upsample scales has ${scales.length} values, not the input's rank ${shape.length}`);
  const bad = scales.find((s) => !(s > 0) || !Number.isFinite(s));
  if (bad !== undefined) throw new Error(`Upsample scale ${bad} is not a positive number`);
  return { scales, sizes: shape.map((s, d) => scaledLength(s, scales[d]!)), roi: null };
}

/**
 * floor(len · scale) with the product rounded to float32 first, as onnxruntime computes it: torch.onnx writes
 * F.interpolate(size=9) of a length-5 axis as the float32 scale 1.8 (1.79999995…), whose exact product with 5
 * falls just short of 9.
 */
function scaledLength(len: number, scale: number): number {
  return Math.floor(Math.fround(len * scale));
}

/** The source coordinate of output position `x`, or null where tf_crop_and_resize samples outside the input. */
function sourceCoordinate(x: number, len: number, out: number, scale: number, roi: [number, number], how: string): number | null {
  // The reference compares against the fractional output length scale · len, not the rounded one.
  const width = scale * len;
  switch (how) {
    case 'align_corners':
      return width === 1 ? 0 : (x * (len - 1)) / (width - 1);
    case 'asymmetric':
      return x / scale;
    case 'tf_half_pixel_for_nn':
      return (x + 0.5) / scale;
    case 'pytorch_half_pixel':
      return width === 1 ? -0.5 : (x + 0.5) / scale - 0.5;
    case 'half_pixel_symmetric': {
      // Centres the region actually covered when the output length was rounded down.
      const offset = (len / 2) * (1 - out / width);
      return offset + (x + 0.5) / scale - 0.5;
    }
    case 'tf_crop_and_resize': {
      const [start, end] = roi;
      const c = (width === 1 ? ((end - start) * (len - 1)) / 2 : (x * (end - start) * (len - 1)) / (width - 1)) + start * (len - 1);
      return c < 0 || c > len - 1 ? null : c;
    }
    default:
      return (x + 0.5) / scale - 0.5;
  }
}

function cubicKernel(x: number, a: number): number {
  const u = Math.abs(x);
  if (u <= 1) return ((a + 2) * u - (a + 3)) * u * u + 1;
  if (u < 2) return ((a * u - 5 * a) * u + 8 * a) * u - 4 * a;
  return 0;
}

/** The weights of the taps around a source coordinate `ratio` ∈ (0, 1] past its left neighbour. */
function filterWeights(s: Sampling, ratio: number, scale: number): number[] {
  if (s.mode === 'nearest') {
    const mode = s.nearest ?? (scale < 1 ? 'ceil' : 'floor');
    const right =
      ratio === 1 || mode === 'ceil' || (mode === 'round_prefer_floor' && ratio > 0.5) || (mode === 'round_prefer_ceil' && ratio >= 0.5);
    return right ? [0, 1] : [1, 0];
  }
  // Antialiasing stretches the kernel by 1 / scale when downsampling, and renormalises it.
  const stretch = s.antialias ? Math.min(scale, 1) : 1;
  const support = s.mode === 'linear' ? 1 : 2;
  const first = Math.floor(-support / stretch) + 1;
  const weights = Array.from({ length: 2 - 2 * first }, (_, j) => {
    const d = (first + j - ratio) * stretch;
    return s.mode === 'linear' ? Math.max(0, 1 - Math.abs(d)) : cubicKernel(d, s.cubicA);
  });
  if (!s.antialias) return weights;
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}

/**
 * The first of the `n` taps around source coordinate `c`. The reference finds them on the input
 * edge-padded by n / 2, so at c + n / 2 in floating point: where that sum rounds to an integer the
 * window starts one further left, as it does there.
 */
function firstTap(c: number, n: number): number {
  const pad = Math.ceil(n / 2);
  const padded = c + pad;
  const p = Math.floor(padded);
  return p - pad + (padded === p ? -n / 2 : 1 - n / 2);
}

/** Source indices and weights of every output position along one axis of length `len`. */
function planAxis(len: number, out: number, scale: number, roi: [number, number], s: Sampling): AxisPlan {
  const rows: Map<number, number>[] = [];
  const fill: number[] = [];
  for (let x = 0; x < out; x++) {
    const c = sourceCoordinate(x, len, out, scale, roi, s.coordinates);
    const row = new Map<number, number>();
    rows.push(row);
    fill.push(c === null ? s.extrapolation : 0);
    if (c === null) continue;
    // The ratio past the left neighbour lies in (0, 1]: the coordinate itself counts as a right neighbour.
    const weights = filterWeights(s, Number.isInteger(c) ? 1 : c - Math.floor(c), scale);
    const start = firstTap(c, weights.length);
    if (s.excludeOutside) {
      weights.forEach((_, j) => (start + j < 0 || start + j >= len) && (weights[j] = 0));
      const total = weights.reduce((a, b) => a + b, 0);
      // A window wholly outside keeps its zeros, as the reference guards the division.
      if (total !== 0) weights.forEach((w, j) => (weights[j] = w / total));
    }
    weights.forEach((w, j) => {
      if (w === 0) return;
      const i = Math.min(Math.max(start + j, 0), len - 1);
      row.set(i, (row.get(i) ?? 0) + w);
    });
  }
  const count = Math.max(1, ...rows.map((r) => r.size));
  const taps = Array.from({ length: count }, (_, k) => {
    const entries = rows.map((r) => [...r][k] ?? ([0, 0] as [number, number]));
    return { index: entries.map((e) => e[0]), weight: entries.map((e) => e[1]) };
  });
  return { taps, fill: fill.some((v) => v !== 0) ? fill : null };
}

/** Whether an axis is left as it is: the reference skips one with scale 1, the same length and the whole roi. */
function unchanged(len: number, out: number, scale: number, roi: [number, number]): boolean {
  return out === len && Math.abs(scale - 1) <= 1e-9 * Math.max(scale, 1) && roi[0] === 0 && Math.abs(roi[1] - 1) <= 1e-9;
}

/** x resampled along `dim` by its plan: Σ_k w_k ⊙ x[idx_k], each w_k broadcast along `dim`. */
function applyAxis(x: Tensor, dim: number, p: AxisPlan): Tensor {
  const shape = x.shape.map((_, d) => (d === dim ? p.taps[0]!.index.length : 1));
  const constant = (v: number[]) => new Tensor(x.dtype === 'float64' ? Float64Array.from(v) : Float32Array.from(v), shape, x.dtype);
  let y: Tensor | null = null;
  for (const tap of p.taps) {
    const picked = t.indexSelect(x, dim, tap.index);
    const term = tap.weight.every((w) => w === 1) ? picked : t.mul(picked, constant(tap.weight));
    y = y ? t.add(y, term) : term;
  }
  return p.fill ? t.add(y!, constant(p.fill)) : y!;
}

/** Where F.interpolate's bilinear kernel computes the reference's values: 4-D, only H and W resized, no 1-pixel side. */
function bilinearFastPath(x: Tensor, target: Target, s: Sampling): Tensor | null {
  const { scales, sizes } = target;
  if (x.rank !== 4 || s.mode !== 'linear' || s.antialias || s.excludeOutside) return null;
  if (sizes[0] !== x.shape[0] || sizes[1] !== x.shape[1] || scales[0] !== 1 || scales[1] !== 1) return null;
  if (sizes[2]! < 2 || sizes[3]! < 2) return null;
  const size = [sizes[2]!, sizes[3]!] as [number, number];
  if (s.coordinates === 'align_corners') {
    // align_corners divides by the fractional output length less 1; interpolate by the integer one.
    const whole = [2, 3].every((d) => scales[d]! * x.shape[d]! === sizes[d]);
    return whole ? t.interpolate(x, { size, mode: 'bilinear', alignCorners: true }) : null;
  }
  if (s.coordinates !== 'half_pixel' && s.coordinates !== 'pytorch_half_pixel') return null;
  // Half-pixel: interpolate's source index is (x + 0.5) / scale − 0.5, clamped as the edge padding does,
  // when the scale factor gives the output length (keep_aspect_ratio_policy's rounded sizes may not).
  const fits = [2, 3].every((d) => Math.floor(x.shape[d]! * scales[d]!) === sizes[d]);
  return fits ? t.interpolate(x, { scaleFactor: [scales[2]!, scales[3]!], mode: 'bilinear' }) : null;
}

function resample(x: Tensor, target: Target, s: Sampling): Tensor {
  const fast = bilinearFastPath(x, target, s);
  if (fast) return fast;
  if (s.coordinates === 'tf_crop_and_resize' && !target.roi) throw new Error('Resize tf_crop_and_resize needs the roi input');
  let y = x;
  for (let d = 0; d < x.rank; d++) {
    const cropped = s.coordinates === 'tf_crop_and_resize' && target.roi;
    const roi: [number, number] = cropped ? [target.roi![d]!, target.roi![x.rank + d]!] : [0, 1];
    if (unchanged(x.shape[d]!, target.sizes[d]!, target.scales[d]!, roi)) continue;
    const p = planAxis(x.shape[d]!, target.sizes[d]!, target.scales[d]!, roi, s);
    y = applyAxis(y, d, p);
  }
  return y;
}

/** Runs on a tensor, or folds a constant through the same code (under noGrad) into a constant. */
function foldOrRun(v: Value, fn: (x: Tensor) => Tensor): Value {
  if (v instanceof Tensor) return fn(float(v));
  const y = noGrad(() => fn(float(v)));
  const data = Array.from(y.values(), (n) => (v.kind === 'int' ? Math.trunc(n) : n));
  return new Const(v.kind === 'float32' ? Float32Array.from(data) : data, y.shape, v.kind === 'bool' ? 'float32' : v.kind);
}

function checkSizes(shape: readonly number[], target: Target): void {
  checkElements(target.sizes, 'the resized output');
  const empty = target.sizes.findIndex((s) => s < 1);
  if (empty >= 0) throw new Error(`output axis ${empty} would be empty (input [${shape.join(', ')}], output [${target.sizes.join(', ')}])`);
}

/** Resize (opsets 10–21) and Upsample (7–9). */
export const resizeOps: OpTable = {
  Resize: {
    since: 10,
    run: ({ values, attrs, opset }) => {
      const x = input(values, 0);
      const target = resizeTarget(x.shape, values, attrs, opset);
      checkSizes(x.shape, target);
      const s = samplingOf(attrs, opset);
      return [foldOrRun(x, (xt) => resample(xt, target, s))];
    },
  },
  Upsample: {
    run: ({ values, attrs }) => {
      const x = input(values, 0);
      const target = upsampleTarget(x.shape, values, attrs);
      checkSizes(x.shape, target);
      const s = samplingOf(attrs, 9);
      return [foldOrRun(x, (xt) => resample(xt, target, s))];
    },
  },
};
