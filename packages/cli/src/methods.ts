import {
  ablationCam,
  attentionRollout,
  cam,
  deconvnet,
  disposeResult,
  genericAttention,
  hasChannelsLast,
  hasTokenGrid,
  transformerAttribution,
  eigenCam,
  gradCam,
  gradCamPlusPlus,
  gradientXInput,
  guidedBackprop,
  guidedGradCam,
  hiResCam,
  integratedGradients,
  layerCam,
  lrp,
  lrpPresets,
  occlusion,
  scoreCam,
  smoothGrad,
  vanillaGradient,
  xGradCam,
} from '@gradlens/explain';
import type { ProgressCallback, TargetFn } from '@gradlens/explain';
import type { NdArray } from '@gradlens/io';
import { didYouMean } from '@gradlens/nn';
import type { Module } from '@gradlens/nn';
import type { Tensor } from '@gradlens/tensor';
import { CliError } from './args';
import { camMethod, runCam } from './cam-options';
import type { CamChoices, CamRecipe } from './cam-options';
import { BREADTH_METHODS } from './methods-breadth';
import { LAYER_METHODS } from './methods-layer';
import { camMaps, gradientMaps, gradientMethod, item0, targetOf } from './method-maps';
import { reluRulesApply } from './relu-rules';
import { needsClassScores } from './class-scores';
import { needsClassifierOps, runsPicturesAlone } from './unbatched';

export { camMaps, gradientMaps, item0 } from './method-maps';

/** What a method's float maps are, which decides how they are drawn and saved. */
export type MethodKind = 'gradient' | 'cam' | 'occlusion';

/** Everything a method run needs. */
export interface MethodContext {
  model: Module;
  /** The input [1, 3, H, W] (normalised as the model expects). */
  input: Tensor;
  /** Class index, or undefined for the top class (or for `targetFn`). */
  target: number | undefined;
  /** A target function of the model's output (several classes summed, a segmentation mask); wins over `target`. */
  targetFn?: TargetFn;
  /** CAM options: several layers averaged, aug_smooth, eigen_smooth (the CAM methods with a `cam` recipe). */
  camOptions?: CamChoices;
  /** Module path of the CAM layer. */
  layer: string;
  /** The reference scripts' behaviour instead of the papers' (Grad-CAM from ones, SmoothGrad σ², IG without × (x − x′), LRP ε = 1e-9). */
  reference: boolean;
  /** Work budget of the many-pass methods. */
  budget: Budget;
  onProgress?: ProgressCallback;
  onWarning: (message: string) => void;
}

/** How much work the many-pass methods do. */
export interface Budget {
  /** SmoothGrad noisy samples (default 50, the paper's). */
  samples: number;
  /** Integrated-gradients path points (default 50). */
  steps: number;
  /** Occlusion window side and stride in pixels (default: input / 8 and half of that). */
  window?: number;
  stride?: number;
  /** Inputs per forward pass for the batched methods (default 16). */
  batchSize: number;
  /** Seed of SmoothGrad's noise (default 0). */
  seed: number;
  /** LRP composite preset (default 'epsilon'). */
  lrpComposite: string;
}

/** The default budget (the papers' numbers). */
export const DEFAULT_BUDGET: Budget = { samples: 50, steps: 50, batchSize: 16, seed: 0, lrpComposite: 'epsilon' };

/** What is known before a run, to say how much work a many-pass method is. */
export interface WorkFacts {
  /** Input height and width. */
  height: number;
  width: number;
  /** Channels of the CAM layer's output, when known. */
  layerChannels: number | null;
  budget: Budget;
}

/** The occlusion window and stride for an input whose shorter side is `h` (the budget's, or h / 8 and half of that). */
export function occlusionGeometry(h: number, budget: Budget): { window: number; stride: number } {
  const window = budget.window ?? Math.max(2, Math.round(h / 8));
  return { window, stride: budget.stride ?? Math.max(1, Math.floor(window / 2)) };
}

