/**
 * What PIL's JPEG decoder (libjpeg-turbo) does between the component planes and the RGB pixels, redone on the
 * planes jpeg-js decodes: "fancy" upsampling of subsampled components (jdsample.c: a triangle filter, 3/4 of the
 * nearer sample and 1/4 of the next) and the fixed-point YCbCr → RGB conversion (jdcolor.c). jpeg-js repeats each
 * subsampled sample and converts in floating point, which put its 4:2:0 pictures up to ~100 levels from PIL's
 * along colour edges and about 10 levels off on average in a textured photo.
 */

/** A component's sampling factors, as the frame header gives them (1–4 each way). */
export interface ComponentSampling {
  h: number;
  v: number;
}

/** libjpeg's whole-number upsampling ratios (largest factor ÷ the component's), or null where one is fractional. */
export function upsamplingRatios(sampling: readonly ComponentSampling[]): { hf: number; vf: number }[] | null {
  const maxH = Math.max(...sampling.map((s) => s.h));
  const maxV = Math.max(...sampling.map((s) => s.v));
  const ratios = sampling.map((s) => ({ hf: maxH / s.h, vf: maxV / s.v }));
  return ratios.every((r) => Number.isInteger(r.hf) && Number.isInteger(r.vf)) ? ratios : null;
}

/**
 * Whether jpeg-js's repeated samples give back each component's own plane exactly: ratios of 1, 2 or 4, where its
 * floating-point sample position x·(1/ratio) is exact (a ratio of 3 is not, and libjpeg only repeats those anyway).
 */
export function planesRecoverable(sampling: readonly ComponentSampling[]): boolean {
  const ratios = upsamplingRatios(sampling);
  const exact = (f: number): boolean => f === 1 || f === 2 || f === 4;
  return ratios !== null && ratios.every((r) => exact(r.hf) && exact(r.vf));
}

/**
 * Rewrites `data` (width × height × 3, interleaved, each component as jpeg-js repeated it with its colour transform
 * off) into the pixels libjpeg gives: subsampled components upsampled again as jdsample.c does, then converted
 * from YCbCr to RGB by jdcolor.c's tables when `ycc`. Needs `planesRecoverable(sampling)`.
 */
export function toLibjpegPixels(
  data: Uint8Array,
  width: number,
  height: number,
  sampling: readonly ComponentSampling[],
  ycc: boolean,
): void {
  const ratios = upsamplingRatios(sampling);
  if (ratios === null || ratios.length !== 3 || !planesRecoverable(sampling))
    throw new Error(`toLibjpegPixels: needs 3 components at ratios of 1, 2 or 4, got ${JSON.stringify(sampling)}`);
  const uppers = ratios.map((r, c) => (r.hf === 1 && r.vf === 1 ? null : new PlaneUpsampler(data, width, height, c, r.hf, r.vf)));
  const rows = uppers.map(() => new Uint8Array(width + 4)); // + 4: the last output pair of a plane may pass the width
  const convert = ycc ? yccTables() : null;
  const [r0, r1, r2] = rows as [Uint8Array, Uint8Array, Uint8Array];
  for (let y = 0; y < height; y++) {
    const at = y * width * 3;
    for (let c = 0; c < 3; c++) {
      const u = uppers[c];
      const row = rows[c]!;
      if (u) u.row(y, row);
      else for (let x = 0, i = at + c; x < width; x++, i += 3) row[x] = data[i]!;
    }
    if (convert === null) {
      for (let x = 0, i = at; x < width; x++, i += 3) {
        data[i] = r0[x]!;
        data[i + 1] = r1[x]!;
        data[i + 2] = r2[x]!;
      }
      continue;
    }
    const { crR, cbG, crG, cbB } = convert;
    for (let x = 0, i = at; x < width; x++, i += 3) {
      const lum = r0[x]!,
        cb = r1[x]!,
        cr = r2[x]!;
      data[i] = clamp8(lum + crR[cr]!);
      data[i + 1] = clamp8(lum + ((cbG[cb]! + crG[cr]!) >> 16));
      data[i + 2] = clamp8(lum + cbB[cb]!);
    }
  }
}

