/**
 * Naive reference loops for every kernel of this directory: one output element at a time, straight
 * from the definitions, no blocking or index tricks. The fast kernels are tested against these.
 * They allocate their results (float64) and are slow on purpose: use them for tests only.
 */
import type { AdaptivePoolGeometry, Conv2dGeometry, FloatArray, MatmulOptions, Pool2dGeometry, ResizeGeometry } from './types';

/** Returns conv2d(x, w, b) as float64 [N, Cout, OH, OW]. */
export function refConv2dForward(x: FloatArray, w: FloatArray, b: FloatArray | null, g: Conv2dGeometry): Float64Array {
  const cinG = g.inChannels / g.groups,
    coutG = g.outChannels / g.groups;
  const out = new Float64Array(g.batch * g.outChannels * g.outHeight * g.outWidth);
  for (let n = 0; n < g.batch; n++)
    for (let co = 0; co < g.outChannels; co++)
      for (let oh = 0; oh < g.outHeight; oh++)
        for (let ow = 0; ow < g.outWidth; ow++) {
          let s = b === null ? 0 : b[co]!;
          const grp = Math.floor(co / coutG);
          for (let c = 0; c < cinG; c++)
            for (let ky = 0; ky < g.kernelHeight; ky++)
              for (let kx = 0; kx < g.kernelWidth; kx++) {
                const ih = oh * g.strideH - g.padH + ky * g.dilationH;
                const iw = ow * g.strideW - g.padW + kx * g.dilationW;
                if (ih < 0 || ih >= g.inHeight || iw < 0 || iw >= g.inWidth) continue;
                const ci = grp * cinG + c;
                s +=
                  x[((n * g.inChannels + ci) * g.inHeight + ih) * g.inWidth + iw]! *
                  w[((co * cinG + c) * g.kernelHeight + ky) * g.kernelWidth + kx]!;
              }
          out[((n * g.outChannels + co) * g.outHeight + oh) * g.outWidth + ow] = s;
        }
  return out;
}

/** Returns d conv2d / d x as float64 [N, Cin, H, W], gathering for each input position the outputs that read it. */
export function refConv2dBackwardInput(dy: FloatArray, w: FloatArray, g: Conv2dGeometry): Float64Array {
  const cinG = g.inChannels / g.groups,
    coutG = g.outChannels / g.groups;
  const dx = new Float64Array(g.batch * g.inChannels * g.inHeight * g.inWidth);
  for (let n = 0; n < g.batch; n++)
    for (let ci = 0; ci < g.inChannels; ci++)
      for (let ih = 0; ih < g.inHeight; ih++)
        for (let iw = 0; iw < g.inWidth; iw++) {
          const grp = Math.floor(ci / cinG),
            c = ci - grp * cinG;
          let s = 0;
          for (let co = grp * coutG; co < (grp + 1) * coutG; co++)
            for (let ky = 0; ky < g.kernelHeight; ky++)
              for (let kx = 0; kx < g.kernelWidth; kx++) {
                const th = ih + g.padH - ky * g.dilationH,
                  tw = iw + g.padW - kx * g.dilationW;
                if (th < 0 || tw < 0 || th % g.strideH !== 0 || tw % g.strideW !== 0) continue;
                const oh = th / g.strideH,
                  ow = tw / g.strideW;
                if (oh >= g.outHeight || ow >= g.outWidth) continue;
                s +=
                  dy[((n * g.outChannels + co) * g.outHeight + oh) * g.outWidth + ow]! *
                  w[((co * cinG + c) * g.kernelHeight + ky) * g.kernelWidth + kx]!;
              }
          dx[((n * g.inChannels + ci) * g.inHeight + ih) * g.inWidth + iw] = s;
        }
  return dx;
}

