import * as path from 'path';
import { noGrad, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { hasChannelsLast, hasTokenGrid, indexOfMax } from '@gradlens/explain';
import type { TargetFn } from '@gradlens/explain';
import { didYouMean, layers } from '@gradlens/nn';
import type { Module } from '@gradlens/nn';
import { checkOutputFolder, COLORMAP_NAMES, writeFileAtomic, writeImage } from '@gradlens/io';
import type { ColormapName, RasterImage } from '@gradlens/io';
import type { OptionSpec, ParsedOptions } from '../args';
import { CliError, flag, formatHelp, intOption, parseArgs, str } from '../args';
import { prepareImage, readPicture } from '../image';
import { sizeOption } from '../size-option';
import type { LoadedModel } from '../model';
import { BUNDLED_NAMES, checkLayer, loadModelFromOptions, noDefaultLayer } from '../model';
import type { Budget, MethodContext, MethodMaps, MethodSpec, WorkFacts } from '../methods';
import { DEFAULT_BUDGET, LRP_RULES, METHOD_NAMES, parseMethods } from '../methods';
import { writePictures, writeRaw } from '../pictures';
import { camCalls, camChoicesActive } from '../cam-options';
import type { CamChoices } from '../cam-options';
import type { GalleryRow } from '../gallery';
import { pictureEntries } from '../picture-list';
import { runGalleryHtml } from '../run-gallery';
import { classLabel, modelOutput, parseTargetOptions, resolveTargets } from '../targets';
import { letterboxImage, listYoloDetections, resolveYoloTargets } from '../yolo';
import type { TargetRequest } from '../targets';
import type { Streams } from '../progress';
import { duration, progressReporter, seconds } from '../progress';
import { NORMALIZATION_OPTIONS } from '../normalization';

/** Options shared by the commands that load a model. */
export const MODEL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  model: {
    type: 'string',
    value: 'NAME',
    help: `a bundled model (${BUNDLED_NAMES.join(', ')}), with its trained weights, or an ONNX file (<file>.onnx)`,
  },
  arch: {
    type: 'string',
    value: 'NAME',
    help: 'a torchvision architecture (vgg16, resnet18, alexnet, …, or a detector: fasterrcnn_resnet50_fpn, retinanet_resnet50_fpn, …); needs --weights',
  },
  weights: { type: 'string', value: 'FILE', help: 'state dict for --arch (.pth, .safetensors, .npz), or other weights for --model' },
  ...NORMALIZATION_OPTIONS,
};

/** Work-budget options of the many-pass methods. */
export const BUDGET_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  samples: { type: 'string', value: 'N', help: 'SmoothGrad noisy samples', default: String(DEFAULT_BUDGET.samples) },
  steps: { type: 'string', value: 'N', help: 'integrated-gradients path points', default: String(DEFAULT_BUDGET.steps) },
  window: { type: 'string', value: 'PX', help: 'occlusion window side', default: 'input size / 8' },
  stride: { type: 'string', value: 'PX', help: 'occlusion stride', default: 'window / 2' },
  'batch-size': {
    type: 'string',
    value: 'N',
    help: 'inputs per forward pass for the batched methods',
    default: String(DEFAULT_BUDGET.batchSize),
  },
  seed: { type: 'string', value: 'N', help: 'seed of the SmoothGrad noise', default: '0' },
  'lrp-rule': {
    type: 'string',
    value: 'NAME',
    help: `LRP composite: ${LRP_RULES.join(', ')} (the last two for transformers)`,
    default: 'epsilon',
  },
};

