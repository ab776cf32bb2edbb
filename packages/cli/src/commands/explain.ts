import * as path from 'path';
import { noGrad, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { indexOfMax } from '@gradlens/explain';
import { didYouMean, layers } from '@gradlens/nn';
import type { Module } from '@gradlens/nn';
import { checkOutputFolder, COLORMAP_NAMES } from '@gradlens/io';
import type { ColormapName } from '@gradlens/io';
import { CliError, flag, formatHelp, intOption, OptionSpec, parseArgs, ParsedOptions, str } from '../args';
import { prepareImage, readPicture } from '../image';
import { BUNDLED_NAMES, checkLayer, LoadedModel, loadModelFromOptions } from '../model';
import { Budget, DEFAULT_BUDGET, LRP_RULES, MethodContext, MethodMaps, MethodSpec, METHOD_NAMES, parseMethods, WorkFacts } from '../methods';
import { writePictures, writeRaw } from '../pictures';
import { duration, progressReporter, seconds, Streams } from '../progress';

/** Options shared by the commands that load a model. */
export const MODEL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  model: { type: 'string', value: 'NAME', help: `a bundled model (${BUNDLED_NAMES.join(', ')}), with its trained weights, or an ONNX file (<file>.onnx)` },
  arch: { type: 'string', value: 'NAME', help: 'a torchvision architecture (vgg16, resnet18, alexnet, …); needs --weights' },
  weights: { type: 'string', value: 'FILE', help: 'state dict for --arch (.pth, .safetensors, .npz), or other weights for --model' },
};

/** Work-budget options of the many-pass methods. */
export const BUDGET_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  samples: { type: 'string', value: 'N', help: 'SmoothGrad noisy samples', default: String(DEFAULT_BUDGET.samples) },
  steps: { type: 'string', value: 'N', help: 'integrated-gradients path points', default: String(DEFAULT_BUDGET.steps) },
  window: { type: 'string', value: 'PX', help: 'occlusion window side', default: 'input size / 8' },
  stride: { type: 'string', value: 'PX', help: 'occlusion stride', default: 'window / 2' },
  'batch-size': { type: 'string', value: 'N', help: 'inputs per forward pass for the batched methods', default: String(DEFAULT_BUDGET.batchSize) },
  seed: { type: 'string', value: 'N', help: 'seed of the SmoothGrad noise', default: '0' },
  'lrp-rule': { type: 'string', value: 'NAME', help: 'LRP composite: zero, epsilon, gamma, alphaBeta, montavon', default: 'epsilon' },
};

const SPECS: Readonly<Record<string, OptionSpec>> = {
  method: { type: 'string', value: 'M[,M…]', help: `attribution method(s), or all: ${METHOD_NAMES.join(', ')}` },
  ...MODEL_OPTIONS,
  image: { type: 'string', value: 'FILE', help: 'the picture to explain (PNG or JPEG)' },
  target: { type: 'string', value: 'CLASS', help: 'class index (or a class name of a bundled model) to explain', default: 'the top class' },
  layer: { type: 'string', value: 'PATH', help: 'module path of the CAM layer (see gradlens layers)', default: 'the last conv block' },
  out: { type: 'string', value: 'DIR', help: 'folder for the pictures', default: 'gradlens-out' },
  raw: { type: 'boolean', help: 'also write <method>.npy (the float map) and <method>_upsampled.npy' },
  size: { type: 'string', value: 'N', help: 'input side in pixels', default: '224, or the bundled model\'s size' },
  'no-normalize': { type: 'boolean', help: 'feed pixels in [0, 1] without the mean/std normalisation' },
  reference: { type: 'boolean', help: 'the reference scripts\' variants (Grad-CAM from ones, SmoothGrad σ², IG without × (x − x′), stretched resize, hsv maps)' },
  colormap: { type: 'string', value: 'NAME', help: `colormap of CAM-style maps: ${COLORMAP_NAMES.join(', ')}`, default: 'jet (hsv with --reference)' },
  legend: { type: 'boolean', help: 'also write the CAM pictures with a colour bar under them (<…>_legend.png; low left, high right)' },
  'no-strict': { type: 'boolean', help: 'load a weights file whose keys do not all match the model (the matching ones only)' },
  ...BUDGET_OPTIONS,
};