/** Returns d conv2d / d weight as float64 [Cout, Cin/groups, kh, kw]. */
export function refConv2dBackwardWeight(x: FloatArray, dy: FloatArray, g: Conv2dGeometry): Float64Array {
  const cinG = g.inChannels / g.groups,
    coutG = g.outChannels / g.groups;
  const dw = new Float64Array(g.outChannels * cinG * g.kernelHeight * g.kernelWidth);
  for (let co = 0; co < g.outChannels; co++)
    for (let c = 0; c < cinG; c++)
      for (let ky = 0; ky < g.kernelHeight; ky++)
        for (let kx = 0; kx < g.kernelWidth; kx++) {
          const ci = Math.floor(co / coutG) * cinG + c;
          let s = 0;
          for (let n = 0; n < g.batch; n++)
            for (let oh = 0; oh < g.outHeight; oh++)
              for (let ow = 0; ow < g.outWidth; ow++) {
                const ih = oh * g.strideH - g.padH + ky * g.dilationH;
                const iw = ow * g.strideW - g.padW + kx * g.dilationW;
                if (ih < 0 || ih >= g.inHeight || iw < 0 || iw >= g.inWidth) continue;
                s +=
                  x[((n * g.inChannels + ci) * g.inHeight + ih) * g.inWidth + iw]! *
                  dy[((n * g.outChannels + co) * g.outHeight + oh) * g.outWidth + ow]!;
              }
          dw[((co * cinG + c) * g.kernelHeight + ky) * g.kernelWidth + kx] = s;
        }
  return dw;
}

/** Returns the batched matmul as float64 [batch, m, n]. */
export function refMatmul(a: FloatArray, b: FloatArray, o: MatmulOptions): Float64Array {
  const out = new Float64Array(o.batch * o.m * o.n);
  for (let bi = 0; bi < o.batch; bi++)
    for (let i = 0; i < o.m; i++)
      for (let j = 0; j < o.n; j++) {
        let s = 0;
        for (let p = 0; p < o.k; p++) {
          const av = a[bi * o.aBatchStride + (o.transA ? p * o.m + i : i * o.k + p)]!;
          const bv = b[bi * o.bBatchStride + (o.transB ? j * o.k + p : p * o.n + j)]!;
          s += av * bv;
        }
        out[(bi * o.m + i) * o.n + j] = s;
      }
  return out;
}

/** Returns max_pool2d values and flat in-plane argmax indices (NaN wins, later NaN over earlier). */
export function refMaxPool2d(x: FloatArray, g: Pool2dGeometry): { out: Float64Array; indices: Int32Array } {
  const size = g.batch * g.channels * g.outHeight * g.outWidth;
  const out = new Float64Array(size),
    indices = new Int32Array(size);
  for (let pl = 0; pl < g.batch * g.channels; pl++)
    for (let oh = 0; oh < g.outHeight; oh++)
      for (let ow = 0; ow < g.outWidth; ow++) {
        // PyTorch's default index: the first non-negative tap row/column, even when the window has
        // no tap inside the image (then the value is -Infinity and the index points past it).
        let h0 = oh * g.strideH - g.padH,
          w0 = ow * g.strideW - g.padW;
        while (h0 < 0) h0 += g.dilationH;
        while (w0 < 0) w0 += g.dilationW;
        let best = -Infinity,
          bestIdx = h0 * g.inWidth + w0;
        for (let ky = 0; ky < g.kernelH; ky++)
          for (let kx = 0; kx < g.kernelW; kx++) {
            const ih = oh * g.strideH - g.padH + ky * g.dilationH,
              iw = ow * g.strideW - g.padW + kx * g.dilationW;
            if (ih < 0 || ih >= g.inHeight || iw < 0 || iw >= g.inWidth) continue;
            const v = x[(pl * g.inHeight + ih) * g.inWidth + iw]!;
            if (v > best || Number.isNaN(v)) {
              best = v;
              bestIdx = ih * g.inWidth + iw;
            }
          }
        const o = (pl * g.outHeight + oh) * g.outWidth + ow;
        out[o] = best;
        indices[o] = bestIdx;
      }
  return { out, indices };
}

/** Returns dx [planes*inSize] with dx[plane, i] = Σ of dy over the outputs whose index is i. */
export function refIndexBackward(dy: FloatArray, indices: Int32Array, planes: number, outSize: number, inSize: number): Float64Array {
  const dx = new Float64Array(planes * inSize);
  for (let pl = 0; pl < planes; pl++)
    for (let i = 0; i < inSize; i++) {
      let s = 0;
      for (let o = 0; o < outSize; o++) if (indices[pl * outSize + o] === i) s += dy[pl * outSize + o]!;
      dx[pl * inSize + i] = s;
    }
  return dx;
}

