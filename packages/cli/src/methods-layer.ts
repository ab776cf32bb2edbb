import { defaultReshape, layerConductance, layerGradientXActivation, layerIntegratedGradients, upsampleMaps } from '@gradlens/explain';
import type { LayerAttributionResult } from '@gradlens/explain';
import { disposeResult } from '@gradlens/explain';
import { sum, tidy } from '@gradlens/tensor';
import type { MethodContext, MethodMaps, MethodSpec } from './methods';
import { CliError } from './args';
import { item0, targetOf } from './method-maps';
import { needsStackedRows } from './unbatched';

/**
 * A layer attribution [1, …layer shape] as a picture: summed over the layer's channels (tokens and
 * channels-last layers laid out as [1, K, h, w] first, as the CAMs read them) into [h, w], and
 * bilinearly upsampled to the input's size. Frees the result.
 */
function layerMaps(c: MethodContext, r: LayerAttributionResult, name: string, notes: string[]): MethodMaps {
  try {
    const a = r.attribution;
    const reshape = defaultReshape(c.model, a.rank, c.layer);
    const [h, w] = [c.input.shape[2]!, c.input.shape[3]!];
    const { map, up } = tidy(() => {
      const grid = reshape ? reshape(a) : a;
      if (grid.rank !== 4)
        throw new CliError(
          `${name}: layer '${c.layer}' gives [${a.shape.join(', ')}]; a picture needs a map [1, K, h, w] (choose a conv layer with --layer)`,
        );
      const m = sum(grid, { dim: 1 });
      return { map: m, up: upsampleMaps(m, h, w) };
    });
    try {
      return { kind: 'cam', raw: item0(map), upsampled: item0(up), target: r.classes?.[0] ?? null, notes };
    } finally {
      map.dispose();
      up.dispose();
    }
  } finally {
    disposeResult(r);
  }
}

const deltaNote = (d: number | undefined): string[] =>
  d === undefined ? [] : [`completeness delta ${d.toPrecision(3)} (Σ attribution − (F(x) − F(x′)))`];

/** Captum's layer attribution methods with a picture: the attribution summed over the layer's channels. */
export const LAYER_METHODS: readonly MethodSpec[] = [
  {
    name: 'layer-grad-x-act',
    title: 'Layer gradient × activation',
    kind: 'cam',
    manyPasses: false,
    usesLayer: true,
    summary: "layer gradient × activation A ⊙ ∂score/∂A at the layer, summed over channels, signed (Captum's LayerGradientXActivation)",
    run: (c) =>
      layerMaps(
        c,
        layerGradientXActivation(c.model, c.input, { layer: c.layer, target: targetOf(c), onWarning: c.onWarning }),
        'layer-grad-x-act',
        [],
      ),
  },
  {
    name: 'layer-ig',
    title: 'Layer integrated gradients',
    kind: 'cam',
    manyPasses: true,
    usesLayer: true,
    summary:
      "layer integrated gradients: the layer's output moved from a zero input's to the input's, summed over channels, completeness delta reported (Captum's LayerIntegratedGradients; --steps)",
    work: (f) => f.budget.steps,
    applies: needsStackedRows,
    run: (c) => {
      const r = layerIntegratedGradients(c.model, c.input, {
        layer: c.layer,
        target: targetOf(c),
        steps: c.budget.steps,
        batchSize: c.budget.batchSize,
        onProgress: c.onProgress,
        onWarning: c.onWarning,
      });
      return layerMaps(c, r, 'layer-ig', deltaNote(r.delta[0]));
    },
  },
  {
    name: 'layer-conductance',
    title: 'Layer conductance',
    kind: 'cam',
    manyPasses: true,
    usesLayer: true,
    summary: 'layer conductance from a zero input, summed over channels, completeness delta reported (Dhamdhere et al. 2018; --steps)',
    work: (f) => f.budget.steps + 1,
    applies: needsStackedRows,
    run: (c) => {
      const r = layerConductance(c.model, c.input, {
        layer: c.layer,
        target: targetOf(c),
        steps: c.budget.steps,
        batchSize: c.budget.batchSize,
        onProgress: c.onProgress,
        onWarning: c.onWarning,
      });
      return layerMaps(c, r, 'layer-conductance', deltaNote(r.delta[0]));
    },
  },
];
