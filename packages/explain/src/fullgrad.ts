import { abs, add, batchNormSlots, div, inputsOf, keep, mul, reshape, sqrt, sub, tensor, tidy } from '@gradlens/tensor';
import type { AnyTapeNode, Tensor } from '@gradlens/tensor';
import type { Module } from '@gradlens/nn';
import type { BaseOptions } from './common';
import { checkConstant, checkEval, checkInput, disposePass, passGrad, recordPass, upsampleMaps, valuesOf, Warnings } from './common';

/** What `fullGrad` returns; the caller owns the tensors. */
export interface FullGradResult {
  /** The FullGrad saliency [N, H, W], min–max normalised per item to [0, 1]. */
  map: Tensor;
  /** How many biased layers (conv2d with bias, batch norm in eval mode) contributed. */
  layers: number;
  classes: number[] | null;
  scores: number[];
  warnings: string[];
}

/** Min–max of each of `count` planes of `size` values, in place, to [0, 1] (a constant plane becomes 0). */
function scalePlanes(v: Float64Array, count: number, size: number): void {
  for (let p = 0; p < count; p++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = p * size; j < (p + 1) * size; j++) {
      lo = Math.min(lo, v[j]!);
      hi = Math.max(hi, v[j]!);
    }
    for (let j = p * size; j < (p + 1) * size; j++) v[j] = hi > lo ? (v[j]! - lo) / (hi - lo) : 0;
  }
}

/** The effective bias of a biased node per channel [C] (conv2d: b; eval-mode batch norm: β − μ γ / √(σ² + ε)), or null. */
function nodeBias(node: AnyTapeNode): Tensor | null {
  if (node.op === 'conv2d') return inputsOf(node).bias ?? null;
  if (node.op === 'batchNorm') {
    const a = node.attrs;
    if (a.training) return null;
    const s = batchNormSlots(a);
    const mean = node.inputs[s.mean]!;
    const std = sqrt(add(node.inputs[s.var]!, a.eps));
    const gamma = s.weight >= 0 ? node.inputs[s.weight]! : null;
    const beta = s.bias >= 0 ? node.inputs[s.bias]! : null;
    const shift = gamma ? div(mul(mean, gamma), std) : div(mean, std);
    return beta ? sub(beta, shift) : mul(shift, -1);
  }
  return null;
}

/**
 * FullGrad (Srinivas & Fleuret 2019, as pytorch-grad-cam's FullGrad): |∂score/∂x ⊙ x| plus, for every
 * biased layer (conv2d with bias, eval-mode batch norm), |∂score/∂z ⊙ b| (the bias-gradients); each
 * map [N, C, h, w] is upsampled to the input and min–max scaled per channel (the paper's ψ), summed over
 * channels and layers, and the total min–max scaled per item. (pytorch-grad-cam scales before resizing
 * and adds 1e-7 to each range, which moves values slightly.) One recorded pass, one backward walk.
 */
export function fullGrad(model: Module, x: Tensor, options: BaseOptions = {}): FullGradResult {
  const method = 'fullGrad';
  checkInput(method, x);
  const warnings = new Warnings(method, options.onWarning);
  checkEval(model, warnings);
  const [n, , hh, ww] = x.shape as [number, number, number, number];
  const pass = recordPass(method, model, x, options.target);
  try {
    const biased = pass.tape.nodes.filter((node) => node.output.rank === 4 && nodeBias(node) !== null);
    const grads = passGrad(pass, [x, ...biased.map((node) => node.output)]);
    try {
      const total = new Float64Array(n * hh * ww);
      const addTerm = (t: Tensor) => {
        const [, c, h, w] = t.shape as [number, number, number, number];
        const v = valuesOf(t);
        const up = tidy(() => upsampleMaps(reshape(tensorOf(v, t), [n * c, h, w]), hh, ww));
        const u = valuesOf(up);
        up.dispose();
        scalePlanes(u, n * c, hh * ww); // the paper's ψ: |·|, bilinear upsampling, then rescaling to [0, 1]
        for (let i = 0; i < n; i++)
          for (let ch = 0; ch < c; ch++)
            for (let j = 0; j < hh * ww; j++) total[i * hh * ww + j] = total[i * hh * ww + j]! + u[(i * c + ch) * hh * ww + j]!;
      };
      // each term is freed even when reading it throws (awaitReads stops a run at a read of a pending result)
      const addOnce = (t: Tensor) => {
        try {
          addTerm(t);
        } finally {
          t.dispose();
        }
      };
      addOnce(tidy(() => abs(mul(grads[0]!, x))));
      biased.forEach((node, l) =>
        addOnce(
          tidy(() => {
            const b = nodeBias(node)!;
            return keep(abs(mul(grads[l + 1]!, reshape(b, [1, b.size, 1, 1]))));
          }),
        ),
      );
      scalePlanes(total, n, hh * ww);
      const map = tensorOf(total, x, [n, hh, ww]);
      checkConstant(map, pass.target, warnings, 'no gradient reached the input or any bias');
      return {
        map,
        layers: biased.length,
        classes: pass.target.classes ? [...pass.target.classes] : null,
        scores: pass.scores,
        warnings: warnings.list,
      };
    } finally {
      for (const g of grads) g.dispose();
    }
  } finally {
    disposePass(pass);
  }
}

/** A tensor of `like`'s dtype from float64 values (shape: `shape` or `like`'s). */
function tensorOf(v: Float64Array, like: Tensor, shape?: number[]): Tensor {
  return tensor(Float32Array.from(v), shape ?? like.shape, like.dtype);
}
