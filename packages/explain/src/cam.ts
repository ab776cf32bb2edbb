import { indexSelect, inputsOf, relu } from '@gradlens/tensor';
import type { Tape, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { CamLayer, CamOptions, CamResult } from './cam-core';
import { buildCam, camLayer, weightedSum, withLayer } from './cam-core';
import { checkEval, checkInput, disposePass, recordPass, Warnings } from './common';

/**
 * Finds the classifier weights [classes, K] of a global-average-pool + linear head that follows
 * activation `a` on the tape: only global average pooling (adaptive to 1×1, or a mean over H and W),
 * reshapes and one ReLU before the pooling (DenseNet's functional ReLU after `features`) may sit between
 * them, and the linear must give the model's output. `relu` says whether the pooled maps are relu(a).
 */
export function findGapLinearWeights(
  method: string,
  tape: Tape,
  a: Tensor,
  output: Tensor,
  layer: string,
): { weights: Tensor; relu: boolean } {
  let cur = a;
  let pooled = false;
  let relu = false;
  const fail = (why: string): never => {
    throw new Error(
      `${method}: CAM needs global average pooling and then one linear layer right after layer '${layer}'; ${why}. Grad-CAM works on any head (and equals CAM up to a positive factor on a GAP + linear one)`,
    );
  };
  for (const node of tape.nodes) {
    if (!node.inputs.includes(cur)) continue;
    const where = `'${node.op}' in '${node.scope || '(top level)'}'`;
    switch (node.op) {
      case 'adaptiveAvgPool2d':
        if (node.output.shape[2] !== 1 || node.output.shape[3] !== 1)
          fail(`found ${where} pooling to [${node.output.shape.slice(2).join(', ')}], not to 1×1`);
        pooled = true;
        break;
      case 'avgPool2d':
        if (node.output.shape[2] !== 1 || node.output.shape[3] !== 1 || node.attrs.padding.some((p) => p !== 0)) {
          fail(`found ${where} that is not a global average`);
        }
        pooled = true;
        break;
      case 'mean': {
        const dims = node.attrs.dims;
        if (!(dims.length === 2 && dims.includes(2) && dims.includes(3)))
          fail(`found ${where} over dims [${dims.join(', ')}], not over H and W`);
        pooled = true;
        break;
      }
      case 'reshape':
        break;
      case 'relu':
        if (pooled || relu) fail(`found ${where} ${pooled ? 'after the pooling' : 'after another ReLU'}`);
        relu = true;
        break;
      case 'linear': {
        if (!pooled) fail(`found ${where} before any global average pooling`);
        if (node.output !== output) fail(`the linear layer ${where} is not the model's last op`);
        const w = inputsOf(node).weight;
        if (w.shape[1] !== a.shape[1]) fail(`the linear layer takes ${w.shape[1]} features, the layer has ${a.shape[1]} channels`);
        return { weights: w, relu };
      }
      default:
        fail(`found ${where}`);
    }
    cur = node.output;
  }
  return fail('no linear layer follows it');
}

/**
 * CAM (Zhou et al. 2016): Σₖ w_c,k Aₖ with w the weights of the linear layer that follows global
 * average pooling of the target layer (found on the tape), [N, h, w] and [N, H, W]; Aₖ is the layer's
 * output, or its ReLU where the model applies one before the pooling (DenseNet). No ReLU on the map by
 * default (the paper has none; `relu: true` adds it). Class targets only.
 */
export function cam(model: Module, x: Tensor, given: CamOptions = {}): CamResult {
  const method = 'cam';
  checkInput(method, x);
  const options = withLayer(model, x, given);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  if (typeof options.target === 'function')
    throw new Error(`${method}: CAM needs class targets (a class index, per-item indices or 'top1'), not a function`);
  const pass = recordPass(method, model, x, options.target);
  let layer: CamLayer | null = null;
  let rectified: Tensor | null = null;
  try {
    layer = camLayer(method, model, pass.tape, options);
    const head = findGapLinearWeights(method, pass.tape, layer.raw, pass.output, options.layer);
    const w = head.weights;
    const classes = pass.target.classes!;
    if (head.relu) rectified = relu(layer.a);
    return buildCam(
      method,
      rectified ?? layer.a,
      null,
      (a) => {
        const weights = indexSelect(w, 0, classes);
        return { map: weightedSum(a, weights), weights };
      },
      options.relu ?? false,
      x.shape,
      pass.target,
      pass.scores,
      warnings,
    );
  } finally {
    rectified?.dispose();
    layer?.dispose();
    disposePass(pass);
  }
}
