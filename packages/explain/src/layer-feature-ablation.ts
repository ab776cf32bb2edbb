import { add, expand, mul, reshape, tensor, tidy } from '@gradlens/tensor';
import type { Tensor } from '@gradlens/tensor';
import { withOutputTransform } from '@gradlens/nn';
import type { Module } from '@gradlens/nn';
import type { ProgressCallback } from './common';
import { checkConstant, checkEval, checkInput, repeatItem, repeatTarget, scoreRows, Warnings } from './common';
import { cleanTarget } from './gradient-core';
import type { LayerAttributionOptions, LayerAttributionResult } from './layer-core';
import { layerValuesOf, onceTransform, totalsTensor } from './layer-core';

/**
 * Which neurons of a layer are ablated together: each on its own ('neuron', Captum's default), each
 * channel (dim 1 of the output) as one group ('channel'), or an integer group id per neuron — a
 * tensor broadcastable to the layer's shape without the batch dim (e.g. [K, 1, 1]), or the ids as an
 * array of that size.
 */
export type LayerMask = 'neuron' | 'channel' | Tensor | ArrayLike<number>;

export interface LayerFeatureAblationOptions extends LayerAttributionOptions {
  /** The value an ablated neuron takes: a number, or a tensor broadcastable to the layer's output [N, …] (default 0). */
  layerBaseline?: number | Tensor;
  /** The groups ablated together (default 'neuron'). */
  layerMask?: LayerMask;
  /** Ablated copies per forward pass (default 16). */
  batchSize?: number;
  /** Called after each batch with (groups ablated, N · groups). */
  onProgress?: ProgressCallback;
}

/** What `layerFeatureAblation` returns: also how many groups were ablated. */
export interface LayerFeatureAblationResult extends LayerAttributionResult {
  groups: number;
}

/** Group id per neuron of one item ([…layer shape] flattened), numbered 0… by first appearance. */
function groupIds(method: string, layer: string, shape: readonly number[], mask: LayerMask): { ids: Int32Array; count: number } {
  const per = shape.reduce((a, b) => a * b, 1);
  let raw: ArrayLike<number>;
  if (mask === 'neuron') raw = Int32Array.from({ length: per }, (_, j) => j);
  else if (mask === 'channel') {
    if (shape.length < 1) throw new Error(`${method}: layer '${layer}' has no channel dim`);
    const plane = per / shape[0]!;
    raw = Int32Array.from({ length: per }, (_, j) => Math.floor(j / plane));
  } else if (typeof mask === 'string') {
    throw new Error(`${method}: layerMask must be 'neuron', 'channel', a tensor or an array of group ids; got '${String(mask)}'`);
  } else if ('dataSync' in mask) {
    const m = mask.rank === shape.length + 1 && mask.shape[0] === 1 ? mask.shape.slice(1) : mask.shape;
    try {
      const e = tidy(() => mul(expand(reshape(mask, m), shape), 1));
      raw = Float64Array.from(e.dataSync(), Number);
      e.dispose();
    } catch {
      throw new Error(
        `${method}: layerMask of shape [${mask.shape.join(', ')}] does not broadcast to layer '${layer}''s [${shape.join(', ')}]`,
      );
    }
  } else {
    if (mask.length !== per)
      throw new Error(`${method}: layerMask has ${mask.length} ids; layer '${layer}' has ${per} neurons per item ([${shape.join(', ')}])`);
    raw = mask;
  }
  const seen = new Map<number, number>();
  const ids = new Int32Array(per);
  for (let j = 0; j < per; j++) {
    const v = Number(raw[j]);
    if (!Number.isInteger(v)) throw new Error(`${method}: layerMask holds ${v}; group ids must be integers`);
    let g = seen.get(v);
    if (g === undefined) seen.set(v, (g = seen.size));
    ids[j] = g;
  }
  return { ids, count: seen.size };
}

/**
 * Layer feature ablation (Captum's LayerFeatureAblation): each group of the layer's neurons in turn is
 * set to the layer baseline (0 by default) and the rest of the network runs again; every neuron of the
 * group gets F(x) − F(ablated), [N, …layer shape]. Ablated copies are scored in batches.
 */
export function layerFeatureAblation(model: Module, x: Tensor, options: LayerFeatureAblationOptions): LayerFeatureAblationResult {
  const method = 'layerFeatureAblation';
  checkInput(method, x, true);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const n = x.shape[0]!;
  const batch = Math.max(1, Math.floor(options.batchSize ?? 16));
  const { target, scores } = cleanTarget(method, model, x, options.target);
  const a = layerValuesOf(method, model, x, options.layer);
  const shape = a.shape.slice(1);
  a.dispose();
  const per = shape.reduce((p, q) => p * q, 1);
  const { ids, count: groups } = groupIds(method, options.layer, shape, options.layerMask ?? 'neuron');
  const b = options.layerBaseline;
  const base = tidy(() => {
    if (b === undefined || typeof b === 'number') return tensor(new Float32Array(n * per).fill(b ?? 0), [n, ...shape], x.dtype);
    try {
      return mul(expand(b, [n, ...shape]), 1);
    } catch {
      throw new Error(
        `${method}: layerBaseline of shape [${b.shape.join(', ')}] does not broadcast to layer '${options.layer}''s output [${[n, ...shape].join(', ')}]`,
      );
    }
  });
  try {
    const bv = base.dataSync();
    const attr = new Float64Array(n * per);
    const module = model.getModule(options.layer);
    let done = 0;
    for (let i = 0; i < n; i++) {
      const drop = new Float64Array(groups);
      for (let g0 = 0; g0 < groups; g0 += batch) {
        const count = Math.min(batch, groups - g0);
        const keepMask = new Float32Array(count * per).fill(1);
        const fill = x.dtype === 'float64' ? new Float64Array(count * per) : new Float32Array(count * per);
        for (let r = 0; r < count; r++) {
          for (let j = 0; j < per; j++) {
            if (ids[j] === g0 + r) {
              keepMask[r * per + j] = 0;
              fill[r * per + j] = Number(bv[i * per + j]);
            }
          }
        }
        const keepT = tensor(keepMask, [count, ...shape], x.dtype);
        const fillT = tensor(fill, [count, ...shape], x.dtype);
        const xs = tidy(() => repeatItem(x, i, count));
        try {
          const s = withOutputTransform(
            module,
            onceTransform(method, options.layer, (y) => {
              if (y.shape.join() !== keepT.shape.join())
                throw new Error(
                  `${method}: layer '${options.layer}' gave [${y.shape.join(', ')}] on ${count} copies; expected [${keepT.shape.join(', ')}]`,
                );
              return add(mul(y, keepT), fillT);
            }),
            () => scoreRows(method, model, xs, repeatTarget(target, new Array<number>(count).fill(i)), false),
          );
          for (let r = 0; r < count; r++) drop[g0 + r] = scores[i]! - s[r]!;
        } finally {
          xs.dispose();
          keepT.dispose();
          fillT.dispose();
        }
        done += count;
        options.onProgress?.(done, n * groups);
      }
      for (let j = 0; j < per; j++) attr[i * per + j] = drop[ids[j]!]!;
    }
    const attribution = totalsTensor(attr, [n, ...shape], x.dtype);
    checkConstant(attribution, target, warnings, `ablating the groups of layer '${options.layer}' does not change the score`);
    return {
      attribution,
      groups,
      scores: Array.from(scores),
      classes: target.classes ? [...target.classes] : null,
      warnings: warnings.list,
    };
  } finally {
    base.dispose();
  }
}
