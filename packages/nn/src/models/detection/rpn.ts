import type { Tensor } from '@gradlens/tensor';
import { withScope } from '@gradlens/tensor';
import { ReLU } from '../../layers/activation';
import { Sequential } from '../../layers/container';
import { Conv2d } from '../../layers/conv';
import { Module } from '../../module';
import type { InitOptions } from '../../init';
import { constant_, normal_ } from '../../init';
import type { AnchorGenerator } from './anchors';
import { batchedNms, BoxCoder, clipBoxes, largeEnough, pick } from './boxes';

const f = Math.fround;

function rpnConv(inChannels: number, outChannels: number, kernel: number, o: InitOptions): Conv2d {
  const conv = new Conv2d(inChannels, outChannels, kernel, { padding: (kernel - 1) >> 1, init: false });
  // torchvision's RPNHead init: normal_(std=0.01), bias 0
  if (o.init !== false) {
    normal_(conv.weight, 0, 0.01, o.generator);
    if (conv.bias) constant_(conv.bias, 0);
  }
  return conv;
}

/**
 * torchvision's RPNHead: `conv` (convDepth × [3×3 conv with bias, ReLU], each a Conv2dNormActivation with no norm),
 * then `cls_logits` (1×1, one objectness logit per anchor) and `bbox_pred` (1×1, four deltas per anchor).
 */
export class RPNHead extends Module {
  readonly conv: Sequential;
  readonly clsLogits: Conv2d;
  readonly bboxPred: Conv2d;

  constructor(inChannels: number, numAnchors: number, convDepth = 1, o: InitOptions = {}) {
    super();
    const convs = Array.from({ length: convDepth }, () => new Sequential(rpnConv(inChannels, inChannels, 3, o), new ReLU()));
    this.conv = this.registerModule('conv', new Sequential(...convs));
    this.clsLogits = this.registerModule('cls_logits', rpnConv(inChannels, numAnchors, 1, o));
    this.bboxPred = this.registerModule('bbox_pred', rpnConv(inChannels, numAnchors * 4, 1, o));
  }

  /** Objectness [N, A, h, w] and deltas [N, 4A, h, w] of one level; run it inside the head's scope. */
  run(feature: Tensor): { logits: Tensor; deltas: Tensor } {
    const t = this.conv.call(feature);
    return { logits: this.clsLogits.call(t), deltas: this.bboxPred.call(t) };
  }

  override forward(): Tensor {
    throw new Error('RPNHead: returns objectness and deltas; use run(feature)');
  }
}

/** The region proposal settings of torchvision's RegionProposalNetwork at test time. */
export interface RpnSettings {
  preNmsTopN: number;
  postNmsTopN: number;
  nmsThresh: number;
  scoreThresh: number;
}

/** The top k indices of values[from, to) by value, highest first (torch.topk's sorted order; ties to the lower). */
function topK(values: Float32Array, from: number, to: number, k: number): number[] {
  const idx = Array.from({ length: to - from }, (_, i) => from + i);
  idx.sort((a, b) => values[b]! - values[a]! || a - b);
  return idx.slice(0, k);
}

/**
 * torchvision's RegionProposalNetwork at test time, after its head: anchors, proposals decoded from the deltas
 * (BoxCoder weights 1, 1, 1, 1; the deltas detached), per level the preNmsTopN best objectness logits, sigmoid,
 * clipped to the image, boxes under 1e-3 dropped, scores under scoreThresh dropped, NMS per level, the first
 * postNmsTopN. Returns per image its proposals [K, 4] flat (numbers: no gradient, as torchvision detaches them).
 */
export function proposeRegions(
  heads: readonly { logits: Tensor; deltas: Tensor }[],
  anchorGenerator: AnchorGenerator,
  paddedSize: readonly [number, number],
  imageSizes: readonly (readonly [number, number])[],
  s: RpnSettings,
): Float32Array[] {
  const coder = new BoxCoder([1, 1, 1, 1]);
  const grids = heads.map(({ logits }) => [logits.shape[2]!, logits.shape[3]!] as [number, number]);
  const anchors = anchorGenerator.anchors(paddedSize, grids);
  const n = imageSizes.length;
  // Per image, all levels concatenated in (row, column, anchor) order: objectness [M] and deltas [M, 4].
  const perLevel = heads.map(({ logits, deltas }) => {
    const [, a, h, w] = logits.shape as [number, number, number, number];
    if (deltas.shape[1] !== 4 * a) throw new Error(`RPN: ${deltas.shape[1]} delta channels for ${a} anchors per position`);
    const lv = logits.values();
    const dv = deltas.values();
    const m = h * w * a;
    const obj = Array.from({ length: n }, () => new Float32Array(m));
    const del = Array.from({ length: n }, () => new Float32Array(4 * m));
    for (let b = 0; b < n; b++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          for (let k = 0; k < a; k++) {
            const at = (y * w + x) * a + k;
            obj[b]![at] = lv[((b * a + k) * h + y) * w + x]!;
            for (let c = 0; c < 4; c++) del[b]![4 * at + c] = dv[((b * 4 * a + 4 * k + c) * h + y) * w + x]!;
          }
    return { obj, del, m };
  });
  return imageSizes.map((size, b) => {
    const boxes: number[] = [];
    const scores: number[] = [];
    const levels: number[] = [];
    perLevel.forEach(({ obj, del, m }, l) => {
      const top = topK(obj[b]!, 0, m, Math.min(s.preNmsTopN, m));
      const decoded = coder.decode(pick(del[b]!, top, 4), pick(anchors[l]!, top, 4));
      boxes.push(...decoded);
      for (const i of top) scores.push(f(1 / (1 + Math.exp(-obj[b]![i]!))));
      for (let i = 0; i < top.length; i++) levels.push(l);
    });
    let box = clipBoxes(Float32Array.from(boxes), size);
    let keep = largeEnough(box, 1e-3).filter((i) => scores[i]! >= s.scoreThresh);
    box = pick(box, keep, 4);
    const score = pick(scores, keep);
    const level = keep.map((i) => levels[i]!);
    keep = batchedNms(box, score, level, s.nmsThresh).slice(0, s.postNmsTopN);
    return pick(box, keep, 4);
  });
}

/** The RPN's head and anchors under torchvision's names: `rpn.head.*` (the anchor generator holds no weights). */
export class RegionProposalNetwork extends Module {
  readonly head: RPNHead;

  constructor(
    readonly anchorGenerator: AnchorGenerator,
    head: RPNHead,
    readonly settings: RpnSettings,
  ) {
    super();
    this.head = this.registerModule('head', head);
  }

  /** Proposals per image [K, 4] flat from the pyramid's maps; run it inside the RPN's scope. */
  run(
    features: readonly Tensor[],
    paddedSize: readonly [number, number],
    imageSizes: readonly (readonly [number, number])[],
  ): Float32Array[] {
    const heads = withScope('head', () => features.map((x) => this.head.run(x)));
    return proposeRegions(heads, this.anchorGenerator, paddedSize, imageSizes, this.settings);
  }

  override forward(): Tensor {
    throw new Error('RegionProposalNetwork: takes the pyramid’s maps; use run(features, paddedSize, imageSizes)');
  }
}
