import type { Tensor } from '@gradlens/tensor';
import { add, cat, indexSelect, linear, pad, permute, reshape, scaledDotProductAttention, slice, tensor } from '@gradlens/tensor';
import { Linear } from '../layers/linear';
import { Module } from '../module';

/** torch.roll of `x` by `shift` along `dim`, as two slices joined (so the tape differentiates it). */
export function roll(x: Tensor, shift: number, dim: number): Tensor {
  const n = x.shape[dim]!;
  const s = ((shift % n) + n) % n;
  if (s === 0) return x;
  return cat([slice(x, dim, n - s, n), slice(x, dim, 0, n - s)], dim);
}

/** Python's slice a[start:end] of a length-n axis as [from, to) (negative indices count from the end). */
function pyRange(start: number, end: number | null, n: number): [number, number] {
  const norm = (i: number) => Math.min(n, Math.max(0, i < 0 ? i + n : i));
  return [norm(start), end === null ? n : norm(end)];
}

/**
 * The additive mask of shifted windows, as torchvision builds it: the padded map split into 3 × 3 regions
 * by the window and the shift, each window's token pairs from different regions −100, others 0 → [1, windows, 1, T, T].
 */
function shiftedWindowMask(ph: number, pw: number, win: readonly [number, number], shift: readonly [number, number]): Float32Array {
  const label = new Int32Array(ph * pw);
  let count = 0;
  const hs = [pyRange(0, -win[0], ph), pyRange(-win[0], -shift[0], ph), pyRange(-shift[0], null, ph)];
  const ws = [pyRange(0, -win[1], pw), pyRange(-win[1], -shift[1], pw), pyRange(-shift[1], null, pw)];
  for (const [h0, h1] of hs) {
    for (const [w0, w1] of ws) {
      for (let i = h0; i < h1; i++) for (let j = w0; j < w1; j++) label[i * pw + j] = count;
      count++;
    }
  }
  const nh = ph / win[0],
    nw = pw / win[1],
    t = win[0] * win[1];
  const mask = new Float32Array(nh * nw * t * t);
  for (let wi = 0; wi < nh; wi++) {
    for (let wj = 0; wj < nw; wj++) {
      const base = (wi * nw + wj) * t * t;
      const lab = (p: number) => label[(wi * win[0] + Math.floor(p / win[1])) * pw + wj * win[1] + (p % win[1])]!;
      for (let p = 0; p < t; p++) for (let q = 0; q < t; q++) mask[base + p * t + q] = lab(p) === lab(q) ? 0 : -100;
    }
  }
  return mask;
}

/** Each window token pair's row in the relative position table, as torchvision's relative_position_index [T·T]. */
export function relativePositionIndex(win: readonly [number, number]): Tensor {
  const t = win[0] * win[1];
  const index = new Int32Array(t * t);
  for (let p = 0; p < t; p++) {
    for (let q = 0; q < t; q++) {
      const dh = Math.floor(p / win[1]) - Math.floor(q / win[1]) + win[0] - 1;
      const dw = (p % win[1]) - (q % win[1]) + win[1] - 1;
      index[p * t + q] = dh * (2 * win[1] - 1) + dw;
    }
  }
  return tensor(index, [t * t], 'int32');
}

/**
 * A relative position table [rows, heads] read through `index` (T·T entries) → [heads, T, T], as torchvision's
 * _get_relative_position_bias. A loaded index is copied by value: one made for another window would read the
 * wrong rows, or none, so each entry is checked (`what` and `tableName` name them in the error).
 */
export function gatherRelativeBias(table: Tensor, index: Tensor, t: number, what: string, tableName: string): Tensor {
  const size = table.shape[0]!;
  const bad = index.dataSync().find((i) => !(i >= 0 && i < size));
  if (bad !== undefined)
    throw new Error(`${what} holds ${bad}, outside the ${size} rows of ${tableName} (a state dict for another window size?)`);
  const rows = indexSelect(table, 0, index.rank === 1 ? index : reshape(index, [index.size]));
  return permute(reshape(rows, [t, t, table.shape[1]!]), [2, 0, 1]);
}

/** q, k (each [B, windows, heads, T, d]) as the attention should see them, and the scale of their product. */
export interface ScoreInputs {
  q: Tensor;
  k: Tensor;
  scale: number;
}

/**
 * What Swin's window attentions (torchvision's shifted_window_attention, v1 and v2) share: [N, H, W, C] padded
 * to whole windows, cyclically shifted by −shift (no shift along a side that one window covers), split into
 * windows of T tokens, multi-head attention with a per-head bias [1, 1, heads, T, T] from the subclass and,
 * when shifted, the mask that keeps tokens from different regions apart; `proj`, windows joined, the shift
 * undone, the padding cut → [N, H, W, C]. The attention probabilities are the softmax node under this module's path.
 */
