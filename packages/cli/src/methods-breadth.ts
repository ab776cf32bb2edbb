import {
  deepLift,
  deepLiftShap,
  disposeResult,
  eigenGradCam,
  featureAblation,
  fullGrad,
  gradCamElementWise,
  gradientShap,
  guidedBackprop,
  kernelShap,
  lime,
  noiseTunnel,
  shapleyValueSampling,
  slic,
  vanillaGradient,
} from '@gradlens/explain';
import type { NoiseTunnelType, TargetSpec } from '@gradlens/explain';
import type { Module } from '@gradlens/nn';
import { Generator, tensor } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import type { MethodContext, MethodMaps, MethodSpec } from './methods';
import { camMethod } from './cam-options';
import { item0, targetOf } from './method-maps';

/** Baselines in the CLI's baseline distribution (DeepLIFT-SHAP, GradientSHAP). */
export const SHAP_BASELINES = 8;

const gradient = (attribution: Tensor, classes: number[] | null, notes: string[] = []): MethodMaps => ({
  kind: 'gradient',
  raw: item0(attribution),
  upsampled: null,
  target: classes?.[0] ?? null,
  notes,
});
const tgt = targetOf;
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
    target: tgt(c),
    type,
    samples: c.budget.samples,
    seed: c.budget.seed,
    batchSize: c.budget.batchSize,
    onProgress: c.onProgress,
    onWarning: c.onWarning,
  });
  try {
    return gradient(r.attribution, r.classes);
  } finally {
    disposeResult(r);
  }
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
    run: (c) => {
      const r = deepLift(c.model, c.input, { target: tgt(c), onWarning: c.onWarning });
      try {
        return gradient(r.attribution, r.classes, deltaNote(r.delta[0], 'F(x′)'));
      } finally {
        disposeResult(r);
      }
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
    run: (c) => {
      const baselines = shapBaselines(c.input, c.budget.seed);
      try {
        const r = deepLiftShap(c.model, c.input, {
          target: tgt(c),
          baselines,
          batchSize: Math.max(1, Math.floor(c.budget.batchSize / 2)),
          onProgress: c.onProgress,
          onWarning: c.onWarning,
        });
        try {
          return gradient(r.attribution, r.classes, deltaNote(r.delta[0], 'mean F(b)'));
        } finally {
          disposeResult(r);
        }
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
          target: tgt(c),
          baselines,
          samples: c.budget.samples,
          seed: c.budget.seed,
          batchSize: c.budget.batchSize,
          onProgress: c.onProgress,
          onWarning: c.onWarning,
        });
        try {
          return gradient(r.attribution, r.classes, deltaNote(r.delta[0], 'mean F(b)'));
        } finally {
          disposeResult(r);
        }
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
  {
    name: 'fullgrad',
    title: 'FullGrad',
    kind: 'cam',
    manyPasses: false,
    usesLayer: false,
    summary:
      'FullGrad: |input-gradient ⊙ x| plus |bias-gradients| of every conv and batch norm, upsampled and summed (Srinivas & Fleuret 2019)',
    run: (c) => {
      const r = fullGrad(c.model, c.input, { target: tgt(c), onWarning: c.onWarning });
      try {
        const m = item0(r.map);
        return { kind: 'cam', raw: m, upsampled: m, target: r.classes?.[0] ?? null, notes: [`${r.layers} biased layers`] };
      } finally {
        disposeResult(r);
      }
    },
  },
  {
    name: 'ablation',
    title: 'Feature ablation',
    kind: 'gradient',
    manyPasses: true,
    usesLayer: false,
    summary: 'feature ablation: score drop when each SLIC superpixel is set to 0 (Captum FeatureAblation)',
    work: () => SUPERPIXELS,
    run: (c) => {
      const r = featureAblation(c.model, c.input, {
        target: tgt(c),
        featureMask: superpixels(c.input),
        batchSize: c.budget.batchSize,
        onProgress: c.onProgress,
        onWarning: c.onWarning,
      });
      try {
        return gradient(r.attribution, r.classes, [`${r.features[0]?.length ?? 0} superpixels`]);
      } finally {
        disposeResult(r);
      }
    },
  },
  {
    name: 'shapley',
    title: 'Shapley sampling',
    kind: 'gradient',
    manyPasses: true,
    usesLayer: false,
    summary: 'Shapley value sampling over SLIC superpixels, --samples / 10 permutations (Castro et al. 2009; Captum ShapleyValueSampling)',
    work: (f) => permutations(f.budget.samples) * (SUPERPIXELS + 1),
    run: (c) => {
      const r = shapleyValueSampling(c.model, c.input, {
        target: tgt(c),
        featureMask: superpixels(c.input),
        samples: permutations(c.budget.samples),
        seed: c.budget.seed,
        batchSize: c.budget.batchSize,
        onProgress: c.onProgress,
        onWarning: c.onWarning,
      });
      try {
        return gradient(r.attribution, r.classes);
      } finally {
        disposeResult(r);
      }
    },
  },
  {
    name: 'lime',
    title: 'LIME',
    kind: 'gradient',
    manyPasses: true,
    usesLayer: false,
    summary: 'LIME: weighted ridge surrogate over SLIC superpixels switched off at random, 4 × --samples patterns (Ribeiro et al. 2016)',
    work: (f) => 4 * f.budget.samples,
    run: (c) => {
      const r = lime(c.model, c.input, {
        target: tgt(c),
        featureMask: superpixels(c.input),
        samples: 4 * c.budget.samples,
        seed: c.budget.seed,
        batchSize: c.budget.batchSize,
        onProgress: c.onProgress,
        onWarning: c.onWarning,
      });
      try {
        return gradient(r.attribution, r.classes);
      } finally {
        disposeResult(r);
      }
    },
  },
  {
    name: 'kernelshap',
    title: 'KernelSHAP',
    kind: 'gradient',
    manyPasses: true,
    usesLayer: false,
    summary:
      'KernelSHAP: Shapley-kernel weighted fit over SLIC superpixels with efficiency exact, max(4 × --samples, 3 × superpixels) coalitions (Lundberg & Lee 2017)',
    work: (f) => kernelShapSamples(f.budget.samples) + 1,
    run: (c) => {
      const r = kernelShap(c.model, c.input, {
        target: tgt(c),
        featureMask: superpixels(c.input),
        samples: kernelShapSamples(c.budget.samples),
        seed: c.budget.seed,
        batchSize: c.budget.batchSize,
        onProgress: c.onProgress,
        onWarning: c.onWarning,
      });
      try {
        return gradient(r.attribution, r.classes);
      } finally {
        disposeResult(r);
      }
    },
  },
];