/** The float maps a method produced for one image, as plain arrays. */
export interface MethodMaps {
  kind: MethodKind;
  /**
   * What `<method>.npy` holds: [3, H, W] w.r.t. the preprocessed input for gradient methods,
   * [h, w] at the layer's resolution before any normalisation for CAM methods, [rows, cols] score
   * drops over the occluder positions for occlusion.
   */
  raw: NdArray<'float32'>;
  /** [H, W] at input resolution (CAM: bilinear upsampling; occlusion: per-pixel mean drop); what `<method>_upsampled.npy` holds. */
  upsampled: NdArray<'float32'> | null;
  /** The explained class. */
  target: number | null;
  /** Extra facts worth printing (IG completeness delta, LRP conservation). */
  notes: string[];
}

/** One attribution method as the command knows it. */
export interface MethodSpec {
  name: string;
  /** Column title in the gallery. */
  title: string;
  /** One line for `gradlens methods`. */
  summary: string;
  kind: MethodKind;
  /** True for methods that run many forward passes (progress is shown). */
  manyPasses: boolean;
  /** True for methods that read the target layer (`--layer`). */
  usesLayer: boolean;
  /** For many-pass methods: how many inputs the method will score, known before it starts. */
  work?: (f: WorkFacts) => number;
  /** Why the method cannot run on this model (null when it can); checked before any method runs. */
  applies?: (c: MethodContext) => string | null;
  /** For layer CAM methods: the recipe `--layer a,b`, `--aug-smooth` and `--eigen-smooth` compose (cam-options.ts). */
  cam?: CamRecipe;
  run: (ctx: MethodContext) => MethodMaps;
}

/** Why an attention method cannot run on a model without a token grid (a CNN), or null. */
const needsAttention = (c: MethodContext): string | null => {
  if (hasTokenGrid(c.model)) return null;
  // Swin (channels-last layers) attends within windows: no class token row to read.
  if (hasChannelsLast(c.model))
    return 'it reads attention probabilities; it needs a vision transformer with a class token (--arch vit_b_16, vit_b_32, vit_l_16, vit_l_32 or vit_h_14): Swin attends within windows and has none';
  return 'it reads attention probabilities; it needs a vision transformer (--arch vit_b_16, vit_b_32, vit_l_16, vit_l_32 or vit_h_14)';
};

/** LRP's relevance at the pixels under composite preset `rule`, with its conservation as a note. */
function lrpMaps(c: MethodContext, rule: string, reference: boolean): MethodMaps {
  if (!isLrpRule(rule))
    throw new CliError(`unknown LRP rule '${rule}'${didYouMean(rule, LRP_RULES)}; LRP rules: ${LRP_RULES.join(', ')}`, 2);
  const r = lrp(c.model, c.input, { target: targetOf(c), composite: rule, reference });
  try {
    if (r.relevance.rank !== 4)
      throw new CliError(`lrp returned relevance of shape [${r.relevance.shape.join(', ')}], expected [1, 3, H, W]`);
    const cons = r.conservation[0];
    // LRP resolves 'top1' itself: its target is the class whose logit was put in as relevance
    return {
      kind: 'gradient',
      raw: item0(r.relevance),
      upsampled: null,
      target: c.target ?? null,
      notes: cons === undefined ? [] : [`relevance conservation ${cons.toFixed(4)} (input / output)`],
    };
  } finally {
    disposeResult(r);
  }
}

/** The LRP composite presets by name. */
export const LRP_RULES: readonly string[] = Object.keys(lrpPresets);
const isLrpRule = (r: string): r is keyof typeof lrpPresets => LRP_RULES.includes(r);

