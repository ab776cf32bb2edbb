// torchvision's AnchorGenerator (models/detection/anchor_utils.py): per feature map, cell anchors centred on 0
// (one per size × aspect ratio, rounded), shifted to every grid position by the map's stride in the padded image.

const f = Math.fround;

/** Round half to even, as torch.round. */
const roundHalfEven = (v: number): number => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));

/** torchvision's AnchorGenerator: `sizes[l]` and `aspectRatios[l]` for feature map l. */
export class AnchorGenerator {
  /** Per level: the cell anchors [A, 4] flat, ratio-major as generate_anchors. */
  readonly cellAnchors: Float32Array[];

  constructor(
    readonly sizes: readonly (readonly number[])[],
    readonly aspectRatios: readonly (readonly number[])[],
  ) {
    if (sizes.length !== aspectRatios.length)
      throw new Error(`AnchorGenerator: ${sizes.length} levels of sizes but ${aspectRatios.length} of aspect ratios`);
    this.cellAnchors = sizes.map((scales, l) => {
      const out: number[] = [];
      for (const ar of aspectRatios[l]!) {
        const h = f(Math.sqrt(f(ar)));
        const w = f(1 / h);
        for (const s of scales) {
          const ws = f(w * s);
          const hs = f(h * s);
          out.push(...[-ws, -hs, ws, hs].map((v) => roundHalfEven(f(v / 2))));
        }
      }
      return Float32Array.from(out);
    });
  }

  /** Anchors per location of each level (torchvision's num_anchors_per_location). */
  numAnchorsPerLocation(): number[] {
    return this.sizes.map((s, l) => s.length * this.aspectRatios[l]!.length);
  }

  /**
   * The anchors of every level for a padded batch of size `imageSize` [H, W] and maps of sizes `gridSizes`: per
   * level [h·w·A, 4] flat, position-major (row, column, anchor), as grid_anchors.
   */
  anchors(imageSize: readonly [number, number], gridSizes: readonly (readonly [number, number])[]): Float32Array[] {
    if (gridSizes.length !== this.cellAnchors.length)
      throw new Error(`AnchorGenerator: ${gridSizes.length} feature maps for ${this.cellAnchors.length} levels of anchors`);
    return gridSizes.map(([gh, gw], l) => {
      const base = this.cellAnchors[l]!;
      const a = base.length / 4;
      const sy = Math.floor(imageSize[0] / gh);
      const sx = Math.floor(imageSize[1] / gw);
      const out = new Float32Array(gh * gw * a * 4);
      let o = 0;
      for (let y = 0; y < gh; y++)
        for (let x = 0; x < gw; x++)
          for (let k = 0; k < a; k++) {
            out[o++] = x * sx + base[4 * k]!;
            out[o++] = y * sy + base[4 * k + 1]!;
            out[o++] = x * sx + base[4 * k + 2]!;
            out[o++] = y * sy + base[4 * k + 3]!;
          }
      return out;
    });
  }
}
