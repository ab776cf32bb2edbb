/** What the CLI explains, as types (kept free of Node's modules: the web page resolves map targets as the CLI does). */
import type { TargetFn } from '@gradlens/explain';
import type { RasterImage } from '@gradlens/io';

/** A class given on the command line: an index, or a name to look up in the model's class names. */
export type ClassRef = number | string;

/** The target a command line asks for. */
export type TargetRequest =
  | { kind: 'top1' }
  | { kind: 'topk'; k: number }
  /** One class, or several whose logits are summed (multi-label). */
  | { kind: 'classes'; classes: ClassRef[] }
  /** Sum of class `cls`'s logits over a mask, for a model whose output is a map [N, K, H, W]. */
  | { kind: 'segmentation'; cls: ClassRef; mask: RasterImage; maskFile: string };

/** One explanation to make: what the methods get as the target, and how to name and describe it. */
export interface ResolvedTarget {
  /** The class index for one class; undefined when `fn` is the target. */
  target: number | undefined;
  /** A function of the model's output (several classes summed, a segmentation mask). */
  fn?: TargetFn;
  /** On a map output without a mask, the class whose predicted pixels `fn` sums (resolveMapTargets). */
  mapClass?: number;
  /** Words for the log: `3 (Dress)`, `classes 3 + 17`, `class 15 over mask.png (812 pixels)`. */
  describe: string;
  /** Appended to the picture's file stem when one picture gets several explanations (topk): `_class3`. */
  suffix: string;
}
