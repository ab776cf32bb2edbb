/**
 * An Ultralytics YOLO detection export, as the CLI explains it (kept free of Node's modules so that the web page reads
 * it as the CLI does): pictures letterboxed as Ultralytics feeds them, detections decoded and listed, detection k
 * explained through its class score at its anchor (`--target k`), the CAM layer the one on the detection's grid.
 */
import { imageToTensor, letterbox, unletterboxBox } from '@gradlens/io';
import type { LetterboxGeometry, RasterImage, RgbImage } from '@gradlens/io';
import { decodeYolo, isYoloMetadata, yoloLayout, yoloLevel, yoloLevelLayer, yoloTarget } from '@gradlens/onnx';
import type { OnnxModel, YoloDetection, YoloLayout } from '@gradlens/onnx';
import { Tensor } from '@gradlens/tensor';
import { CliError } from './args';
import type { ModelOutput } from './model-output';
import type { ResolvedTarget, TargetRequest } from './target-types';

/** What the CLI keeps of a YOLO model: its layout and the input side it letterboxes pictures to. */
export interface YoloModelInfo {
  model: OnnxModel;
  layout: YoloLayout;
  /** The graph's input shape [1, 3, H, W]. */
  inputShape: readonly number[];
  /** The CAM layer of each grid, by stride, once found (finding it runs the model). */
  layerByStride: Map<number, string | null>;
}

/** The YOLO layout of an ONNX model from its metadata and its output's shape, or null; a misfit is a one-line CliError. */
export function yoloInfo(model: OnnxModel, outputShape: readonly number[], file: string): YoloModelInfo | null {
  refuseOtherYoloTasks(model.metadata, file);
  try {
    const layout = yoloLayout(model.metadata, outputShape);
    return layout === null ? null : { model, layout, inputShape: model.inputShape, layerByStride: new Map() };
  } catch (e) {
    throw new CliError(`${file}: ${(e as Error).message}`, 2);
  }
}

/**
 * Refuses in one line Ultralytics' pose, oriented-box and segmentation exports (metadata `task` with `names`): their
 * outputs are no class scores, and no detection target is defined for them here.
 */
export function refuseOtherYoloTasks(metadata: Readonly<Record<string, string>>, file: string): void {
  const task = metadata['task'];
  if (task !== undefined && ['pose', 'obb', 'segment'].includes(task) && metadata['names'] !== undefined)
    throw new CliError(`${file} is an Ultralytics '${task}' model; gradlens explains YOLO detection models (task 'detect')`, 2);
}

/**
 * The side to feed a YOLO export whose height and width are dynamic (`export(dynamic=True)`) when no --size is given:
 * its metadata `imgsz` ('[640, 640]'), the size it was trained and exported at; undefined for a fixed input, another
 * model, or a non-square imgsz.
 */
export function yoloDynamicSide(model: Pick<OnnxModel, 'metadata' | 'declaredInputShape'>): number | undefined {
  const d = model.declaredInputShape;
  if (!isYoloMetadata(model.metadata) || (typeof d[2] === 'number' && typeof d[3] === 'number')) return undefined;
  const m = /^\[\s*(\d+)\s*,\s*(\d+)\s*\]$/.exec(model.metadata['imgsz'] ?? '');
  return m && m[1] === m[2] && Number(m[1]) > 0 ? Number(m[1]) : undefined;
}

/** A picture letterboxed to the model's input: the input [1, 3, H, W] in [0, 1], the picture drawn on, and where the original lies. */
export interface LetterboxedImage {
  input: Tensor;
  picture: RgbImage;
  geometry: LetterboxGeometry;
  /** None: a YOLO detection's box is brought back by `geometry` (Ultralytics' scale_boxes). */
  frame?: undefined;
}

/** Letterboxes `raw` to the model's input as Ultralytics does (grey 114 padding, pixels / 255, no mean or std). */
export function letterboxImage(raw: RasterImage, info: YoloModelInfo): LetterboxedImage {
  const [, , h, w] = info.inputShape as [number, number, number, number];
  const { picture, geometry } = letterbox(raw, w, h);
  const t = imageToTensor(picture);
  return { input: new Tensor(t.data, [1, 3, h, w], 'float32'), picture, geometry };
}

/** A detection in words: `person 0.912, box [12, 30, 80, 95]` (the box in the picture's pixels). */
export function describeYolo(d: YoloDetection, layout: YoloLayout): string {
  const name = layout.names?.[d.cls];
  const cls = name === undefined ? `class ${d.cls}` : `${name} (class ${d.cls})`;
  const box = (d.original ?? d.box).map((v) => Math.round(v)).join(', ');
  return `${cls}, score ${d.score.toFixed(3)}, box [${box}]`;
}