/** One subsampled component: its own plane (downsampled_width × downsampled_height), upsampled a row at a time. */
class PlaneUpsampler {
  private readonly plane: Uint8Array;
  private readonly dw: number;
  private readonly dh: number;
  private readonly sums: Int32Array;

  constructor(
    data: Uint8Array,
    width: number,
    height: number,
    channel: number,
    private readonly hf: number,
    private readonly vf: number,
  ) {
    this.dw = Math.ceil(width / hf);
    this.dh = Math.ceil(height / vf);
    this.plane = new Uint8Array(this.dw * this.dh);
    for (let i = 0; i < this.dh; i++)
      for (let j = 0; j < this.dw; j++) this.plane[i * this.dw + j] = data[(i * vf * width + j * hf) * 3 + channel]!;
    this.sums = new Int32Array(this.dw);
  }

  /**
   * Output row y into `out` (at least 2·dw long where the ratio is 2 across): jdsample.c's h2v1, h1v2 and h2v2 fancy
   * upsamplers (h2v1 and h2v2 only for planes wider than 2 samples, as libjpeg), else plain repetition. Outside the
   * plane libjpeg repeats its edge rows (jdmainct.c's context rows), which the special cases at its edge columns
   * amount to as well.
   */
  row(y: number, out: Uint8Array): void {
    const { plane, dw, dh, hf, vf, sums } = this;
    const h2v1 = hf === 2 && vf === 1 && dw > 2;
    const h1v2 = hf === 1 && vf === 2;
    const h2v2 = hf === 2 && vf === 2 && dw > 2;
    const inRow = Math.floor(y / vf) * dw;
    if (!h2v1 && !h1v2 && !h2v2) {
      for (let x = 0; x < out.length; x++) out[x] = plane[inRow + Math.min(Math.floor(x / hf), dw - 1)]!;
      return;
    }
    if (h1v2 || h2v2) {
      // the nearer row ×3 plus the next nearer: the row above for the upper output row, below for the lower
      const upper = y % 2 === 0;
      const i = Math.floor(y / 2);
      const other = Math.min(Math.max(upper ? i - 1 : i + 1, 0), dh - 1) * dw;
      for (let j = 0; j < dw; j++) sums[j] = 3 * plane[inRow + j]! + plane[other + j]!;
      if (h1v2) {
        const bias = upper ? 1 : 2;
        for (let j = 0; j < dw; j++) out[j] = (sums[j]! + bias) >> 2;
        return;
      }
      // h2v2: the column sums combined across, in sixteenths
      for (let j = 0; j < dw; j++) {
        const here = 3 * sums[j]!;
        out[2 * j] = (here + sums[Math.max(j - 1, 0)]! + 8) >> 4;
        out[2 * j + 1] = (here + sums[Math.min(j + 1, dw - 1)]! + 7) >> 4;
      }
      return;
    }
    // h2v1, with each output row its own input row
    for (let j = 0; j < dw; j++) {
      const here = 3 * plane[inRow + j]!;
      out[2 * j] = (here + plane[inRow + Math.max(j - 1, 0)]! + 1) >> 2;
      out[2 * j + 1] = (here + plane[inRow + Math.min(j + 1, dw - 1)]! + 2) >> 2;
    }
  }
}

interface YccTables {
  crR: Int32Array;
  cbB: Int32Array;
  crG: Int32Array;
  cbG: Int32Array;
}
let tables: YccTables | null = null;

/** jdcolor.c's build_ycc_rgb_table: 16-bit fixed point, rounded once per table entry. */
function yccTables(): YccTables {
  if (tables !== null) return tables;
  const fix = (x: number): number => Math.floor(x * 65536 + 0.5);
  const half = 1 << 15;
  const t: YccTables = { crR: new Int32Array(256), cbB: new Int32Array(256), crG: new Int32Array(256), cbG: new Int32Array(256) };
  for (let i = 0; i < 256; i++) {
    const x = i - 128;
    t.crR[i] = (fix(1.402) * x + half) >> 16;
    t.cbB[i] = (fix(1.772) * x + half) >> 16;
    t.crG[i] = -fix(0.71414) * x;
    t.cbG[i] = -fix(0.34414) * x + half;
  }
  tables = t;
  return t;
}

function clamp8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}
