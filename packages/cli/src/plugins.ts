/*
 * The parts of @gradlens/explain that the evaluate and demo commands use beyond the attribution
 * methods: the metrics and the feature visualisations, gathered here.
 */
export {
  deepDream,
  evaluateMethods,
  generateRegularizedClassSample,
  invertRepresentation,
  METRIC_INFO,
  METRIC_NAMES,
  modelRandomization,
  tableToJSON,
  toMarkdown,
  visualizationToPicture,
  visualizeFilter,
} from '@gradlens/explain';
export type { BoundingBox, EvaluationSample, EvaluationTable, Explainer, MetricName } from '@gradlens/explain';
