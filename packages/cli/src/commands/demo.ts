import * as path from 'path';
import { applyColormap, colorBar, ensureDir, writeFileAtomic, writeImage } from '@gradlens/io';
import type { RgbImage } from '@gradlens/io';
import type { Tensor } from '@gradlens/tensor';
import { layers } from '@gradlens/nn';
import type { Module } from '@gradlens/nn';
import type { OptionSpec } from '../args';
import { CliError, flag, formatHelp, parseArgs, str } from '../args';
import { chwToPicture } from '../image';
import type { LoadedModel } from '../model';
import { BUNDLED_NAMES, loadBundled } from '../model';
import type { Budget, MethodContext, MethodMaps, MethodSpec } from '../methods';
import { DEFAULT_BUDGET, METHODS } from '../methods';
import { colorBarHtml, esc, GALLERY_CSS, galleryTable } from '../gallery';
import type { GalleryRow } from '../gallery';
import { writePictures } from '../pictures';
import type { EvaluationTable, MetricName } from '@gradlens/explain';
import {
  deepDream,
  generateRegularizedClassSample,
  hasTokenGrid,
  invertRepresentation,
  METRIC_INFO,
  minMax,
  modelRandomization,
  tableToJSON,
  visualizationToPicture,
  visualizeFilter,
} from '@gradlens/explain';
import type { Streams } from '../progress';
import { seconds } from '../progress';
import type { LabelledPicture } from '../samples';
import { readSamples, samplesDir } from '../samples';
import { className, logitsOf, resolveClass, runMethod } from './explain';
import { copyPage } from './serve';
import type { MapCache } from './evaluate';
import { evaluateWith, evaluationSamples, explainerOf, weightsFingerprint } from './evaluate';

const SPECS: Readonly<Record<string, OptionSpec>> = {
  out: { type: 'string', value: 'DIR', help: 'folder for index.html and its pictures', default: 'gradlens-demo' },
  quick: { type: 'boolean', help: 'a smaller run (2 pictures, smaller budgets): seconds instead of a minute or two' },
  model: { type: 'string', value: 'M[,M…]', help: `bundled models to show (${BUNDLED_NAMES.join(', ')})`, default: 'all' },
};

/** The metrics of the demo's table: all but the randomisation test, which the sanity strips show (it costs one map per layer). */
const DEMO_METRICS: MetricName[] = [
  'localization',
  'iou',
  'pointing',
  'deletion',
  'insertion',
  'completeness',
  'road-morf',
  'road-lerf',
  'faithfulness',
  'infidelity',
  'sparseness',
  'complexity',
];

/** Perturbation methods left out of the demo to keep it quick (each scores hundreds of perturbed pictures). */
const DEMO_SKIPPED: readonly string[] = ['ablation', 'shapley', 'lime', 'kernelshap'];

/** The work budget of the demo: small enough for a 2-core machine, said on the page. */
interface DemoBudget {
  pictures: number;
  method: Budget;
  curveSteps: number;
  filters: number;
  filterSteps: number;
  classes: number;
  classSteps: number;
  inversionSteps: number;
  /** Deep-dream steps per octave (3 octaves). */
  dreamSteps: number;
  /** Deep dreams (the whole layer, then filter 0) and inverted layers (deepest first) shown. */
  dreams: number;
  inversions: number;
  sanityMethods: string[];
}

const FULL: DemoBudget = {
  pictures: 5,
  method: { ...DEFAULT_BUDGET, samples: 16, steps: 16, window: 16, stride: 8, batchSize: 32 },
  curveSteps: 6,
  filters: 3,
  filterSteps: 20,
  classes: 3,
  classSteps: 40,
  inversionSteps: 40,
  dreamSteps: 20,
  dreams: 2,
  inversions: 3,
  sanityMethods: ['gradcam', 'guided', 'ig'],
};