const SPECS: Readonly<Record<string, OptionSpec>> = {
  method: { type: 'string', value: 'M[,M…]', help: `attribution method(s), or all: ${METHOD_NAMES.join(', ')}` },
  ...MODEL_OPTIONS,
  image: { type: 'string', value: 'FILE…', help: 'the picture(s) to explain (PNG or JPEG); more files may follow: --image a.png b.jpg' },
  images: {
    type: 'string',
    value: 'DIR',
    help: 'explain every picture of a folder (not its subfolders; other files are skipped with a warning)',
  },
  targets: {
    type: 'string',
    value: 'CSV',
    help: 'per-picture targets, lines file,class (class as --target takes it); other pictures use --target',
  },
  target: {
    type: 'string',
    value: 'CLASS',
    help: 'class index or name, several summed (3,17), top1, or topk:K (one explanation per class); for a segmentation model (output [N, K, H, W]) its logits over the pixels predicted as it, top1 the class on most pixels apart from background 0',
    default: 'top1',
  },
  'target-mask': {
    type: 'string',
    value: 'PNG',
    help: "for a model whose output is a map [N, K, H, W]: sum --target-class's logits over this mask's non-black pixels (H × W)",
  },
  'target-class': { type: 'string', value: 'CLASS', help: 'the class of --target-mask' },
  layer: {
    type: 'string',
    value: 'PATH[,PATH…]',
    help: 'module path(s) of the CAM layer (see gradlens layers); several are averaged',
    default: 'the last conv block',
  },
  'aug-smooth': {
    type: 'boolean',
    help: "CAM methods: average over 6 augmentations (flips × 0.9/1/1.1), as pytorch-grad-cam's aug_smooth",
  },
  'eigen-smooth': {
    type: 'boolean',
    help: "CAM methods: first principal component of the weighted activations, as pytorch-grad-cam's eigen_smooth",
  },
  out: {
    type: 'string',
    value: 'DIR',
    help: 'folder for the pictures (several pictures: one subfolder each and index.html)',
    default: 'gradlens-out',
  },
  flat: { type: 'boolean', help: "several pictures: write every file into --out itself (names start with the picture's name)" },
  format: {
    type: 'string',
    value: 'png|npy|both',
    help: 'pictures, float maps (<method>.npy, <method>_upsampled.npy), or both',
    default: 'png',
  },
  raw: { type: 'boolean', help: 'the same as --format both' },
  size: {
    type: 'string',
    value: 'N|HxW',
    help: "input side in pixels, or an exact height x width (320x480); with --arch, N and Resize(N·256/224) bilinear instead of the architecture's own transform (segmentation and detectors: the shorter side N, the whole picture; a detector's default 800)",
    default:
      "the architecture's crop size (torchvision's transform: resnet50 224, efficientnet_b4 380, inception_v3 299), or the bundled model's size",
  },
  'no-normalize': { type: 'boolean', help: 'feed pixels in [0, 1] without the mean/std normalisation' },
  reference: {
    type: 'boolean',
    help: "the reference scripts' variants (Grad-CAM from ones, SmoothGrad σ², IG without × (x − x′), stretched resize, hsv maps)",
  },
  colormap: {
    type: 'string',
    value: 'NAME',
    help: `colormap of CAM-style maps: ${COLORMAP_NAMES.join(', ')}`,
    default: 'jet (hsv with --reference)',
  },
  legend: { type: 'boolean', help: 'also write the CAM pictures with a colour bar under them (<…>_legend.png; low left, high right)' },
  'no-strict': { type: 'boolean', help: 'load a weights file whose keys do not all match the model (the matching ones only)' },
  ...BUDGET_OPTIONS,
};

const DESCRIPTION = `Explains pictures with one or more attribution methods and writes the pictures, named as
pytorch-cnn-visualizations names them (<image>_Vanilla_BP_color.png, <image>_Cam_On_Image.png, …).
Several pictures (--image a b …, --images DIR) get one folder each under --out (or --flat) and an
index.html gallery of the run; a picture that cannot be decoded is reported and the others go on
(exit code 1 at the end).`;

