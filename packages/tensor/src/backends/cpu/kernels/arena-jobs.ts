/**
 * Elementwise kernels on the module's threads for tensors in the tensor arena (arena.ts): each returns false,
 * having done nothing, unless every array it is given lives there (then the caller runs its JavaScript loop);
 * padPlanesInModule, the padded convolutions' copies, is called only once its caller has checked that.
 * The module's kernels (gemm_f32.c jobs 16–19, 23–29, 32–34) do the same bit operations, comparisons or float64 arithmetic
 * as the JavaScript ones, so a result is bitwise the same wherever its tensors live and however many threads run.
 */
import { currentFloat32Engine, type Staging } from './gemm';
import { WasmJob } from './wasm-gemm';
import { inEngineArena } from '../storage-pool';
import type { Conv2dGeometry, FloatArray, Pool2dGeometry } from './types';
import type { AxisWindows } from './pool_windows';
import type { BatchNormGeometry } from './batchnorm';
import { erfTables } from './erf';
import { PARTS_PER_THREAD } from '../threads/job-pool';
import { getNumThreads } from '../threads/settings';

/** The staging of the engine whose threads reach the arena, when every array (float32 or int32) lives in it; else null. */
function arenaStaging(...arrays: (FloatArray | Int32Array)[]): Staging | null {
  const st = currentFloat32Engine()?.staging;
  if (st === undefined) return null;
  for (const a of arrays) if (a instanceof Float64Array || !inEngineArena(a)) return null;
  return st;
}

/** A float64 view of `n` values staged for a job (the reserved region, whose address is st.address(0)). */
function stagedFloat64(st: Staging, n: number): Float64Array {
  const staged = st.reserve(2 * n);
  return new Float64Array(staged.buffer, staged.byteOffset, n);
}

/**
 * Runs value-by-value job `id` over arrays of one length (inputs, then the output), each passed by its address, then
 * the length; split in 16-value chunks (a part's values fill whole cache lines), a value costing about 4
 * multiply-adds. False when an array is not in the arena.
 */
function valuesJob(id: number, arrays: FloatArray[]): boolean {
  const st = arenaStaging(...arrays);
  if (st === null) return false;
  const n = arrays[arrays.length - 1]!.length;
  st.job(id, [...arrays.map((a) => a.byteOffset), n], Math.ceil(n / 16), 4 * n);
  return true;
}

/** out = relu(x) on float32 bits (elementwise.ts's reluFloat32Bits). */
export const reluInArena = (x: FloatArray, out: FloatArray): boolean => valuesJob(WasmJob.Relu, [x, out]);

/** out = dy where x > 0, else +0, on float32 bits (elementwise.ts's reluBackwardFloat32Bits). */
export const reluBackwardInArena = (dy: FloatArray, x: FloatArray, out: FloatArray): boolean =>
  valuesJob(WasmJob.ReluBackward, [dy, x, out]);

/**
 * GELU (exact, erf form) of float32 x, or with `dy` its backward dy·(Φ(x) + x·φ(x)), in float64 as elementwise.ts's
 * geluExact and fused-backward.ts's geluSlope: the module evaluates erf.ts's erf from its own tables and Math.exp's
 * algorithm (fdlibm), so the values are the JavaScript ones bit for bit.
 */
export function geluInArena(x: FloatArray, out: FloatArray, dy?: FloatArray): boolean {
  const st = dy === undefined ? arenaStaging(x, out) : arenaStaging(x, out, dy);
  if (st === null || x.length !== out.length || (dy !== undefined && dy.length !== out.length)) return false;
  const t = erfTables();
  // gemm_f32.c's erf_tables reads this layout (15 Maclaurin terms, 12 centres of 24, two constants).
  if (t.length !== 15 + 12 * 24 + 2)
    throw new Error(`geluInArena: erf.ts's tables changed shape (${t.length} values); update gemm_f32.c's erf_tables`);
  stagedFloat64(st, t.length).set(t);
  const n = out.length;
  const args = [x.byteOffset, dy?.byteOffset ?? 0, out.byteOffset, st.address(0), dy === undefined ? 0 : 1, n];
  st.job(WasmJob.Gelu, args, Math.ceil(n / 16), 64 * n); // erf's 24 terms (and exp's dozen) a value
  return true;
}

/**
 * Softmax of float32 x over rows of `size` values `inner` apart (outer × inner rows), as reduce.ts's softmaxAlong:
 * Math.max's maximum, Math.exp's algorithm, float64 sums, so the values are the JavaScript ones bit for bit. Each
 * part keeps its row's exponentials in a float64 scratch slot staged here.
 */