const DESCRIPTION = `Explains one picture with one or more attribution methods and writes the pictures, named as
pytorch-cnn-visualizations names them (<image>_Vanilla_BP_color.png, <image>_Cam_On_Image.png, …).`;

/** The `--help` text of `gradlens explain`. */
export function explainHelp(): string {
  return formatHelp(
    'gradlens explain --method <m>[,<m>…] (--model <bundled> | --arch <name> --weights <file>) --image <file> [options]',
    DESCRIPTION, SPECS,
    'examples:\n  gradlens explain --method gradcam,guided --model gapnet --image weights/samples/00-ankle-boot.png --out out\n  gradlens explain --method all --arch vgg16 --weights vgg16.pth --image cat.jpg --raw',
  );
}

/** Reads the budget options. */
export function budgetFrom(command: string, o: ParsedOptions, base: Budget = DEFAULT_BUDGET): Budget {
  const window = str(o, 'window');
  const stride = str(o, 'stride');
  return {
    samples: intOption(command, o, 'samples', base.samples),
    steps: intOption(command, o, 'steps', base.steps),
    window: window === undefined ? base.window : intOption(command, o, 'window', 1),
    stride: stride === undefined ? base.stride : intOption(command, o, 'stride', 1),
    batchSize: intOption(command, o, 'batch-size', base.batchSize),
    seed: intOption(command, o, 'seed', base.seed, 0),
    lrpComposite: lrpRule(str(o, 'lrp-rule') ?? base.lrpComposite),
  };
}

function lrpRule(rule: string): string {
  if (!LRP_RULES.includes(rule)) throw new CliError(`unknown LRP rule '${rule}'${didYouMean(rule, LRP_RULES)}; LRP rules: ${LRP_RULES.join(', ')}`, 2);
  return rule;
}

/** The colormap the options name (jet, or hsv under --reference); throws a usage error for unknown names. */
export function colormapFrom(command: string, o: ParsedOptions): ColormapName {
  const name = str(o, 'colormap');
  if (name === undefined) return flag(o, 'reference') ? 'hsv' : 'jet';
  const known: readonly string[] = COLORMAP_NAMES;
  if (!known.includes(name)) throw new CliError(`${command}: unknown colormap '${name}'${didYouMean(name, known)}; colormaps: ${COLORMAP_NAMES.join(', ')}`, 2);
  return name as ColormapName;
}

/** A --target that is neither an index nor a word: a usage error before anything loads. */
export function checkTargetSyntax(spec: string | undefined, classes: readonly string[] | null): void {
  if (spec === undefined) return;
  if (/^\d+$/.test(spec)) {
    if (classes && Number(spec) >= classes.length) throw new CliError(`--target ${spec} is out of range: the model has ${classes.length} classes (0…${classes.length - 1})`, 2);
    return;
  }
  if (!classes) throw new CliError(`--target '${spec}' is not a class index; this model's classes have no names, give 0, 1, 2, …`, 2);
  if (!classes.some((n) => n.toLowerCase() === spec.toLowerCase())) {
    throw new CliError(`--target '${spec}' is not a class${didYouMean(spec, classes)}; give a class index 0…${classes.length - 1} or one of: ${classes.join(', ')}`, 2);
  }
}

/** The class the target option names (index or class name), checked against the model's output size. */
export function resolveClass(spec: string | undefined, scores: Float32Array, classes: readonly string[] | null): number {
  const k = scores.length;
  if (spec === undefined) return indexOfMax(scores);
  let c: number;
  if (/^\d+$/.test(spec)) c = Number(spec);
  else {
    c = classes ? classes.findIndex((n) => n.toLowerCase() === spec.toLowerCase()) : -1;
    if (c < 0) {
      const names = classes ? `a class index 0…${k - 1} or one of: ${classes.join(', ')}` : `a class index 0…${k - 1}`;
      throw new CliError(`--target '${spec}' is not a class${classes ? didYouMean(spec, classes) : ''}; give ${names}`, 2);
    }
  }
  if (c >= k) throw new CliError(`--target ${c} is out of range: the model has ${k} classes (0…${k - 1})`, 2);
  return c;
}

/** Runs the model once without recording and returns the logits of item 0. */
export function logitsOf(model: Module, input: Tensor): Float32Array {
  return noGrad(() => {
    let out = new Float32Array(0);
    tidy(() => {
      const y = model.call(input);
      if (y.rank !== 2) throw new CliError(`the model's output has shape [${y.shape.join(', ')}]; the command needs class scores [N, K]`);
      out = Float32Array.from(y.dataSync(), Number).subarray(0, y.shape[1]!);
    });
    return out;
  });
}