/** The `--help` text of `gradlens explain`. */
export function explainHelp(): string {
  return formatHelp(
    'gradlens explain --method <m>[,<m>…] (--model <bundled> | --arch <name> --weights <file>) (--image <file>… | --images <dir>) [options]',
    DESCRIPTION,
    SPECS,
    'examples:\n  gradlens explain --method gradcam,guided --model gapnet --image weights/samples/00-ankle-boot.png --out out\n  gradlens explain --method all --arch vgg16 --weights vgg16.pth --image cat.jpg --raw\n  gradlens explain --method gradcam,ig --model gapnet --images weights/samples --targets targets.csv --target topk:2 --out run\n  gradlens explain --method gradcam --model smallvgg --image a.png --layer features.4,features.7 --aug-smooth --eigen-smooth\n  gradlens explain --method rollout,transformer-attribution,transformer-lrp,gradcam --model vit --image weights/samples/00-ankle-boot.png --out out\n  gradlens explain --method gradcam --arch deeplabv3_resnet50 --weights deeplabv3_resnet50_coco-cd0a2569.pth --image street.jpg --target 15',
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
  if (!LRP_RULES.includes(rule))
    throw new CliError(`unknown LRP rule '${rule}'${didYouMean(rule, LRP_RULES)}; LRP rules: ${LRP_RULES.join(', ')}`, 2);
  return rule;
}

/** The colormap the options name (jet, or hsv under --reference); throws a usage error for unknown names. */
export function colormapFrom(command: string, o: ParsedOptions): ColormapName {
  const name = str(o, 'colormap');
  if (name === undefined) return flag(o, 'reference') ? 'hsv' : 'jet';
  const known: readonly string[] = COLORMAP_NAMES;
  if (!known.includes(name))
    throw new CliError(`${command}: unknown colormap '${name}'${didYouMean(name, known)}; colormaps: ${COLORMAP_NAMES.join(', ')}`, 2);
  return name as ColormapName;
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
      out = Float32Array.from(y.dataSync()).subarray(0, y.shape[1]!);
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
  spec: MethodSpec,
  loaded: LoadedModel,
  input: Tensor,
  target: number | undefined,
  layer: string,
  reference: boolean,
  budget: Budget,
  streams: Streams,
  label = spec.name,
  extra: { targetFn?: TargetFn; camOptions?: CamChoices; quiet?: boolean } = {},
): MethodMaps {
  const progress = spec.manyPasses && !extra.quiet ? progressReporter(streams, label, { batchSize: budget.batchSize }) : null;
  const onWarning = (m: string): void => {
    streams.stderr.write(`warning: ${m}\n`);
  };
  try {
    return spec.run({
      model: loaded.model,
      input,
      target,
      targetFn: extra.targetFn,
      camOptions: extra.camOptions,
      layer,
      reference,
      budget,
      onWarning,
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

/** Channels of `layer`'s output for an input of `shape` (one forward pass: C of [N, C, h, w], of a Swin's channels-last [N, h, w, C], or of a transformer's [N, tokens, C]), or null when it has none. */
function layerChannels(model: Module, layer: string, shape: readonly number[]): number | null {
  const out = layers(model, shape).find((r) => r.path === layer)?.outputShape;
  if (out?.length === 4) return hasChannelsLast(model) && model.channelsLast(layer) ? out[3]! : out[1]!;
  return out?.length === 3 && hasTokenGrid(model) ? out[2]! : null;
}

/**
 * Decides which methods run: every one that applies to the model (a method's `applies` check, e.g.
 * CAM's GAP + linear head), reporting the others; a method named explicitly that does not apply is an error.
 */
function applicableMethods(
  methods: readonly MethodSpec[],
  all: boolean,
  ctx: MethodContext,
  streams: Streams,
  model: string,
): MethodSpec[] {
  const keep: MethodSpec[] = [];
  for (const m of methods) {
    const why = m.applies?.(ctx) ?? null;
    if (why === null) {
      keep.push(m);
      continue;
    }
    if (!all) throw new CliError(`method '${m.name}' does not apply to ${model}: ${why}`, 2);
    streams.stdout.write(`skipping ${m.name}: ${why}\n`);
  }
  return keep;
}

/** What `--format` asks to write. */
export type OutputFormat = 'png' | 'npy' | 'both';

function formatFrom(o: ParsedOptions): OutputFormat {
  const f = str(o, 'format');
  if (f !== undefined && f !== 'png' && f !== 'npy' && f !== 'both')
    throw new CliError(`explain: --format must be png, npy or both, got '${f}'`, 2);
  if (flag(o, 'raw')) {
    if (f === 'png' || f === 'npy') throw new CliError(`explain: --raw means --format both; leave one of them out`, 2);
    return 'both';
  }
  return f ?? 'png';
}

/** The CAM options of the command line, checked against the model's modules. */
function camChoicesFrom(o: ParsedOptions, layers: readonly string[]): CamChoices {
  return { layers, augSmooth: flag(o, 'aug-smooth'), eigenSmooth: flag(o, 'eigen-smooth') };
}

/** `gradlens explain`: returns the exit code. */
export function explainCommand(argv: readonly string[], streams: Streams): number {
  const { options: o, positionals, help } = parseArgs('explain', argv, SPECS);
  if (help) {
    streams.stdout.write(explainHelp());
    return 0;
  }
  // every argument is checked before the weights load (a VGG16 .pth is half a gigabyte)
  const imageOpt = str(o, 'image');
  const folder = str(o, 'images');
  if (positionals.length > 0 && imageOpt === undefined)
    throw new CliError(
      `explain: unexpected argument '${positionals[0]}' (options are spelled --name value; several pictures follow --image)`,
      2,
    );
  const methodList = str(o, 'method');
  if (methodList === undefined) throw new CliError(`explain: give --method <m>[,<m>…]; methods: ${METHOD_NAMES.join(', ')}`, 2);
  const all = methodList.trim() === 'all';
  const requested = parseMethods(methodList);
  if (imageOpt === undefined && folder === undefined)
    throw new CliError('explain: give --image <file>… (PNG or JPEG) or --images <folder>', 2);
  const onWarning = (m: string): void => {
    streams.stderr.write(`warning: ${m}\n`);
  };
  const entries = pictureEntries(imageOpt === undefined ? [] : [imageOpt, ...positionals], folder, str(o, 'targets'), onWarning);
  // one picture given with --image keeps the one-folder layout of the reference scripts
  const many = entries.length > 1 || folder !== undefined;
  if (flag(o, 'flat') && !many) throw new CliError('explain: --flat is for several pictures (--image a b …, --images DIR)', 2);
  const flat = flag(o, 'flat');
  const format = formatFrom(o);
  const sizeOpt = sizeOption('explain', o);
  let budget = budgetFrom('explain', o);
  const colormap = colormapFrom('explain', o);
  const reference = flag(o, 'reference');
  if (reference && flag(o, 'legend'))
    throw new CliError('explain: --legend adds pictures the reference project does not make; leave it out with --reference', 2);
  const draw = { colormap, legend: flag(o, 'legend') };
  const out = str(o, 'out') ?? 'gradlens-out';
  const layerList = str(o, 'layer')
    ?.split(',')
    .map((s) => s.trim());
  if (layerList?.some((l) => l === '')) throw new CliError(`explain: --layer has an empty module path in '${str(o, 'layer')}'`, 2);
  if (layerList && new Set(layerList).size !== layerList.length)
    throw new CliError(`explain: --layer names a layer twice: ${str(o, 'layer')}`, 2);
  let layers: string[] = [];
  let requests: TargetRequest[] = [];
  const loaded = loadModelFromOptions('explain', o, {
    size: sizeOpt,
    beforeWeights: (model, defaultLayer, names) => {
      layers = layerList ?? (defaultLayer === null ? [] : [defaultLayer]);
      if (layers.length === 0 && requested.some((m) => m.usesLayer))
        throw new CliError(`explain: ${noDefaultLayer(str(o, 'model') ?? 'the model')}`, 2);
      if (layerList !== undefined || requested.some((m) => m.usesLayer))
        for (const l of layers) checkLayer(model, l, str(o, 'model') ?? str(o, 'arch') ?? 'the model');
      const base = parseTargetOptions(str(o, 'target'), str(o, 'target-mask'), str(o, 'target-class'), names);
      requests = entries.map((e) => (e.target === undefined ? base : parseTargetOptions(e.target, undefined, undefined, names)));
      // last of the checks: the folder, checked before the weights load but made only when the
      // first picture is written, so a failed run leaves no empty folder
      try {
        checkOutputFolder(out);
      } catch (e) {
        throw new CliError((e as Error).message, 2);
      }
    },
  });
  if (loaded.inputNote !== undefined) streams.stderr.write(`note: ${loaded.inputNote}\n`);
  // '' only when no method reads a layer (an ONNX model without a default one, no --layer).
  const layer = layers[0] ?? '';
  const camOptions = camChoicesFrom(o, layers);
  if (camChoicesActive(camOptions)) {
    for (const m of requested.filter((r) => !r.cam)) {
      if (!all)
        streams.stderr.write(
          `note: ${m.name} is not a layer CAM method: --layer lists, --aug-smooth and --eigen-smooth do not change it${m.usesLayer ? ` (it reads ${layer})` : ''}\n`,
        );
    }
  }
  let methods: MethodSpec[] | null = null;
  const rows: GalleryRow[] = [];
  const times = new Map<string, number[]>();
  const progress = many ? progressReporter(streams, 'explain', { unit: 'pictures' }) : null;
  let failedPictures = 0;
  let failed = 0;
  let runs = 0;
  const t0 = Date.now();
  try {
    for (const [index, entry] of entries.entries()) {
      let rawPicture: RasterImage;
      try {
        rawPicture = readPicture(entry.file);
      } catch (e) {
        if (!many) throw e;
        streams.stderr.write(`gradlens: ${(e as Error).message} (skipped)\n`);
        failedPictures++;
        progress?.update(index + 1, entries.length);
        continue;
      }
      // a YOLO model is fed the picture letterboxed, as Ultralytics feeds it
      const boxed = loaded.yolo ? letterboxImage(rawPicture, loaded.yolo) : null;
      const image =
        boxed ??
        prepareImage(rawPicture, {
          size: loaded.size,
          height: loaded.height,
          width: loaded.width,
          crop: loaded.crop,
          shorterSide: loaded.shorterSide,
          filter: loaded.filter,
          mean: loaded.mean,
          std: loaded.std,
          normalize: o['no-normalize'] !== true,
          reference,
        });
      const dir = many && !flat ? path.join(out, entry.stem) : out;
      try {
        const tf = Date.now();
        const output = modelOutput(loaded.model, image.input);
        const forwardMs = Date.now() - tf;
        const names = loaded.outputNames?.(image.frame) ?? loaded.classes;
        if (loaded.outputNames !== undefined && output.values.length === 0)
          throw new CliError(`${loaded.name} detected nothing in ${entry.file}: there is no detection to explain`);
        const yolo = loaded.yolo && boxed ? resolveYoloTargets(loaded.yolo, requests[index]!, output, boxed.geometry, entry.file) : null;
        const targets = yolo?.targets ?? resolveTargets(requests[index]!, output, names);
        // each YOLO detection's CAM reads the layer on its own grid, unless --layer says
        const layerOf = (i: number): string => (yolo && layerList === undefined ? (yolo.layers[i] ?? layer) : layer);
        if (yolo && !many) streams.stdout.write(listYoloDetections(yolo.detections, loaded.yolo!, boxed!.geometry));
        const top = output.shape.length === 2 ? ` (top class ${classLabel(indexOfMax(output.values), names)})` : '';
        if (!many)
          streams.stdout.write(
            `${loaded.name}: explaining ${targets.map((t) => t.describe).join(', ')} of ${entry.file}${top}; CAM layer ${yolo && layerList === undefined ? [...new Set(targets.map((_, i) => layerOf(i)))].join(', ') : layers.join(', ')}\n`,
          );
        if (methods === null) {
          const first = targets[0]!;
          const ctx: MethodContext = {
            model: loaded.model,
            input: image.input,
            target: first.target,
            targetFn: first.fn,
            layer: layerOf(0),
            reference,
            budget,
            onWarning,
            camOptions,
          };
          methods = applicableMethods(requested, all, ctx, streams, loaded.name);
          budget = tuneBatch(
            methods,
            loaded,
            image,
            layer,
            budget,
            forwardMs,
            str(o, 'batch-size') !== undefined,
            streams,
            many,
            camOptions,
          );
        }
        const row: GalleryRow = {
          name: entry.stem,
          input: '',
          label: targets.map((t) => t.describe).join('; '),
          predicted: top.replace(/^ \(top class (.*)\)$/, '$1') || '—',
          wrong: false,
          cells: new Map(),
        };
        if (many && format !== 'npy') {
          const inputFile = path.join(dir, `${entry.stem}_input.png`);
          writeImage(inputFile, image.picture);
          row.input = relUrl(out, inputFile);
        }
        const written: string[] = [];
        for (const [ti, t] of targets.entries()) {
          const tLayer = layerOf(ti);
          const tCam = tLayer === layer ? camOptions : camChoicesFrom(o, [tLayer]);
          for (const spec of methods) {
            const tm = Date.now();
            let maps: MethodMaps;
            try {
              maps = runMethod(spec, loaded, image.input, t.target, tLayer, reference, budget, streams, spec.name, {
                targetFn: t.fn,
                camOptions: tCam,
                quiet: many,
              });
            } catch (e) {
              if (methods.length === 1 && !many) throw e;
              streams.stderr.write(`gradlens: ${many ? `${entry.file}: ` : ''}${(e as Error).message}\n`);
              failed++;
              continue;
            } finally {
              runs++;
            }
            const stem = `${entry.stem}${t.suffix}`;
            const files: string[] = [];
            if (format !== 'npy') {
              const pics = writePictures(spec, maps, image.picture, dir, stem, onWarning, draw);
              files.push(...pics.files);
              if (t === targets[0]) row.cells.set(spec.name, relUrl(out, pics.main));
            }
            if (format !== 'png')
              files.push(...writeRaw(spec, maps, dir, `${many && flat ? `${entry.stem}_` : ''}${t.suffix ? `${t.suffix.slice(1)}_` : ''}`));
            const list = times.get(spec.name) ?? [];
            list.push((Date.now() - tm) / 1000);
            times.set(spec.name, list);
            written.push(...files);
            const notes = maps.notes.length ? `; ${maps.notes.join('; ')}` : '';
            if (!many)
              streams.stdout.write(
                `${spec.name}${t.suffix ? ` ${t.describe}` : ''} (${seconds(tm)}${notes}): ${files.map((f) => path.basename(f)).join(', ')}\n`,
              );
          }
        }
        rows.push(row);
        if (many) streams.stdout.write(`${entry.file}: ${row.label}${top}: ${written.length} files in ${dir}\n`);
      } catch (e) {
        if (!many) throw e;
        streams.stderr.write(`gradlens: ${entry.file}: ${(e as Error).message.replace(/\n\s*/g, '; ')} (skipped)\n`);
        failedPictures++;
      } finally {
        image.input.dispose();
        progress?.update(index + 1, entries.length);
      }
    }
  } finally {
    progress?.end();
  }
  if (many && rows.length > 0 && format !== 'npy') {
    const page = path.join(out, 'index.html');
    writeFileAtomic(
      page,
      runGalleryHtml(loaded.name, rows, methods ?? [], (m) => mean(times.get(m.name) ?? [])),
    );
    streams.stdout.write(
      `wrote ${rows.length} pictures × ${methods?.length ?? 0} methods in ${seconds(t0)}; gallery ${path.resolve(page)}\n`,
    );
  } else if (rows.length > 0) {
    streams.stdout.write(`wrote ${path.resolve(out)}\n`);
  }
  const problems = [
    failedPictures > 0 ? `${failedPictures} of ${entries.length} pictures could not be explained` : '',
    failed > 0 ? `${failed} of ${runs} method runs failed` : '',
  ].filter((x) => x !== '');
  if (problems.length > 0) throw new CliError(`${problems.join('; ')} (see above)`);
  return 0;
}

function mean(v: readonly number[]): number {
  return v.length === 0 ? 0 : v.reduce((a, b) => a + b, 0) / v.length;
}

/** The relative URL of `file` from a page in `dir` (forward slashes, each segment escaped). */
function relUrl(dir: string, file: string): string {
  return path.relative(dir, file).split(path.sep).map(encodeURIComponent).join('/');
}

/**
 * The batch size of the many-pass methods: the budget's, or smaller when one forward pass is slow,
 * so progress shows every few seconds; says what the many-pass methods will do.
 */
function tuneBatch(
  methods: readonly MethodSpec[],
  loaded: LoadedModel,
  image: { input: Tensor },
  layer: string,
  budget: Budget,
  forwardMs: number,
  fixed: boolean,
  streams: Streams,
  quiet: boolean,
  camOptions: CamChoices,
): Budget {
  const facts: WorkFacts = {
    height: image.input.shape[2]!,
    width: image.input.shape[3]!,
    budget,
    layerChannels: methods.some((m) => m.manyPasses && m.usesLayer) ? layerChannels(loaded.model, layer, image.input.shape) : null,
  };
  const heavy = methods.filter((m) => m.manyPasses && m.work);
  let b = budget.batchSize;
  if (heavy.length > 0 && !fixed) {
    // the first pass carries warm-up: time a second one
    const t2 = Date.now();
    modelOutput(loaded.model, image.input);
    const warmMs = Math.min(forwardMs, Date.now() - t2);
    b = progressBatch(warmMs, budget.batchSize);
    if (b < budget.batchSize)
      streams.stderr.write(
        `one forward pass took ${duration(warmMs / 1000)}: batches of ${b} instead of ${budget.batchSize}, so progress shows every few seconds (--batch-size sets it)\n`,
      );
  }
  if (heavy.length > 0 && !quiet) {
    const work = (m: MethodSpec): number => m.work!(facts) * (m.cam ? camCalls(camOptions) : 1);
    const list = heavy.map((m) => `${m.name} ${work(m)} inputs (${Math.ceil(work(m) / b)} passes)`).join(', ');
    streams.stderr.write(`many-pass methods: ${list}, in batches of ${b}; each says its time left after its first pass\n`);
  }
  return { ...budget, batchSize: b };
}