export function softmaxInArena(x: FloatArray, out: FloatArray, outer: number, size: number, inner: number): boolean {
  const st = arenaStaging(x, out);
  const rows = outer * inner;
  if (st === null || x.length !== out.length || out.length !== rows * size || size === 0) return false;
  // Part i of the job uses slot i: as many slots as it can have parts.
  const slots = Math.min(rows, Math.max(1, getNumThreads()) * PARTS_PER_THREAD);
  st.reserve(2 * size * slots);
  st.job(WasmJob.Softmax, [x.byteOffset, out.byteOffset, rows, size, inner, st.address(0), slots], rows, 32 * out.length);
  return true;
}

/** Softmax's backward y·(dy − Σ dy·y) over the same rows, as fused-backward.ts's softmaxBackward (float64). */
export function softmaxBackwardInArena(
  dy: FloatArray,
  y: FloatArray,
  out: FloatArray,
  outer: number,
  size: number,
  inner: number,
): boolean {
  const st = arenaStaging(dy, y, out);
  const rows = outer * inner;
  if (st === null || dy.length !== out.length || y.length !== out.length || out.length !== rows * size) return false;
  st.job(WasmJob.SoftmaxBackward, [dy.byteOffset, y.byteOffset, out.byteOffset, rows, size, inner], rows, 4 * out.length);
  return true;
}

/**
 * Layer norm of `rows` contiguous rows of `cols` float32 values, as layernorm.ts's layerNormForward (float64 sums in
 * its order, one rounding per value): eps, the weight and the bias staged as float64, the rows split across the threads.
 */
export function layerNormInArena(
  x: FloatArray,
  weight: FloatArray | null,
  bias: FloatArray | null,
  eps: number,
  rows: number,
  cols: number,
  y: FloatArray,
): boolean {
  const st = arenaStaging(x, y);
  if (st === null || x.length !== rows * cols || y.length !== rows * cols || cols === 0) return false;
  const p = stagedFloat64(st, 1 + 2 * cols);
  p[0] = eps;
  if (weight) p.set(weight, 1);
  if (bias) p.set(bias, 1 + cols);
  const args = [x.byteOffset, y.byteOffset, st.address(0), weight ? 1 : 0, bias ? 1 : 0, rows, cols];
  st.job(WasmJob.LayerNorm, args, rows, 8 * rows * cols);
  return true;
}

/**
 * Layer norm's backward, as fused-backward.ts's layerNormBackwardRows: dx by rows (each row's mean and inv kept as
 * float64), then the weight's gradient Σ dy·x̂ by columns, each column summed over the rows in order, into `sums`.
 */
export function layerNormBackwardInArena(
  dy: FloatArray,
  x: FloatArray,
  weight: FloatArray | null,
  eps: number,
  rows: number,
  cols: number,
  dx: FloatArray,
  sums: Float64Array,
): boolean {
  const st = arenaStaging(dy, x, dx);
  const n = rows * cols;
  if (st === null || dy.length !== n || x.length !== n || dx.length !== n || sums.length !== cols || cols === 0) return false;
  // float64 regions: eps and the weight, each row's mean and inv, the column sums
  const pAt = 0,
    statsAt = 1 + cols,
    sumsAt = statsAt + 2 * rows;
  const f64 = stagedFloat64(st, sumsAt + cols);
  f64[pAt] = eps;
  if (weight) f64.set(weight, 1);
  const at = (i: number): number => st.address(2 * i);
  st.job(
    WasmJob.LayerNormBackward,
    [dy.byteOffset, x.byteOffset, dx.byteOffset, at(pAt), weight ? 1 : 0, rows, cols, at(statsAt)],
    rows,
    12 * n,
  );
  st.job(WasmJob.LayerNormColumnSums, [dy.byteOffset, x.byteOffset, at(statsAt), at(sumsAt), rows, cols], cols, 4 * n);
  sums.set(f64.subarray(sumsAt));
  return true;
}

/** out = a + b, all of one length (no broadcasting). */
export function addInArena(a: FloatArray, b: FloatArray, out: FloatArray): boolean {
  return a.length === out.length && b.length === out.length && valuesJob(WasmJob.Add, [a, b, out]);
}

/**
 * Eval-mode batch norm, y = (x − mean)·k + b with k = weight/√(var + eps) per channel, in float64 as
 * batchnorm.ts's batchNormForward: the per-channel constants are staged, the planes split across the threads.
 */
