import * as fs from 'fs';
import * as path from 'path';
import { tensor } from '@gradlens/tensor';
import { didYouMean, isSegmentationModel } from '@gradlens/nn';
import { isDetectionModel } from '../unbatched';
import type { Module } from '@gradlens/nn';
import type { Tensor } from '@gradlens/tensor';
import { checkOutputFolder, writeFileAtomic } from '@gradlens/io';
import type { OptionSpec, ParsedOptions } from '../args';
import { CliError, formatHelp, intOption, parseArgs, str } from '../args';
import { prepareValues } from '../image';
import type { LoadedModel } from '../model';
import { checkLayer, loadModelFromOptions, noDefaultLayer } from '../model';
import type { Budget, MethodMaps, MethodSpec } from '../methods';
import { DEFAULT_BUDGET, METHOD_NAMES, parseMethods } from '../methods';
import type { EvaluateOptions, EvaluationSample, EvaluationTable, Explainer, MetricName } from '@gradlens/explain';
import { DEFAULT_METRICS, evaluateMethods, METRIC_NAMES, tableToJSON, toMarkdown } from '@gradlens/explain';
import type { Streams } from '../progress';
import { progressReporter, seconds } from '../progress';
import { mergeParts, PART_FORMAT, partText, parseShard, runHash, sha256, sha256File, shardRange } from '../shards';
import type { PartLine, RunConfig, Shard } from '../shards';
import type { SampleSet } from '../user-samples';
import { readUserData, userSamples } from '../user-samples';
import type { LabelledPicture } from '../samples';
import { datasetInstalled, heldOutPictures, readSamples, resizePicture, samplesDir } from '../samples';
import { BUDGET_OPTIONS, budgetFrom, MODEL_OPTIONS } from './explain';

/** The methods `evaluate` runs by default: every method that can run on the model. */
const DEFAULT_METHODS = 'all';

/** Smaller budgets than `explain`'s for the many-pass methods: they run once per picture. */
export const EVALUATE_BUDGET: Budget = { ...DEFAULT_BUDGET, samples: 16, steps: 16, batchSize: 32 };
/** Points of the deletion/insertion curves (the library's default is 50). */
const EVALUATE_CURVE_STEPS = 20;

const SPECS: Readonly<Record<string, OptionSpec>> = {
  ...MODEL_OPTIONS,
  n: { type: 'string', value: 'N', help: 'held-out pictures to evaluate on', default: '500' },
  images: { type: 'string', value: 'DIR', help: 'score on your own pictures (a folder; needs --boxes) instead of the held-out set' },
  boxes: {
    type: 'string',
    value: 'FILE',
    help: 'boxes of --images: COCO-style JSON, or CSV lines file,x0,y0,x1,y1,class (pixels; class index or name)',
  },
  shard: {
    type: 'string',
    value: 'i/n',
    help: 'score slice i of n (0 ≤ i < n) and write its partial results to --out as JSON lines, for --merge',
  },
  merge: { type: 'string', value: 'PART…', help: 'combine part files of a --shard run (parts/*.jsonl) into the table of one run' },
  out: { type: 'string', value: 'DIR', help: 'folder for evaluation.md and evaluation.json', default: 'gradlens-eval' },
  methods: {
    type: 'string',
    value: 'M[,M…]',
    help: `methods to score (or all): ${METHOD_NAMES.join(', ')}`,
    default: 'all that run on the model',
  },
  metrics: {
    type: 'string',
    value: 'LIST',
    help: `metrics: ${METRIC_NAMES.join(', ')}`,
    default: DEFAULT_METRICS.join(','),
  },
  layer: { type: 'string', value: 'PATH', help: 'module path of the CAM layer', default: "the model's default" },
  target: {
    type: 'string',
    value: 'label|top1',
    help: "explain the true label, or the top-1 class (the CAM paper's protocol)",
    default: 'label',
  },
  'curve-steps': { type: 'string', value: 'N', help: 'steps of the deletion/insertion curves', default: String(EVALUATE_CURVE_STEPS) },
  'randomization-samples': { type: 'string', value: 'N', help: 'pictures the (costly) randomisation test runs on', default: '4' },
  samples: { ...BUDGET_OPTIONS.samples!, default: String(EVALUATE_BUDGET.samples) },
  steps: { ...BUDGET_OPTIONS.steps!, default: String(EVALUATE_BUDGET.steps) },
  window: BUDGET_OPTIONS.window!,
  stride: BUDGET_OPTIONS.stride!,
  'batch-size': { ...BUDGET_OPTIONS['batch-size']!, default: String(EVALUATE_BUDGET.batchSize) },
};

