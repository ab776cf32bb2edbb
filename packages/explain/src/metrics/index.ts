export type { Explainer, BoundingBox, SaliencyMap, ChannelReduction, SaliencyOptions } from './saliency';
export { toSaliencyMap } from './saliency';
export type { LocalizationOptions, LocalizationResult } from './localization';
export { localizationIoU, largestComponentBox, boxIoU } from './localization';
export type { PointingOptions, PointingResult } from './pointing';
export { pointingGame } from './pointing';
export type { CurveBaseline, DeletionOptions, CurveResult } from './deletion';
export { deletionAUC, insertionAUC, trapezoidAUC } from './deletion';
export { spearman, ssim } from './stats';
export type { Reinitializer, RandomizationOptions, RandomizationResult } from './randomization';
export { modelRandomization, defaultReinit, parameterLayers, withRestoredWeights } from './randomization';
export type { CompletenessResult } from './completeness';
export { integratedGradientsCompleteness, attributionCompleteness, completenessGap } from './completeness';
export type { MetricName, EvaluationSample, EvaluateOptions, MetricSummary, EvaluationTable } from './evaluate';
export { evaluateMethods, toMarkdown, tableToJSON, METRIC_NAMES, DEFAULT_METRICS, METRIC_INFO } from './evaluate';
export { sparseness } from './sparseness';
export { complexity, effectiveComplexity } from './complexity';
export type { FaithfulnessCorrelationOptions } from './faithfulness-correlation';
export { faithfulnessCorrelation } from './faithfulness-correlation';
export type { InfidelityOptions } from './infidelity';
export { infidelity } from './infidelity';
export type { MaxSensitivityOptions } from './max-sensitivity';
export { maxSensitivity } from './max-sensitivity';
export type { LocalLipschitzOptions } from './local-lipschitz';
export { localLipschitz } from './local-lipschitz';
export type { RoadOptions, RoadResult } from './road';
export { road, noisyLinearImpute } from './road';
export { camMultImageConfidenceChange, dropInConfidence, increaseInConfidence } from './cam-mult';
export type { PixelFlippingOptions, PixelFlippingResult } from './pixel-flipping';
export { pixelFlipping } from './pixel-flipping';
export type { RegionPerturbationOptions, PatchCurveResult } from './region-perturbation';
export { regionPerturbation, selectivity, patchOrder } from './region-perturbation';
export type { SensitivityNOptions, SensitivityNResult } from './sensitivity-n';
export { sensitivityN } from './sensitivity-n';
export type { IrofOptions, IrofResult } from './irof';
export { irof } from './irof';
export type { MonotonicityOptions, MonotonicityResult, MonotonicityCorrelationOptions } from './monotonicity';
export { monotonicity, monotonicityCorrelation } from './monotonicity';
export { averageSensitivity } from './average-sensitivity';
export {
  boxMask,
  relevanceMassAccuracy,
  relevanceRankAccuracy,
  topKIntersection,
  attributionLocalisation,
  localisationAUC,
} from './mask-localisation';
export type { RandomLogitOptions, RandomLogitResult } from './random-logit';
export { randomLogit } from './random-logit';
export type { ContinuityOptions } from './continuity';
export { continuity } from './continuity';