/** Returns avg_pool2d as float64, counting window taps one by one. */
export function refAvgPool2d(x: FloatArray, g: Pool2dGeometry, countIncludePad: boolean, divisorOverride: number | null): Float64Array {
  const out = new Float64Array(g.batch * g.channels * g.outHeight * g.outWidth);
  for (let pl = 0; pl < g.batch * g.channels; pl++)
    for (let oh = 0; oh < g.outHeight; oh++)
      for (let ow = 0; ow < g.outWidth; ow++) {
        let sum = 0,
          inside = 0,
          padded = 0;
        for (let ky = 0; ky < g.kernelH; ky++)
          for (let kx = 0; kx < g.kernelW; kx++) {
            const ih = oh * g.strideH - g.padH + ky,
              iw = ow * g.strideW - g.padW + kx;
            // Taps in the padded image count for count_include_pad; taps beyond the padding never count.
            if (ih < g.inHeight + g.padH && iw < g.inWidth + g.padW) padded++;
            if (ih < 0 || ih >= g.inHeight || iw < 0 || iw >= g.inWidth) continue;
            sum += x[(pl * g.inHeight + ih) * g.inWidth + iw]!;
            inside++;
          }
        const div = divisorOverride ?? (countIncludePad ? padded : inside);
        out[(pl * g.outHeight + oh) * g.outWidth + ow] = inside === 0 ? 0 : sum / div;
      }
  return out;
}

/** Returns adaptive_avg_pool2d as float64. */
export function refAdaptiveAvgPool2d(x: FloatArray, g: AdaptivePoolGeometry): Float64Array {
  const out = new Float64Array(g.batch * g.channels * g.outHeight * g.outWidth);
  for (let pl = 0; pl < g.batch * g.channels; pl++)
    for (let oh = 0; oh < g.outHeight; oh++)
      for (let ow = 0; ow < g.outWidth; ow++) {
        const h0 = Math.floor((oh * g.inHeight) / g.outHeight),
          h1 = Math.ceil(((oh + 1) * g.inHeight) / g.outHeight);
        const w0 = Math.floor((ow * g.inWidth) / g.outWidth),
          w1 = Math.ceil(((ow + 1) * g.inWidth) / g.outWidth);
        let s = 0,
          cnt = 0;
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++, cnt++) s += x[(pl * g.inHeight + h) * g.inWidth + w]!;
        out[(pl * g.outHeight + oh) * g.outWidth + ow] = s / cnt;
      }
  return out;
}

/** Returns adaptive_max_pool2d values and flat in-plane argmax indices. */
export function refAdaptiveMaxPool2d(x: FloatArray, g: AdaptivePoolGeometry): { out: Float64Array; indices: Int32Array } {
  const size = g.batch * g.channels * g.outHeight * g.outWidth;
  const out = new Float64Array(size),
    indices = new Int32Array(size);
  for (let pl = 0; pl < g.batch * g.channels; pl++)
    for (let oh = 0; oh < g.outHeight; oh++)
      for (let ow = 0; ow < g.outWidth; ow++) {
        const h0 = Math.floor((oh * g.inHeight) / g.outHeight),
          h1 = Math.ceil(((oh + 1) * g.inHeight) / g.outHeight);
        const w0 = Math.floor((ow * g.inWidth) / g.outWidth),
          w1 = Math.ceil(((ow + 1) * g.inWidth) / g.outWidth);
        let best = -Infinity,
          bestIdx = h0 * g.inWidth + w0;
        for (let h = h0; h < h1; h++)
          for (let w = w0; w < w1; w++) {
            const v = x[(pl * g.inHeight + h) * g.inWidth + w]!;
            if (v > best || Number.isNaN(v)) {
              best = v;
              bestIdx = h * g.inWidth + w;
            }
          }
        const o = (pl * g.outHeight + oh) * g.outWidth + ow;
        out[o] = best;
        indices[o] = bestIdx;
      }
  return { out, indices };
}

