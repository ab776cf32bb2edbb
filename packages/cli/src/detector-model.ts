/**
 * `--arch <torchvision detector> --weights <file>`: nn's native Faster R-CNN and RetinaNet as a model of their
 * detections' scores (nn's DetectionScores), fed the whole picture, detection k explained as target k.
 */
import { boxToPicture } from '@gradlens/io';
import type { PictureFrame } from '@gradlens/io';
import { COCO_CATEGORIES, createDetectionModel, DetectionScores, detectionFileOptions, loadWeights, readStateDict } from '@gradlens/nn';
import type { DetectionModelName, DetectionSummary, InputSize } from '@gradlens/nn';
import { setTensorArenaSize, tensorArenaSize } from '@gradlens/tensor';
import { CliError } from './args';
import { describeDetection } from './detections';
import type { LoadedModel, LoadOptions } from './model';
import { weightsError } from './model';
import { showSize } from './size-option';

/** torchvision's GeneralizedRCNNTransform sizes: the shorter side to 800, the longer at most 1333. */
const MIN_SIZE = 800;
const MAX_SIZE = 1333;
/** The tensor arena a detector's pass wants (the most the engine allows). */
const DETECTION_ARENA_BYTES = 3 * 2 ** 30;

/** The CAM layer of each detector: its backbone's last stage (stride 32), as CAM reads a classifier's. */
const CAM_LAYERS: Record<DetectionModelName, string> = {
  fasterrcnn_resnet50_fpn: 'backbone.body.layer4',
  retinanet_resnet50_fpn: 'backbone.body.layer4',
  fasterrcnn_mobilenet_v3_large_fpn: 'backbone.body.16',
  fasterrcnn_mobilenet_v3_large_320_fpn: 'backbone.body.16',
};

/** The shorter side pictures are fed at: `--size N`, else the detector's own (800; the 320 model's 320). */
function shorterSide(name: DetectionModelName, size: InputSize | undefined): number {
  if (size === undefined) return name === 'fasterrcnn_mobilenet_v3_large_320_fpn' ? 320 : MIN_SIZE;
  if (typeof size !== 'number')
    throw new CliError(
      `--size ${showSize(size)}: ${name} resizes each picture itself, keeping its aspect; give --size N for the shorter side (default ${shorterSide(name, undefined)})`,
      2,
    );
  return size;
}

/** torchvision's size rule for pictures whose shorter side is already `side`: keep that scale, cap the longer side. */
function sizes(side: number): { minSize: number; maxSize: number } {
  return { minSize: side, maxSize: Math.max(side, Math.round((side * MAX_SIZE) / MIN_SIZE)) };
}

/** `gradlens layers --arch <detector>`: the untrained detector as a scores model, the side it is fed, its CAM layer. */
export function untrainedDetector(
  name: DetectionModelName,
  size: InputSize | undefined,
): { model: DetectionScores; size: number; defaultLayer: string } {
  const side = shorterSide(name, size);
  const model = new DetectionScores(createDetectionModel(name, { init: false, ...sizes(side) }));
  model.eval();
  return { model, size: side, defaultLayer: CAM_LAYERS[name] };
}

/**
 * A pass at 800 pixels keeps more live than the default 1 GiB tensor arena holds, and the outputs past it run on the
 * calling thread alone (`detect` on 2 cores: 8.4 s against 5.8 s with 3 GiB, benchmarks/detection.js). The arena is
 * reserved when the first float32 kernel runs: widened before that unless GRADLENS_ARENA_MB chose a size; once the
 * engine has started (a library caller's, a test's) it stays as it is, a speed setting only.
 */
function widenArena(): void {
  if (process.env.GRADLENS_ARENA_MB !== undefined || tensorArenaSize() >= DETECTION_ARENA_BYTES) return;
  try {
    setTensorArenaSize(DETECTION_ARENA_BYTES);
  } catch {
    // the engine started already: its arena cannot change
  }
}

/** Loads a torchvision detector with its weights file; the class count comes from the file. */
export function loadDetector(name: DetectionModelName, weights: string, options: LoadOptions): LoadedModel {
  widenArena();
  const side = shorterSide(name, options.size);
  let dict: ReturnType<typeof readStateDict>;
  try {
    dict = readStateDict(weights);
  } catch (e) {
    throw new CliError(`cannot read weights ${weights}: ${(e as Error).message}`);
  }
  const fromFile = detectionFileOptions(name, dict, weights);
  const numClasses = options.numClasses ?? fromFile.numClasses;
  const detector = createDetectionModel(name, {
    init: false,
    ...fromFile,
    ...(numClasses === undefined ? {} : { numClasses }),
    // the picture arrives with its shorter side at `side`: the detector keeps that scale
    ...sizes(side),
  });
  const model = new DetectionScores(detector);
  const layer = CAM_LAYERS[name];
  options.beforeWeights?.(model, layer, null);
  try {
    loadWeights(detector, weights, { strict: options.strict, read: dict });
  } catch (e) {
    throw weightsError(e);
  }
  model.eval();
  const coco = (numClasses ?? 91) === 91;
  // `detection: label 1 (person), score 0.912, box [12, 30, 80, 95]`, the box in the original picture's pixels
  const named = (d: DetectionSummary, frame: PictureFrame | undefined): string => {
    const label = coco && COCO_CATEGORIES[d.label] !== undefined ? `${d.label} (${COCO_CATEGORIES[d.label]})` : String(d.label);
    const box = frame ? boxToPicture(d.box, frame) : d.box;
    return `detection: label ${label}, ${describeDetection({ label: null, score: d.score, box })}`;
  };
  return {
    model,
    name,
    bundled: false,
    card: null,
    size: side,
    shorterSide: side,
    crop: false,
    // the detector normalises inside (GeneralizedRCNNTransform, ImageNet's mean and std): pictures in [0, 1]
    mean: [0, 0, 0],
    std: [1, 1, 1],
    classes: null,
    defaultLayer: layer,
    weights,
    ...(fromFile.frozenBatchNormEps === 0
      ? { inputNote: `${name}: torchvision's published COCO weights, run with eps 0 in every frozen batch norm as torchvision does` }
      : {}),
    outputNames: (frame?: PictureFrame) => model.lastDetections.map((d) => named(d, frame)),
  };
}