const QUICK: DemoBudget = {
  pictures: 2,
  method: { ...DEFAULT_BUDGET, samples: 4, steps: 4, window: 32, stride: 32, batchSize: 32 },
  curveSteps: 4,
  filters: 1,
  filterSteps: 5,
  classes: 1,
  classSteps: 5,
  inversionSteps: 5,
  dreamSteps: 3,
  dreams: 1,
  inversions: 1,
  sanityMethods: ['gradcam'],
};

/** The relative URL of `file` from the page in `out` (forward slashes, each segment escaped). */
function rel(out: string, file: string): string {
  return path.relative(out, file).split(path.sep).map(encodeURIComponent).join('/');
}

/** A map [H, W] min–max normalised and colour-mapped (a sanity-strip cell). */
function mapPicture(m: Tensor): RgbImage {
  const unit = Float32Array.from(minMax(Float32Array.from(m.dataSync())));
  return applyColormap(unit, m.shape[0]!, m.shape[1]!, 'jet');
}

interface Section {
  title: string;
  html: string;
}

/** Up to `n` pictures in file order, preferring classes not shown yet (a more varied gallery). */
export function pickDiverse(pics: readonly LabelledPicture[], n: number): LabelledPicture[] {
  const seen = new Set<number>();
  const first = pics.filter((p) => (seen.has(p.label) ? false : (seen.add(p.label), true)));
  const rest = pics.filter((p) => !first.includes(p));
  const chosen = new Set([...first, ...rest].slice(0, n));
  return pics.filter((p) => chosen.has(p));
}

/** A method context for `applies` checks (no progress, nothing drawn). */
function probeContext(
  loaded: LoadedModel,
  input: Tensor,
  target: number,
  layer: string,
  budget: DemoBudget,
): Omit<MethodContext, 'onWarning'> {
  return { model: loaded.model, input, target, layer, reference: false, budget: budget.method };
}

/** Renders the metrics table as HTML. */
function metricsTable(table: EvaluationTable): string {
  const info = METRIC_INFO;
  const head = table.metrics
    .map((m) => {
      const i = info[m];
      return `<th title="${esc(i?.description ?? m)}">${esc(i?.title ?? m)} ${i?.higherIsBetter ? '↑' : '↓'}</th>`;
    })
    .join('');
  const rows = table.methods
    .map((name) => {
      const cells = table.metrics
        .map((m) => {
          const s = table.results[name]?.[m];
          return `<td>${s && s.mean !== null ? s.mean.toFixed(3) : '—'}</td>`;
        })
        .join('');
      return `<tr><th>${esc(name)}</th>${cells}</tr>`;
    })
    .join('\n');
  const legend = table.metrics.map((m) => `<li><b>${esc(info[m]?.title ?? m)}</b>: ${esc(info[m]?.description ?? '')}</li>`).join('');
  return `<table class="metrics"><thead><tr><th>method</th>${head}</tr></thead><tbody>\n${rows}\n</tbody></table><ul class="legend">${legend}</ul>`;
}