/** Every method, in the order `gradlens methods` lists them and the gallery shows them. */
export const METHODS: readonly MethodSpec[] = [
  gradientMethod({
    name: 'vanilla',
    title: 'Vanilla gradient',
    summary: 'gradient of the class score w.r.t. the input pixels (Simonyan et al. 2014)',
    fn: (c, call) => vanillaGradient(c.model, c.input, call),
  }),
  gradientMethod({
    name: 'guided',
    title: 'Guided backprop',
    summary: 'guided backpropagation: ReLUs pass positive gradient where the input was positive (Springenberg et al. 2015)',
    applies: reluRulesApply('guided backprop'),
    fn: (c, call) => guidedBackprop(c.model, c.input, call),
  }),
  gradientMethod({
    name: 'deconvnet',
    title: 'Deconvnet',
    summary: 'deconvnet: ReLUs pass only positive gradient (Zeiler & Fergus 2014)',
    applies: reluRulesApply('deconvnet'),
    fn: (c, call) => deconvnet(c.model, c.input, call),
  }),
  gradientMethod({
    name: 'grad-x-input',
    title: 'Gradient × input',
    summary: 'vanilla gradient multiplied by the input (Shrikumar et al. 2016)',
    fn: (c, call) => gradientXInput(c.model, c.input, call),
  }),
  {
    name: 'smoothgrad',
    title: 'SmoothGrad',
    kind: 'gradient',
    manyPasses: true,
    usesLayer: false,
    summary: 'SmoothGrad: mean gradient over noisy copies, σ = 15% of the input range (Smilkov et al. 2017; --samples)',
    work: (f) => f.budget.samples,
    run: (c) => {
      const r = smoothGrad(c.model, c.input, {
        target: targetOf(c),
        onWarning: c.onWarning,
        samples: c.budget.samples,
        seed: c.budget.seed,
        batchSize: c.budget.batchSize,
        reference: c.reference,
        onProgress: c.onProgress,
      });
      return gradientMaps(r);
    },
  },
  {
    name: 'ig',
    title: 'Integrated gradients',
    kind: 'gradient',
    manyPasses: true,
    usesLayer: false,
    summary: 'integrated gradients from a zero baseline, × (x − x′), completeness delta reported (Sundararajan et al. 2017; --steps)',
    work: (f) => f.budget.steps,
    run: (c) => {
      const r = integratedGradients(c.model, c.input, {
        target: targetOf(c),
        onWarning: c.onWarning,
        steps: c.budget.steps,
        batchSize: c.budget.batchSize,
        reference: c.reference,
        onProgress: c.onProgress,
      });
      const d = r.delta[0];
      return gradientMaps(
        r,
        d === undefined || c.reference ? [] : [`completeness delta ${d.toPrecision(3)} (Σ attribution − (F(x) − F(x′)))`],
      );
    },
  },
  camMethod({
    name: 'gradcam',
    title: 'Grad-CAM',
    manyPasses: false,
    summary: 'Grad-CAM: layer activations weighted by their mean gradient, ReLU (Selvaraju et al. 2017)',
    cam: { eigen: 'channel', fn: (c) => (m, x, o) => gradCam(m, x, { ...o, reference: c.reference }) },
  }),
  gradientMethod({
    name: 'guided-gradcam',
    title: 'Guided Grad-CAM',
    usesLayer: true,
    summary: 'guided backprop ⊙ upsampled Grad-CAM, from one recorded forward pass (Selvaraju et al. 2017)',
    applies: reluRulesApply('guided Grad-CAM'),
    fn: (c, call) => guidedGradCam(c.model, c.input, { ...call, layer: c.layer, reference: c.reference }),
  }),
  camMethod({
    name: 'gradcam++',
    title: 'Grad-CAM++',
    manyPasses: false,
    summary: 'Grad-CAM++: pixel-wise weighted positive gradients (Chattopadhay et al. 2018)',
    cam: { eigen: 'channel', fn: () => gradCamPlusPlus },
  }),
  camMethod({
    name: 'xgradcam',
    title: 'XGrad-CAM',
    manyPasses: false,
    summary: 'XGrad-CAM: gradients weighted by normalised activations (Fu et al. 2020)',
    cam: { eigen: 'channel', fn: () => xGradCam },
  }),
  camMethod({
    name: 'hirescam',
    title: 'HiResCAM',
    manyPasses: false,
    summary: 'HiResCAM: element-wise gradient × activation summed over channels (Draelos & Carin 2020)',
    cam: { eigen: 'product', fn: () => hiResCam },
  }),
  camMethod({
    name: 'layercam',
    title: 'Layer-CAM',
    manyPasses: false,
    summary: 'Layer-CAM: activations weighted by their positive gradients, per location (Jiang et al. 2021)',
    cam: { eigen: 'positive-gradient', fn: () => layerCam },
  }),
  camMethod({
    name: 'scorecam',
    title: 'Score-CAM',
    manyPasses: true,
    summary: 'Score-CAM: each channel as a mask on the input, weighted by the class probability it keeps (Wang et al. 2020)',
    work: (f) => f.layerChannels ?? 0,
    cam: {
      eigen: 'channel',
      fn: (c) => (m, x, o) => scoreCam(m, x, { ...o, reference: c.reference, batchSize: c.budget.batchSize, onProgress: c.onProgress }),
    },
  }),
  camMethod({
    name: 'ablationcam',
    title: 'Ablation-CAM',
    manyPasses: true,
    summary: 'Ablation-CAM: each channel weighted by the score drop when it is zeroed (Desai & Ramaswamy 2020)',
    work: (f) => f.layerChannels ?? 0,
    cam: {
      eigen: 'channel',
      // a model running each picture alone (unbatched) scales one picture's layer output per run: one copy a pass
      fn: (c) => (m, x, o) =>
        ablationCam(m, x, { ...o, batchSize: runsPicturesAlone(c) ? 1 : c.budget.batchSize, onProgress: c.onProgress }),
    },
  }),
  camMethod({
    name: 'eigencam',
    title: 'Eigen-CAM',
    manyPasses: false,
    summary: 'Eigen-CAM: projection of the activations on their first principal component, class-agnostic (Muhammad & Yeasin 2020)',
    // class-agnostic: the target is not passed on
    cam: { eigen: 'principal', fn: () => (m, x, o) => eigenCam(m, x, { layer: o.layer, onWarning: o.onWarning }) },
  }),
  {
    name: 'cam',
    title: 'CAM',
    kind: 'cam',
    manyPasses: false,
    usesLayer: true,
    summary: 'CAM: activations weighted by the linear head, for GAP + linear models (Zhou et al. 2016)',
    // one forward pass tells whether the layer is followed by global average pooling and a linear head
    applies: (c) => {
      const scores = needsClassScores(c);
      if (scores !== null) return scores;
      try {
        disposeResult(cam(c.model, c.input, { target: targetOf(c), layer: c.layer, onWarning: () => undefined }));
        return null;
      } catch (e) {
        const msg = (e as Error).message;
        return /needs global average pooling/.test(msg) ? msg.replace(/^cam: /, '') : null;
      }
    },
    cam: { eigen: 'channel', fn: () => cam },
    run: (c) => runCam(c, { eigen: 'channel', fn: () => cam }),
  },
  {
    name: 'rollout',
    title: 'Attention rollout',
    kind: 'cam',
    manyPasses: false,
    usesLayer: false,
    summary:
      'attention rollout: head-averaged attention plus identity, multiplied through the layers, class-agnostic (Abnar & Zuidema 2020)',
    applies: needsAttention,
    run: (c) => camMaps(attentionRollout(c.model, c.input, { onWarning: c.onWarning })),
  },
  {
    name: 'generic-attention',
    title: 'Generic attention',
    kind: 'cam',
    manyPasses: false,
    usesLayer: false,
    summary: 'generic attention explainability: gradient-weighted attention rolled out through the layers (Chefer et al. 2021, ICCV)',
    applies: needsAttention,
    run: (c) => camMaps(genericAttention(c.model, c.input, { target: targetOf(c), onWarning: c.onWarning })),
  },
  {
    name: 'transformer-attribution',
    title: 'Transformer attribution',
    kind: 'cam',
    manyPasses: false,
    usesLayer: false,
    summary: 'transformer attribution: relevance at each attention map weighted by its gradient, rolled out (Chefer et al. 2021, CVPR)',
    applies: needsAttention,
    run: (c) => camMaps(transformerAttribution(c.model, c.input, { target: targetOf(c), onWarning: c.onWarning })),
  },
  {
    name: 'lrp',
    title: 'LRP',
    kind: 'gradient',
    manyPasses: false,
    usesLayer: false,
    summary:
      'layer-wise relevance propagation to the pixels, ε rule by default, conservation reported (Bach et al. 2015; --lrp-rule; conservative/attnlrp for transformers)',
    applies: needsClassifierOps,
    run: (c) => lrpMaps(c, c.budget.lrpComposite, c.reference),
  },
  {
    name: 'transformer-lrp',
    title: 'Transformer LRP',
    kind: 'gradient',
    manyPasses: false,
    usesLayer: false,
    summary:
      'conservative LRP for transformers: LRP-0 on linear layers, the LN-rule and the AH-rule, conservation reported (Ali et al. 2022; AttnLRP: lrp --lrp-rule attnlrp)',
    applies: needsAttention,
    run: (c) => lrpMaps(c, 'conservative', false),
  },
  {
    name: 'occlusion',
    title: 'Occlusion',
    kind: 'occlusion',
    manyPasses: true,
    usesLayer: false,
    summary: 'occlusion sensitivity: probability drop as a grey window slides over the image (Zeiler & Fergus 2014; --window, --stride)',
    work: (f) => {
      const { window, stride } = occlusionGeometry(f.height, f.budget);
      const along = (n: number): number => (n >= window ? Math.floor((n - window) / stride) + 1 : 0);
      return along(f.height) * along(f.width);
    },
    run: (c) => {
      const { window, stride } = occlusionGeometry(Math.min(c.input.shape[2] ?? 1, c.input.shape[3] ?? 1), c.budget);
      const r = occlusion(c.model, c.input, {
        target: targetOf(c),
        window,
        stride,
        batchSize: c.budget.batchSize,
        onProgress: c.onProgress,
        onWarning: c.onWarning,
      });
      try {
        return {
          kind: 'occlusion',
          raw: item0(r.grid),
          upsampled: item0(r.map),
          target: r.classes?.[0] ?? null,
          notes: [`window ${window}, stride ${stride}, ${r.positions.ys.length * r.positions.xs.length} positions`],
        };
      } finally {
        disposeResult(r);
      }
    },
  },
  ...BREADTH_METHODS,
  ...LAYER_METHODS,
];

/** The method names, in order. */
export const METHOD_NAMES: readonly string[] = METHODS.map((m) => m.name);

/** Looks a method up by name; throws a CliError naming the nearest and listing the valid names. */
export function methodByName(name: string): MethodSpec {
  const m = METHODS.find((s) => s.name === name);
  if (!m) throw new CliError(`unknown method '${name}'${didYouMean(name, METHOD_NAMES)}; methods: ${METHOD_NAMES.join(', ')}`, 2);
  return m;
}

/** Parses a comma-separated method list (`all` for every method); throws on unknown names and duplicates. */
export function parseMethods(list: string): MethodSpec[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) throw new CliError(`--method is empty; methods: ${METHOD_NAMES.join(', ')}`, 2);
  if (names.length === 1 && names[0] === 'all') return [...METHODS];
  const out: MethodSpec[] = [];
  for (const n of names) {
    const m = methodByName(n);
    if (!out.includes(m)) out.push(m);
  }
  return out;
}
