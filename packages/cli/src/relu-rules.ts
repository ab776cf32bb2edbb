import { OnnxModel } from '@gradlens/onnx';
import { record } from '@gradlens/tensor';
import type { MethodContext } from './methods';

/**
 * Nonlinear ops of transformers that guided backprop's and deconvnet's ReLU rules do not cover. Not
 * softmax: a ReLU classifier whose graph ends in a Softmax (common in ONNX files) is still a ReLU
 * network, and every transformer has layer norms (and GELUs) anyway.
 */
const NOT_RELU = ['gelu', 'layerNorm'] as const;

/**
 * Why a method made of ReLU rules (guided backprop, deconvnet) does not apply to this model, or null:
 * its rules are defined for ReLU networks, and a transformer's GELUs, softmax and layer norms would
 * pass the ordinary gradient, giving a map that is neither the method nor a gradient. One recorded
 * forward pass tells.
 */
export function reluRulesApply(method: string): (c: MethodContext) => string | null {
  return (c) => {
    const { output, tape } = record(() => c.model.call(c.input));
    try {
      const ops = new Set<string>(tape.nodes.map((n) => n.op));
      // Ultralytics' YOLO exports are SiLU networks (sigmoid × x) throughout
      if (c.model instanceof OnnxModel && c.model.itemwise && ops.has('sigmoid'))
        return `${method}'s backward rules are defined for ReLU networks; this YOLO model's SiLU activations (x · sigmoid(x)) would pass the plain gradient (use vanilla, grad-x-input or the CAM family)`;
      return reluRulesReason(method, ops);
    } finally {
      tape.dispose();
      output.dispose();
    }
  };
}

/** Why `method`'s ReLU rules do not apply to a graph made of `ops` (its transformer ops named), or null. */
export function reluRulesReason(method: string, ops: ReadonlySet<string>): string | null {
  const found = NOT_RELU.filter((op) => ops.has(op));
  return found.length === 0
    ? null
    : `${method}'s backward rules are defined for ReLU networks; this model's ${found.join(', ')} ops would pass the plain gradient (use vanilla, grad-x-input or the CAM family; for a ViT also transformer-lrp and the attention methods)`;
}