/** `gradlens demo`: returns the exit code. */
export function demoCommand(argv: readonly string[], streams: Streams): number {
  const { options: o, help, positionals } = parseArgs('demo', argv, SPECS);
  if (help) {
    streams.stdout.write(
      formatHelp(
        'gradlens demo [--out gradlens-demo] [--quick]',
        `Runs every attribution method on the bundled sample pictures with the bundled models, then the
metrics, feature visualisations and sanity checks, and writes a self-contained gallery (index.html).`,
        SPECS,
      ),
    );
    return 0;
  }
  if (positionals.length > 0) throw new CliError(`demo: unexpected argument '${positionals[0]}'`, 2);
  const t0 = Date.now();
  const quick = flag(o, 'quick');
  const budget = quick ? QUICK : FULL;
  const out = path.resolve(str(o, 'out') ?? 'gradlens-demo');
  const names = (str(o, 'model') ?? BUNDLED_NAMES.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const n of names)
    if (!BUNDLED_NAMES.includes(n)) throw new CliError(`unknown bundled model '${n}'; bundled models: ${BUNDLED_NAMES.join(', ')}`, 2);
  const models = names.map((n) => loadBundled(n));
  ensureDir(out);
  const colorBarFile = path.join(out, 'colorbar-jet.png');
  writeImage(colorBarFile, colorBar('jet', 256, 12));
  const log = (s: string): void => {
    streams.stderr.write(`${s}\n`);
  };
  const warnings: string[] = [];
  const onWarning = (m: string): void => {
    warnings.push(m);
  };
  const sections: Section[] = [];
  const timings: string[] = [];

  for (const loaded of models) {
    const tm = Date.now();
    const dir = path.join(out, loaded.name);
    ensureDir(dir);
    const pics = pickDiverse(readSamples(samplesDir(), loaded.size, loaded.classes ?? []), budget.pictures);
    const samples = evaluationSamples(pics, loaded);
    // Bundled models always name theirs.
    const layer = loaded.defaultLayer!;
    const classes = loaded.classes;
    let html = '';
    try {
      // every method, except those that do not apply to this model (found on the first picture: CAM needs a GAP + linear head)
      const methods: MethodSpec[] = METHODS.filter((m) => !DEMO_SKIPPED.includes(m.name));
      const skipped: { name: string; reason: string }[] = DEMO_SKIPPED.map((name) => ({
        name,
        reason: `hundreds of forward passes per picture; run gradlens explain --method ${name}`,
      }));
      // --- gallery -------------------------------------------------------------------------------
      log(`${loaded.name}: ${methods.length} methods × ${pics.length} pictures`);
      const rows: GalleryRow[] = [];
      const methodTime = new Map<string, number>();
      const cache: MapCache = new WeakMap();
      const fingerprint = weightsFingerprint(loaded.model);
      pics.forEach((pic, i) => {
        const sdir = path.join(dir, pic.name);
        ensureDir(sdir);
        const input = samples[i]!.image;
        const picture = chwToPicture(pic.pixels, pic.size);
        const inputFile = path.join(sdir, `${pic.name}.png`);
        writeImage(inputFile, picture);
        const logits = logitsOf(loaded.model, input);
        const top = resolveClass(undefined, logits, null);
        const row: GalleryRow = {
          name: pic.name,
          input: rel(out, inputFile),
          label: className(pic.label, classes),
          predicted: className(top, classes),
          wrong: top !== pic.label,
          cells: new Map(),
        };
        const cached = new Map<string, { target: number; weights: number; maps: MethodMaps }>();
        cache.set(input, cached);
        for (const spec of [...methods]) {
          const ts = Date.now();
          let maps: MethodMaps;
          try {
            const why = i === 0 ? (spec.applies?.({ ...probeContext(loaded, input, pic.label, layer, budget), onWarning }) ?? null) : null;
            if (why !== null) throw new CliError(why);
            maps = runMethod(
              spec,
              loaded,
              input,
              pic.label,
              layer,
              false,
              budget.method,
              streams,
              `${loaded.name} ${pic.name} ${spec.name}`,
            );
          } catch (e) {
            if (i > 0) throw e;
            const reason = (e as Error).message;
            log(`note: ${reason}; left out for ${loaded.name}`);
            skipped.push({ name: spec.name, reason });
            methods.splice(methods.indexOf(spec), 1);
            continue;
          }
          cached.set(spec.name, { target: pic.label, weights: fingerprint, maps });
          const written = writePictures(spec, maps, picture, sdir, pic.name, onWarning);
          row.cells.set(spec.name, rel(out, written.main));
          methodTime.set(spec.name, (methodTime.get(spec.name) ?? 0) + Date.now() - ts);
        }
        rows.push(row);
        log(`  picture ${i + 1}/${pics.length} ${pic.name} done (${seconds(tm)})`);
      });
      const perPicture = (m: MethodSpec): number => (methodTime.get(m.name) ?? 0) / 1000 / Math.max(1, rows.length);
      html += `<h3>Gallery</h3><p>Each map explains the picture's true class; CAM-style maps are drawn over the picture with the jet colormap (${colorBarHtml(rel(out, colorBarFile), 'jet')}), gradients as the reference's colour or grayscale gradient images. CAM layer <code>${esc(layer)}</code>. Times are per picture.${skipped.map((k) => ` Not shown: <b>${esc(k.name)}</b> (${esc(k.reason)}).`).join('')}</p>
${galleryTable(rows, methods, perPicture)}`;
      timings.push(`${loaded.name} gallery ${seconds(tm)}`);

      // --- metrics -------------------------------------------------------------------------------
      const te = Date.now();
      log(`${loaded.name}: metrics on ${samples.length} pictures`);
      {
        const { table } = evaluateWith(loaded, samples, methods, layer, budget.method, streams, {
          metrics: DEMO_METRICS,
          curveSteps: budget.curveSteps,
          cache,
          // fewer ROAD levels and correlation subsets than the defaults keep the demo quick
          metricOptions: { road: { percentages: [20, 50, 80] }, faithfulness: { runs: 20 } },
        });
        writeFileAtomic(path.join(dir, 'evaluation.json'), tableToJSON(table));
        html += `<h3>Metrics</h3><p>On the ${samples.length} bundled pictures only, with the maps of the gallery (a quick look; <code>gradlens evaluate --model ${esc(loaded.name)}</code> scores 500 held-out pictures and adds the randomisation test, shown here as the sanity strips below). Deletion/insertion curves with ${budget.curveSteps} steps; ROAD at 20, 50 and 80 % removed; faithfulness correlation over 20 subsets; max-sensitivity and local Lipschitz are left to <code>gradlens evaluate</code> (they re-run each method per perturbation).</p>${metricsTable(table)}`;
      }
      timings.push(`${loaded.name} metrics ${seconds(te)}`);

      // --- feature visualisations ----------------------------------------------------------------
      const tf = Date.now();
      html += featureSection(loaded, dir, out, layer, samples[0]!.image, budget, log);
      timings.push(`${loaded.name} features ${seconds(tf)}`);

      // --- sanity checks -------------------------------------------------------------------------
      const tr = Date.now();
      html += sanitySection(loaded, dir, out, layer, samples[0]!.image, pics[0]!, methods, budget, onWarning, log);
      timings.push(`${loaded.name} sanity ${seconds(tr)}`);
    } finally {
      for (const s of samples) s.image.dispose();
    }
    const acc = loaded.card ? ` · test accuracy ${(100 * loaded.card.testAccuracy).toFixed(1)}%` : '';
    const arch = loaded.card && typeof loaded.card.architecture === 'string' ? `<p class="arch">${esc(loaded.card.architecture)}</p>` : '';
    sections.push({
      title: loaded.name,
      html: `<h2 id="${esc(loaded.name)}">${esc(loaded.name)}<small>${esc(acc)}</small></h2>${arch}${html}`,
    });
  }

  const total = seconds(t0);
  const page = pageHtml(sections, budget, quick, total, timings, warnings.length);
  const index = path.join(out, 'index.html');
  writeFileAtomic(index, page);
  if (warnings.length > 0) log(`note: ${warnings.length} warnings while drawing maps (first: ${warnings[0]})`);
  streams.stdout.write(`demo written in ${total}: open ${index}\n`);
  const interactive = copyPage(out);
  if (interactive)
    streams.stdout.write(
      `the interactive page (every method, the tape and its rules; works from the folder, faster with \`gradlens serve\`): ${interactive}\n`,
    );
  return 0;
}