export function batchNormInArena(
  x: FloatArray,
  mean: FloatArray,
  variance: FloatArray,
  weight: FloatArray | null,
  bias: FloatArray | null,
  eps: number,
  g: BatchNormGeometry,
  y: FloatArray,
): boolean {
  const st = arenaStaging(x, y);
  if (st === null) return false;
  const { batch, channels, spatial } = g;
  const mkb = stagedFloat64(st, 3 * channels); // 3 a channel
  for (let c = 0; c < channels; c++) {
    mkb[3 * c] = mean[c]!;
    mkb[3 * c + 1] = (weight ? weight[c]! : 1) / Math.sqrt(variance[c]! + eps);
    mkb[3 * c + 2] = bias ? bias[c]! : 0;
  }
  const planes = batch * channels;
  st.job(WasmJob.BatchNormEval, [x.byteOffset, y.byteOffset, st.address(0), planes, channels, spatial], planes, 4 * y.length);
  return true;
}

/**
 * max_pool2d with 2×2 windows, stride 2 and no padding (pool2d.ts's isPlain2x2) into out and its argmax into indices
 * (maxPool2x2's comparisons in its order, four outputs a vector), the planes split across the threads.
 */
export function maxPool2x2InArena(x: FloatArray, g: Pool2dGeometry, out: FloatArray, indices: Int32Array): boolean {
  const st = arenaStaging(x, out, indices);
  if (st === null) return false;
  const planes = g.batch * g.channels;
  const args = [x.byteOffset, out.byteOffset, indices.byteOffset, planes, g.inHeight, g.inWidth, g.outHeight, g.outWidth];
  st.job(WasmJob.MaxPool2x2, args, planes, 4 * out.length);
  return true;
}

/**
 * max_pool2d over any windows (pool_windows.ts's strideWindows: `rows` and `cols`, staged) into out and its argmax into
 * indices: windowMax's comparisons in its order, the planes split across the threads.
 */
export function maxPoolWindowsInArena(
  x: FloatArray,
  g: Pool2dGeometry,
  rows: AxisWindows,
  cols: AxisWindows,
  out: FloatArray,
  indices: Int32Array,
): boolean {
  const st = arenaStaging(x, out, indices);
  if (st === null) return false;
  const { outHeight: OH, outWidth: OW } = g;
  const staged = st.reserve(2 * (OH + OW));
  const tables = new Int32Array(staged.buffer, staged.byteOffset, 2 * (OH + OW));
  tables.set(rows.start, 0);
  tables.set(rows.end, OH);
  tables.set(cols.start, 2 * OH);
  tables.set(cols.end, 2 * OH + OW);
  const planes = g.batch * g.channels;
  const [rs, re, cs, ce] = [0, OH, 2 * OH, 2 * OH + OW].map((at) => st.address(at));
  const args = [x.byteOffset, out.byteOffset, indices.byteOffset, planes, g.inHeight, g.inWidth, OH, OW, g.dilationH, g.dilationW];
  st.job(WasmJob.MaxPoolWindows, [...args, rs!, re!, cs!, ce!], planes, 4 * out.length * g.kernelH * g.kernelW);
  return true;
}

/**
 * im2col.ts's padInto from x (in the engine's arena) into the staging region from element `at` (its border zeroed),
 * or with `unpad` unpadGradient's copy of that region's interior into x: planes split across the threads.
 */
export function padPlanesInModule(st: Staging, x: FloatArray, g: Conv2dGeometry, at: number, unpad: boolean): void {
  const planes = g.batch * g.inChannels;
  const [from, to] = unpad ? [st.address(at), x.byteOffset] : [x.byteOffset, st.address(at)];
  const args = [from, to, planes, g.inHeight, g.inWidth, g.padH, g.padW, unpad ? 1 : 0];
  st.job(WasmJob.PadPlanes, args, planes, 4 * planes * (g.inHeight + 2 * g.padH) * (g.inWidth + 2 * g.padW));
}

/** Max pooling's backward: dx zeroed, then dx[plane][indices[o]] += dy[o] (pool_windows.ts's scatterByIndices), by planes. */
export function scatterPlanesInArena(
  dy: FloatArray,
  indices: Int32Array,
  planes: number,
  outSize: number,
  inSize: number,
  dx: FloatArray,
): boolean {
  const st = arenaStaging(dy, indices, dx);
  if (st === null) return false;
  st.job(WasmJob.ScatterPlanes, [dy.byteOffset, indices.byteOffset, dx.byteOffset, planes, outSize, inSize], planes, 4 * planes * inSize);
  return true;
}
