import { full, noGrad, reshape, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import { indexOfMax } from '../maps';
import { completenessGap, targetLogit } from './completeness';
import type { DeletionOptions } from './deletion';
import { deletionAUC, insertionAUC } from './deletion';
import type { LocalizationOptions } from './localization';
import { localizationIoU } from './localization';
import type { PointingOptions } from './pointing';
import { pointingGame } from './pointing';
import type { RandomizationOptions } from './randomization';
import { modelRandomization } from './randomization';
import type { BoundingBox, ChannelReduction, Explainer } from './saliency';
import { toSaliencyMap } from './saliency';
import { complexity } from './complexity';
import type { FaithfulnessCorrelationOptions } from './faithfulness-correlation';
import { faithfulnessCorrelation } from './faithfulness-correlation';
import type { InfidelityOptions } from './infidelity';
import { infidelity } from './infidelity';
import type { LocalLipschitzOptions } from './local-lipschitz';
import { localLipschitz } from './local-lipschitz';
import type { MaxSensitivityOptions } from './max-sensitivity';
import { maxSensitivity } from './max-sensitivity';
import type { RoadOptions } from './road';
import { road } from './road';
import { sparseness } from './sparseness';
import { effectiveComplexity } from './complexity';
import { camMultImageConfidenceChange } from './cam-mult';
import type { PixelFlippingOptions } from './pixel-flipping';
import { pixelFlipping } from './pixel-flipping';
import type { RegionPerturbationOptions } from './region-perturbation';
import { regionPerturbation, selectivity } from './region-perturbation';
import type { SensitivityNOptions } from './sensitivity-n';
import { sensitivityN } from './sensitivity-n';
import type { IrofOptions } from './irof';
import { irof } from './irof';
import type { MonotonicityCorrelationOptions, MonotonicityOptions } from './monotonicity';
import { monotonicity, monotonicityCorrelation } from './monotonicity';
import { averageSensitivity } from './average-sensitivity';
import {
  attributionLocalisation,
  boxMask,
  localisationAUC,
  relevanceMassAccuracy,
  relevanceRankAccuracy,
  topKIntersection,
} from './mask-localisation';
import { randomLogit } from './random-logit';
import type { ContinuityOptions } from './continuity';
import { continuity } from './continuity';
import { minMax } from '../maps';

/** The metrics `evaluateMethods` can compute. */
export type MetricName =
  | 'localization'
  | 'iou'
  | 'pointing'
  | 'deletion'
  | 'insertion'
  | 'randomization'
  | 'completeness'
  | 'road-morf'
  | 'road-lerf'
  | 'faithfulness'
  | 'infidelity'
  | 'sensitivity'
  | 'lipschitz'
  | 'sparseness'
  | 'complexity'
  | 'road-combined'
  | 'confidence-drop'
  | 'confidence-increase'
  | 'pixel-flipping'
  | 'region-perturbation'
  | 'selectivity'
  | 'sensitivity-n'
  | 'irof'
  | 'monotonicity'
  | 'monotonicity-corr'
  | 'avg-sensitivity'
  | 'mass-accuracy'
  | 'rank-accuracy'
  | 'top-k'
  | 'attribution-localisation'
  | 'localisation-auc'
  | 'effective-complexity'
  | 'random-logit'
  | 'continuity';

/** The metrics `evaluateMethods` computes when none are named (those of issue 21 and before). */
export const DEFAULT_METRICS: readonly MetricName[] = [
  'localization',
  'iou',
  'pointing',
  'deletion',
  'insertion',
  'randomization',
  'completeness',
  'road-morf',
  'road-lerf',
  'faithfulness',
  'infidelity',
  'sensitivity',
  'lipschitz',
  'sparseness',
  'complexity',
];

/** Every metric, in table order: the defaults, then the Quantus / pytorch-grad-cam additions (asked for by name). */
export const METRIC_NAMES: readonly MetricName[] = [
  ...DEFAULT_METRICS,
  'road-combined',
  'confidence-drop',
  'confidence-increase',
  'pixel-flipping',
  'region-perturbation',
  'selectivity',
  'sensitivity-n',
  'irof',
  'monotonicity',
  'monotonicity-corr',
  'avg-sensitivity',
  'mass-accuracy',
  'rank-accuracy',
  'top-k',
  'attribution-localisation',
  'localisation-auc',
  'effective-complexity',
  'random-logit',
  'continuity',
];

/** Column titles and directions of the metrics. */
export const METRIC_INFO: Readonly<Record<MetricName, { title: string; higherIsBetter: boolean; description: string }>> = {
  localization: {
    title: 'Loc. acc.',
    higherIsBetter: true,
    description: 'CAM localisation: fraction of samples with IoU ≥ 0.5 (box of the largest component above 20% of the max)',
  },
  iou: { title: 'IoU', higherIsBetter: true, description: 'mean IoU of that box with the true box' },
  pointing: {
    title: 'Pointing',
    higherIsBetter: true,
    description: 'pointing game: fraction of samples whose map maximum lies in the true box (with tolerance)',
  },
  deletion: { title: 'Deletion AUC', higherIsBetter: false, description: 'RISE deletion AUC of the target probability (zeros baseline)' },
  insertion: {
    title: 'Insertion AUC',
    higherIsBetter: true,
    description: 'RISE insertion AUC of the target probability (blurred baseline)',
  },
  randomization: {
    title: 'Randomisation ρ',
    higherIsBetter: false,
    description: 'Spearman correlation of the map with the map of the fully randomised model (cascading, Adebayo et al.)',
  },
  completeness: {
    title: 'Completeness gap',
    higherIsBetter: false,
    description: "|Σ attribution − (f(x) − f(0))| / |f(x) − f(0)| on the target logit, for methods whose map has the input's shape",
  },
  'road-morf': {
    title: 'ROAD MoRF',
    higherIsBetter: false,
    description: 'ROAD (Rong et al. 2022): mean target probability with the 10…90% most relevant pixels removed by noisy linear imputation',
  },
  'road-lerf': {
    title: 'ROAD LeRF',
    higherIsBetter: true,
    description: 'ROAD: mean target probability with the 10…90% least relevant pixels removed by noisy linear imputation',
  },
  faithfulness: {
    title: 'Faithf. corr.',
    higherIsBetter: true,
    description:
      "faithfulness correlation (Bhatt et al. 2020, Quantus): Pearson correlation of the map's sum over random pixel subsets with the logit drop when they are set to the image minimum",
  },
  infidelity: {
    title: 'Infidelity',
    higherIsBetter: false,
    description:
      'infidelity (Yeh et al. 2019, Captum): E[(Iᵀa − (f(x) − f(x − I)))²], I ~ N(0, 0.1²), attribution scaled by the least-squares β (Captum normalize); the signed attribution, or the map on every channel',
  },
  sensitivity: {
    title: 'Max-sensitivity',
    higherIsBetter: false,
    description:
      'max-sensitivity (Yeh et al. 2019, Captum sensitivity_max): max ‖Φ(x+δ) − Φ(x)‖ / ‖Φ(x)‖ over 10 δ ~ U(±0.02), on the first pictures only',
  },
  lipschitz: {
    title: 'Local Lipschitz',
    higherIsBetter: false,
    description:
      'local Lipschitz estimate (Alvarez-Melis & Jaakkola 2018, Quantus): max ‖Φ(x) − Φ(x′)‖ / ‖x − x′‖ over 10 x′ = x + N(0, 0.1²), |Φ| / max, on the first pictures only',
  },
  sparseness: {
    title: 'Sparseness',
    higherIsBetter: true,
    description: "sparseness (Chalasani et al. 2020, Quantus): Gini index of the map's absolute values",
  },
  complexity: {
    title: 'Complexity',
    higherIsBetter: false,
    description: "complexity (Bhatt et al. 2020, Quantus): entropy of the map's absolute values as a distribution",
  },
  'road-combined': {
    title: 'ROAD combined',
    higherIsBetter: true,
    description: "pytorch-grad-cam's ROADCombined: (LeRF − MoRF) / 2 of ROAD",
  },
  'confidence-drop': {
    title: 'Conf. drop',
    higherIsBetter: false,
    description: "pytorch-grad-cam's DropInConfidence: max(0, f(x) − f(x ⊙ m)) on the logit, m the map min–max scaled",
  },
  'confidence-increase': {
    title: 'Conf. increase',
    higherIsBetter: true,
    description: "pytorch-grad-cam's IncreaseInConfidence: fraction of samples with f(x ⊙ m) > f(x), m the map min–max scaled",
  },
  'pixel-flipping': {
    title: 'Pixel flipping',
    higherIsBetter: false,
    description:
      'pixel flipping (Bach et al. 2015, Quantus): mean target probability as pixels are set to the image minimum, most relevant first',
  },
  'region-perturbation': {
    title: 'Region pert.',
    higherIsBetter: true,
    description:
      'region perturbation (Samek et al. 2017, Quantus): mean drop of the target probability as 8-px patches are removed, most relevant first',
  },
  selectivity: {
    title: 'Selectivity',
    higherIsBetter: false,
    description: 'selectivity (Montavon et al. 2018, Quantus): mean target probability as every 8-px patch is removed, most relevant first',
  },
  'sensitivity-n': {
    title: 'Sensitivity-n',
    higherIsBetter: true,
    description: 'sensitivity-n (Ancona et al. 2018): mean over subset sizes of the correlation of map sums with probability drops',
  },
  irof: {
    title: 'IROF',
    higherIsBetter: true,
    description:
      'IROF (Rieger & Hansen 2020, Quantus): area over the relative probability curve as SLIC superpixels are removed, per superpixel',
  },
  monotonicity: {
    title: 'Monotonicity',
    higherIsBetter: true,
    description:
      'monotonicity (Arya et al. 2019, Quantus): fraction of samples whose probability never falls as pixels are added, least relevant first',
  },
  'monotonicity-corr': {
    title: 'Monotonicity ρ',
    higherIsBetter: true,
    description:
      'monotonicity correlation (Nguyen & Martínez 2020, Quantus): Spearman correlation of |map| sums with the variance of the probability when the pixels are randomised',
  },
  'avg-sensitivity': {
    title: 'Avg sensitivity',
    higherIsBetter: false,
    description:
      'average sensitivity (Yeh et al. 2019, Quantus): mean ‖Φ(x+δ) − Φ(x)‖ / ‖Φ(x)‖ over 10 δ ~ U(±0.02), on the first pictures only',
  },
  'mass-accuracy': {
    title: 'Mass acc.',
    higherIsBetter: true,
    description: "relevance mass accuracy (Arras et al. 2022, Quantus): the map's share inside the box",
  },
  'rank-accuracy': {
    title: 'Rank acc.',
    higherIsBetter: true,
    description: "relevance rank accuracy (Arras et al. 2022, Quantus): fraction of the map's |box| highest pixels inside the box",
  },
  'top-k': {
    title: 'Top-k ∩',
    higherIsBetter: true,
    description: "top-k intersection (Theiner et al. 2021, Quantus): fraction of the map's k highest pixels inside the box",
  },
  'attribution-localisation': {
    title: 'Attr. loc.',
    higherIsBetter: true,
    description: "attribution localisation (Kohlbrenner et al. 2020, Quantus): the positive map's share inside the box",
  },
  'localisation-auc': {
    title: 'Loc. AUC',
    higherIsBetter: true,
    description: 'ROC AUC of the map as a score for the box pixels (Quantus AUC)',
  },
  'effective-complexity': {
    title: 'Eff. complexity',
    higherIsBetter: false,
    description: 'effective complexity (Nguyen & Martínez 2020, Quantus): pixels whose |map| / max exceeds 1e-5',
  },
  'random-logit': {
    title: 'Random logit',
    higherIsBetter: false,
    description: 'random logit (Sixt et al. 2020, Quantus): SSIM of the map with the map of a random other class',
  },
  continuity: {
    title: 'Continuity',
    higherIsBetter: false,
    description:
      'continuity (Montavon et al. 2018, Quantus): max ‖Φ(x) − Φ(xₜ)‖₁ / ‖x − xₜ‖₂ over 28 horizontal translations that keep the class, |Φ| / max, on the first pictures only',
  },
};

/** One evaluation sample: an image [C, H, W] or [1, C, H, W] in the model's input space, its class, and the object's box. */
export interface EvaluationSample {
  image: Tensor;
  label: number;
  box: BoundingBox;
}

export interface EvaluateOptions {
  /** Which metrics (default DEFAULT_METRICS; the others of METRIC_NAMES by name). */
  metrics?: readonly MetricName[];
  /** Explain the true label (default) or the model's top-1 class (the CAM paper's protocol). */
  target?: 'label' | 'top1';
  /** Channel reduction of multi-channel maps (default 'abs-max'). */
  reduce?: ChannelReduction;
  localization?: LocalizationOptions;
  pointing?: PointingOptions;
  deletion?: DeletionOptions;
  insertion?: DeletionOptions;
  /** Options of the randomisation test; it runs on the first `samples` samples only (default 4), it costs one map per layer. */
  randomization?: RandomizationOptions & { samples?: number };
  /** Constant baseline x′ of the completeness metric (default 0). */
  completeness?: { baseline?: number };
  /** Options of ROAD (the noise is seeded per sample: `seed` + sample index). */
  road?: RoadOptions;
  /** Options of the faithfulness correlation (subsets seeded per sample). */
  faithfulness?: FaithfulnessCorrelationOptions;
  /** Options of infidelity (default normalize: true, so methods of different scales compare). */
  infidelity?: InfidelityOptions;
  /** Max-sensitivity and the local Lipschitz estimate re-run the explainer per perturbation: on the first `samples` samples only (default 4), 10 perturbations each by default. */
  robustness?: { samples?: number; sensitivity?: MaxSensitivityOptions; lipschitz?: LocalLipschitzOptions };
  /** Options of the Quantus / pytorch-grad-cam metrics (defaults as each function's). */
  pixelFlipping?: PixelFlippingOptions;
  regionPerturbation?: RegionPerturbationOptions;
  selectivity?: Omit<RegionPerturbationOptions, 'order' | 'regions'>;
  sensitivityN?: SensitivityNOptions;
  irof?: IrofOptions;
  monotonicity?: MonotonicityOptions;
  monotonicityCorrelation?: MonotonicityCorrelationOptions;
  topK?: { k?: number; conceptInfluence?: boolean };
  attributionLocalisation?: { weighted?: boolean };
  effectiveComplexity?: { eps?: number };
  /** Average sensitivity runs on the first `robustness.samples` samples, as max-sensitivity. */
  averageSensitivity?: MaxSensitivityOptions;
  /** Continuity runs the explainer once per translation: on the first `robustness.samples` samples only. */
  continuity?: ContinuityOptions;
  /** Base seed of the metrics with randomness (default 0); sample i uses seed + i, so any slice of the samples gives the same values. */
  seed?: number;
  /** Index of the first sample in the whole set (default 0), for seeds when scoring a slice (`--shard`). */
  firstIndex?: number;
  /** Called after each (method, sample) pair. */
  onProgress?: (p: { method: string; sample: number; done: number; total: number }) => void;
}

/** Mean, standard deviation and count of one metric for one method (NaN values are left out; null when none remain). */
export interface MetricSummary {
  mean: number | null;
  std: number | null;
  n: number;
}

/** What `evaluateMethods` returns: plain objects, ready for JSON.stringify. */
export interface EvaluationTable {
  methods: string[];
  metrics: MetricName[];
  samples: number;
  /** results[method][metric]. */
  results: Record<string, Partial<Record<MetricName, MetricSummary>>>;
  /** Per-sample values, values[method][metric][sample] (null where a metric was not computed or undefined). */
  values: Record<string, Partial<Record<MetricName, (number | null)[]>>>;
  /** Mean Spearman curve of the randomisation test per method, over the layers (top first). */
  randomizationCurves: Record<string, { layers: string[]; spearman: (number | null)[] }>;
}

function summarize(v: readonly (number | null)[]): MetricSummary {
  const ok = v.filter((x): x is number => x !== null && Number.isFinite(x));
  if (ok.length === 0) return { mean: null, std: null, n: 0 };
  const mean = ok.reduce((a, b) => a + b, 0) / ok.length;
  const std = Math.sqrt(ok.reduce((a, b) => a + (b - mean) ** 2, 0) / ok.length);
  return { mean, std, n: ok.length };
}

/** A batch of one: `image` as [1, C, H, W] (a new tensor when it was [C, H, W]). */
function asBatch(image: Tensor): { x: Tensor; owned: boolean } {
  if (image.rank === 4 && image.shape[0] === 1) return { x: image, owned: false };
  if (image.rank !== 3)
    throw new Error(`evaluateMethods: sample images must be [C, H, W] or [1, C, H, W], got [${image.shape.join(', ')}]`);
  return { x: reshape(image, [1, ...image.shape]), owned: true };
}

function top1(model: Module, x: Tensor): number {
  return noGrad(() =>
    tidy(() => {
      return indexOfMax(model.call(x).dataSync());
    }),
  );
}

/**
 * Runs every method on every sample and computes the chosen metrics (each as its own function
 * documents: `localizationIoU`, `pointingGame`, `deletionAUC`, `insertionAUC`, `modelRandomization`,
 * `attributionCompleteness`); returns a method × metric table of means over samples, with standard
 * deviations, counts and per-sample values. Each method's map is computed once per sample and shared by
 * the map-based metrics. Multi-channel maps are reduced with `reduce`; coarse maps are upsampled.
 * Completeness is computed only for explainers whose output has the input's shape (a signed
 * attribution, summed as returned); for others (a Grad-CAM map) it is null. Randomisation is
 * the Spearman correlation after the last cascading step, on the first `randomization.samples`.
 */
export function evaluateMethods(
  model: Module,
  samples: readonly EvaluationSample[],
  methods: Record<string, Explainer>,
  options: EvaluateOptions = {},
): EvaluationTable {
  const metrics = [...(options.metrics ?? DEFAULT_METRICS)];
  for (const m of metrics)
    if (!METRIC_NAMES.includes(m))
      throw new Error(`evaluateMethods: unknown metric '${String(m)}'; known metrics: ${METRIC_NAMES.join(', ')}`);
  const names = Object.keys(methods);
  const has = (m: MetricName) => metrics.includes(m);
  const values: EvaluationTable['values'] = {};
  const curves: Record<string, { layers: string[]; sums: number[][] }> = {};
  const total = names.length * samples.length;
  let done = 0;
  const randSamples = options.randomization?.samples ?? 4;
  for (const name of names) {
    const explainer = methods[name]!;
    const per: Partial<Record<MetricName, (number | null)[]>> = {};
    for (const m of metrics) per[m] = [];
    samples.forEach((sample, si) => {
      const { x, owned } = asBatch(sample.image);
      try {
        const h = x.shape[2]!;
        const w = x.shape[3]!;
        const target = options.target === 'top1' ? top1(model, x) : sample.label;
        const raw = explainer(model, x, target);
        let rawSum = 0;
        // A signed input attribution has the input's shape ([1, C, H, W], or [C, H, W] for C > 1). Equal
        // sizes are not enough: a CAM map [1, H, W] of a 1-channel model has as many values as its input.
        const signed = raw.shape.join() === x.shape.join() || (x.shape[1] !== 1 && raw.shape.join() === x.shape.slice(1).join());
        let map;
        let rawValues: Float64Array | null = null;
        try {
          const v = raw.dataSync();
          for (let i = 0; i < v.length; i++) rawSum += Number(v[i]);
          if (signed) rawValues = Float64Array.from(v);
          map = toSaliencyMap(raw, { reduce: options.reduce, size: [h, w] });
        } finally {
          raw.dispose();
        }
        if (has('localization') || has('iou')) {
          const r = localizationIoU(map, sample.box, options.localization);
          per.localization?.push(r.hit ? 1 : 0);
          per.iou?.push(r.iou);
        }
        if (has('pointing')) per.pointing!.push(pointingGame(map, sample.box, options.pointing).hit ? 1 : 0);
        if (has('deletion')) per.deletion!.push(deletionAUC(model, x, map, target, options.deletion).auc);
        if (has('insertion')) per.insertion!.push(insertionAUC(model, x, map, target, options.insertion).auc);
        if (has('randomization')) {
          if (si < randSamples) {
            const r = modelRandomization(model, x, target, explainer, { reduce: options.reduce, size: [h, w], ...options.randomization });
            r.original.dispose();
            for (const t of r.maps) t.dispose();
            const last = r.spearman[r.spearman.length - 1];
            per.randomization!.push(last === undefined || Number.isNaN(last) ? null : last);
            const c = (curves[name] ??= { layers: r.layers, sums: r.layers.map(() => []) });
            r.spearman.forEach((s, i) => c.sums[i]?.push(s));
          } else {
            per.randomization!.push(null);
          }
        }
        const seed = (options.seed ?? 0) + (options.firstIndex ?? 0) + si;
        if (has('road-morf') || has('road-lerf') || has('road-combined')) {
          const r = road(model, x, map, target, { seed, ...options.road });
          per['road-morf']?.push(r.morf);
          per['road-lerf']?.push(r.lerf);
          per['road-combined']?.push(r.combined);
        }
        if (has('confidence-drop') || has('confidence-increase')) {
          const change = camMultImageConfidenceChange(model, x, { ...map, data: Float64Array.from(minMax(map.data)) }, target);
          per['confidence-drop']?.push(Math.max(0, -change));
          per['confidence-increase']?.push(change > 0 ? 1 : 0);
        }
        // the curves' areas per step (numpy.trapz over the steps / their number − 1), so sizes compare
        const perStep = (r: { auc: number; curve: number[] }) => r.auc / Math.max(1, r.curve.length - 1);
        if (has('pixel-flipping')) per['pixel-flipping']!.push(perStep(pixelFlipping(model, x, map, target, options.pixelFlipping)));
        if (has('region-perturbation'))
          per['region-perturbation']!.push(perStep(regionPerturbation(model, x, map, target, options.regionPerturbation)));
        if (has('selectivity')) per.selectivity!.push(perStep(selectivity(model, x, map, target, options.selectivity)));
        if (has('sensitivity-n'))
          per['sensitivity-n']!.push(finite(sensitivityN(model, x, map, target, { seed, ...options.sensitivityN }).mean));
        if (has('irof')) {
          const r = irof(model, x, map, target, options.irof);
          per.irof!.push(finite(r.aoc / r.segments));
        }
        if (has('monotonicity')) per.monotonicity!.push(monotonicity(model, x, map, target, options.monotonicity).monotonic ? 1 : 0);
        if (has('monotonicity-corr'))
          per['monotonicity-corr']!.push(
            finite(monotonicityCorrelation(model, x, map, target, { seed, ...options.monotonicityCorrelation })),
          );
        if (has('mass-accuracy') || has('rank-accuracy') || has('top-k') || has('attribution-localisation') || has('localisation-auc')) {
          const mask = boxMask(sample.box, h, w);
          per['mass-accuracy']?.push(finite(relevanceMassAccuracy(map, mask)));
          per['rank-accuracy']?.push(finite(relevanceRankAccuracy(map, mask)));
          if (has('top-k')) per['top-k']!.push(finite(topKIntersection(map, mask, options.topK)));
          per['attribution-localisation']?.push(finite(attributionLocalisation(map, mask, options.attributionLocalisation)));
          per['localisation-auc']?.push(finite(localisationAUC(map, mask)));
        }
        if (has('effective-complexity')) per['effective-complexity']!.push(effectiveComplexity(map, options.effectiveComplexity));
        if (has('random-logit'))
          per['random-logit']!.push(finite(randomLogit(model, x, explainer, target, { seed, reduce: options.reduce }).similarity));
        if (has('faithfulness'))
          per.faithfulness!.push(finite(faithfulnessCorrelation(model, x, map, target, { seed, ...options.faithfulness })));
        if (has('infidelity'))
          per.infidelity!.push(infidelity(model, x, rawValues ?? map.data, target, { seed, normalize: true, ...options.infidelity }));
        if (has('sparseness')) per.sparseness!.push(sparseness(map));
        if (has('complexity')) per.complexity!.push(finite(complexity(map)));
        const robust = (options.firstIndex ?? 0) + si < (options.robustness?.samples ?? 4);
        if (has('sensitivity'))
          per.sensitivity!.push(
            robust ? maxSensitivity(model, x, explainer, target, { seed, samples: 10, ...options.robustness?.sensitivity }) : null,
          );
        if (has('lipschitz'))
          per.lipschitz!.push(
            robust ? localLipschitz(model, x, explainer, target, { seed, samples: 10, ...options.robustness?.lipschitz }) : null,
          );
        if (has('avg-sensitivity'))
          per['avg-sensitivity']!.push(
            robust ? averageSensitivity(model, x, explainer, target, { seed, samples: 10, ...options.averageSensitivity }) : null,
          );
        if (has('continuity')) per.continuity!.push(robust ? finite(continuity(model, x, explainer, target, options.continuity)) : null);
        if (has('completeness') && !signed) per.completeness!.push(null);
        if (has('completeness') && signed) {
          const baseline = options.completeness?.baseline ?? 0;
          const base = fullLike(x, baseline);
          try {
            const r = completenessGap(rawSum, targetLogit(model, x, target), targetLogit(model, base, target));
            per.completeness!.push(Number.isFinite(r.relativeGap) ? r.relativeGap : null);
          } finally {
            base.dispose();
          }
        }
      } finally {
        if (owned) x.dispose();
      }
      done++;
      options.onProgress?.({ method: name, sample: si, done, total });
    });
    values[name] = per;
  }
  const results: EvaluationTable['results'] = {};
  for (const name of names) {
    const r: Partial<Record<MetricName, MetricSummary>> = {};
    for (const m of metrics) r[m] = summarize(values[name]![m]!);
    results[name] = r;
  }
  const randomizationCurves: EvaluationTable['randomizationCurves'] = {};
  for (const [name, c] of Object.entries(curves)) {
    randomizationCurves[name] = { layers: c.layers, spearman: c.sums.map((s) => summarize(s).mean) };
  }
  return { methods: names, metrics, samples: samples.length, results, values, randomizationCurves };
}

/** The value, or null when it is NaN or infinite (a constant map has no correlation or entropy). */
function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function fullLike(x: Tensor, v: number): Tensor {
  return full(x.shape, v, x.dtype);
}

/**
 * The table as GitHub markdown: one row per method, one column per metric with its direction
 * (↑ higher is better, ↓ lower), cells `mean ± std` with `digits` decimals, '—' where undefined.
 */
export function toMarkdown(table: EvaluationTable, options: { digits?: number; std?: boolean } = {}): string {
  const digits = options.digits ?? 3;
  const showStd = options.std ?? true;
  const head = ['Method', ...table.metrics.map((m) => `${METRIC_INFO[m].title} ${METRIC_INFO[m].higherIsBetter ? '↑' : '↓'}`)];
  const rows = table.methods.map((name) => [
    name,
    ...table.metrics.map((m) => {
      const s = table.results[name]?.[m];
      if (!s || s.mean === null) return '—';
      return showStd && s.std !== null && s.n > 1 ? `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}` : s.mean.toFixed(digits);
    }),
  ]);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return (
    [line(head), line(head.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line), '', `${table.samples} samples.`].join('\n') + '\n'
  );
}

/** The table as pretty-printed JSON (means, stds, counts, per-sample values, metric descriptions). */
export function tableToJSON(table: EvaluationTable): string {
  const info: Partial<Record<MetricName, { title: string; higherIsBetter: boolean; description: string }>> = {};
  for (const m of table.metrics) info[m] = METRIC_INFO[m];
  return JSON.stringify({ ...table, metricInfo: info }, null, 2);
}