/** The detections in the model's output on a letterboxed picture (Ultralytics' postprocess), boxes also in the picture's pixels. */
export function yoloPictureDetections(info: YoloModelInfo, out: ModelOutput, geometry: LetterboxGeometry): YoloDetection[] {
  return decodeYolo(out.values, info.layout).map((d) => ({ ...d, original: unletterboxBox(d.box, geometry) }));
}

/**
 * The gradient of detection `d`'s target (yoloTarget) with respect to the output (item 0's values, flat): 1 at its
 * class score (v5: the class score at the objectness and the objectness at the class score, a product's gradient).
 */
export function yoloSeed(layout: YoloLayout, out: ModelOutput, d: YoloDetection): Float32Array {
  const seed = new Float32Array(out.values.length);
  if (layout.format === 'v8') seed[(4 + d.cls) * layout.anchors + d.anchor] = 1;
  else {
    const row = d.anchor * (5 + layout.classes);
    seed[row + 4] = out.values[row + 5 + d.cls]!;
    seed[row + 5 + d.cls] = out.values[row + 4]!;
  }
  return seed;
}

/** The detections of a picture, and the explanations a request asks for. */
export interface YoloTargets {
  detections: YoloDetection[];
  targets: ResolvedTarget[];
  /** Per target, the CAM layer on its detection's grid (yoloLevelLayer), or null when none is found. */
  layers: (string | null)[];
}

/**
 * The picture's detections (Ultralytics' postprocess on the model's output) and what `--target` asks: `top1` (the
 * default) detection 0, the best; `k` detection k; `topk:K` detections 0…K−1. No detection, an index beyond them and a
 * sum of several are one-line refusals naming the picture.
 */
export function resolveYoloTargets(
  info: YoloModelInfo,
  req: TargetRequest,
  out: ModelOutput,
  geometry: LetterboxGeometry,
  where: string,
): YoloTargets {
  const { layout } = info;
  const detections = yoloPictureDetections(info, out, geometry);
  if (detections.length === 0)
    throw new CliError(`the model detected nothing in ${where} (no score above 0.25): there is no detection to explain`);
  const count = `${detections.length} ${detections.length === 1 ? 'detection' : 'detections'}`;
  const chosen: number[] = [];
  const pick = (k: number, why: string, suffix: string): ResolvedTarget => (
    chosen.push(k),
    {
      target: undefined,
      fn: yoloTarget(layout, detections[k]!),
      describe: `detection ${k} (${describeYolo(detections[k]!, layout)})${why}`,
      suffix,
    }
  );
  let targets: ResolvedTarget[];
  if (req.kind === 'segmentation') throw new CliError('--target-mask is for segmentation models; give --target k (a detection)', 2);
  if (req.kind === 'top1') targets = [pick(0, ' (the best)', '')];
  else if (req.kind === 'topk') {
    if (req.k > detections.length) throw new CliError(`--target topk:${req.k}: ${where} has only ${count}`, 2);
    targets = detections.slice(0, req.k).map((_, k) => pick(k, '', `_det${k}`));
  } else {
    if (req.classes.length > 1)
      throw new CliError(
        `--target ${req.classes.join(',')}: give one detection (0…${detections.length - 1}); YOLO detections are not summed`,
        2,
      );
    const k = req.classes[0]!;
    if (typeof k !== 'number') throw new CliError(`--target '${k}': give a detection index 0…${detections.length - 1}`, 2);
    if (k >= detections.length) throw new CliError(`--target ${k}: ${where} has only ${count} (0…${detections.length - 1})`, 2);
    targets = [pick(k, '', '')];
  }
  return { detections, targets, layers: chosen.map((k) => yoloGridLayer(info, detections[k]!.anchor)) };
}

/** The CAM layer on the grid of anchor `anchor` (yoloLevelLayer, remembered per grid), or null when none is found. */
export function yoloGridLayer(info: YoloModelInfo, anchor: number): string | null {
  const stride = yoloLevel(info.layout, anchor, info.inputShape)?.stride;
  if (stride === undefined) return null;
  if (!info.layerByStride.has(stride)) info.layerByStride.set(stride, yoloLevelLayer(info.model, info.layout, anchor, info.inputShape));
  return info.layerByStride.get(stride)!;
}

/** The detections as lines for the log: where the picture lies in the input, then `  k: person (class 0), score …`, the first `max`. */
export function listYoloDetections(dets: readonly YoloDetection[], info: YoloModelInfo, g: LetterboxGeometry, max = 20): string {
  const [, , h, w] = info.inputShape as [number, number, number, number];
  const head = `${dets.length} ${dets.length === 1 ? 'detection' : 'detections'} (score > 0.25 after NMS; the ${g.width}×${g.height} picture letterboxed into ${w}×${h}, boxes in its pixels):`;
  const lines = dets.slice(0, max).map((d, k) => `  ${k}: ${describeYolo(d, info.layout)}`);
  if (dets.length > max) lines.push(`  … and ${dets.length - max} more (--target k explains detection k)`);
  return `${[head, ...lines].join('\n')}\n`;
}