function refNearestSrc(o: number, outSize: number, inSize: number, scale: number): number {
  if (outSize === inSize) return o;
  if (outSize === 2 * inSize) return Math.floor(o / 2);
  return Math.min(Math.floor(Math.fround(Math.fround(o) * Math.fround(scale))), inSize - 1);
}

/** Returns nearest upsampling as float64. */
export function refUpsampleNearest2d(x: FloatArray, g: ResizeGeometry): Float64Array {
  const out = new Float64Array(g.batch * g.channels * g.outHeight * g.outWidth);
  for (let pl = 0; pl < g.batch * g.channels; pl++)
    for (let oh = 0; oh < g.outHeight; oh++)
      for (let ow = 0; ow < g.outWidth; ow++) {
        const ih = refNearestSrc(oh, g.outHeight, g.inHeight, g.scaleH),
          iw = refNearestSrc(ow, g.outWidth, g.inWidth, g.scaleW);
        out[(pl * g.outHeight + oh) * g.outWidth + ow] = x[(pl * g.inHeight + ih) * g.inWidth + iw]!;
      }
  return out;
}

function refLinearSrc(o: number, outSize: number, inSize: number, scale: number, alignCorners: boolean): [number, number, number] {
  if (outSize === inSize && !alignCorners) return [o, o, 0];
  const real = Math.max(0, alignCorners ? scale * o : (o + 0.5) * scale - 0.5);
  const i0 = Math.min(Math.floor(real), inSize - 1);
  const i1 = Math.min(i0 + 1, inSize - 1);
  return [i0, i1, Math.min(Math.max(real - i0, 0), 1)];
}

/** Returns bilinear upsampling as float64. */
export function refUpsampleBilinear2d(x: FloatArray, g: ResizeGeometry): Float64Array {
  const out = new Float64Array(g.batch * g.channels * g.outHeight * g.outWidth);
  for (let pl = 0; pl < g.batch * g.channels; pl++)
    for (let oh = 0; oh < g.outHeight; oh++)
      for (let ow = 0; ow < g.outWidth; ow++) {
        const [h0, h1, lh] = refLinearSrc(oh, g.outHeight, g.inHeight, g.scaleH, g.alignCorners);
        const [w0, w1, lw] = refLinearSrc(ow, g.outWidth, g.inWidth, g.scaleW, g.alignCorners);
        const at = (h: number, w: number): number => x[(pl * g.inHeight + h) * g.inWidth + w]!;
        out[(pl * g.outHeight + oh) * g.outWidth + ow] =
          (1 - lh) * ((1 - lw) * at(h0, w0) + lw * at(h0, w1)) + lh * ((1 - lw) * at(h1, w0) + lw * at(h1, w1));
      }
  return out;
}

/**
 * Returns the adjoint of a linear map applied to dy: dx[i] = Σ_o dy[o] · f(e_i)[o], evaluating the
 * reference forward on every unit vector (the naive backward of avg pooling and upsampling).
 */
export function refLinearAdjoint(f: (x: Float64Array) => Float64Array, inSize: number, dy: FloatArray): Float64Array {
  const dx = new Float64Array(inSize);
  const e = new Float64Array(inSize);
  for (let i = 0; i < inSize; i++) {
    e[i] = 1;
    const col = f(e);
    let s = 0;
    for (let o = 0; o < col.length; o++) s += dy[o]! * col[o]!;
    dx[i] = s;
    e[i] = 0;
  }
  return dx;
}

/** Returns a deterministic uniform [0, 1) generator (mulberry32) for reproducible test data. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Returns an array of `size` values uniform in [-1, 1) of the given float type. */
export function randomFloats(ctor: Float32ArrayConstructor | Float64ArrayConstructor, size: number, rand: () => number): FloatArray {
  const a = new ctor(size);
  for (let i = 0; i < size; i++) a[i] = rand() * 2 - 1;
  return a;
}

/** Returns max_i |a[i] - b[i]| / (1 + |b[i]|) (Infinity on a length mismatch or a NaN in a but not b). */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!,
      y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (Number.isNaN(x) !== Number.isNaN(y)) return Infinity;
      continue;
    }
    if (x === y) continue;
    m = Math.max(m, Math.abs(x - y) / (1 + Math.abs(y)));
  }
  return m;
}