/**
 * The layer whose filters are visualised one at a time: the CAM layer when its output is a feature
 * map [N, C, h, w]; else (a vision transformer's [N, tokens, C]: a channel is not a picture-shaped
 * filter) the last ReLU with such an output, the conv stem's last.
 */
export function filterLayer(model: Module, layer: string, size: number): string | null {
  const rows = layers(model, [1, 3, size, size]);
  if (rows.find((r) => r.path === layer)?.outputShape?.length === 4) return layer;
  const relus = rows.filter((r) => r.outputShape?.length === 4 && r.type === 'ReLU');
  return relus[relus.length - 1]?.path ?? null;
}

/**
 * Up to three layers to invert, shallow to deep: the second ReLU beside the CAM layer, one halfway,
 * and the CAM layer itself (Mahendran & Vedaldi show how the picture fades with depth). For a vision
 * transformer: the conv stem's last ReLU, the first encoder layer's `ln_1` and the CAM layer.
 */
function inversionLayers(loaded: LoadedModel, layer: string, filters: string | null): string[] {
  if (hasTokenGrid(loaded.model)) {
    const norms = loaded.model
      .namedModules()
      .map(([p]) => p)
      .filter((p) => /\.ln_1$/.test(p));
    return [...new Set([...(filters ? [filters] : []), ...norms.slice(0, 1), layer])];
  }
  const parent = layer.includes('.') ? layer.slice(0, layer.lastIndexOf('.') + 1) : '';
  const relus = loaded.model
    .namedModules()
    .filter(([p, m]) => p.startsWith(parent) && !p.slice(parent.length).includes('.') && m.constructor.name === 'ReLU')
    .map(([p]) => p);
  const upTo = relus.slice(0, relus.indexOf(layer) + 1);
  if (upTo.length < 3) return [layer];
  return [...new Set([upTo[1]!, upTo[Math.ceil((upTo.length - 1) / 2)]!, layer])];
}

