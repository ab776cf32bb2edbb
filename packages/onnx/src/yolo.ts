/**
 * Ultralytics YOLO detection exports (`model.export(format='onnx')`): their output layout read from the file's
 * metadata, the detections as Ultralytics' postprocess gives them (threshold, class-wise NMS), and a target per
 * detection (its class score at its anchor) so that every explain method explains one detection.
 */
import { indexSelect, mul, noGrad, reshape, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { unletterboxBox } from '@gradlens/io';
import type { LetterboxGeometry } from '@gradlens/io';
import { layers } from '@gradlens/nn';
import type { Module } from '@gradlens/nn';
import { classNamesFromMetadata } from './class-names';

/**
 * A YOLO output's layout. `v8` (YOLOv8/v11): [1, 4 + C, A], rows cx, cy, w, h (input pixels) then the C class
 * scores (sigmoid, no objectness). `v5`: [1, A, 5 + C], columns cx, cy, w, h, objectness, class scores (a detection's
 * score is objectness × class score).
 */
export interface YoloLayout {
  format: 'v8' | 'v5';
  classes: number;
  anchors: number;
  /** Class names from the metadata's `names`, or null. */
  names: string[] | null;
  /** The largest stride (metadata `stride`; 32 when absent): the grids are strides 8, 16, … up to it. */
  maxStride: number;
}

/** One detection: its anchor (the output's column, v8, or row, v5), class, score and box [x1, y1, x2, y2]. */
export interface YoloDetection {
  anchor: number;
  cls: number;
  score: number;
  /** In the input's pixels. */
  box: [number, number, number, number];
  /** In the picture's pixels (the letterbox undone), when a geometry was given. */
  original?: [number, number, number, number];
}

/** Ultralytics' postprocess options (non_max_suppression's defaults). */
export interface YoloOptions {
  /** Confidence threshold: detections scoring above it are kept (default 0.25). */
  conf?: number;
  /** Class-wise NMS IoU threshold (default 0.7 for v8, 0.45 for v5, as Ultralytics and YOLOv5 predict). */
  iou?: number;
  /** At most this many detections (default 300). */
  maxDet?: number;
}

/**
 * Whether metadata_props say an Ultralytics detection export: `task` 'detect' (YOLOv8/v11), or no task but `stride`
 * and `names` (YOLOv5). Such a graph takes a fixed batch of one: load it with `itemwise: isYoloMetadata`.
 */
export function isYoloMetadata(metadata: Readonly<Record<string, string>>): boolean {
  const task = metadata['task'];
  return task === 'detect' || (task === undefined && metadata['stride'] !== undefined && metadata['names'] !== undefined);
}

/**
 * The YOLO layout of a graph's output from its metadata_props, or null when the file is not an Ultralytics detection
 * export. `task` 'detect' (YOLOv8/v11) means [1, 4 + C, A]; no `task` but `stride` and `names` (YOLOv5) means
 * [1, A, 5 + C]. The shape alone decides nothing; a `task` 'detect' whose output does not fit is an error naming it.
 */
export function yoloLayout(metadata: Readonly<Record<string, string>>, outputShape: readonly number[]): YoloLayout | null {
  if (!isYoloMetadata(metadata)) return null;
  const v5 = metadata['task'] === undefined;
  const found = metadata['names'] !== undefined ? classNamesFromMetadata({ names: metadata['names'] }) : null;
  const names = found?.names ?? null;
  const shown = `[${outputShape.join(', ')}]`;
  const stride = Number(metadata['stride'] ?? '32');
  const maxStride = Number.isInteger(stride) && stride >= 8 ? stride : 32;
  const [n, a, b] = outputShape as [number, number, number];
  if (v5) {
    // YOLOv5's layout, checked against its class names: anything else with such metadata is not one
    if (outputShape.length !== 3 || n !== 1 || b !== 5 + names!.length) return null;
    return { format: 'v5', classes: b - 5, anchors: a, names, maxStride };
  }
  const c = a - 4;
  if (outputShape.length !== 3 || n !== 1 || c < 1 || (names !== null && c !== names.length))
    throw new Error(
      `the model's metadata says task 'detect' (an Ultralytics YOLO export) but its output is ${shown}, not [1, 4 + ${names?.length ?? 'C'}, anchors]`,
    );
  return { format: 'v8', classes: c, anchors: b, names, maxStride };
}

/**
 * The grid detection `anchor` lies on, for an input [.., .., H, W]: its stride and rows × cols. The anchors run grid
 * by grid (strides 8, 16, … maxStride, Ultralytics' P3…), row by row (YOLOv5: each grid its na anchor shapes in turn).
 * Null when the anchors do not add up to such grids.
 */
export function yoloLevel(
  layout: YoloLayout,
  anchor: number,
  inputShape: readonly number[],
): { stride: number; rows: number; cols: number } | null {
  const [h, w] = [inputShape[inputShape.length - 2]!, inputShape[inputShape.length - 1]!];
  const grids: { stride: number; rows: number; cols: number }[] = [];
  for (let s = 8; s <= layout.maxStride; s *= 2) grids.push({ stride: s, rows: Math.ceil(h / s), cols: Math.ceil(w / s) });
  const cells = grids.reduce((n, g) => n + g.rows * g.cols, 0);
  const per = layout.anchors / cells;
  if (!Number.isInteger(per) || (layout.format === 'v8' && per !== 1)) return null;
  let start = 0;
  for (const g of grids) {
    start += g.rows * g.cols * per;
    if (anchor < start) return g;
  }
  return null;
}

/**
 * The layer a CAM of detection `anchor` reads: the last outermost module whose output is its grid (YOLOv8's
 * model.15 / 18 / 21 before the head, for strides 8 / 16 / 32). A later layer on another grid gets no gradient from
 * the detection (its branch of the head does not read it), so its CAM would be blank. Null when none is found.
 */
export function yoloLevelLayer(model: Module, layout: YoloLayout, anchor: number, inputShape: readonly number[]): string | null {
  const level = yoloLevel(layout, anchor, inputShape);
  if (level === null) return null;
  // the outermost modules with maps: Ultralytics' layers model.0, model.1, … lie one level down, under 'model'
  const maps = layers(model, [...inputShape]).filter((r) => r.outputShape?.length === 4);
  const depth = Math.min(...maps.map((r) => r.depth));
  const rows = maps.filter((r) => r.depth === depth && r.outputShape![2] === level.rows && r.outputShape![3] === level.cols);
  return rows[rows.length - 1]?.path ?? null;
}

/** Intersection over union of two [x1, y1, x2, y2] boxes (0 when both are empty). */
function iou(p: readonly number[], q: readonly number[]): number {
  const w = Math.max(0, Math.min(p[2]!, q[2]!) - Math.max(p[0]!, q[0]!));
  const h = Math.max(0, Math.min(p[3]!, q[3]!) - Math.max(p[1]!, q[1]!));
  const inter = w * h;
  const union = (p[2]! - p[0]!) * (p[3]! - p[1]!) + (q[2]! - q[0]!) * (q[3]! - q[1]!) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * The detections of one output (item 0's values, in the layout's order) as Ultralytics' non_max_suppression gives
 * them, best first: per anchor its best class (the first on ties), kept when its score passes `conf` (v5: its
 * objectness passes first), then greedy class-wise NMS (torchvision.ops.nms over boxes offset per class; here the
 * classes are kept apart directly), at most `maxDet`.
 */
export function decodeYolo(values: ArrayLike<number>, layout: YoloLayout, options: YoloOptions = {}): YoloDetection[] {
  const { format, classes: C, anchors: A } = layout;
  const conf = options.conf ?? 0.25;
  const iouMax = options.iou ?? (format === 'v8' ? 0.7 : 0.45);
  const maxDet = options.maxDet ?? 300;
  const width = format === 'v8' ? 4 + C : 5 + C;
  if (values.length < A * width) throw new Error(`decodeYolo: ${values.length} values, the layout needs ${A * width}`);
  // v8 is [4 + C, A] (value (r, a) at r·A + a), v5 [A, 5 + C] (at a·(5 + C) + r)
  const at =
    format === 'v8'
      ? (a: number, r: number): number => Number(values[r * A + a])
      : (a: number, r: number): number => Number(values[a * width + r]);
  const first = format === 'v8' ? 4 : 5;
  const found: YoloDetection[] = [];
  for (let a = 0; a < A; a++) {
    const obj = format === 'v5' ? at(a, 4) : 1;
    if (format === 'v5' && !(obj > conf)) continue;
    let cls = 0;
    let score = -Infinity;
    for (let c = 0; c < C; c++) {
      // YOLOv5 multiplies in float32, as here
      const s = format === 'v5' ? Math.fround(at(a, first + c) * obj) : at(a, first + c);
      if (s > score) [cls, score] = [c, s];
    }
    if (!(score > conf)) continue;
    const [cx, cy, w, h] = [at(a, 0), at(a, 1), at(a, 2), at(a, 3)];
    found.push({ anchor: a, cls, score, box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2] });
  }
  found.sort((p, q) => q.score - p.score || p.anchor - q.anchor);
  const kept: YoloDetection[] = [];
  for (const d of found.slice(0, 30000)) {
    if (kept.length === maxDet) break;
    if (kept.every((k) => k.cls !== d.cls || iou(k.box, d.box) <= iouMax)) kept.push(d);
  }
  return kept;
}

/**
 * Runs `model` on `input` [1, 3, H, W] (the letterboxed picture in [0, 1]) without recording and returns its
 * detections (decodeYolo); with `geometry` (letterbox's) each also gets its box in the picture's pixels.
 */
export function yoloDetections(
  model: { call(x: Tensor): Tensor },
  input: Tensor,
  layout: YoloLayout,
  options: YoloOptions & { geometry?: LetterboxGeometry } = {},
): YoloDetection[] {
  const values = noGrad(() => {
    const y = model.call(input);
    const v = Float32Array.from(y.dataSync());
    y.dispose();
    return v;
  });
  const dets = decodeYolo(values, layout, options);
  const g = options.geometry;
  return g ? dets.map((d) => ({ ...d, original: unletterboxBox(d.box, g) })) : dets;
}

/**
 * The target of one detection, a function of the model's output [N, …] giving [N]: its class score at its anchor
 * (v5: objectness × class score, the score Ultralytics ranks by). Fixed to the anchor and class, so a perturbed or
 * interpolated input is scored on the same detection (no NMS on the way).
 */
export function yoloTarget(layout: YoloLayout, d: Pick<YoloDetection, 'anchor' | 'cls'>): (output: Tensor) => Tensor {
  if (
    !Number.isInteger(d.anchor) ||
    d.anchor < 0 ||
    d.anchor >= layout.anchors ||
    !Number.isInteger(d.cls) ||
    d.cls < 0 ||
    d.cls >= layout.classes
  )
    throw new Error(`yoloTarget: anchor ${d.anchor} / class ${d.cls} out of range (${layout.anchors} anchors, ${layout.classes} classes)`);
  return (output) => {
    const n = output.shape[0]!;
    const want = layout.format === 'v8' ? [n, 4 + layout.classes, layout.anchors] : [n, layout.anchors, 5 + layout.classes];
    if (output.rank !== 3 || output.shape[1] !== want[1] || output.shape[2] !== want[2])
      throw new Error(`yoloTarget: needs the YOLO output [${want.join(', ')}], got [${output.shape.join(', ')}]`);
    return tidy(() => {
      if (layout.format === 'v8') return reshape(indexSelect(indexSelect(output, 1, [4 + d.cls]), 2, [d.anchor]), [n]);
      const row = indexSelect(output, 1, [d.anchor]);
      return reshape(mul(indexSelect(row, 2, [4]), indexSelect(row, 2, [5 + d.cls])), [n]);
    });
  };
}
