/**
 * The page's Web Worker: holds the model, the input and a recorded tape, and runs every method, so the
 * page stays responsive. Cancelling a many-pass method terminates this worker (the page starts a new one).
 */
import { preprocessFrame, preprocessImageNet } from '@gradlens/io';
import type { RgbImage } from '@gradlens/io';
import { awaitReads } from '@gradlens/backend-gpujs';
import { imageToInput, inputProbeShape } from '@gradlens/nn';
import { abs, getBackendInfo, keep, mul, record, relu, sum, setBackend, tensor, tidy, zeros } from '@gradlens/tensor';
import type { Tape, Tensor } from '@gradlens/tensor';
import { DEFAULT_BUDGET, METHODS } from '../../../cli/src/methods';
import { modelOutput } from '../../../cli/src/model-output';
import type { ModelOutput } from '../../../cli/src/model-output';
import type { ResolvedTarget } from '../../../cli/src/target-types';
import type { MethodMaps } from '../../../cli/src/methods';
import type { BackendChoice, FloatArray, Reply, Request, RuleChoice, Timing } from '../protocol';
import { mapSeed, mapTarget, predict, yoloPrediction } from './listing';
import { describeYolo, letterboxImage, yoloPictureDetections, yoloSeed } from '../../../cli/src/yolo';
import { yoloTarget } from '@gradlens/onnx';
import type { YoloDetection } from '@gradlens/onnx';
import { loadPageModel } from './model';
import { pageMethods } from './page-methods';
import type { PageModel } from './model';
import { describeTape, ruleOverrides, usesLrp } from './tape-rules';

interface Recorded {
  tape: Tape;
  output: Tensor;
  target: number;
  /** On a segmentation map: the target's gradient with respect to the output (mapSeed); null: one-hot on `target`. */
  seed: Float32Array | null;
}

let current: PageModel | null = null;
let input: Tensor | null = null;
/** The model's output on the current picture (item 0): a segmentation map's targets are read from it. */
let pictureOutput: ModelOutput | null = null;
let recorded: Recorded | null = null;
/** A YOLO model's detections on the current picture (the CLI's reading), else null. */
let pictureDetections: YoloDetection[] | null = null;
/** The backend selected by the page (the probes switch backends and come back to this one). */
let selected: { backend: string; options: Record<string, string> } = { backend: 'cpu', options: {} };