function featureSection(
  loaded: LoadedModel,
  dir: string,
  out: string,
  layer: string,
  image: Tensor,
  budget: DemoBudget,
  log: (s: string) => void,
): string {
  log(`${loaded.name}: feature visualisations`);
  const fdir = path.join(dir, 'features');
  ensureDir(fdir);
  const norm = { mean: loaded.mean, std: loaded.std };
  const save = (name: string, t: Tensor): string => {
    const file = path.join(fdir, `${name}.png`);
    writeImage(file, visualizationToPicture(t, norm));
    return file;
  };
  const fig = (file: string, caption: string): string =>
    `<figure><img src="${rel(out, file)}" alt="${esc(caption)}"><figcaption>${esc(caption)}</figcaption></figure>`;
  const figures: string[] = [];
  const tokens = hasTokenGrid(loaded.model);
  const filters = filterLayer(loaded.model, layer, loaded.size);
  for (let f = 0; f < (filters === null ? 0 : budget.filters); f++) {
    // Olah et al.'s decorrelated parametrisation: on raw pixels the same ascent gives high-frequency noise.
    const r = visualizeFilter(loaded.model, {
      layer: filters!,
      filter: f,
      size: loaded.size,
      steps: budget.filterSteps,
      ...norm,
      seed: f,
      parametrization: 'fourier',
      lr: 0.2,
    });
    try {
      figures.push(fig(save(`filter-${f}`, r.image), `${filters!} filter ${f}`));
    } finally {
      r.image.dispose();
    }
  }
  const classRow: string[] = [];
  const nClasses = Math.min(budget.classes, loaded.classes?.length ?? budget.classes);
  for (let c = 0; c < nClasses; c++) {
    const r = generateRegularizedClassSample(loaded.model, c, { size: loaded.size, steps: budget.classSteps, ...norm, seed: c });
    try {
      classRow.push(fig(save(`class-${c}`, r.image), `class ${className(c, loaded.classes)}`));
    } finally {
      r.image.dispose();
    }
  }
  const orig = fig(save('inversion-target', image), 'the first picture');
  const dreams: string[] = [orig];
  for (const filter of [undefined, 0].slice(0, budget.dreams)) {
    // one filter of a token layer is one channel over all tokens: the filter dream reads the filter layer;
    // a layer norm's output has a fixed mean square, so a ViT's whole-layer dream reads its block's output
    const dreamLayer = filter === undefined ? (tokens ? layer.replace(/\.ln_1$/, '') : layer) : filters;
    if (dreamLayer === null) continue;
    // a ViT's position embedding fixes its input size: coarse octaves are resized up before it sees them
    const r = deepDream(loaded.model, image, { layer: dreamLayer, filter, steps: budget.dreamSteps, fixedInputSize: tokens, ...norm });
    const what = filter === undefined ? `all of ${dreamLayer}` : `${dreamLayer} filter ${filter}`;
    try {
      dreams.push(fig(save(`dream-${filter ?? 'layer'}`, r.image), `${what} amplified`));
    } finally {
      r.image.dispose();
    }
  }
  const invLayers = inversionLayers(loaded, layer, filters).slice(-budget.inversions);
  const inversions: string[] = [orig];
  for (const l of invLayers) {
    const inv = invertRepresentation(loaded.model, image, { layer: l, steps: budget.inversionSteps, ...norm, seed: 0 });
    const dist = inv.finalObjective;
    try {
      inversions.push(fig(save(`inversion-${l}`, inv.image), `from ${l} (feature distance ${(100 * dist).toFixed(0)} %)`));
    } finally {
      inv.image.dispose();
    }
  }
  const filterText =
    filters === null
      ? `No filters are shown: <code>${esc(layer)}</code> has no picture-shaped output and the model no ReLU with one`
      : filters === layer
        ? `Filters of <code>${esc(layer)}</code> by activation maximisation (${budget.filterSteps} steps)`
        : `Filters of <code>${esc(filters)}</code>, the conv stem's last ReLU (the CAM layer <code>${esc(layer)}</code> holds tokens: one of its channels is not a picture-shaped filter), by activation maximisation (${budget.filterSteps} steps)`;
  const dreamText = tokens
    ? `deep dream runs 3 octaves of ${budget.dreamSteps} steps on the first picture, amplifying the output of the CAM layer's encoder block (the residual stream: the layer norm's own output has a fixed mean square); the transformer's position embedding takes exactly ${loaded.size}×${loaded.size} pictures, so each smaller octave is resized up to ${loaded.size}×${loaded.size} (bilinearly, on the tape) before the model sees it, and the coarse picture is what the ascent shapes`
    : `deep dream runs 3 octaves of ${budget.dreamSteps} steps on the first picture`;
  return `<h3>Feature visualisation</h3>
<p>${filterText} and the inverted representations use the decorrelated Fourier parametrisation of Olah et al. (2017); class models are regularised (blur, decay; ${budget.classSteps} steps); ${dreamText}.</p>
<h4>Filters</h4><div class="figs">${figures.join('')}</div><h4>Class models</h4><div class="figs">${classRow.join('')}</div>
<h4>Deep dream</h4><div class="figs">${dreams.join('')}</div>
<h4>Inverted representation</h4><p>Pictures whose activation at a layer matches the first picture's (${budget.inversionSteps} steps; the feature distance is ‖Φ(x) − Φ(x₀)‖² / ‖Φ(x₀)‖² at the end): the deeper the layer, the less of the picture it keeps.</p><div class="figs">${inversions.join('')}</div>`;
}

