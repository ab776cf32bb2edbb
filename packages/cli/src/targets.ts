/**
 * What the CLI explains: `--target` (a class index or name, several of them summed, `top1`,
 * `topk:K`) and, for models whose output is a map, `--target-mask` with `--target-class`
 * (pytorch-grad-cam's SemanticSegmentationTarget), or without a mask a class over the pixels predicted as it. Parsed and checked before any weights load;
 * resolved against the model's output on the picture.
 */

import { classSumTarget, indexOfMax, segmentationTarget } from '@gradlens/explain';
import { readImage } from '@gradlens/io';
import type { RasterImage } from '@gradlens/io';
import type { ClassRef, ResolvedTarget, TargetRequest } from './target-types';
import { didYouMean } from '@gradlens/nn';
import * as fs from 'fs';
import { CliError } from './args';
import { resolveMapTargets } from './map-targets';
import type { ModelOutput } from './model-output';

export type { ClassRef, ResolvedTarget, TargetRequest } from './target-types';

function parseClassRef(word: string, option: string, names: readonly string[] | null): ClassRef {
  const w = word.trim();
  if (/^\d+$/.test(w)) {
    const c = Number(w);
    if (names && c >= names.length)
      throw new CliError(`${option} ${c} is out of range: the model has ${names.length} classes (0…${names.length - 1})`, 2);
    return c;
  }
  if (w === '') throw new CliError(`${option} has an empty class in its list`, 2);
  if (!names) throw new CliError(`${option} '${w}' is not a class index; this model's classes have no names, give 0, 1, 2, …`, 2);
  const c = names.findIndex((n) => n.toLowerCase() === w.toLowerCase());
  if (c < 0)
    throw new CliError(
      `${option} '${w}' is not a class${didYouMean(w, names)}; give a class index 0…${names.length - 1} or one of: ${names.join(', ')}`,
      2,
    );
  return c;
}

/** Reads a mask picture: any non-black pixel is inside. A missing or undecodable file is a usage error. */
function readMask(file: string): RasterImage {
  if (!fs.existsSync(file)) throw new CliError(`--target-mask: file not found: ${file}`, 2);
  if (!fs.statSync(file).isFile()) throw new CliError(`--target-mask: not a file: ${file}`, 2);
  try {
    return readImage(file);
  } catch (e) {
    throw new CliError(`--target-mask: cannot read ${file} as a picture: ${(e as Error).message}`, 2);
  }
}

/**
 * Parses `--target`, `--target-mask`, `--target-class` (class names checked against `names` when
 * the model has them); throws CliError(…, 2) naming the problem.
 */
export function parseTargetOptions(
  target: string | undefined,
  mask: string | undefined,
  maskClass: string | undefined,
  names: readonly string[] | null,
): TargetRequest {
  if (mask !== undefined || maskClass !== undefined) {
    if (mask === undefined)
      throw new CliError('--target-class goes with --target-mask mask.png (the pixels whose class logits are summed)', 2);
    if (maskClass === undefined)
      throw new CliError('--target-mask needs --target-class C (the class whose logits are summed over the mask)', 2);
    if (target !== undefined) throw new CliError('give either --target or --target-mask with --target-class, not both', 2);
    return { kind: 'segmentation', cls: parseClassRef(maskClass, '--target-class', names), mask: readMask(mask), maskFile: mask };
  }
  if (target === undefined || target.trim() === 'top1') return { kind: 'top1' };
  const t = target.trim();
  const topk = /^topk:(.*)$/.exec(t);
  if (topk) {
    const k = Number(topk[1]);
    if (!Number.isInteger(k) || k < 1) throw new CliError(`--target ${t}: K must be an integer ≥ 1 (topk:3)`, 2);
    if (names && k > names.length) throw new CliError(`--target ${t}: the model has only ${names.length} classes`, 2);
    return { kind: 'topk', k };
  }
  const classes = t.split(',').map((w) => parseClassRef(w, '--target', names));
  const seen = new Set<ClassRef>();
  for (const c of classes) {
    if (seen.has(c)) throw new CliError(`--target ${t} names class ${c} twice`, 2);
    seen.add(c);
  }
  return { kind: 'classes', classes };
}

export { modelOutput } from './model-output';
export type { ModelOutput } from './model-output';

