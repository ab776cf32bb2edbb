/** Unpacking of the Array(4) channel blocks that the conv and matmul kernels return. */
import type { KernelThis, Values } from './types';

/** Constants of `unpackBlocks`: a [Z, Y, X] grid of 4-vectors whose z indexes (outer, group, block). */
export interface UnpackConstants {
  [k: string]: number;
  /** channels per group, groups, blocks per group (ceil(CPG/4)) */
  CPG: number;
  G: number;
  B: number;
  /** 1 when the output's x and y are the source's y and x (the weight gradient's [CIG, KH·KW] → [KH·KW, CIG]) */
  SWAP: number;
}

/**
 * Device-side unpack for GL textures: output [X, Y, OUTER·G·CPG] reads component (c mod 4) of the
 * block that holds channel c. Returns one number per cell, so the result is a plain row-major tensor.
 */
export function unpackBlocks(this: KernelThis<UnpackConstants>, t: number[][][][]): number {
  const z = this.thread.z;
  const channelsPerGroup = this.constants.CPG;
  const cAll = this.constants.G * channelsPerGroup;
  const outer = Math.floor(z / cAll);
  const c = z - outer * cAll;
  const g = Math.floor(c / channelsPerGroup);
  const cl = c - g * channelsPerGroup;
  const b = Math.floor(cl / 4);
  const j = cl - b * 4;
  const zb = (outer * this.constants.G + g) * this.constants.B + b;
  let v = t[zb]![this.thread.y]![this.thread.x]!;
  if (this.constants.SWAP === 1) v = t[zb]![this.thread.x]![this.thread.y]!;
  if (j === 0) return v[0]!;
  if (j === 1) return v[1]!;
  if (j === 2) return v[2]!;
  return v[3]!;
}

/**
 * Host-side unpack: `data` holds [OUTER·G·B, Y, X, 4] floats; returns [OUTER, G·CPG, Y, X] row-major
 * ([OUTER, G·CPG, X, Y] with `swap`), dropping the padding channels of each group's last block.
 */
export function unpackBlocksHost(
  data: Values,
  outer: number,
  groups: number,
  channelsPerGroup: number,
  ySize: number,
  xSize: number,
  swap = false,
): Float32Array {
  const blocks = Math.ceil(channelsPerGroup / 4);
  const plane = ySize * xSize;
  const out = new Float32Array(outer * groups * channelsPerGroup * plane);
  let o = 0;
  for (let n = 0; n < outer; n++) {
    for (let g = 0; g < groups; g++) {
      for (let c = 0; c < channelsPerGroup; c++) {
        const base = ((n * groups + g) * blocks + (c >> 2)) * plane * 4 + (c & 3);
        if (!swap) {
          for (let p = 0; p < plane; p++) out[o++] = data[base + p * 4]!;
        } else {
          for (let x = 0; x < xSize; x++) for (let y = 0; y < ySize; y++) out[o++] = data[base + (y * xSize + x) * 4]!;
        }
      }
    }
  }
  return out;
}