/** A class index with its name when known: `3 (Dress)`. */
export function className(c: number | null, classes: readonly string[] | null): string {
  if (c === null) return 'the class function';
  const n = classes?.[c];
  return n === undefined ? String(c) : `${c} (${n})`;
}

/** Runs one method with progress on stderr and warnings prefixed, returning its maps. */
export function runMethod(
  spec: MethodSpec, loaded: LoadedModel, input: Tensor, target: number, layer: string, reference: boolean, budget: Budget, streams: Streams, label = spec.name,
): MethodMaps {
  const progress = spec.manyPasses ? progressReporter(streams, label, { batchSize: budget.batchSize }) : null;
  const onWarning = (m: string): void => { streams.stderr.write(`warning: ${m}\n`); };
  try {
    return spec.run({
      model: loaded.model, input, target, layer, reference, budget, onWarning,
      onProgress: progress ? (d, t) => progress.update(d, t) : undefined,
    });
  } catch (e) {
    if (e instanceof CliError) throw e;
    const msg = (e as Error).message.replace(/\n\s*/g, '; ');
    // the library's messages start with its function's name (`gradCam: …`); others get the method's
    throw new CliError(/^[A-Za-z+]+: /.test(msg) ? msg : `${spec.name}: ${msg}`);
  } finally {
    progress?.end();
  }
}

/**
 * The batch size that keeps a batched pass (forward and backward, about three forward passes per
 * input) near two seconds, so progress shows every few seconds even on a large model: at most `max`.
 */
export function progressBatch(forwardMs: number, max: number): number {
  return Math.max(1, Math.min(max, Math.floor(2000 / Math.max(1, 3 * forwardMs))));
}

/** Channels of `layer`'s output for an input of `shape` (one forward pass), or null when it has none. */
function layerChannels(model: Module, layer: string, shape: readonly number[]): number | null {
  const row = layers(model, shape).find((r) => r.path === layer);
  return row?.outputShape?.length === 4 ? row.outputShape[1]! : null;
}

/**
 * Decides which methods run: every one that applies to the model (a method's `applies` check, e.g.
 * CAM's GAP + linear head), reporting the others; a method named explicitly that does not apply is an error.
 */
function applicableMethods(methods: readonly MethodSpec[], all: boolean, ctx: MethodContext, streams: Streams, model: string): MethodSpec[] {
  const keep: MethodSpec[] = [];
  for (const m of methods) {
    const why = m.applies?.(ctx) ?? null;
    if (why === null) { keep.push(m); continue; }
    if (!all) throw new CliError(`method '${m.name}' does not apply to ${model}: ${why}`, 2);
    streams.stdout.write(`skipping ${m.name}: ${why}\n`);
  }
  return keep;
}

