import { needsClassScores } from './class-scores';
import {
  deepLift,
  deepLiftShap,
  disposeResult,
  eigenGradCam,
  featureAblation,
  fem,
  finerCam,
  fullGrad,
  gradCamElementWise,
  gradientShap,
  guidedBackprop,
  kernelShap,
  kpcaCam,
  lime,
  noiseTunnel,
  shapleyCam,
  shapleyValueSampling,
  slic,
  vanillaGradient,
} from '@gradlens/explain';
import type { FeatureAttributionResult, FeatureMask, NoiseTunnelType, ProgressCallback, TargetSpec } from '@gradlens/explain';
import type { Module } from '@gradlens/nn';
import { Generator, tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { MethodContext, MethodMaps, MethodSpec, WorkFacts } from './methods';
import { camMethod } from './cam-options';
import { gradientMaps, item0, targetOf } from './method-maps';
import { reluRulesApply } from './relu-rules';
import { needsStackedRows } from './unbatched';

/** Baselines in the CLI's baseline distribution (DeepLIFT-SHAP, GradientSHAP). */
export const SHAP_BASELINES = 8;

const deltaNote = (d: number | undefined, what: string): string[] =>
  d === undefined ? [] : [`summation-to-delta gap ${d.toPrecision(3)} (Σ attribution − (F(x) − ${what}))`];

/**
 * The CLI's baseline distribution for an input [1, C, H, W]: the zero image (the dataset mean after
 * normalisation) and SHAP_BASELINES − 1 Gaussian-noise images with the input's standard deviation, seeded.
 */
export function shapBaselines(input: Tensor, seed: number): Tensor {
  const v = input.dataSync();
  let mean = 0;
  for (let i = 0; i < v.length; i++) mean += Number(v[i]);
  mean /= v.length;
  let sq = 0;
  for (let i = 0; i < v.length; i++) sq += (Number(v[i]) - mean) ** 2;
  const std = Math.sqrt(sq / v.length);
  const g = new Generator(seed);
  const out = new Float32Array(SHAP_BASELINES * v.length);
  for (let i = v.length; i < out.length; i++) out[i] = std * g.normal();
  return tensor(out, [SHAP_BASELINES, ...input.shape.slice(1)], input.dtype);
}

function tunnel(c: MethodContext, type: NoiseTunnelType, guided: boolean): MethodMaps {
  const explain = (m: Module, xs: Tensor, t: TargetSpec): Tensor =>
    (guided ? guidedBackprop : vanillaGradient)(m, xs, { target: t, onWarning: () => undefined }).attribution;
  const r = noiseTunnel(explain, c.model, c.input, {
    target: targetOf(c),
    type,
    samples: c.budget.samples,
    seed: c.budget.seed,
    batchSize: c.budget.batchSize,
    onProgress: c.onProgress,
    onWarning: c.onWarning,
  });
  return gradientMaps(r);
}

/** SLIC superpixels wanted for the perturbation methods. */
export const SUPERPIXELS = 25;
/** Shapley permutations for a --samples budget. */
const permutations = (samples: number): number => Math.max(2, Math.round(samples / 10));
/** SLIC superpixels of the input's first item (the CLI explains one picture at a time). */
function superpixels(input: Tensor): Int32Array {
  return slic(input, { segments: SUPERPIXELS });
}
/** KernelSHAP coalitions for a --samples budget: enough for a fit over the superpixels. */
const kernelShapSamples = (samples: number): number => Math.max(4 * samples, 3 * SUPERPIXELS);

/** The options every perturbation method of the CLI gets: the target, SLIC superpixels as features, the budget's seed and batch size. */
interface PerturbationOptions {
  target: TargetSpec;
  featureMask: FeatureMask;
  seed: number;
  batchSize: number;
  onProgress: ProgressCallback | undefined;
  onWarning: MethodContext['onWarning'];
}

/** A perturbation method over SLIC superpixels: what it is called, how much it scores, and its call with the shared options. */
interface Perturbation {
  name: string;
  title: string;
  summary: string;
  work: (f: WorkFacts) => number;
  explain: (c: MethodContext, options: PerturbationOptions) => FeatureAttributionResult;
  notes?: (r: FeatureAttributionResult) => string[];
}

/** The method spec of a perturbation method: a many-pass gradient-kind method whose result is freed once drawn. */
function perturbationMethod(p: Perturbation): MethodSpec {
  return {
    name: p.name,
    title: p.title,
    kind: 'gradient',
    manyPasses: true,
    usesLayer: false,
    summary: p.summary,
    work: p.work,
    run: (c) => {
      const r = p.explain(c, {
        target: targetOf(c),
        featureMask: superpixels(c.input),
        seed: c.budget.seed,
        batchSize: c.budget.batchSize,
        onProgress: c.onProgress,
        onWarning: c.onWarning,
      });
      return gradientMaps(r, p.notes?.(r) ?? []);
    },
  };
}

/** The methods of issue 21: DeepLIFT, DeepLIFT-SHAP, GradientSHAP and noise-tunnel variants. */
export const BREADTH_METHODS: readonly MethodSpec[] = [
  {
    name: 'deeplift',
    title: 'DeepLIFT',
    kind: 'gradient',
    manyPasses: false,
    usesLayer: false,
    summary:
      'DeepLIFT-Rescale from a zero reference: ReLU/sigmoid/tanh rules swapped for Δy/Δz on one tape, summation-to-delta reported (Shrikumar et al. 2017)',
    applies: needsStackedRows,
    run: (c) => {
      const r = deepLift(c.model, c.input, { target: targetOf(c), onWarning: c.onWarning });
      return gradientMaps(r, deltaNote(r.delta[0], 'F(x′)'));
    },
  },
  {
    name: 'deeplift-shap',
    title: 'DeepLIFT-SHAP',
    kind: 'gradient',
    manyPasses: true,
    usesLayer: false,
    summary: `DeepLIFT-SHAP: DeepLIFT averaged over ${SHAP_BASELINES} references (zero and noise images), summation-to-delta reported (Lundberg & Lee 2017)`,
    work: () => 2 * SHAP_BASELINES,
    applies: needsStackedRows,
    run: (c) => {
      const baselines = shapBaselines(c.input, c.budget.seed);
      try {
        const r = deepLiftShap(c.model, c.input, {
          target: targetOf(c),
          baselines,
          batchSize: Math.max(1, Math.floor(c.budget.batchSize / 2)),
          onProgress: c.onProgress,
          onWarning: c.onWarning,
        });
        return gradientMaps(r, deltaNote(r.delta[0], 'mean F(b)'));
      } finally {
        baselines.dispose();
      }
    },
  },
  {
    name: 'gradientshap',
    title: 'GradientSHAP',
    kind: 'gradient',
    manyPasses: true,
    usesLayer: false,
    summary: `GradientSHAP: expected gradients over ${SHAP_BASELINES} references and random path points (Lundberg & Lee 2017, Captum's GradientShap; --samples)`,
    work: (f) => f.budget.samples,
    run: (c) => {
      const baselines = shapBaselines(c.input, c.budget.seed);
      try {
        const r = gradientShap(c.model, c.input, {
          target: targetOf(c),
          baselines,
          samples: c.budget.samples,
          seed: c.budget.seed,
          batchSize: c.budget.batchSize,
          onProgress: c.onProgress,
          onWarning: c.onWarning,
        });
        return gradientMaps(r, deltaNote(r.delta[0], 'mean F(b)'));
      } finally {
        baselines.dispose();
      }
    },
  },
  {
    name: 'smoothgrad-sq',
    title: 'SmoothGrad²',
    kind: 'gradient',
    manyPasses: true,
    usesLayer: false,
    summary: 'SmoothGrad²: mean squared gradient over noisy copies (noise tunnel; Hooker et al. 2019; --samples)',
    work: (f) => f.budget.samples,
    run: (c) => tunnel(c, 'smoothgrad_sq', false),
  },
  {
    name: 'vargrad',
    title: 'VarGrad',
    kind: 'gradient',
    manyPasses: true,
    usesLayer: false,
    summary: 'VarGrad: variance of the gradient over noisy copies (noise tunnel; Adebayo et al. 2018; --samples)',
    work: (f) => f.budget.samples,
    run: (c) => tunnel(c, 'vargrad', false),
  },
  {
    name: 'guided-smoothgrad',
    title: 'Guided SmoothGrad',
    kind: 'gradient',
    manyPasses: true,
    usesLayer: false,
    summary: 'guided backprop in a noise tunnel: mean over noisy copies (Smilkov et al. 2017; --samples)',
    work: (f) => f.budget.samples,
    applies: reluRulesApply('guided SmoothGrad'),
    run: (c) => tunnel(c, 'smoothgrad', true),
  },
  camMethod({
    name: 'eigengradcam',
    title: 'Eigen-Grad-CAM',
    manyPasses: false,
    summary: 'Eigen-Grad-CAM: first principal component of gradient ⊙ activation, class-specific (pytorch-grad-cam)',
    cam: { eigen: 'principal', fn: () => eigenGradCam },
  }),
  camMethod({
    name: 'gradcam-elementwise',
    title: 'Grad-CAM element-wise',
    manyPasses: false,
    summary: 'Grad-CAM element-wise: Σₖ ReLU(gradient ⊙ activation), ReLU (pytorch-grad-cam)',
    cam: { eigen: 'positive-product', fn: () => gradCamElementWise },
  }),
  camMethod({
    name: 'shapleycam',
    title: 'ShapleyCAM',
    manyPasses: false,
    summary: 'ShapleyCAM: Grad-CAM weights from the gradient − ½ Hessian·activation, by double backward (Cai et al. 2024)',
    cam: { eigen: 'channel', fn: () => shapleyCam },
  }),
  camMethod({
    name: 'kpcacam',
    title: 'KPCA-CAM',
    manyPasses: false,
    summary: 'KPCA-CAM: projection of the activations on their first kernel principal component, class-agnostic (Karmani et al. 2024)',
    // class-agnostic: the target is not passed on
    cam: { eigen: 'principal', fn: () => (m, x, o) => kpcaCam(m, x, { layer: o.layer, onWarning: o.onWarning }) },
  }),
  camMethod({
    name: 'fem',
    title: 'FEM',
    manyPasses: false,
    summary: 'FEM: channels weighted by how often they exceed their mean + 2 std, class-agnostic (Fuad et al. 2020)',
    cam: { eigen: 'channel', fn: () => (m, x, o) => fem(m, x, { layer: o.layer, onWarning: o.onWarning }) },
  }),
  camMethod({
    name: 'finercam',
    title: 'Finer-CAM',
    manyPasses: false,
    summary: 'Finer-CAM: Grad-CAM of the class against its three most similar classes (Zhang et al. 2025)',
    applies: needsClassScores,
    cam: {
      eigen: 'channel',
      fn: () => (m, x, o) => {
        const t = o.target;
        const classes =
          typeof t === 'number' || (Array.isArray(t) && t.every((c) => typeof c === 'number')) ? (t as number | number[]) : undefined;
        return finerCam(m, x, { layer: o.layer, onWarning: o.onWarning, target: classes });
      },
    },
  }),
  {
    name: 'fullgrad',
    title: 'FullGrad',
    kind: 'cam',
    manyPasses: false,
    usesLayer: false,
    summary:
      'FullGrad: |input-gradient ⊙ x| plus |bias-gradients| of every conv and batch norm, upsampled and summed (Srinivas & Fleuret 2019)',
    run: (c) => {
      const r = fullGrad(c.model, c.input, { target: targetOf(c), onWarning: c.onWarning });
      try {
        const m = item0(r.map);
        return { kind: 'cam', raw: m, upsampled: m, target: r.classes?.[0] ?? null, notes: [`${r.layers} biased layers`] };
      } finally {
        disposeResult(r);
      }
    },
  },
  perturbationMethod({
    name: 'ablation',
    title: 'Feature ablation',
    summary: 'feature ablation: score drop when each SLIC superpixel is set to 0 (Captum FeatureAblation)',
    work: () => SUPERPIXELS,
    explain: (c, o) => featureAblation(c.model, c.input, o),
    notes: (r) => [`${r.features[0]?.length ?? 0} superpixels`],
  }),
  perturbationMethod({
    name: 'shapley',
    title: 'Shapley sampling',
    summary: 'Shapley value sampling over SLIC superpixels, --samples / 10 permutations (Castro et al. 2009; Captum ShapleyValueSampling)',
    work: (f) => permutations(f.budget.samples) * (SUPERPIXELS + 1),
    explain: (c, o) => shapleyValueSampling(c.model, c.input, { ...o, samples: permutations(c.budget.samples) }),
  }),
  perturbationMethod({
    name: 'lime',
    title: 'LIME',
    summary: 'LIME: weighted ridge surrogate over SLIC superpixels switched off at random, 4 × --samples patterns (Ribeiro et al. 2016)',
    work: (f) => 4 * f.budget.samples,
    explain: (c, o) => lime(c.model, c.input, { ...o, samples: 4 * c.budget.samples }),
  }),
  perturbationMethod({
    name: 'kernelshap',
    title: 'KernelSHAP',
    summary:
      'KernelSHAP: Shapley-kernel weighted fit over SLIC superpixels with efficiency exact, max(4 × --samples, 3 × superpixels) coalitions (Lundberg & Lee 2017)',
    work: (f) => kernelShapSamples(f.budget.samples) + 1,
    explain: (c, o) => kernelShap(c.model, c.input, { ...o, samples: kernelShapSamples(c.budget.samples) }),
  }),
];