function sanitySection(
  loaded: LoadedModel,
  dir: string,
  out: string,
  layer: string,
  image: Tensor,
  pic: LabelledPicture,
  methods: MethodSpec[],
  budget: DemoBudget,
  onWarning: (m: string) => void,
  log: (s: string) => void,
): string {
  log(`${loaded.name}: sanity checks`);
  const sdir = path.join(dir, 'sanity');
  ensureDir(sdir);
  const strips: string[] = [];
  for (const name of budget.sanityMethods) {
    const spec = methods.find((m) => m.name === name);
    if (!spec) continue;
    const r = modelRandomization(loaded.model, image, pic.label, explainerOf(spec, layer, budget.method, onWarning), {
      seed: 0,
      size: [loaded.size, loaded.size],
    });
    try {
      const cells: string[] = [];
      const file0 = path.join(sdir, `${name}-original.png`);
      writeImage(file0, mapPicture(r.original));
      cells.push(`<figure><img src="${rel(out, file0)}" alt="${esc(`${name} original`)}"><figcaption>trained</figcaption></figure>`);
      r.maps.forEach((m, i) => {
        const file = path.join(sdir, `${name}-${i + 1}.png`);
        writeImage(file, mapPicture(m));
        const rho = r.spearman[i];
        cells.push(
          `<figure><img src="${rel(out, file)}" alt="${esc(`${name} after randomising ${r.layers[i]}`)}"><figcaption>+ ${esc(r.layers[i] ?? '')}<br>ρ ${rho === undefined || Number.isNaN(rho) ? '—' : rho.toFixed(2)}</figcaption></figure>`,
        );
      });
      strips.push(`<h4>${esc(spec.title)}</h4><div class="figs strip">${cells.join('')}</div>`);
    } finally {
      r.original.dispose();
      for (const m of r.maps) m.dispose();
    }
  }
  return `<h3>Sanity checks</h3><p>Cascading model-parameter randomisation (Adebayo et al. 2018) on ${esc(pic.name)}: the layers are re-initialised from the logits down, one more at each step; ρ is the Spearman rank correlation with the trained model's map. A map that stays the same when the weights are random does not explain the model.</p>${strips.join('')}`;
}