/** The mask as 0/1 values, row by row: a pixel is inside when any channel is non-zero. */
export function maskValues(mask: RasterImage): Float32Array {
  const n = mask.width * mask.height;
  const out = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < mask.channels; c++) {
      // an alpha channel says nothing about class membership
      if (mask.channels === 4 && c === 3) continue;
      if (mask.channels === 2 && c === 1) continue;
      if (Number(mask.data[p * mask.channels + c]) !== 0) {
        out[p] = 1;
        break;
      }
    }
  }
  return out;
}

function classIndex(ref: ClassRef, k: number, option: string): number {
  // names were resolved to indices when parsed; a name here means the model had no names then
  if (typeof ref === 'string') throw new CliError(`${option} '${ref}' is not a class index; this model's classes have no names`, 2);
  if (ref >= k) throw new CliError(`${option} ${ref} is out of range: the model has ${k} classes (0…${k - 1})`, 2);
  return ref;
}

/** A class index with its name when known: `3 (Dress)`. */
export function classLabel(c: number, names: readonly string[] | null): string {
  const n = names?.[c];
  return n === undefined ? String(c) : `${c} (${n})`;
}

/**
 * The explanations a request asks for, given the model's output on the picture: one for a class,
 * several classes (summed) or a mask; K for topk; on a map output without a mask, classes over the pixels predicted
 * as them (resolveMapTargets). Throws a one-line CliError when the request does not fit the output (a mask of the
 * wrong size, an index out of range, a class no pixel is predicted as).
 */
export function resolveTargets(req: TargetRequest, out: ModelOutput, names: readonly string[] | null): ResolvedTarget[] {
  const shape = out.shape;
  if (req.kind === 'segmentation') {
    if (shape.length !== 4)
      throw new CliError(
        `--target-mask needs a model whose output is a map [N, K, H, W]; this model gives [${shape.join(', ')}] (use --target for class scores)`,
        2,
      );
    const [, k, h, w] = shape as [number, number, number, number];
    const cls = classIndex(req.cls, k, '--target-class');
    if (req.mask.width !== w || req.mask.height !== h) {
      throw new CliError(
        `--target-mask ${req.maskFile} is ${req.mask.width}×${req.mask.height} but the model's output map is ${w}×${h}; give a mask of the output's size`,
        2,
      );
    }
    const values = maskValues(req.mask);
    const inside = values.reduce((a, b) => a + b, 0);
    if (inside === 0)
      throw new CliError(
        `--target-mask ${req.maskFile} has no pixel inside (every pixel is black); mark the region to explain with non-black pixels`,
        2,
      );
    return [
      {
        target: undefined,
        fn: segmentationTarget(values, cls, [h, w]),
        describe: `class ${classLabel(cls, names)} summed over ${req.maskFile} (${inside} pixels)`,
        suffix: '',
      },
    ];
  }
  if (shape.length === 4) return resolveMapTargets(req, out, (c) => classLabel(c, names), classIndex);
  if (shape.length !== 2) {
    throw new CliError(`the model's output has shape [${shape.join(', ')}], neither class scores [N, K] nor a map [N, K, H, W]`, 2);
  }
  const k = shape[1]!;
  const scores = out.values;
  if (req.kind === 'top1') {
    const c = indexOfMax(scores);
    return [{ target: c, describe: `class ${classLabel(c, names)} (the top class)`, suffix: '' }];
  }
  if (req.kind === 'topk') {
    if (req.k > k) throw new CliError(`--target topk:${req.k}: the model has only ${k} classes`, 2);
    const order = Array.from({ length: k }, (_, i) => i)
      .sort((a, b) => scores[b]! - scores[a]! || a - b)
      .slice(0, req.k);
    return order.map((c, i) => ({ target: c, describe: `class ${classLabel(c, names)} (top ${i + 1} of ${req.k})`, suffix: `_class${c}` }));
  }
  const classes = req.classes.map((r) => classIndex(r, k, '--target'));
  if (classes.length === 1) return [{ target: classes[0]!, describe: `class ${classLabel(classes[0]!, names)}`, suffix: '' }];
  return [
    {
      target: undefined,
      fn: classSumTarget(classes),
      describe: `the sum of classes ${classes.map((c) => classLabel(c, names)).join(' + ')}`,
      suffix: '',
    },
  ];
}