const post = (r: Reply, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(r, transfer);

/** The active backend as the page names it (backend, mode, GEMM engine). */
function backendLabel(info: Record<string, string>): string {
  return [
    info.backend,
    info.mode,
    info.float32Gemm ? `gemm ${info.float32Gemm}` : undefined,
    info.threads ? `${info.threads} thread${info.threads === '1' ? '' : 's'}` : undefined,
  ]
    .filter((s) => s !== undefined && s !== '')
    .join(' · ');
}

/**
 * Starts a fresh record of the ops that run on the CPU instead of the selected backend: the registry
 * keeps it from one backend selection to the next, so selecting the CPU and then the backend again
 * (both cached instances: nothing is rebuilt) makes getBackendInfo() speak of the next step alone.
 */
function freshCpuRecord(): void {
  if (selected.backend === 'cpu') return;
  setBackend('cpu');
  setBackend(selected.backend, selected.options);
}

/**
 * Runs `fn`, appending how long it took (its results read back included), on which backend, and which of
 * its ops ran on the CPU instead (ops without a device kernel, calls a kernel declined) to `timings`.
 * `fn` may read results synchronously: it runs under `awaitReads`, so on WebGPU, whose results arrive
 * later, it runs again after each read of a pending value (once on the CPU and webgl2); the row says how
 * many runs that took, and how many kernel launches ran and how many a replay took from the previous run.
 */
async function timed<T>(timings: Timing[], step: string, fn: () => T): Promise<T> {
  freshCpuRecord();
  const t0 = performance.now();
  let runs = 0;
  const out = await awaitReads(fn, (k) => (runs = k));
  const ms = performance.now() - t0;
  const info = getBackendInfo();
  const t: Timing = { step, ms, backend: backendLabel(info), ...cpuRecord(info) };
  if (runs > 1) t.runs = runs;
  if (info.kernelLaunches !== undefined) t.launches = Number(info.kernelLaunches);
  if (info.reusedLaunches !== undefined) t.reused = Number(info.reusedLaunches);
  timings.push(t);
  return out;
}

/** The ops of a step that ran on the CPU instead of the selected backend, from getBackendInfo(). */
function cpuRecord(info: Record<string, string>): Pick<Timing, 'cpuOps' | 'cpuFallbacks'> {
  return { ...(info.cpuOps ? { cpuOps: info.cpuOps } : {}), ...(info.cpuFallbacks ? { cpuFallbacks: info.cpuFallbacks } : {}) };
}

const floatArray = (shape: readonly number[], data: ArrayLike<number>): FloatArray => ({
  shape: [...shape],
  data: Float32Array.from(data),
});

function dropTape(): void {
  if (recorded) {
    recorded.tape.dispose();
    recorded.output.dispose();
    recorded = null;
  }
}

/** On a segmentation map (the current picture's output [1, K, H, W]), the target `target` names (mapTarget), else null. */
function pictureTarget(classes: readonly string[], target: number | null): ResolvedTarget | null {
  const yolo = current?.yolo;
  if (yolo && pictureDetections) {
    // a YOLO detection: its class score at its anchor (yoloTarget); mapClass carries its index back to the page
    const k = target ?? 0;
    const d = pictureDetections[k];
    if (!d) throw new Error(`detection ${k} is out of range: the model detected ${pictureDetections.length} on this picture`);
    return {
      target: undefined,
      fn: yoloTarget(yolo.layout, d),
      mapClass: k,
      describe: `detection ${k}: ${describeYolo(d, yolo.layout)}`,
      suffix: '',
    };
  }
  return pictureOutput !== null && pictureOutput.shape.length === 4 ? mapTarget(pictureOutput, target, classes) : null;
}

/** The tape's seed for a target pictureTarget resolved: a map's predicted pixels, a YOLO detection's score; else null (one-hot). */
function pictureSeed(m: PageModel, onMap: ResolvedTarget | null, target: number): Float32Array | null {
  if (!onMap || !pictureOutput) return null;
  if (m.yolo && pictureDetections) return yoloSeed(m.yolo.layout, pictureOutput, pictureDetections[target]!);
  return mapSeed(pictureOutput, target);
}

/** A detection model's picture with no detection has no output to explain: one line instead of an empty target. */
function needDetections(m: PageModel): void {
  if (m.detector && pictureOutput !== null && pictureOutput.values.length === 0)
    throw new Error(`${m.name} detects nothing on this picture: there is no detection score to explain`);
  if (m.yolo && pictureDetections?.length === 0)
    throw new Error(`${m.name} detects nothing on this picture (no score above 0.25): there is no detection to explain`);
}

function need<T>(v: T | null, what: string): T {
  if (v === null) throw new Error(`no ${what} yet: ${what === 'model' ? 'choose a model' : 'choose a picture'} first`);
  return v;
}

/**
 * Whether gpu.js really runs `mode` here: selects it, checks the mode it resolved to and that a kernel's
 * result reads back (asynchronously: WebGPU's way), and goes back to the CPU. Returns null when it runs, else why not.
 */
async function probeGpujs(mode: string): Promise<string | null> {
  try {
    setBackend('gpujs', { mode });
    const info = getBackendInfo();
    if (info.mode !== mode)
      return `in this worker gpu.js would run ${info.mode ?? '?'} instead${info.fallback ? ` (${info.fallback})` : ''}`;
    const x = tensor([-1, 2], [2]);
    const y = relu(x);
    try {
      const v = await y.data();
      if (v[0] !== 0 || v[1] !== 2) return `a ReLU kernel gave [${Array.from(v).join(', ')}] for [-1, 2]`;
    } finally {
      x.dispose();
      y.dispose();
    }
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    setBackend(selected.backend, selected.options);
  }
}

/** The backends offered: the CPU (WebAssembly engine where cross-origin isolation gives shared memory) and gpu.js's browser modes, each probed. */
async function backends(): Promise<BackendChoice[]> {
  const gemm = getBackendInfo().float32Gemm ?? '';
  return [
    { name: 'cpu', label: `CPU (${/wasm/.test(gemm) ? 'WebAssembly' : 'TypeScript'} GEMM)`, unavailable: null },
    { name: 'gpujs', mode: 'webgl2', label: 'gpu.js WebGL2', unavailable: await probeGpujs('webgl2') },
    { name: 'gpujs', mode: 'webgpu', label: 'gpu.js WebGPU', unavailable: await probeGpujs('webgpu') },
  ];
}

/**
 * Inputs per pass of the many-pass methods: on WebGPU each batch's read runs the method again (awaitReads),
 * so fewer, larger batches cost fewer runs there (the maps do not depend on the batch size).
 */
const batchSize = (): number => (selected.options.mode === 'webgpu' ? 64 : DEFAULT_BUDGET.batchSize);

async function handle(req: Request): Promise<void> {
  const timings: Timing[] = [];
  switch (req.type) {
    case 'backend': {
      const options: Record<string, string> = req.mode ? { mode: req.mode } : {};
      await timed(timings, `backend ${req.backend}${req.mode ? ` ${req.mode}` : ''}`, () => setBackend(req.backend, options));
      selected = { backend: req.backend, options };
      dropTape();
      post({ type: 'done', id: req.id, timings, info: getBackendInfo() });
      return;
    }
    case 'load-model': {
      dropTape();
      input?.dispose();
      input = null;
      pictureOutput = null;
      pictureDetections = null;
      const loaded = await timed(timings, 'load model', () => loadPageModel(req.source));
      current = loaded;
      const applicable = await timed(timings, 'methods that apply', () =>
        pageMethods(METHODS, loaded.model, inputProbeShape(loaded.input), loaded.defaultLayer),
      );
      post({
        type: 'model',
        id: req.id,
        name: current.name,
        classes: current.classes,
        input: current.fed,
        layers: current.layers,
        defaultLayer: current.defaultLayer,
        detection: current.detector !== undefined || current.yolo !== undefined,
        methods: applicable.map((m) => ({
          name: m.name,
          title: m.title,
          kind: m.kind,
          manyPasses: m.manyPasses,
          usesLayer: m.usesLayer,
          summary: m.summary,
        })),
        timings,
      });
      return;
    }
    case 'image': {
      const m = need(current, 'model');
      dropTape();
      input?.dispose();
      const image: RgbImage = { width: req.width, height: req.height, channels: 3, bitDepth: 8, data: req.rgb };
      // a YOLO model sees the picture letterboxed, as Ultralytics feeds it (and as the CLI does)
      const boxed = m.yolo ? letterboxImage(image, m.yolo) : null;
      input = await timed(timings, 'preprocess', () => keep(boxed ? boxed.input : imageToInput(image, m.input)));
      const x = input;
      const out = await timed(timings, 'forward', () => modelOutput(m.model, x));
      pictureOutput = out;
      pictureDetections = m.yolo && boxed ? yoloPictureDetections(m.yolo, out, boxed.geometry) : null;
      if (m.yolo && boxed && pictureDetections) {
        // the letterboxed picture the model saw, for the overlays
        const rgb = Uint8Array.from(boxed.picture.data);
        const picture = { width: boxed.picture.width, height: boxed.picture.height, rgb };
        post({ type: 'predictions', id: req.id, ...yoloPrediction(pictureDetections, m.yolo.layout), picture, timings }, [rgb.buffer]);
        return;
      }
      const prediction = predict(out, m.classes, m.detector ?? null, preprocessFrame(image.width, image.height, m.input));
      // the picture as the model sees it (resized and cropped, or whole; not normalised), for the overlays: H × W as the maps
      const seen = preprocessImageNet(image, { ...m.input, normalize: false });
      const [, h, w] = seen.shape as [number, number, number];
      const n = h * w;
      const rgb = new Uint8Array(n * 3);
      for (let c = 0; c < 3; c++) for (let i = 0; i < n; i++) rgb[i * 3 + c] = Math.round(seen.data[c * n + i]! * 255);
      post({ type: 'predictions', id: req.id, ...prediction, picture: { width: w, height: h, rgb }, timings }, [rgb.buffer]);
      return;
    }
    case 'run': {
      const m = need(current, 'model');
      const x = need(input, 'picture');
      const spec = METHODS.find((s) => s.name === req.method);
      if (!spec) throw new Error(`unknown method '${req.method}'`);
      needDetections(m);
      const onMap = pictureTarget(m.classes, req.target);
      const { maps, warnings } = await timed(timings, spec.name, () => {
        const warnings: string[] = []; // each run of awaitReads starts afresh
        const maps: MethodMaps = spec.run({
          model: m.model,
          input: x,
          target: onMap ? undefined : (req.target ?? undefined),
          targetFn: onMap?.fn,
          layer: req.layer,
          reference: false,
          budget: { ...DEFAULT_BUDGET, samples: req.budget.samples, steps: req.budget.steps, batchSize: batchSize() },
          onProgress: (done, total) => post({ type: 'progress', id: req.id, done, total }),
          onWarning: (w) => warnings.push(w),
        });
        return { maps, warnings };
      });
      const raw = floatArray(maps.raw.shape, maps.raw.data);
      const up = maps.upsampled ? floatArray(maps.upsampled.shape, maps.upsampled.data) : null;
      post(
        {
          type: 'result',
          id: req.id,
          method: spec.name,
          kind: maps.kind,
          raw,
          upsampled: up,
          target: onMap?.mapClass ?? maps.target,
          notes: [...(onMap ? [onMap.describe] : []), ...maps.notes, ...warnings],
          timings,
        },
        [raw.data.buffer, ...(up ? [up.data.buffer] : [])],
      );
      return;
    }
    case 'tape': {
      const m = need(current, 'model');
      const x = need(input, 'picture');
      needDetections(m);
      dropTape();
      // recorded outside awaitReads (a replay would record again): nothing here reads a result
      freshCpuRecord();
      const t0 = performance.now();
      const { output, tape } = record(() => m.model.call(x));
      const logits = await output.data();
      const info = getBackendInfo();
      timings.push({ step: 'record forward pass', ms: performance.now() - t0, backend: backendLabel(info), ...cpuRecord(info) });
      const onMap = pictureTarget(m.classes, req.target);
      const target = onMap?.mapClass ?? req.target ?? [...logits.keys()].reduce((a, b) => (logits[b]! > logits[a]! ? b : a), 0);
      recorded = { tape, output, target, seed: pictureSeed(m, onMap, target) };
      post({ type: 'tape', id: req.id, ...describeTape(tape), timings });
      return;
    }
    case 'rules': {
      const x = need(input, 'picture');
      const rec = recorded;
      if (!rec) throw new Error('no recorded tape: record the forward pass first');
      const choices: Record<string, RuleChoice> = req.rules;
      const walk = await timed(timings, `backward walk (${usesLrp(choices) ? 'relevance' : 'gradient'})`, () =>
        tidy(() => {
          // d target / d output: one-hot on class scores, the class's predicted pixels on a segmentation map
          const k = rec.output.shape[1]!;
          const onehot = rec.seed
            ? tensor(rec.seed, rec.output.shape, rec.output.dtype)
            : tensor(
                Float32Array.from({ length: k }, (_, i) => (i === rec.target ? 1 : 0)),
                [1, k],
                rec.output.dtype,
              );
          // LRP puts the target's logit in as relevance (as `lrp` does); gradients start from 1.
          const seed = usesLrp(choices) ? mul(rec.output, onehot) : onehot;
          // the same walk also returns what reached every recorded op's output, so the page can show it op by op
          const outputs = rec.tape.nodes.map((n) => n.output);
          const [g, ...atNodes] = rec.tape.grad(rec.output, [x, ...outputs], {
            rules: ruleOverrides(choices, x, rec.tape),
            gradOutputs: [seed],
          });
          // Σ and Σ|·| of what reached each op (read below, all at once)
          const sums = atNodes.map((t) => (t ? [sum(t), sum(abs(t))] : null));
          return { g: g ?? zeros(x.shape, x.dtype), sums };
        }),
      );
      const gv = await walk.g.data();
      const perNode = await Promise.all(
        walk.sums.map(async (s) =>
          s ? { sum: Number((await s[0]!.data())[0]), abs: Number((await s[1]!.data())[0]) } : { sum: 0, abs: 0 },
        ),
      );
      walk.g.dispose();
      for (const s of walk.sums) s?.forEach((t) => t.dispose());
      const raw = floatArray(walk.g.shape.slice(1), gv);
      post(
        {
          type: 'result',
          id: req.id,
          method: 'tape',
          kind: 'gradient',
          raw,
          upsampled: null,
          target: rec.target,
          notes: [],
          timings,
          perNode,
        },
        [raw.data.buffer],
      );
      return;
    }
  }
}

/**
 * Starts the worker. The kernels use as many threads as the thread host gives (tensor's browser entry
 * installs a Web Worker host; without one, or without cross-origin isolation, they run on this thread).
 */
export function startWorker(): void {
  // one request at a time: a request that waits for WebGPU results must not see another change the model or picture
  let queue: Promise<void> = backends().then((choices) =>
    post({
      type: 'ready',
      backends: choices,
      info: getBackendInfo(),
      isolated: typeof crossOriginIsolated === 'boolean' && crossOriginIsolated,
    }),
  );
  self.onmessage = (e: MessageEvent<Request>) => {
    const req = e.data;
    queue = queue
      .then(() => handle(req))
      .catch((err: unknown) => post({ type: 'error', id: req.id, message: err instanceof Error ? err.message : String(err) }));
  };
}

startWorker();
