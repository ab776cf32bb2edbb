/** Messages between the page and its worker (structured-cloned; typed arrays are transferred where noted). */

/** A plain float array with its shape. */
export interface FloatArray {
  shape: number[];
  data: Float32Array;
}

/** Where a model comes from. */
export type ModelSource =
  /** A bundled model: its safetensors bytes and card (from data.js). */
  | { kind: 'bundled'; name: string; weights: Uint8Array; card: BundledCard }
  /**
   * A user's file: safetensors or .pth for `arch`, or an ONNX graph (arch ignored); size as the CLI's --size (`224`, or
   * `320x480` height × width), '' for the architecture's own (its torchvision transform; the ONNX graph's own input,
   * 224 when dynamic); numClasses 0: the weights file's own.
   */
  | { kind: 'file'; fileName: string; bytes: Uint8Array; arch: string; size: string; numClasses: number };

/** The bundled model card fields the page uses. */
export interface BundledCard {
  name: string;
  architecture: string;
  classes: string[];
  inputSize: [number, number, number];
  normalization: { mean: [number, number, number]; std: [number, number, number] };
  testAccuracy?: number;
}

/** The tape's rule choices per op type: the project's swappable backward rules. */
export const RULE_CHOICES = ['vanilla', 'guided', 'deconvnet', 'lrp-epsilon', 'lrp-gamma', 'zero'] as const;
export type RuleChoice = (typeof RULE_CHOICES)[number];

/** Page → worker. */
export type Request =
  | { type: 'backend'; id: number; backend: string; mode?: string }
  | { type: 'load-model'; id: number; source: ModelSource }
  | { type: 'image'; id: number; width: number; height: number; rgb: Uint8Array }
  | { type: 'run'; id: number; method: string; target: number | null; layer: string; budget: { samples: number; steps: number } }
  | { type: 'tape'; id: number; target: number | null }
  | { type: 'rules'; id: number; rules: Record<string, RuleChoice> };

/** One recorded op of the tape, for display. */
export interface TapeRow {
  index: number;
  op: string;
  scope: string;
  inputs: number[][];
  output: number[];
}

/** How long one step took, and where; on a GPU backend, which ops of the step ran on the CPU instead. */
export interface Timing {
  step: string;
  ms: number;
  backend: string;
  /** ops the backend has no kernel for (getBackendInfo().cpuOps of this step alone) */
  cpuOps?: string;
  /** calls a device kernel declined, with why (getBackendInfo().cpuFallbacks of this step alone) */
  cpuFallbacks?: string;
  /** how many times the step ran, where more than once: on WebGPU once more per synchronous read of a result still on its way (awaitReads) */
  runs?: number;
  /** gpu.js kernels the step ran on the device, and launches its replays took from the previous run instead (WebGPU) */
  launches?: number;
  reused?: number;
}

/** Worker → page. */
export type Reply =
  | { type: 'ready'; backends: BackendChoice[]; info: Record<string, string>; isolated: boolean }
  | { type: 'done'; id: number; timings: Timing[]; info?: Record<string, string> }
  | {
      type: 'model';
      id: number;
      name: string;
      classes: string[];
      /** what the model is fed: `224×224`, `320×480`, or `the whole picture, shorter side 520` */
      input: string;
      layers: LayerRow[];
      defaultLayer: string;
      /** a detection model: its output is its detections' scores, listed per picture */
      detection: boolean;
      methods: MethodRow[];
      timings: Timing[];
    }
  | {
      type: 'predictions';
      id: number;
      /** what the rows are: a classifier's top-5 classes, a segmentation model's classes by pixels, a detection model's detections */
      listing: Listing;
      top: PredictionRow[];
      /** the targets the picker offers (a class, a detection), and what its default (`null`: the top one) explains */
      targets: { index: number; label: string }[];
      defaultTarget: string;
      picture: { width: number; height: number; rgb: Uint8Array };
      timings: Timing[];
    }
  | { type: 'progress'; id: number; done: number; total: number }
  | {
      type: 'result';
      id: number;
      method: string;
      kind: 'gradient' | 'cam' | 'occlusion';
      raw: FloatArray;
      upsampled: FloatArray | null;
      target: number | null;
      notes: string[];
      timings: Timing[];
      perNode?: { sum: number; abs: number }[];
    }
  | {
      type: 'tape';
      id: number;
      rows: TapeRow[];
      opTypes: { op: string; choices: RuleChoice[] }[];
      /** why the guided and deconvnet presets do not apply to this model (a transformer), or null */
      reluRules: string | null;
      timings: Timing[];
    }
  | { type: 'error'; id: number; message: string };

/** What a picture's prediction lists (the model's output decides). */
export type Listing = 'classes' | 'pixels' | 'detections';

/**
 * One row of the prediction, `index` the target it stands for: a class (`probability` its softmax, `logit`); a
 * segmentation class (`share` of the output's pixels predicted as it, `pixels` their count); a detection (its
 * `label`, `score` and `box` [x1, y1, x2, y2] in the input's pixels).
 */
export type PredictionRow =
  | { kind: 'class'; index: number; name: string; probability: number; logit: number }
  | { kind: 'pixels'; index: number; name: string; share: number; pixels: number }
  | { kind: 'detection'; index: number; name: string; label: number | null; score: number; box: number[] | null };

/** A backend the page can offer, and why not when it cannot. */
export interface BackendChoice {
  name: string;
  mode?: string;
  label: string;
  unavailable: string | null;
}

/** A layer of the loaded model (what the layer picker lists). */
export interface LayerRow {
  path: string;
  type: string;
  shape: number[] | null;
  /** whether the CAM methods can use it: [N, C, h, w], or a ViT's [N, 1 + h·w, C] tokens */
  cam: boolean;
}

/** A method the loaded model can run. */
export interface MethodRow {
  name: string;
  title: string;
  kind: 'gradient' | 'cam' | 'occlusion';
  manyPasses: boolean;
  usesLayer: boolean;
  summary: string;
}