/** `gradlens explain`: returns the exit code. */
export function explainCommand(argv: readonly string[], streams: Streams): number {
  const { options: o, positionals, help } = parseArgs('explain', argv, SPECS);
  if (help) { streams.stdout.write(explainHelp()); return 0; }
  // every argument is checked before the weights load (a VGG16 .pth is half a gigabyte)
  if (positionals.length > 0) throw new CliError(`explain: unexpected argument '${positionals[0]}' (options are spelled --name value)`, 2);
  const methodList = str(o, 'method');
  if (methodList === undefined) throw new CliError(`explain: give --method <m>[,<m>…]; methods: ${METHOD_NAMES.join(', ')}`, 2);
  const all = methodList.trim() === 'all';
  let methods = parseMethods(methodList);
  const imageFile = str(o, 'image');
  if (imageFile === undefined) throw new CliError('explain: give --image <file> (PNG or JPEG)', 2);
  const raw = readPicture(imageFile);
  const sizeOpt = str(o, 'size') === undefined ? undefined : intOption('explain', o, 'size', 224);
  let budget = budgetFrom('explain', o);
  const colormap = colormapFrom('explain', o);
  const reference = flag(o, 'reference');
  if (reference && flag(o, 'legend')) throw new CliError('explain: --legend adds pictures the reference project does not make; leave it out with --reference', 2);
  const draw = { colormap, legend: flag(o, 'legend') };
  const out = str(o, 'out') ?? 'gradlens-out';
  const layerOpt = str(o, 'layer');
  const targetOpt = str(o, 'target');
  let layer = '';
  const loaded = loadModelFromOptions('explain', o, {
    size: sizeOpt,
    beforeWeights: (model, defaultLayer, classes) => {
      layer = layerOpt ?? defaultLayer;
      if (layerOpt !== undefined || methods.some((m) => m.usesLayer)) checkLayer(model, layer, str(o, 'model') ?? str(o, 'arch') ?? 'the model');
      checkTargetSyntax(targetOpt, classes);
      // last of the checks: the folder, checked before the weights load but made only when the
      // first picture is written, so a failed run leaves no empty folder
      try {
        checkOutputFolder(out);
      } catch (e) {
        throw new CliError((e as Error).message, 2);
      }
    },
  });
  const size = sizeOpt ?? loaded.size;
  const image = prepareImage(raw, { size, mean: loaded.mean, std: loaded.std, normalize: o['no-normalize'] !== true, reference });
  const stem = path.basename(imageFile, path.extname(imageFile));
  try {
    const tf = Date.now();
    const logits = logitsOf(loaded.model, image.input);
    const forwardMs = Date.now() - tf;
    const target = resolveClass(targetOpt, logits, loaded.classes);
    streams.stdout.write(`${loaded.name}: explaining class ${className(target, loaded.classes)} of ${imageFile} (logit ${logits[target]!.toFixed(3)}; top class ${className(resolveClass(undefined, logits, null), loaded.classes)}); CAM layer ${layer}\n`);
    const onWarning = (m: string): void => { streams.stderr.write(`warning: ${m}\n`); };
    const ctx: MethodContext = { model: loaded.model, input: image.input, target, layer, reference, budget, onWarning };
    methods = applicableMethods(methods, all, ctx, streams, loaded.name);
    const facts: WorkFacts = {
      height: image.input.shape[2]!, width: image.input.shape[3]!, budget,
      layerChannels: methods.some((m) => m.manyPasses && m.usesLayer) ? layerChannels(loaded.model, layer, image.input.shape) : null,
    };
    const heavy = methods.filter((m) => m.manyPasses && m.work);
    if (heavy.length > 0 && str(o, 'batch-size') === undefined) {
      // the first pass carries warm-up: time a second one
      const t2 = Date.now();
      logitsOf(loaded.model, image.input);
      const warmMs = Math.min(forwardMs, Date.now() - t2);
      const b = progressBatch(warmMs, budget.batchSize);
      if (b < budget.batchSize) {
        streams.stderr.write(`one forward pass took ${duration(warmMs / 1000)}: batches of ${b} instead of ${budget.batchSize}, so progress shows every few seconds (--batch-size sets it)\n`);
        budget = { ...budget, batchSize: b };
      }
    }
    if (heavy.length > 0) {
      const list = heavy.map((m) => `${m.name} ${m.work!(facts)} inputs (${Math.ceil(m.work!(facts) / budget.batchSize)} passes)`).join(', ');
      streams.stderr.write(`many-pass methods: ${list}, in batches of ${budget.batchSize}; each says its time left after its first pass\n`);
    }
    let failed = 0;
    for (const spec of methods) {
      const t0 = Date.now();
      let maps: MethodMaps;
      try {
        maps = runMethod(spec, loaded, image.input, target, layer, reference, budget, streams);
      } catch (e) {
        if (methods.length === 1) throw e;
        streams.stderr.write(`gradlens: ${(e as Error).message}\n`);
        failed++;
        continue;
      }
      const pics = writePictures(spec, maps, image.picture, out, stem, onWarning, draw);
      const rawFiles = flag(o, 'raw') ? writeRaw(spec, maps, out) : [];
      const notes = maps.notes.length ? `; ${maps.notes.join('; ')}` : '';
      streams.stdout.write(`${spec.name} (${seconds(t0)}${notes}): ${[...pics.files, ...rawFiles].map((f) => path.basename(f)).join(', ')}\n`);
    }
    streams.stdout.write(`wrote ${path.resolve(out)}\n`);
    if (failed > 0) throw new CliError(`${failed} of ${methods.length} methods failed (see above)`);
    return 0;
  } finally {
    image.input.dispose();
  }
}