function pageHtml(sections: Section[], budget: DemoBudget, quick: boolean, total: string, timings: string[], warnings: number): string {
  const b = budget.method;
  const nav = sections.map((s) => `<a href="#${esc(s.title)}">${esc(s.title)}</a>`).join(' · ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gradlens demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em 2em; color: #222; background: #fafafa; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #ccc; margin-top: 2em; } h2 small { font-weight: normal; color: #666; font-size: 60%; margin-left: 1em; }
.arch { color: #555; font-family: monospace; font-size: 12px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid #ddd; padding: 4px; text-align: center; vertical-align: top; }
.gallery img, figure img { width: 96px; height: 96px; image-rendering: pixelated; display: block; margin: 0 auto; }
.gallery th { font-size: 12px; font-weight: 600; } .gallery th small { font-weight: normal; color: #777; }
.gallery th.input { text-align: left; white-space: nowrap; }
.metrics td { font-variant-numeric: tabular-nums; padding: 4px 10px; text-align: right; } .metrics th { padding: 4px 10px; }
.legend { color: #555; font-size: 12px; }
${GALLERY_CSS}
.figs { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0; }
figure { margin: 0; text-align: center; font-size: 11px; color: #444; } figcaption { max-width: 110px; overflow-wrap: anywhere; }
.missing { color: #a00; }
.note { background: #fff8e0; border: 1px solid #e8d9a0; padding: 6px 10px; }
code { background: #eee; padding: 0 3px; }
</style></head><body>
<h1>gradlens demo</h1>
<p>Every attribution method of gradlens on the bundled sample pictures (cluttered Fashion-MNIST, 64×64) with the bundled models (two CNNs and a vision transformer), trained by gradlens itself. ${nav}</p>
<p class="note">Budgeted to run in a few minutes on 2 CPU cores${quick ? ' (<b>--quick</b>: fewer pictures, far fewer steps)' : ''}: ${budget.pictures} of the bundled pictures per model (one per class), SmoothGrad ${b.samples} samples (paper: 50), integrated gradients ${b.steps} steps (paper: 50), occlusion window ${b.window ?? '-'} px stride ${b.stride ?? '-'} px, Score-CAM with every channel of the layer, ${budget.filterSteps}/${budget.classSteps}/${budget.inversionSteps}/3×${budget.dreamSteps} steps for filters/class models/inversions/deep dream. Total ${esc(total)} (${esc(timings.join(', '))}).${warnings ? ` ${warnings} warnings about degenerate maps (constant maps are drawn black).` : ''}</p>
${sections.map((s) => s.html).join('\n')}
<p><small>Made by <code>gradlens demo${quick ? ' --quick' : ''}</code>. Pictures are relative to this page; it loads nothing from the network.</small></p>
</body></html>
`;
}
