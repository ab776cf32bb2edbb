import * as explain from '@gradlens/explain';
import type { RgbImage } from '@gradlens/io';
import type { Module } from '@gradlens/nn';
import type { Tensor } from '@gradlens/tensor';
import { CliError } from './args';

/*
 * The metrics and feature-visualisation parts of @gradlens/explain were written alongside this
 * command; the command looks their entry points up at run time, with the signatures below, so it
 * builds whether or not a given export has landed, and says which one is missing when it has not.
 */

/** A map maker as the metrics take it: one image [1, C, H, W] and a class → a fresh map tensor. */
export type Explainer = (model: Module, input: Tensor, target: number) => Tensor;

/** A box in pixel edges, x1 and y1 exclusive. */
export interface BoundingBox { x0: number; y0: number; x1: number; y1: number }

/** One evaluation sample. */
export interface EvaluationSample { image: Tensor; label: number; box: BoundingBox }

/** Mean, std and count of one metric for one method. */
export interface MetricSummary { mean: number | null; std: number | null; n: number }

/** The method × metric table of evaluateMethods. */
export interface EvaluationTable {
  methods: string[];
  metrics: string[];
  samples: number;
  results: Record<string, Partial<Record<string, MetricSummary>>>;
  randomizationCurves: Record<string, { layers: string[]; spearman: (number | null)[] }>;
}

/** The options of evaluateMethods the command sets. */
export interface EvaluateOptions {
  metrics?: readonly string[];
  target?: 'label' | 'top1';
  deletion?: { steps?: number; batchSize?: number };
  insertion?: { steps?: number; batchSize?: number };
  randomization?: { samples?: number };
  onProgress?: (p: { method: string; sample: number; done: number; total: number }) => void;
}

/** The result of a feature visualisation. */
export interface FeatureVisResult { image: Tensor; finalObjective: number; losses: number[] }

/** Options shared by the feature visualisations the demo runs. */
export interface FeatureOptions { steps?: number; lr?: number; mean?: readonly number[]; std?: readonly number[]; seed?: number; size?: number; onProgress?: (step: number, loss: number) => void }

/** The result of the cascading randomisation test. */
export interface RandomizationResult { layers: string[]; spearman: number[]; original: Tensor; maps: Tensor[] }

/** The entry points the command uses, with the types it relies on. */
export interface Plugins {
  evaluateMethods: (model: Module, samples: readonly EvaluationSample[], methods: Record<string, Explainer>, options?: EvaluateOptions) => EvaluationTable;
  toMarkdown: (table: EvaluationTable, options?: { digits?: number; std?: boolean }) => string;
  tableToJSON: (table: EvaluationTable) => string;
  METRIC_INFO: Readonly<Record<string, { title: string; higherIsBetter: boolean; description: string }>>;
  modelRandomization: (model: Module, input: Tensor, target: number, explainer: Explainer, options?: { layers?: readonly string[]; seed?: number; size?: readonly [number, number]; reduce?: string }) => RandomizationResult;
  visualizeFilter: (model: Module, options: FeatureOptions & { layer: string; filter: number }) => FeatureVisResult;
  generateRegularizedClassSample: (model: Module, target: number, options?: FeatureOptions) => FeatureVisResult;
  invertRepresentation: (model: Module, image: Tensor, options: FeatureOptions & { layer: string }) => FeatureVisResult;
  visualizationToPicture: (image: Tensor, options?: { mean?: readonly number[]; std?: readonly number[] }) => RgbImage;
}

const NS = explain as unknown as Readonly<Record<string, unknown>>;

/** Whether @gradlens/explain exports `name`. */
export function hasExport(name: keyof Plugins): boolean {
  return NS[name] !== undefined;
}

/** The export `name` of @gradlens/explain; throws a CliError saying what is missing when it is not there. */
export function plugin<K extends keyof Plugins>(name: K, purpose: string): Plugins[K] {
  const v = NS[name];
  if (v === undefined) throw new CliError(`${purpose} needs ${name} from @gradlens/explain, which this build does not export yet`);
  return v as Plugins[K];
}