export abstract class WindowAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  abstract readonly relative_position_index: Tensor;
  /** Shifted-window masks by padded size, as host values (a tensor per pass, so nothing outlives the pass). */
  private readonly masks = new Map<string, Float32Array>();

  constructor(
    /** The class name its errors start with. */
    protected readonly kind: string,
    readonly dim: number,
    readonly windowSize: readonly [number, number],
    readonly shiftSize: readonly [number, number],
    readonly numHeads: number,
  ) {
    super();
    if (!Number.isInteger(numHeads) || numHeads < 1 || dim % numHeads !== 0)
      throw new Error(`${kind}: dim ${dim} must be divisible by numHeads ${numHeads}`);
    this.qkv = this.registerModule('qkv', new Linear(dim, 3 * dim, { init: false }));
    this.proj = this.registerModule('proj', new Linear(dim, dim, { init: false }));
  }

  /** The bias every window's scores get: [1, 1, heads, T, T]. */
  protected abstract relativePositionBias(): Tensor;

  /** The bias of q, k or v (part 0, 1, 2) in the qkv projection, or null. */
  protected qkvBias(part: number): Tensor | null {
    const c = this.dim;
    return this.qkv.bias ? slice(this.qkv.bias, 0, part * c, (part + 1) * c) : null;
  }

  /** The queries and keys the scores are taken of, and their scale (d^−½ for dot-product attention). */
  protected abstract scoreInputs(q: Tensor, k: Tensor): ScoreInputs;

  /** `table` [rows, heads] read through relative_position_index → [1, 1, heads, T, T] (relativePositionBias). */
  protected gatherBias(table: Tensor, tableName: string): Tensor {
    const t = this.windowSize[0] * this.windowSize[1];
    const bias = gatherRelativeBias(table, this.relative_position_index, t, `${this.kind}: relative_position_index`, tableName);
    return reshape(bias, [1, 1, this.numHeads, t, t]);
  }

  /** The shifted-window mask of a padded map [1, windows, 1, T, T], its values computed once per size. */
  private mask(ph: number, pw: number, shift: readonly [number, number]): Tensor {
    const key = `${ph},${pw},${shift.join(',')}`;
    let m = this.masks.get(key);
    if (!m) {
      m = shiftedWindowMask(ph, pw, this.windowSize, shift);
      this.masks.set(key, m);
    }
    const t = this.windowSize[0] * this.windowSize[1];
    return tensor(m, [1, m.length / (t * t), 1, t, t]);
  }

  override forward(input: Tensor): Tensor {
    if (input.rank !== 4 || input.shape[3] !== this.dim)
      throw new Error(`${this.kind}: expected channels-last [N, H, W, ${this.dim}], got [${input.shape.join(', ')}]`);
    const [b, h, w, c] = input.shape as [number, number, number, number];
    const [wh, ww] = this.windowSize;
    const x0 = pad(input, [0, 0, 0, (ww - (w % ww)) % ww, 0, (wh - (h % wh)) % wh]);
    const [, ph, pw] = x0.shape as [number, number, number, number];
    // As torchvision: no shift along a side that a single window already covers.
    const shift: [number, number] = [wh >= ph ? 0 : this.shiftSize[0], ww >= pw ? 0 : this.shiftSize[1]];
    const shifted = shift[0] + shift[1] > 0;
    const x1 = shifted ? roll(roll(x0, -shift[0], 1), -shift[1], 2) : x0;
    const nh = ph / wh,
      nw = pw / ww,
      t = wh * ww,
      heads = this.numHeads,
      d = c / heads;
    // [B, nh, wh, nw, ww, C] → [B, nh, nw, wh, ww, C] → [B·windows, T, C]
    const windows = reshape(permute(reshape(x1, [b, nh, wh, nw, ww, c]), [0, 1, 3, 2, 4, 5]), [b * nh * nw, t, c]);
    const part = (i: number) => {
      const wgt = slice(this.qkv.weight, 0, i * c, (i + 1) * c);
      // [B·windows, T, C] → [B, windows, heads, T, d]
      return permute(reshape(linear(windows, wgt, this.qkvBias(i)), [b, nh * nw, t, heads, d]), [0, 1, 3, 2, 4]);
    };
    const bias = this.relativePositionBias();
    const mask = shifted ? add(bias, this.mask(ph, pw, shift)) : bias;
    const { q, k, scale } = this.scoreInputs(part(0), part(1));
    const attended = scaledDotProductAttention(q, k, part(2), { mask, scale });
    const merged = reshape(permute(attended, [0, 1, 3, 2, 4]), [b * nh * nw, t, c]);
    const projected = linear(merged, this.proj.weight, this.proj.bias);
    // [B, nh, nw, wh, ww, C] → [B, nh, wh, nw, ww, C] → [B, pH, pW, C]
    const joined = reshape(permute(reshape(projected, [b, nh, nw, wh, ww, c]), [0, 1, 3, 2, 4, 5]), [b, ph, pw, c]);
    const back = shifted ? roll(roll(joined, shift[0], 1), shift[1], 2) : joined;
    return slice(slice(back, 1, 0, h), 2, 0, w);
  }
}

/**
 * Swin's patch merging input, as torchvision's _patch_merging_pad: [N, H, W, C] padded to even H and W, the
 * four 2×2 neighbours concatenated on channels (x0, x1, x2, x3 as torchvision) → [N, ⌈H/2⌉, ⌈W/2⌉, 4C].
 */
export function mergeNeighbours(input: Tensor, dim: number, kind: string): Tensor {
  if (input.rank !== 4 || input.shape[3] !== dim)
    throw new Error(`${kind}: expected channels-last [N, H, W, ${dim}], got [${input.shape.join(', ')}]`);
  const [, h, w] = input.shape as [number, number, number, number];
  const x = pad(input, [0, 0, 0, w % 2, 0, h % 2]);
  const at = (dh: number, dw: number) => slice(slice(x, 1, dh, undefined, 2), 2, dw, undefined, 2);
  return cat([at(0, 0), at(1, 0), at(0, 1), at(1, 1)], -1);
}