/** Maps already computed, per input tensor and method (with the class they explain), so the metrics reuse them. */
export type MapCache = WeakMap<Tensor, Map<string, { target: number; weights: number; maps: MethodMaps }>>;

/** A cheap fingerprint of a model's weights (the first values of every parameter), to tell randomised weights from trained ones. */
export function weightsFingerprint(model: Module): number {
  let h = 0;
  model.parameters().forEach((p, i) => {
    const v = p.dataSync();
    const n = Math.min(v.length, 32);
    for (let j = 0; j < n; j++) h = (h * 31 + Number(v[j]) * (i + 1) * (j + 1)) % 1e9;
  });
  return h;
}

/** The map the metrics score: CAM maps at the layer's resolution, occlusion's per-pixel map, gradients [3, H, W]. */
export function metricMap(maps: MethodMaps): Tensor {
  const m = maps.kind === 'occlusion' && maps.upsampled ? maps.upsampled : maps.raw;
  return tensor(m.data, m.shape);
}

/**
 * A method as the metrics take it: the CLI method's map for (model, input, class) as a fresh tensor.
 * With a cache, a map computed before for the same input tensor, class and weights is reused (the
 * randomisation test changes the weights, so it never gets a stale map).
 */
export function explainerOf(spec: MethodSpec, layer: string, budget: Budget, onWarning: (m: string) => void, cache?: MapCache): Explainer {
  return (model, input, target) => {
    const hit = cache?.get(input)?.get(spec.name);
    if (hit && hit.target === target && hit.weights === weightsFingerprint(model)) return metricMap(hit.maps);
    return metricMap(spec.run({ model, input, target, layer, reference: false, budget, onWarning }));
  };
}

/** A method left out of an evaluation because it does not apply to the model, and why. */
export interface NotApplicable {
  method: string;
  reason: string;
}

/**
 * The methods of `list` that run on `model` (each method's `applies` check, then one try on `probe`);
 * the others are reported on stderr and returned with their reasons, for the tables to list.
 */
export function runnableMethods(
  list: MethodSpec[],
  loaded: LoadedModel,
  probe: Tensor,
  layer: string,
  budget: Budget,
  streams: Streams,
  explicit: boolean,
): { runnable: MethodSpec[]; notApplicable: NotApplicable[] } {
  const quick: Budget = { ...budget, samples: 2, steps: 2, window: Math.max(2, Math.floor((probe.shape[2] ?? 8) / 2)) };
  const runnable: MethodSpec[] = [];
  const notApplicable: NotApplicable[] = [];
  for (const spec of list) {
    const ctx = { model: loaded.model, input: probe, target: 0, layer, reference: false, budget: quick, onWarning: () => undefined };
    let reason: string | null;
    try {
      reason = spec.applies?.(ctx) ?? null;
      if (reason === null) spec.run(ctx);
    } catch (e) {
      reason = (e as Error).message.split('\n')[0]!;
    }
    if (reason === null) {
      runnable.push(spec);
      continue;
    }
    const msg = `${spec.name} does not run on ${loaded.name}: ${reason}`;
    if (explicit && list.length === 1) throw new CliError(msg);
    streams.stderr.write(`note: ${msg}; left out\n`);
    notApplicable.push({ method: spec.name, reason });
  }
  return { runnable, notApplicable };
}

/** Evaluation samples (normalised images as the model expects) from labelled pictures. */
export function evaluationSamples(pics: readonly LabelledPicture[], loaded: LoadedModel): EvaluationSample[] {
  return pics.map((p0) => {
    const p = resizePicture(p0, loaded.size);
    const prepared = prepareValues(p.pixels, p.size, { mean: loaded.mean, std: loaded.std });
    return { image: prepared.input, label: p.label, box: p.box };
  });
}

/** The table as aligned plain text (what the terminal shows). */
export function formatTable(markdown: string): string {
  const rows = markdown
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) =>
      l
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
  if (rows.length === 0) return markdown;
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r, ri) =>
      (ri === 1 ? widths.map((w) => '-'.repeat(w)) : r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))).join('  '),
    )
    .join('\n');
}

/** Options of the issue-21 metrics that `evaluateWith` passes through to evaluateMethods. */
export type MetricOptions = Pick<EvaluateOptions, 'road' | 'faithfulness' | 'infidelity' | 'robustness' | 'seed' | 'firstIndex'>;

/** Runs evaluateMethods with progress on stderr; returns the table. */
export function evaluateWith(
  loaded: LoadedModel,
  samples: EvaluationSample[],
  methods: MethodSpec[],
  layer: string,
  budget: Budget,
  streams: Streams,
  options: {
    metrics?: MetricName[];
    curveSteps?: number;
    randomizationSamples?: number;
    cache?: MapCache;
    target?: 'label' | 'top1';
    metricOptions?: MetricOptions;
    /** Progress of this call, instead of a progress line of its own (a sharded run reports over its samples). */
    onProgress?: (done: number, total: number) => void;
  },
): { table: EvaluationTable; warnings: string[] } {
  const warnings: string[] = [];
  const onWarning = (m: string): void => {
    warnings.push(m);
  };
  const explainers: Record<string, Explainer> = {};
  for (const m of methods) explainers[m.name] = explainerOf(m, layer, budget, onWarning, options.cache);
  const progress = options.onProgress
    ? { update: options.onProgress, end: (): void => undefined }
    : progressReporter(streams, 'evaluate', { unit: '(method, picture) pairs' });
  try {
    const steps = options.curveSteps;
    const table = evaluateMethods(loaded.model, samples, explainers, {
      ...options.metricOptions,
      metrics: options.metrics,
      target: options.target,
      deletion: steps ? { steps, batchSize: budget.batchSize } : undefined,
      insertion: steps ? { steps, batchSize: budget.batchSize } : undefined,
      randomization: { samples: options.randomizationSamples ?? 4 },
      onProgress: (p) => progress.update(p.done, p.total),
    });
    return { table, warnings };
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`evaluate: ${(e as Error).message.replace(/\n\s*/g, '; ')}`);
  } finally {
    progress.end();
  }
}

/** `gradlens evaluate`: returns the exit code. */
export function evaluateCommand(argv: readonly string[], streams: Streams): number {
  const { options: o, help, positionals } = parseArgs('evaluate', argv, SPECS);
  if (help) {
    streams.stdout.write(
      formatHelp(
        'gradlens evaluate (--model <bundled> | --arch <name> --weights <file>) [--n 500] [--out DIR]',
        `Scores attribution methods with the metrics of @gradlens/explain on held-out pictures: the cluttered
Fashion-MNIST test split when Debian's dataset-fashion-mnist is installed, else the bundled samples.
Prints a methods × metrics table and writes it as evaluation.md and evaluation.json.`,
        SPECS,
      ),
    );
    return 0;
  }
  const mergeFirst = str(o, 'merge');
  if (mergeFirst !== undefined) return mergeCommand([mergeFirst, ...positionals], o, streams);
  if (positionals.length > 0) throw new CliError(`evaluate: unexpected argument '${positionals[0]}'`, 2);
  const shardOpt = str(o, 'shard');
  const shard = shardOpt === undefined ? undefined : parseShard(shardOpt);
  const n = intOption('evaluate', o, 'n', 500);
  const methods = parseMethods(str(o, 'methods') ?? DEFAULT_METHODS);
  const metrics = str(o, 'metrics')
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((m) => {
      const known = METRIC_NAMES.find((k) => k === m);
      if (!known) throw new CliError(`unknown metric '${m}'${didYouMean(m, METRIC_NAMES)}; metrics: ${METRIC_NAMES.join(', ')}`, 2);
      return known;
    });
  const budget = budgetFrom('evaluate', o, EVALUATE_BUDGET);
  const target = str(o, 'target') ?? 'label';
  if (target !== 'label' && target !== 'top1') throw new CliError(`evaluate: --target must be label or top1, got '${target}'`, 2);
  // the layer is checked on the built model, before its weights load
  const layerOpt = str(o, 'layer');
  // --out is checked before anything is computed, and made only when the tables are written
  const out = str(o, 'out') ?? 'gradlens-eval';
  try {
    checkOutputFolder(out);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const imagesDir = str(o, 'images');
  const boxesFile = str(o, 'boxes');
  if (boxesFile !== undefined && imagesDir === undefined)
    throw new CliError('evaluate: --boxes goes with --images <folder> (the pictures the boxes are on)', 2);
  if (imagesDir !== undefined && boxesFile === undefined)
    throw new CliError(
      'evaluate: --images needs --boxes <file> (COCO-style JSON, or CSV file,x0,y0,x1,y1,class): the metrics score maps against boxes',
      2,
    );
  if (imagesDir !== undefined && str(o, 'n') !== undefined)
    throw new CliError('evaluate: --n picks held-out pictures; with --images every picture of the folder is scored', 2);
  const user =
    imagesDir !== undefined
      ? readUserData(imagesDir, boxesFile!, (m) => {
          streams.stderr.write(`warning: ${m}\n`);
        })
      : null;
  const loaded = loadModelFromOptions('evaluate', o, {
    beforeWeights: (model, defaultLayer) => {
      const name = str(o, 'model') ?? str(o, 'arch') ?? 'the model';
      if (isSegmentationModel(model))
        throw new CliError(
          `evaluate: ${name} is a segmentation model (output [N, K, H, W]); evaluate scores classifiers' class targets: explain it with gradlens explain`,
          2,
        );
      if (isDetectionModel(model))
        throw new CliError(
          `evaluate: ${name} is a detection model (its outputs are per-picture detections); evaluate scores classifiers' class targets: explain it with gradlens explain`,
          2,
        );
      const chosen = layerOpt ?? defaultLayer;
      if (chosen === null) throw new CliError(`evaluate: ${noDefaultLayer(name)}`, 2);
      checkLayer(model, chosen, name);
    },
  });
  if (loaded.height !== undefined && loaded.width !== undefined)
    throw new CliError(
      `evaluate: ${loaded.name} takes ${loaded.height}×${loaded.width} pictures; evaluate feeds square ones: explain it with gradlens explain`,
      2,
    );
  if (loaded.inputNote !== undefined) streams.stderr.write(`note: ${loaded.inputNote}\n`);
  const layer = (layerOpt ?? loaded.defaultLayer)!;
  const t0 = Date.now();
  const set = user ? userSamples(user, loaded, shard) : heldOut(loaded, n, streams, shard);
  const { samples, source } = set;
  try {
    // a shard without samples (more shards than pictures) probes the methods on a blank picture
    const probe = samples[0]?.image ?? tensor(new Float32Array(3 * loaded.size * loaded.size), [1, 3, loaded.size, loaded.size]);
    const { runnable, notApplicable } = runnableMethods(methods, loaded, probe, layer, budget, streams, str(o, 'methods') !== undefined);
    if (samples.length === 0) probe.dispose();
    if (runnable.length === 0) throw new CliError(`evaluate: none of the methods runs on ${loaded.name}`);
    const curveSteps = intOption('evaluate', o, 'curve-steps', EVALUATE_CURVE_STEPS);
    const randomizationSamples = intOption('evaluate', o, 'randomization-samples', 4, 0);
    const info: RunInfo = { model: loaded.name, weights: loaded.weights, layer, source, target, budget, curveSteps, notApplicable };
    if (shard) {
      const config: RunConfig = {
        ...info,
        weightsHash: fs.existsSync(loaded.weights) ? sha256File(loaded.weights) : loaded.weights,
        methods: runnable.map((m) => m.name),
        metrics: metrics ?? [...METRIC_NAMES],
        total: set.total,
        randomizationSamples,
        inputs: set.inputsHash,
      };
      streams.stderr.write(
        `evaluating ${runnable.length} methods on samples ${set.range[0]}…${set.range[1] - 1} of ${source} (shard ${shard.index}/${shard.count})\n`,
      );
      const file = scoreShard(loaded, set, runnable, layer, budget, streams, config, shard, out, {
        metrics,
        curveSteps,
        randomizationSamples,
        target,
      });
      streams.stdout.write(
        `${loaded.name}: shard ${shard.index}/${shard.count}, ${samples.length} samples × ${runnable.length} methods, ${seconds(t0)}\nwrote ${file}\n`,
      );
      return 0;
    }
    streams.stderr.write(`evaluating ${runnable.length} methods on ${source}\n`);
    const { table, warnings } = evaluateWith(loaded, samples, runnable, layer, budget, streams, {
      metrics,
      curveSteps,
      randomizationSamples,
      target,
    });
    const md = writeTables(out, info, table);
    if (warnings.length > 0) streams.stderr.write(`note: ${warnings.length} warnings while computing maps (first: ${warnings[0]})\n`);
    streams.stdout.write(
      `${formatTable(md)}\n\n${loaded.name}, ${source}, ${seconds(t0)}\nwrote ${path.join(out, 'evaluation.md')} and ${path.join(out, 'evaluation.json')}\n`,
    );
    return 0;
  } finally {
    set.dispose();
  }
}

/** What the tables' header and JSON say about a run. */
export interface RunInfo extends Record<string, unknown> {
  model: string;
  weights: string;
  layer: string;
  source: string;
  target: string;
  budget: Budget;
  curveSteps: number;
  /** The methods asked for that do not apply to the model, with the reason (absent in part files of older runs). */
  notApplicable?: NotApplicable[];
}

/** Writes evaluation.md and evaluation.json for a table (one run's, or merged parts'); returns the markdown table. */
function writeTables(out: string, info: RunInfo, table: EvaluationTable): string {
  const md = toMarkdown(table);
  const header = `# ${info.model}: attribution metrics\n\nOn ${info.source}; maps of the ${info.target === 'label' ? 'true class' : 'top-1 class'}; CAM layer \`${info.layer}\`; weights ${info.weights}.\n\n`;
  const notApplicable = info.notApplicable ?? [];
  const footer =
    notApplicable.length === 0
      ? ''
      : `\nNot applicable to ${info.model}, so not scored:\n\n${notApplicable.map((n) => `- **${n.method}**: ${n.reason}`).join('\n')}\n`;
  writeFileAtomic(path.join(out, 'evaluation.md'), header + md + footer);
  const json = JSON.parse(tableToJSON(table)) as Record<string, unknown>;
  const { model, weights, layer, source, target, budget, curveSteps } = info;
  writeFileAtomic(
    path.join(out, 'evaluation.json'),
    `${JSON.stringify({ model, weights, layer, source, target, budget, curveSteps, notApplicable, ...json }, null, 2)}\n`,
  );
  return md;
}

/**
 * Scores a shard's samples one at a time (each with its index in the whole run, so seeded metrics and
 * the randomisation test's first samples are those of one run) and writes the part file; returns its path.
 */
function scoreShard(
  loaded: LoadedModel,
  set: SampleSet,
  methods: MethodSpec[],
  layer: string,
  budget: Budget,
  streams: Streams,
  config: RunConfig,
  shard: Shard,
  out: string,
  options: { metrics?: MetricName[]; curveSteps: number; randomizationSamples: number; target: 'label' | 'top1' },
): string {
  const run = runHash(config);
  const name = `${shard.index}/${shard.count}`;
  const lines: PartLine[] = [];
  const progress = progressReporter(streams, 'evaluate', { unit: '(method, picture) pairs' });
  try {
    set.samples.forEach((sample, k) => {
      const meta = set.meta[k]!;
      const { table } = evaluateWith(loaded, [sample], methods, layer, budget, streams, {
        ...options,
        randomizationSamples: meta.index < options.randomizationSamples ? 1 : 0,
        metricOptions: { firstIndex: meta.index },
        onProgress: (done) => progress.update(k * methods.length + done, set.samples.length * methods.length),
      });
      for (const method of table.methods) {
        const values: PartLine['values'] = {};
        for (const m of table.metrics) values[m] = table.values[method]?.[m]?.[0] ?? null;
        const { x0, y0, x1, y1 } = sample.box;
        lines.push({
          kind: 'result',
          run,
          shard: name,
          sample: meta.index,
          picture: meta.picture,
          pictureHash: meta.hash,
          label: sample.label,
          box: [x0, y0, x1, y1],
          method,
          values,
          randomization: table.randomizationCurves[method] ?? null,
        });
      }
    });
  } finally {
    progress.end();
  }
  const file = path.join(out, `evaluate-part-${shard.index}-of-${shard.count}.jsonl`);
  writeFileAtomic(file, partText({ format: PART_FORMAT, kind: 'header', run, shard: name, samples: set.range, config }, lines));
  return file;
}

/** `gradlens evaluate --merge PART…`: the table of one run from its part files. */
function mergeCommand(files: readonly string[], o: ParsedOptions, streams: Streams): number {
  const extra = Object.keys(o).filter((k) => k !== 'merge' && k !== 'out' && o[k] !== undefined);
  if (extra.length > 0) throw new CliError(`evaluate --merge: the parts carry their run's options; leave out --${extra.join(', --')}`, 2);
  const out = str(o, 'out') ?? 'gradlens-eval';
  try {
    checkOutputFolder(out);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const { table, config } = mergeParts(files);
  const info = config as unknown as RunInfo;
  const md = writeTables(out, info, table);
  streams.stdout.write(
    `${formatTable(md)}\n\n${info.model}, ${info.source}, merged from ${files.length} parts\nwrote ${path.join(out, 'evaluation.md')} and ${path.join(out, 'evaluation.json')}\n`,
  );
  return 0;
}

/** The held-out samples (the shard's, when given): the cluttered Fashion-MNIST test split when installed, else the bundled samples. */
function heldOut(loaded: LoadedModel, n: number, streams: Streams, shard?: Shard): SampleSet {
  let pics: LabelledPicture[];
  let source: string;
  if (datasetInstalled()) {
    const dataset = loaded.card?.['dataset'];
    const seed =
      dataset !== null && typeof dataset === 'object' && typeof (dataset as { testSeed?: unknown }).testSeed === 'number'
        ? (dataset as { testSeed: number }).testSeed
        : 0;
    pics = heldOutPictures(n, seed);
    source = `${n} held-out cluttered Fashion-MNIST pictures (test split, seed ${seed})`;
  } else {
    pics = readSamples(samplesDir(), loaded.size, loaded.classes ?? []).slice(0, n);
    source = `the ${pics.length} bundled sample pictures (Debian's dataset-fashion-mnist is not installed, so the test split cannot be generated)`;
    streams.stderr.write(`note: evaluating on ${source}\n`);
  }
  const [a, b] = shard ? shardRange(pics.length, shard) : [0, pics.length];
  const mine = pics.slice(a, b);
  const samples = evaluationSamples(mine, loaded);
  const meta = mine.map((p, i) => ({
    index: a + i,
    picture: p.name,
    hash: sha256(new Uint8Array(p.pixels.buffer, p.pixels.byteOffset, p.pixels.byteLength)),
  }));
  return {
    samples,
    meta,
    total: pics.length,
    range: [a, b],
    source,
    inputsHash: sha256(JSON.stringify([source, pics.map((p) => p.name)])),
    dispose: () => {
      for (const s of samples) s.image.dispose();
    },
  };
}
